"""What the model is given for a conversation referenced with `@` (`backend.references.reference_text`):

- the whole conversation when it fits the budget, oldest message first, each marked User or Assistant;
- only its newest messages when it does not, and it says that older ones are left out;
- part of the newest message when even that one does not fit;
- a sentence for a conversation with no messages.
"""

from __future__ import annotations

from datetime import datetime

from chatkit.types import (
    AssistantMessageContent,
    AssistantMessageItem,
    InferenceOptions,
    ThreadItem,
    UserMessageItem,
    UserMessageTextContent,
)

from backend.references import reference_text


def words(text: str) -> int:
    return len(text.split())


def conversation(*turns: tuple[str, str]) -> list[ThreadItem]:
    """The items of a conversation, newest first (as the store hands them over)."""
    items: list[ThreadItem] = []
    for n, (question, answer) in enumerate(turns):
        items.append(
            UserMessageItem(
                id=f"msg_q{n}",
                thread_id="thr_a",
                created_at=datetime(2026, 1, 1, 9, n),
                content=[UserMessageTextContent(text=question)],
                attachments=[],
                inference_options=InferenceOptions(),
            )
        )
        items.append(
            AssistantMessageItem(
                id=f"msg_a{n}",
                thread_id="thr_a",
                created_at=datetime(2026, 1, 1, 9, n, 30),
                content=[AssistantMessageContent(text=answer)],
            )
        )
    return items[::-1]


TRIP = conversation(("Where should we go in Paris?", "The Louvre and the Orsay."), ("And to eat?", "Try a bistro."))


def test_a_conversation_that_fits_goes_whole_oldest_first() -> None:
    text = reference_text("trip", "Paris trip", TRIP, words, 100)
    assert text == (
        "The conversation “Paris trip” that the user referenced (the whole conversation):\n\n"
        "User: Where should we go in Paris?\n\nAssistant: The Louvre and the Orsay.\n\n"
        "User: And to eat?\n\nAssistant: Try a bistro."
    )


def test_a_long_conversation_gives_its_newest_messages_and_says_so() -> None:
    text = reference_text("trip", "Paris trip", TRIP, words, 9)
    assert "(its newest messages; older ones are left out)" in text
    assert text.endswith("User: And to eat?\n\nAssistant: Try a bistro.")
    assert "Louvre" not in text


def test_a_newest_message_too_long_for_the_budget_is_cut_short_rather_than_left_out() -> None:
    long = conversation(("Tell me everything", "word " * 500))
    text = reference_text("notes", "Notes", long, words, 10)
    assert "Assistant: word" in text and text.endswith(" …")
    assert len(text) < 200


def test_a_conversation_without_messages_is_named_as_empty() -> None:
    assert reference_text("empty", "", [], words, 100) == (
        "The conversation “empty” that the user referenced has no messages yet."
    )
