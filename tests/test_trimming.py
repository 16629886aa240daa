"""What part of a long conversation is sent to the model: `fit_to_window`.

Specified here, through its two public entry points (`backend.trimming.fit_to_window` with a token counter
passed in, and `ModelLayer.fit_to_window(items, model, system_prompt, window)` with LiteLLM's tokenizer):

- a conversation that fits is sent whole, and nothing is reported dropped;
- when it does not fit, whole turns are dropped, oldest first; a turn starts at a user message, and
  consecutive user items (a message and its quoted context) belong to the same turn;
- the newest turn (the message being answered) is always sent, even when it alone overflows the window;
- the system prompt counts against the window;
- a quarter of the window, at most 4,096 tokens, stays free for the answer;
- the number returned is how many items were left out, and the items sent are the newest ones, in order.

Sizes are computed with the same token counter the function counts with, and every window leaves a margin
of `SLACK_PER_ITEM` tokens per item, so an implementation may add a small per-message overhead without
changing the outcome.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import pytest

from backend import trimming

MODEL = "openai/gpt-4.1-mini"
SLACK_PER_ITEM = 16
"""Tokens per item an implementation may count on top of the text (role markers, message framing)."""
RESERVE_CAP = 4096

Item = dict[str, Any]
Format = Literal["text", "parts"]


@dataclass(frozen=True)
class Trimmer:
    """One way in to `fit_to_window`, and the token counter it counts with."""

    fit: Callable[[list[Item], str, int], tuple[list[Item], int]]
    count: Callable[[str], int]


def _words_counter(text: str) -> int:
    return len(text.split())


def _pure() -> Trimmer:
    return Trimmer(
        lambda items, prompt, window: trimming.fit_to_window(items, _words_counter, prompt, window), _words_counter
    )


def _model_layer() -> Trimmer:
    from backend.model_layer import ModelLayer  # imports LiteLLM: only for the tests that use it

    return Trimmer(
        lambda items, prompt, window: ModelLayer.fit_to_window(items, MODEL, prompt, window),
        lambda text: ModelLayer.count_tokens(MODEL, text),
    )


@pytest.fixture(scope="module", params=["trimming, counting words", "model layer, counting tokens"])
def trim(request: pytest.FixtureRequest) -> Trimmer:
    return _pure() if request.param.startswith("trimming") else _model_layer()


def user(text: str, fmt: Format = "parts") -> Item:
    """A user item as the ChatKit converter makes it (`parts`), or the plain-string form (`text`)."""
    if fmt == "text":
        return {"role": "user", "content": text}
    return {"type": "message", "role": "user", "content": [{"type": "input_text", "text": text}]}


def assistant(text: str, fmt: Format = "parts") -> Item:
    """An assistant answer, in the same two forms."""
    if fmt == "text":
        return {"role": "assistant", "content": text}
    return {
        "type": "message",
        "role": "assistant",
        "status": "completed",
        "content": [{"type": "output_text", "text": text, "annotations": []}],
    }


def words(label: str, count: int) -> str:
    """`label` followed by `count` filler words: a text of roughly `count` tokens, unique by its label."""
    return f"{label}: " + "lorem " * count


def turn(n: int, fmt: Format = "parts", question: int = 100, answer: int = 200) -> list[Item]:
    """One exchange: a question and its answer."""
    return [user(words(f"question {n}", question), fmt), assistant(words(f"answer {n}", answer), fmt)]


def text_of(item: Item) -> str:
    content = item["content"]
    if isinstance(content, str):
        return content
    return "\n".join(part["text"] for part in content)


def size(trim: Trimmer, items: list[Item]) -> int:
    """The tokens of the items' text, as the trimmer's counter counts them."""
    return sum(trim.count(text_of(item)) for item in items)


def window_for(trim: Trimmer, history: int, system_prompt: str = "") -> int:
    """The smallest window whose room for the history, once the answer's reserve is set aside, is `history`."""
    need = history + trim.count(system_prompt)
    window = need
    while window - min(RESERVE_CAP, window // 4) < need:
        window += 1
    return window


def conversation(turns: int, fmt: Format = "parts") -> list[Item]:
    """`turns` earlier exchanges and the newest question, the one being answered."""
    items = [item for n in range(turns) for item in turn(n, fmt)]
    return [*items, user("the newest question", fmt)]


def test_a_conversation_that_fits_is_sent_whole_and_nothing_is_dropped(trim: Trimmer) -> None:
    items = conversation(5)
    kept, dropped = trim.fit(items, "You are a helpful assistant.", 128_000)
    assert kept == items
    assert dropped == 0


def test_an_empty_history_is_sent_as_it_is(trim: Trimmer) -> None:
    assert trim.fit([], "You are a helpful assistant.", 8192) == ([], 0)


@pytest.mark.parametrize("fmt", ["parts", "text"])
def test_the_oldest_turns_are_dropped_first(trim: Trimmer, fmt: Format) -> None:
    items = conversation(6, fmt)
    newest_three = items[-7:]
    # Room for the three newest exchanges and the question, plus half an exchange: not a fourth one.
    window = window_for(trim, size(trim, newest_three) + size(trim, turn(0, fmt)) // 2)
    kept, dropped = trim.fit(items, "", window)
    assert kept == newest_three
    assert dropped == 6


@pytest.mark.parametrize("fitting", range(7))
def test_as_many_newest_turns_as_fit_are_sent_and_the_count_says_how_many_items_were_left_out(
    trim: Trimmer, fitting: int
) -> None:
    items = conversation(6)
    expected = items[len(items) - (2 * fitting + 1) :]
    window = window_for(trim, size(trim, expected) + size(trim, turn(0)) // 2)
    kept, dropped = trim.fit(items, "", window)
    assert kept == expected
    assert dropped == len(items) - len(expected)
    assert kept == items[dropped:], "what is sent is the newest part of the conversation, in order"


def test_what_is_sent_starts_at_a_user_message_never_at_an_answer_without_its_question(trim: Trimmer) -> None:
    long_question = user(words("long question", 400))
    short_answer = assistant("Sure.")
    items = [long_question, short_answer, *turn(1, question=20, answer=20), user("the newest question")]
    # Everything after the long question fits: cutting item by item would send the orphaned "Sure.".
    room = size(trim, items[1:]) + SLACK_PER_ITEM * len(items)
    assert size(trim, items) > room, "the whole conversation must not fit"
    window = window_for(trim, room)
    kept, dropped = trim.fit(items, "", window)
    assert kept == items[2:]
    assert kept[0]["role"] == "user"
    assert dropped == 2


def test_a_message_and_its_quoted_context_are_dropped_together(trim: Trimmer) -> None:
    quoted = user(words("quoted context", 400))
    message = user(words("what about this part", 10))
    answer = assistant(words("answer", 10))
    newest = user("the newest question")
    items = [quoted, message, answer, newest]
    # Room for the message, its answer and the newest question, not for the quoted text they go with.
    window = window_for(trim, size(trim, [message, answer, newest]) + SLACK_PER_ITEM * len(items))
    kept, dropped = trim.fit(items, "", window)
    assert kept == [newest], "a message is never sent without the quoted text it is about"
    assert dropped == 3


def test_a_message_and_its_quoted_context_are_kept_together_when_they_fit(trim: Trimmer) -> None:
    items = [*turn(0), user(words("quoted context", 50)), user(words("what about this", 10)), assistant("Yes.")]
    items.append(user("the newest question"))
    kept, dropped = trim.fit(items, "", window_for(trim, size(trim, items[2:]) + SLACK_PER_ITEM * len(items)))
    assert kept == items[2:]
    assert dropped == 2


def test_the_newest_turn_is_always_sent_even_when_it_alone_overflows_the_window(trim: Trimmer) -> None:
    huge = user(words("a pasted log", 5000))
    items = [*turn(0), *turn(1), huge]
    kept, dropped = trim.fit(items, "", 1024)
    assert kept == [huge]
    assert dropped == 4


def test_a_lone_message_larger_than_the_window_is_still_sent(trim: Trimmer) -> None:
    huge = user(words("a pasted log", 5000), "text")
    assert trim.fit([huge], "You are a helpful assistant.", 1024) == ([huge], 0)


def test_the_newest_message_and_its_quoted_context_are_sent_even_when_they_alone_overflow(trim: Trimmer) -> None:
    quoted, newest = user(words("quoted context", 3000)), user("what does this mean?")
    items = [*turn(0), quoted, newest]
    kept, dropped = trim.fit(items, "", 1024)
    assert kept == [quoted, newest]
    assert dropped == 2


def test_the_system_prompt_counts_against_the_window(trim: Trimmer) -> None:
    items = conversation(6)
    one_turn = size(trim, turn(0))
    window = window_for(trim, size(trim, items[-7:]) + one_turn // 2)
    system_prompt = words("Long instructions", one_turn)
    assert abs(trim.count(system_prompt) - one_turn) < one_turn // 4

    without, _ = trim.fit(items, "", window)
    with_prompt, dropped = trim.fit(items, system_prompt, window)
    assert without == items[-7:]
    assert with_prompt == items[-5:], "a system prompt as long as one exchange leaves room for one exchange less"
    assert dropped == len(items) - 5


def test_a_quarter_of_the_window_is_kept_free_for_the_answer(trim: Trimmer) -> None:
    items = [item for n in range(6) for item in turn(n, question=300, answer=600)]
    items.append(user("the newest question"))
    history = size(trim, items)
    assert 4096 < history < 3 * RESERVE_CAP, "windows where a quarter is less than 4,096 tokens, and not tiny"
    # The history alone fits this window, but not in the three quarters left once the answer has its room.
    window = math.ceil(history * 1.25)
    kept, dropped = trim.fit(items, "", window)
    assert dropped > 0
    assert size(trim, kept) <= window - window // 4

    roomy = math.ceil((history + SLACK_PER_ITEM * len(items)) * 4 / 3) + 4
    assert trim.fit(items, "", roomy) == (items, 0), "three quarters of this window hold it all"


def test_the_room_kept_for_the_answer_is_at_most_4096_tokens(trim: Trimmer) -> None:
    items = [item for n in range(10) for item in turn(n, question=1000, answer=2000)]
    items.append(user("the newest question"))
    history = size(trim, items)
    assert history > 4 * RESERVE_CAP, "a window where a quarter is more than 4,096 tokens"

    window = history + RESERVE_CAP + SLACK_PER_ITEM * len(items)
    assert trim.fit(items, "", window) == (items, 0), "only 4,096 tokens are set aside, not a quarter"

    tight = history + RESERVE_CAP - 100
    kept, dropped = trim.fit(items, "", tight)
    assert dropped > 0, "4,096 tokens are still set aside for the answer in a large window"
    assert size(trim, kept) <= tight - RESERVE_CAP


def test_the_conversation_given_is_left_untouched(trim: Trimmer) -> None:
    items = conversation(6)
    before = copy.deepcopy(items)
    kept, _ = trim.fit(items, "", window_for(trim, size(trim, items[-3:]) + 100))
    assert len(kept) < len(items)
    assert items == before, "trimming what is sent never changes the thread's own history"


# ---- parts that are not text ---------------------------------------------------------------------------


def with_image(text: str) -> Item:
    """A user message with a picture: its text part, then an image part (which has no text to count)."""
    item = user(text)
    item["content"].append({"type": "input_image", "image_url": "data:image/png;base64,AAAA", "detail": "auto"})
    return item


def test_an_images_cost_counts_against_the_window_as_the_caller_says() -> None:
    old = [with_image(words("question 1", 50)), assistant(words("answer 1", 50))]
    newest = [user(words("question 2", 50))]
    window = window_for(_pure(), 200 + 3 * SLACK_PER_ITEM)

    free, dropped = trimming.fit_to_window(old + newest, _words_counter, "", window)
    assert (free, dropped) == (old + newest, 0), "an image that costs nothing fits"

    costly, dropped = trimming.fit_to_window(old + newest, _words_counter, "", window, lambda part: 1_000)
    assert (costly, dropped) == (newest, 2), "a 1,000-token image does not: its whole turn goes"
