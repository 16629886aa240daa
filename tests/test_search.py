"""Conversation search end to end, over HTTP against the real app (`chatkit-desktop serve`, the fake provider)
and its real SQLite index on disk (`<data>/index.sqlite3`): what a person can type and what it finds, how the
results are ranked, paged, dated and highlighted, that the index follows every change (a chat, a rename, a
delete, a file edited by hand) and survives being deleted, damaged or killed mid-build, that a chat never
depends on it, and that no query, however odd, breaks the server.

Most queries run against one app started on a hand-written history (`corpus`, thread files written in the
documented format); chats, renames and deletes against the suite's `app`; restarts in their own data folders.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import time
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest

from tests import media
from tests.bench.search import (
    Message,
    conversation_payload,
    file_attachment,
    item_id,
    pseudo_word,
    write_conversation,
)
from tests.bench.threads import SENTENCES
from tests.conftest import OPENAI_KEY
from tests.fake_provider import FakeProvider
from tests.harness import RunningApp, answer_text, start_app, thread_id_of, user_input

T = TypeVar("T")
MAX_QUERY_CHARS = 500
LANTERNS = 3100


# ---- talking to the app -------------------------------------------------------------------------------------


def start(data_dir: Path, fake: FakeProvider) -> RunningApp:
    """The app on `data_dir`, its model served by the fake, its clock's zone UTC (dates below are UTC)."""
    return start_app(
        data_dir,
        timeout=120,
        CHATKIT_DESKTOP_MODEL="openai/fake-local-1",
        CHATKIT_DESKTOP_API_BASE=fake.openai_base,
        OPENAI_API_KEY=OPENAI_KEY,
        TZ="UTC",
    )


def get(app: RunningApp, path: str, **params: Any) -> httpx.Response:
    with app.client() as client:
        return client.get(path, params=params)


def search(app: RunningApp, q: str, **params: Any) -> dict[str, Any]:
    """`GET /api/search`; asserts a 200 in the contract's shape and returns the answer."""
    response = get(app, "/api/search", q=q, **params)
    assert response.status_code == 200, (q, params, response.status_code, response.text)
    answer: dict[str, Any] = response.json()
    assert set(answer) >= {"query", "results", "next_cursor", "indexing"}, answer
    for result in answer["results"]:
        assert set(result) >= {"thread_id", "item_id", "role", "title", "created_at", "snippet", "hits"}, result
        assert result["role"] in ("user", "assistant", "title"), result
        assert (result["item_id"] is None) == (result["role"] == "title"), result
        assert all(set(segment) == {"text", "hit"} for segment in result["snippet"]), result
    return answer


def found(app: RunningApp, q: str, **params: Any) -> list[str]:
    """The thread ids a search finds, in the order given (one page)."""
    return [result["thread_id"] for result in search(app, q, **params)["results"]]


def result_for(app: RunningApp, q: str, thread_id: str, **params: Any) -> dict[str, Any]:
    """The result of `thread_id` for `q`; fails if that conversation is not found."""
    results = {result["thread_id"]: result for result in search(app, q, **params)["results"]}
    assert thread_id in results, f"{q!r} did not find {thread_id}: {list(results)}"
    result: dict[str, Any] = results[thread_id]
    return result


def titles(app: RunningApp, q: str, **params: Any) -> list[dict[str, Any]]:
    """`GET /api/search/titles`; asserts a 200 and returns its results."""
    response = get(app, "/api/search/titles", q=q, **params)
    assert response.status_code == 200, response.text
    results: list[dict[str, Any]] = response.json()["results"]
    for result in results:
        assert set(result) >= {"thread_id", "title", "created_at"}, result
    return results


def every_page(app: RunningApp, q: str, limit: int, **params: Any) -> list[list[dict[str, Any]]]:
    """Every page of a search, following `next_cursor` until it is null."""
    pages, cursor = [], None
    for _ in range(10_000):
        answer = search(app, q, limit=limit, **({"cursor": cursor} if cursor is not None else {}), **params)
        pages.append(answer["results"])
        cursor = answer["next_cursor"]
        if cursor is None:
            return pages
    raise AssertionError("next_cursor never ended")


def eventually(check: Callable[[], T | None], what: str, timeout: float = 15) -> T:
    """Poll `check` until it returns something truthy (the index is updated by a background indexer)."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout:.0f} s: {what}")
        time.sleep(0.05)


def wait_indexed(app: RunningApp, timeout: float = 120) -> None:
    """Until `/api/search` says the background index is complete."""
    eventually(lambda: not search(app, "anything", limit=1)["indexing"], "the index was complete", timeout)


def hit_texts(result: dict[str, Any]) -> list[str]:
    return [segment["text"] for segment in result["snippet"] if segment["hit"]]


def snippet_text(result: dict[str, Any]) -> str:
    return "".join(segment["text"] for segment in result["snippet"])


def folded(text: str) -> str:
    """Lowercased, without accents: how a person reads a hit against what they typed."""
    return "".join(c for c in unicodedata.normalize("NFKD", text.casefold()) if not unicodedata.combining(c))


def when(text: str) -> datetime:
    """A result's time as an aware UTC datetime (the answer may give it with or without a zone)."""
    moment = datetime.fromisoformat(text)
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def one_sentence(response: httpx.Response, status: int) -> str:
    """The refusal's sentence, after checking the status and that the body is `{"error": <one sentence>}`."""
    assert response.status_code == status, (response.status_code, response.text)
    body = response.json()
    assert list(body) == ["error"], body
    sentence: str = body["error"]
    assert sentence.endswith(".") and "\n" not in sentence and "Traceback" not in sentence, sentence
    assert len(sentence) < 300 and sentence.count(". ") == 0, f"not one sentence: {sentence}"
    return sentence


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


# ---- a hand-written history -------------------------------------------------------------------------------


@dataclass
class Conversation:
    thread_id: str
    title: str
    created: datetime
    messages: list[Message]


def chat(thread_id: str, title: str, created: datetime, *texts: str) -> Conversation:
    """A conversation whose messages alternate user, assistant, … 30 s apart."""
    roles = ("user", "assistant")
    return Conversation(thread_id, title, created, [Message(roles[n % 2], text) for n, text in enumerate(texts)])


def corpus_conversations() -> list[Conversation]:
    """The hand-written history the query tests search (each test's words appear nowhere else in it)."""
    c = [
        chat(
            "thr_roles",
            "Seaside outing",
            utc(2025, 1, 5, 9),
            "Where can we have a picnic by the harbour?",
            "The lighthouse meadow has benches and shade.",
        ),
        chat(
            "thr_cafe_accent",
            "Lunch plans",
            utc(2025, 1, 6, 9),
            "We could try the Café Müller on Friday",
            "Friday works for me.",
        ),
        chat("thr_cafe_plain", "Coffee stop", utc(2025, 1, 7, 9), "the cafe zurich opens at noon", "Noon is fine."),
        chat("thr_case", "Space news", utc(2025, 1, 8, 9), "NASA launched the ROCKET at dawn", "What a sight."),
        chat("thr_phrase_a", "Sweets", utc(2025, 1, 9, 9), "I would like a red apple pie for dessert", "Coming up."),
        chat("thr_phrase_b", "Orchard", utc(2025, 1, 10, 9), "The apple is red and the pie is warm", "Enjoy it."),
        chat(
            "thr_prefix",
            "Tooling",
            utc(2025, 1, 11, 9),
            "Sentence embeddings help cluster support tickets",
            "Try a small model first.",
        ),
        chat(
            "thr_cjk_tokyo", "旅行メモ", utc(2025, 1, 12, 9), "東京都庁に行きました", "展望室からの景色はどうでしたか"
        ),
        chat(
            "thr_cjk_kana",
            "お礼",
            utc(2025, 1, 13, 9),
            "どうもありがとうございました",
            "コーヒーをもう一杯いかがですか",
        ),
        chat("thr_korean", "인사", utc(2025, 1, 14, 9), "서울에서 다시 만나요", "좋아요"),
        Conversation(
            "thr_attach",
            "Budget review",
            utc(2025, 1, 15, 9),
            [
                Message(
                    "user",
                    "Here is the file you asked for",
                    attachments=[file_attachment("atc_flamingo0001", "flamingo-budget.pdf")],
                ),
                Message("assistant", "Thanks, I will read it."),
            ],
        ),
        chat(
            "thr_syntax",
            "Odd characters",
            utc(2025, 1, 16, 9),
            "kiwis NOT bananas, said the programmer (really) at 10:30 -- use * and ^ with care",
            "Understood.",
        ),
        chat("thr_punct", "Road notes", utc(2025, 1, 17, 9), "Fine, thanks: zebra crossing ahead.", "Drive safely."),
        chat(
            "thr_long",
            "Filler",
            utc(2025, 1, 18, 9),
            "padding " * 150 + "and then the narwhal surfaced right beside the boat" + " padding" * 150,
            "Wow.",
        ),
        # Ranking: a denser match beats a newer one; more matching messages beat fewer equal ones; then newer.
        chat("thr_rank_dense", "Pets", utc(2025, 2, 1, 9), "Axolotl tank: is my axolotl too warm?", "Keep it cool."),
        chat(
            "thr_rank_sparse",
            "Day out",
            utc(2025, 2, 10, 9),
            "We visited the aquarium and saw sharks, rays, jellyfish, turtles, an octopus, seahorses, penguins, "
            "otters and an axolotl in a small tank near the exit.",
            "Sounds like a great day out.",
        ),
        chat(
            "thr_rank_many",
            "Birds",
            utc(2025, 2, 2, 9),
            "The quetzal feather looks dull today",
            "Check the light.",
            "The quetzal feather looks dull again",
            "Check the food.",
            "The quetzal feather looks dull still",
            "Ask a vet.",
        ),
        chat(
            "thr_rank_once",
            "More birds",
            utc(2025, 2, 11, 9),
            "The quetzal feather looks dull today",
            "Check the light.",
        ),
        chat(
            "thr_tie_old", "Animals", utc(2025, 2, 3, 9), "Where does the capybara sleep at night?", "Near the river."
        ),
        chat(
            "thr_tie_new", "Animals", utc(2025, 2, 12, 9), "Where does the capybara sleep at night?", "Near the river."
        ),
        # Dates: messages at known times (the thread's creation is its first message's).
        chat("thr_date_jan", "Garden", utc(2025, 1, 15, 12), "Gazebo inspection booked", "Noted."),
        chat("thr_date_mar", "Garden", utc(2025, 3, 15, 12), "Gazebo inspection moved", "Noted."),
        chat("thr_date_apr", "Garden", utc(2025, 4, 1, 12), "Gazebo inspection done", "Noted."),
        Conversation(
            "thr_date_both",
            "Garden",
            utc(2025, 1, 20, 12),
            [
                Message("user", "Paint the gazebo green", utc(2025, 1, 20, 12)),
                Message("assistant", "Green is nice.", utc(2025, 1, 20, 12, 0, 30)),
                Message("user", "Fix the gazebo roof too", utc(2025, 3, 20, 12)),
                Message("assistant", "Sure.", utc(2025, 3, 20, 12, 0, 30)),
            ],
        ),
        # Titles, for /api/search/titles.
        chat("thr_title_lisbon", "Trip to Lisbon", utc(2025, 5, 1, 9), "hello", "hi"),
        chat("thr_title_creme", "Crème brûlée notes", utc(2025, 5, 2, 9), "hello", "hi"),
        chat("thr_title_tripod", "Tripod reviews", utc(2025, 5, 3, 9), "hello", "hi"),
        chat("thr_title_planner", "A trip planner", utc(2025, 5, 4, 9), "hello", "hi"),
        chat("thr_title_stripe", "Stripe invoices", utc(2025, 5, 5, 9), "hello", "hi"),
        # The best-matching message of a conversation is the one shown, not its newest match.
        chat(
            "thr_best",
            "Birdwatching",
            utc(2025, 2, 4, 9),
            "Heron, heron: the heron book",
            "A classic.",
            "By the way, what did the ornithologist say about the lake, the weather and the nest of that heron?",
            "Nothing yet.",
        ),
    ]
    # A word in thousands of messages of one long conversation (the newest), and in five older ones.
    c.append(
        chat("thr_lantern_big", "Festival", utc(2025, 9, 1), *[f"Lantern number {n} is lit" for n in range(LANTERNS)])
    )
    c += [chat(f"thr_lantern_{n}", "Crafts", utc(2025, 1 + n, 3), "A paper lantern", "Nice.") for n in range(5)]
    # Pagination: 23 conversations that all mention a wombat, an hour apart.
    c += [
        chat(
            f"thr_page_{n:02d}",
            f"Sighting {n}",
            utc(2025, 6, 1) + timedelta(hours=n),
            f"A wombat crossed the road, sighting {n}",
            "Logged.",
        )
        for n in range(23)
    ]
    return c


CORPUS = corpus_conversations()
CREATED = {conversation.thread_id: conversation.created for conversation in CORPUS}


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory, fake: FakeProvider) -> Iterator[RunningApp]:
    """The app on the hand-written history, its index complete."""
    data = tmp_path_factory.mktemp("corpus")
    for conversation in CORPUS:
        write_conversation(
            data, conversation.thread_id, conversation.title, conversation.created, conversation.messages
        )
    running = start(data, fake)
    try:
        wait_indexed(running)
        yield running
    finally:
        running.stop()


# ---- what a person can type ---------------------------------------------------------------------------------


def test_a_word_in_a_user_message_finds_that_message(corpus: RunningApp) -> None:
    result = result_for(corpus, "picnic", "thr_roles")
    assert (result["role"], result["item_id"], result["title"]) == ("user", item_id("thr_roles", 0), "Seaside outing")
    assert when(result["created_at"]) == CREATED["thr_roles"]
    assert result["hits"] == 1
    assert found(corpus, "picnic") == ["thr_roles"], "nothing else mentions a picnic"


def test_a_word_in_an_assistant_answer_finds_that_answer(corpus: RunningApp) -> None:
    result = result_for(corpus, "lighthouse", "thr_roles")
    assert (result["role"], result["item_id"]) == ("assistant", item_id("thr_roles", 1))
    assert when(result["created_at"]) == CREATED["thr_roles"] + timedelta(seconds=30)


def test_a_word_in_a_title_finds_the_conversation_by_its_title(corpus: RunningApp) -> None:
    result = result_for(corpus, "seaside", "thr_roles")
    assert (result["role"], result["item_id"], result["title"]) == ("title", None, "Seaside outing")
    assert when(result["created_at"]) == CREATED["thr_roles"], "a title hit carries the thread's time"


def test_a_quoted_phrase_finds_only_those_words_in_that_order(corpus: RunningApp) -> None:
    assert sorted(found(corpus, "red apple")) == ["thr_phrase_a", "thr_phrase_b"], "bare words: anywhere, any order"
    assert found(corpus, '"red apple"') == ["thr_phrase_a"]
    assert found(corpus, '"apple red"') == []
    assert found(corpus, '"apple is red" pie') == ["thr_phrase_b"], "a phrase and a word together"


def test_every_word_is_also_a_prefix(corpus: RunningApp) -> None:
    result = result_for(corpus, "embed", "thr_prefix")
    assert [folded(hit)[:5] for hit in hit_texts(result)] == ["embed"], result["snippet"]
    assert found(corpus, "embed clust") == ["thr_prefix"]
    assert found(corpus, "embeddingsx") == []


def test_accents_are_ignored_both_ways(corpus: RunningApp) -> None:
    assert sorted(found(corpus, "cafe")) == ["thr_cafe_accent", "thr_cafe_plain"]
    assert sorted(found(corpus, "café")) == ["thr_cafe_accent", "thr_cafe_plain"]
    assert sorted(found(corpus, "CAFÉ")) == ["thr_cafe_accent", "thr_cafe_plain"]
    assert hit_texts(result_for(corpus, "cafe", "thr_cafe_accent")) == ["Café"], "the text as written is marked"
    assert hit_texts(result_for(corpus, "café", "thr_cafe_plain")) == ["cafe"]
    assert found(corpus, "muller") == ["thr_cafe_accent"]
    assert found(corpus, "zürich") == ["thr_cafe_plain"]


def test_case_is_ignored(corpus: RunningApp) -> None:
    assert found(corpus, "rocket") == ["thr_case"]
    assert found(corpus, "Rocket NASA") == ["thr_case"]
    assert hit_texts(result_for(corpus, "rocket", "thr_case")) == ["ROCKET"]


@pytest.mark.parametrize(
    ("q", "thread_id", "role"),
    [
        pytest.param("東京", "thr_cjk_tokyo", "user", id="kanji-substring-at-the-start"),
        pytest.param("都庁", "thr_cjk_tokyo", "user", id="kanji-substring-inside"),
        pytest.param("行きました", "thr_cjk_tokyo", "user", id="kana-ending"),
        pytest.param("景色", "thr_cjk_tokyo", "assistant", id="kanji-in-an-answer"),
        pytest.param("ありがとう", "thr_cjk_kana", "user", id="hiragana-word"),
        pytest.param("コーヒー", "thr_cjk_kana", "assistant", id="katakana-word"),
        pytest.param("서울", "thr_korean", "user", id="korean-word"),
        pytest.param("メモ", "thr_cjk_tokyo", "title", id="katakana-in-a-title"),
    ],
)
def test_chinese_japanese_and_korean_text_is_found_by_any_substring(
    corpus: RunningApp, q: str, thread_id: str, role: str
) -> None:
    assert found(corpus, q) == [thread_id]
    result = result_for(corpus, q, thread_id)
    assert result["role"] == role
    if role != "title":
        assert hit_texts(result) == [q], result["snippet"]


def test_cjk_text_that_is_not_there_finds_nothing(corpus: RunningApp) -> None:
    assert found(corpus, "大阪") == []
    assert found(corpus, "東京タワー") == [], "the whole run must be there, not just its start"


def test_an_attachments_name_finds_the_message_it_was_sent_with(corpus: RunningApp) -> None:
    result = result_for(corpus, "flamingo", "thr_attach")
    assert (result["role"], result["item_id"]) == ("user", item_id("thr_attach", 0))
    assert found(corpus, "flamingo budget") == ["thr_attach"]


def test_search_syntax_is_searched_as_the_words_typed(corpus: RunningApp) -> None:
    # As FTS5 syntax this would mean "kiwis but not bananas" and find nothing.
    assert found(corpus, "kiwis NOT bananas") == ["thr_syntax"]
    assert found(corpus, "kiwis OR zzzzunheardof") == [], "OR is a word to look for, not an alternative"
    assert found(corpus, "(really)") == ["thr_syntax"]
    assert found(corpus, "programmer*") == ["thr_syntax"]
    assert found(corpus, "10:30") == ["thr_syntax"]


# ---- ranking and snippets ------------------------------------------------------------------------------------


def test_the_result_shows_the_conversations_best_matching_message_not_its_newest(corpus: RunningApp) -> None:
    result = result_for(corpus, "heron", "thr_best")
    assert (result["role"], result["item_id"], result["hits"]) == ("user", item_id("thr_best", 0), 2)
    assert when(result["created_at"]) == CREATED["thr_best"]
    assert hit_texts(result) == ["Heron", "heron", "heron"]


def test_a_word_in_thousands_of_messages_still_finds_every_conversation_newest_first(corpus: RunningApp) -> None:
    pages = every_page(corpus, "lantern", limit=5)
    results = {r["thread_id"]: r["hits"] for page in pages for r in page}
    assert sorted(results) == [
        "thr_lantern_0",
        "thr_lantern_1",
        "thr_lantern_2",
        "thr_lantern_3",
        "thr_lantern_4",
        "thr_lantern_big",
    ]
    assert sum(len(page) for page in pages) == 6, "no conversation twice"
    # Past 3,000 matching messages the matches are not counted (that alone took longer than the search).
    assert set(results.values()) == {None}


def test_a_closer_match_ranks_above_a_newer_looser_one(corpus: RunningApp) -> None:
    assert found(corpus, "axolotl") == ["thr_rank_dense", "thr_rank_sparse"]


def test_a_conversation_with_more_matching_messages_ranks_above_one_with_a_single_equal_match(
    corpus: RunningApp,
) -> None:
    # Each matching message is word for word the same kind of sentence; `many` has three, `once` (newer) one.
    results = search(corpus, "quetzal")["results"]
    assert [(r["thread_id"], r["hits"]) for r in results] == [("thr_rank_many", 3), ("thr_rank_once", 1)]


def test_equally_relevant_conversations_come_newest_first(corpus: RunningApp) -> None:
    assert found(corpus, "capybara") == ["thr_tie_new", "thr_tie_old"]
    assert found(corpus, "capybara", before="2025-02-05") == ["thr_tie_old"]


def test_a_snippet_marks_each_matched_word_as_written_and_is_taken_from_the_message(corpus: RunningApp) -> None:
    result = result_for(corpus, "cafe muller", "thr_cafe_accent")
    assert hit_texts(result) == ["Café", "Müller"]
    assert snippet_text(result).strip("…") in "We could try the Café Müller on Friday"
    assert snippet_text(result).startswith("We could try the "), "a short message is shown whole"


def test_the_snippet_of_a_long_message_is_short_and_shows_the_match(corpus: RunningApp) -> None:
    result = result_for(corpus, "narwhal", "thr_long")
    text = snippet_text(result)
    assert len(text) <= 300, f"{len(text)} characters"
    assert hit_texts(result) == ["narwhal"]
    assert text.startswith("…") and text.endswith("…"), "cut on both sides, and says so"
    assert "then the narwhal surfaced" in text


def test_a_phrase_is_marked_even_across_punctuation(corpus: RunningApp) -> None:
    # The phrase "thanks zebra" matches "thanks: zebra" (punctuation is not a word); the reader should see where.
    result = result_for(corpus, '"thanks zebra"', "thr_punct")
    assert folded(" ".join(hit_texts(result))).replace(":", "").split() == ["thanks", "zebra"], result["snippet"]


def test_a_cjk_hit_is_marked_inside_its_run(corpus: RunningApp) -> None:
    result = result_for(corpus, "都庁", "thr_cjk_tokyo")
    assert result["snippet"] == [
        {"text": "東京", "hit": False},
        {"text": "都庁", "hit": True},
        {"text": "に行きました", "hit": False},
    ]


# ---- pages and dates -------------------------------------------------------------------------------------------


def test_pages_follow_next_cursor_without_duplicates_or_gaps(corpus: RunningApp) -> None:
    pages = every_page(corpus, "wombat", limit=5)
    assert [len(page) for page in pages] == [5, 5, 5, 5, 3]
    paged = [result["thread_id"] for page in pages for result in page]
    assert len(set(paged)) == len(paged) == 23
    assert set(paged) == {f"thr_page_{n:02d}" for n in range(23)}
    assert paged == found(corpus, "wombat", limit=50), "pages in the same order as one long page"
    assert paged == [f"thr_page_{n:02d}" for n in reversed(range(23))], "equal matches: newest first"


def test_the_default_page_is_20_and_the_largest_50(corpus: RunningApp) -> None:
    first = search(corpus, "wombat")
    assert len(first["results"]) == 20 and first["next_cursor"] is not None
    last = search(corpus, "wombat", cursor=first["next_cursor"])
    assert len(last["results"]) == 3 and last["next_cursor"] is None
    assert search(corpus, "wombat", limit=50)["next_cursor"] is None


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        pytest.param({}, {"thr_date_jan": 1, "thr_date_mar": 3, "thr_date_apr": 4, "thr_date_both": None}, id="all"),
        pytest.param({"after": "2025-02-01"}, {"thr_date_mar": 3, "thr_date_apr": 4, "thr_date_both": 3}, id="after"),
        pytest.param({"before": "2025-02-01"}, {"thr_date_jan": 1, "thr_date_both": 1}, id="before"),
        pytest.param(
            {"after": "2025-02-01", "before": "2025-04-01"}, {"thr_date_mar": 3, "thr_date_both": 3}, id="between"
        ),
        pytest.param(
            {"before": "2025-04-01T12:00:00"},
            {"thr_date_jan": 1, "thr_date_mar": 3, "thr_date_both": None},
            id="before-is-exclusive",
        ),
        pytest.param({"after": "2025-03-31", "before": "2025-04-01T12:00:01"}, {"thr_date_apr": 4}, id="datetime"),
        pytest.param({"after": "2025-03-16", "before": "2025-03-17"}, {}, id="empty-range"),
        pytest.param({"after": "2025-03-20 12:00:01"}, {"thr_date_apr": 4}, id="datetime-with-a-space"),
        pytest.param(
            {"after": "2025-03-31T00:00:00.000Z", "before": "2025-04-01T12:00:01.000Z"},
            {"thr_date_apr": 4},
            id="javascript-toISOString",
        ),
        pytest.param(
            {"after": "2025-03-31", "before": "2025-04-01T14:00:01+02:00"},
            {"thr_date_apr": 4},
            id="datetime-with-an-offset",
        ),
    ],
)
def test_a_date_range_keeps_the_messages_written_in_it(
    corpus: RunningApp, params: dict[str, str], expected: dict[str, int | None]
) -> None:
    results = {result["thread_id"]: result for result in search(corpus, "gazebo", **params)["results"]}
    assert set(results) == set(expected)
    for thread_id, month in expected.items():
        if month is not None:
            assert when(results[thread_id]["created_at"]).month == month, "the matching message in the range"


# ---- /api/search/titles: for @ references ---------------------------------------------------------------------


def test_titles_are_found_by_word_prefixes_newest_first(corpus: RunningApp) -> None:
    assert [r["title"] for r in titles(corpus, "trip")] == ["A trip planner", "Tripod reviews", "Trip to Lisbon"]
    assert [r["title"] for r in titles(corpus, "trip lis")] == ["Trip to Lisbon"]
    planner = titles(corpus, "planner")[0]
    assert planner["thread_id"] == "thr_title_planner"
    assert when(planner["created_at"]) == CREATED["thr_title_planner"]


def test_titles_ignore_accents_and_case(corpus: RunningApp) -> None:
    assert [r["thread_id"] for r in titles(corpus, "creme")] == ["thr_title_creme"]
    assert [r["thread_id"] for r in titles(corpus, "BRÛL")] == ["thr_title_creme"]


def test_an_empty_title_query_gives_the_most_recent_conversations(corpus: RunningApp) -> None:
    newest = sorted(CORPUS, key=lambda c: c.created, reverse=True)
    assert [r["thread_id"] for r in titles(corpus, "")] == [c.thread_id for c in newest[:8]]
    assert [r["thread_id"] for r in titles(corpus, "", limit=3)] == [c.thread_id for c in newest[:3]]
    assert len(titles(corpus, "", limit=20)) == 20


def test_titles_never_match_inside_a_word(corpus: RunningApp) -> None:
    assert "thr_title_stripe" not in [r["thread_id"] for r in titles(corpus, "trip")]


# ---- nothing breaks it --------------------------------------------------------------------------------------

ODD_QUERIES = [
    '"unbalanced',
    'unbalanced"',
    '"',
    '""',
    '"""',
    "AND",
    "OR",
    "NOT",
    "a AND",
    "OR b",
    "NOT NOT",
    "(",
    ")",
    "())(",
    "*",
    "**",
    "*word",
    "^",
    "^start",
    ":",
    "text:",
    "text:word",
    "grams:東京",
    "-",
    "-word",
    "+",
    "+word",
    "NEAR(",
    "NEAR(a b",
    "NEAR(a b, 2)",
    "a NEAR b",
    "{text}: x",
    "'",
    "'; DROP TABLE messages; --",
    "%",
    "_",
    "\\",
    "\x00",
    "a\x00b",
    "\u200b",
    "\ufeff",
    "🙂",
    "e\u0301",
    "ﬁ",
    "ＡＢＣ",
    "東",
    "ー",
    "\t\n",
    "x" * 200,
    "word " * 99,
    MAX_QUERY_CHARS * "a",
]


@pytest.mark.parametrize("q", ODD_QUERIES, ids=range(len(ODD_QUERIES)))
def test_no_query_breaks_search(corpus: RunningApp, q: str) -> None:
    answer = search(corpus, q)
    assert isinstance(answer["results"], list)


@pytest.mark.parametrize(
    "q", ["", " ", "     ", "\t", "\u3000"], ids=["empty", "space", "spaces", "tab", "ideographic"]
)
def test_an_empty_query_finds_nothing(corpus: RunningApp, q: str) -> None:
    answer = search(corpus, q)
    assert answer["results"] == [] and answer["next_cursor"] is None


@pytest.mark.parametrize("size", [MAX_QUERY_CHARS + 1, 10_000])
def test_a_query_over_500_characters_is_refused_with_a_sentence(corpus: RunningApp, size: int) -> None:
    one_sentence(get(corpus, "/api/search", q="a" * size), 400)


def test_a_query_parameter_that_is_missing_is_refused_not_crashed(corpus: RunningApp) -> None:
    response = get(corpus, "/api/search")
    assert response.status_code in (200, 400), response.text
    if response.status_code == 400:
        one_sentence(response, 400)


@pytest.mark.parametrize("cursor", ["abc", "-1", "1.5", "20abc", "' OR 1=1 --", "0x10"])
def test_a_bad_cursor_is_refused_with_a_sentence(corpus: RunningApp, cursor: str) -> None:
    one_sentence(get(corpus, "/api/search", q="wombat", cursor=cursor), 400)


def test_a_cursor_past_the_end_gives_an_empty_page(corpus: RunningApp) -> None:
    response = get(corpus, "/api/search", q="wombat", cursor="100000")
    assert response.status_code in (200, 400), response.text
    if response.status_code == 200:
        assert response.json()["results"] == [] and response.json()["next_cursor"] is None


@pytest.mark.parametrize(
    "date", ["2025-13-01", "2025-02-30", "yesterday", "01/02/2025", "2025-03-01T25:00", "2025-03-01T::", "2025"]
)
@pytest.mark.parametrize("which", ["after", "before"])
def test_a_bad_date_is_refused_with_a_sentence(corpus: RunningApp, which: str, date: str) -> None:
    one_sentence(get(corpus, "/api/search", q="gazebo", **{which: date}), 400)


@pytest.mark.parametrize("limit", ["0", "51", "-3", "abc", "1e3", "2.5"])
@pytest.mark.parametrize("route", ["/api/search", "/api/search/titles"])
def test_a_limit_out_of_range_is_refused_or_kept_in_range(corpus: RunningApp, route: str, limit: str) -> None:
    response = get(corpus, route, q="wombat" if route == "/api/search" else "sighting", limit=limit)
    if response.status_code == 400:
        one_sentence(response, 400)
    else:
        assert response.status_code == 200, (response.status_code, response.text)
        assert 1 <= len(response.json()["results"]) <= (50 if route == "/api/search" else 20)


@pytest.mark.parametrize("q", ['"', "NEAR(", "*", "\x00", "a" * 10_000, "x" * 600])
def test_odd_title_queries_never_break_the_server(corpus: RunningApp, q: str) -> None:
    response = get(corpus, "/api/search/titles", q=q)
    assert response.status_code in (200, 400), (response.status_code, response.text)
    if response.status_code == 400:
        one_sentence(response, 400)


def test_after_every_odd_request_the_server_still_answers_and_logged_no_traceback(corpus: RunningApp) -> None:
    for q in ODD_QUERIES:
        get(corpus, "/api/search", q=q)
    with corpus.client() as client:
        raw = client.get("/api/search?q=%FF%FE%22&cursor=%C0")  # bytes that are not UTF-8
        assert raw.status_code in (200, 400), raw.text
    assert found(corpus, "picnic") == ["thr_roles"]
    assert get(corpus, "/health").status_code == 200
    assert "Traceback" not in corpus.stderr, corpus.stderr[-3000:]
    assert corpus.proc.poll() is None


# ---- the token, and privacy ----------------------------------------------------------------------------------


@pytest.mark.parametrize("route", ["/api/search", "/api/search/titles"])
@pytest.mark.parametrize("auth", [None, "Bearer wrong-token", "Basic Zm9vOmJhcg=="])
def test_search_needs_the_token(corpus: RunningApp, route: str, auth: str | None) -> None:
    headers = {"Authorization": auth} if auth else {}
    response = httpx.get(f"{corpus.base}{route}", params={"q": "picnic"}, headers=headers)
    assert response.status_code == 401
    assert "picnic" not in response.text and "thr_roles" not in response.text


def test_what_people_search_for_is_never_logged(corpus: RunningApp) -> None:
    search(corpus, "secretsearchword")
    titles(corpus, "secrettitleword")
    httpx.get(f"{corpus.base}/api/search", params={"q": "secretrefusedword"})
    get(corpus, "/api/search", q="secretlongword" * 50)
    time.sleep(0.2)
    for word in ("secretsearchword", "secrettitleword", "secretrefusedword", "secretlongword"):
        assert word not in corpus.stderr


# ---- the index follows every change -----------------------------------------------------------------------------


def test_a_chat_is_searchable_right_after_it_is_answered(app: RunningApp) -> None:
    thread_id = thread_id_of(app.send("Tell me about the quokka population on Rottnest"))
    started = time.monotonic()
    items = app.items(thread_id)

    # The index waits a moment after a lone change (so it does not compete with the answer just asked for).
    def both_found() -> list[dict[str, Any]] | None:
        found: list[dict[str, Any]] = search(app, "quokka")["results"]
        return found if [r["hits"] for r in found] == [2] else None

    results = eventually(both_found, "the question and the echoing answer were found", timeout=10)
    waited = time.monotonic() - started
    assert [r["thread_id"] for r in results] == [thread_id]
    assert (results[0]["role"], results[0]["item_id"]) in [("user", items[0]["id"]), ("assistant", items[1]["id"])]
    assert waited < 2, f"found {waited:.1f} s after the answer"


def test_words_only_in_the_models_answer_find_the_answer(app: RunningApp) -> None:
    # The fake answers "You said: <text>. (I received …)": "said" is in the answer only.
    thread_id = thread_id_of(app.send("zanzibar spice route"))
    answer = app.items(thread_id)[1]
    results = eventually(lambda: search(app, "said zanzibar")["results"], "the answer was found")
    assert [(r["thread_id"], r["role"], r["item_id"], r["hits"]) for r in results] == [
        (thread_id, "assistant", answer["id"], 1)
    ]
    assert "".join(p["text"] for p in answer["content"]).startswith("You said: zanzibar spice route.")


def test_a_retried_answer_replaces_the_old_one_in_search(app: RunningApp) -> None:
    thread_id = thread_id_of(app.send("kookaburra laughing at dawn"))
    question, old = (item["id"] for item in app.items(thread_id))
    eventually(lambda: found(app, "said kookaburra") == [thread_id], "the first answer was found")
    app.stream("threads.retry_after_item", thread_id=thread_id, item_id=question)
    new = app.items(thread_id)[1]["id"]
    assert new != old

    def new_answer_found() -> list[dict[str, Any]] | None:
        results = search(app, "said kookaburra")["results"]
        return results if [r["item_id"] for r in results] == [new] else None

    [result] = eventually(new_answer_found, "the new answer, and only it, was found")
    assert result["hits"] == 1, "the old answer left the index"


def test_a_generated_title_is_searchable(app: RunningApp) -> None:
    thread_id = thread_id_of(app.send("Gnocchi dinner ideas please"))
    results = eventually(lambda: search(app, "title gnocchi")["results"], "the title was found")
    assert [(r["thread_id"], r["role"], r["title"]) for r in results] == [
        (thread_id, "title", "Fake title Gnocchi dinner ideas")
    ]
    assert [r["thread_id"] for r in titles(app, "fake title gnoc")] == [thread_id]


def test_renaming_a_conversation_changes_which_words_find_its_title(app: RunningApp) -> None:
    thread_id = thread_id_of(app.send("hello there friend"))
    app.call("threads.update", thread_id=thread_id, title="Marmalade experiments")
    eventually(lambda: found(app, "marmalade") == [thread_id], "the new title was found")
    assert [r["thread_id"] for r in titles(app, "marma")] == [thread_id]
    app.call("threads.update", thread_id=thread_id, title="Quince jelly")
    eventually(lambda: found(app, "quince") == [thread_id], "the newer title was found")
    assert found(app, "marmalade") == [], "the old title no longer finds it"
    assert titles(app, "marma") == []
    assert search(app, "quince")["results"][0]["title"] == "Quince jelly"


def test_deleting_a_conversation_removes_its_hits(app: RunningApp) -> None:
    keep = thread_id_of(app.send("ocelot sightings in the north"))
    gone = thread_id_of(app.send("ocelot sightings in the south"))
    app.call("threads.update", thread_id=gone, title="Ocelot south")
    eventually(lambda: sorted(found(app, "ocelot")) == sorted([keep, gone]), "both were found")
    app.call("threads.delete", thread_id=gone)
    eventually(lambda: found(app, "ocelot") == [keep], "the deleted one was no longer found")
    assert gone not in found(app, "south")
    assert gone not in [r["thread_id"] for r in titles(app, "ocelot")]
    assert gone not in [r["thread_id"] for r in titles(app, "")]


def test_an_uploaded_files_name_finds_the_message(app: RunningApp) -> None:
    png = media.png(6, 6)
    create = app.post(
        {
            "type": "attachments.create",
            "params": {"name": "pelican-sunset.png", "size": len(png), "mime_type": "image/png"},
        }
    )
    assert create.status_code == 200, create.text
    descriptor = create.json()["upload_descriptor"]
    uploaded = httpx.put(descriptor["url"], content=png, headers=descriptor["headers"])
    assert uploaded.status_code == 200, uploaded.text
    message = user_input("What do you see here?") | {"attachments": [create.json()["id"]]}
    thread_id = thread_id_of(app.stream("threads.create", input=message))
    user_id = app.items(thread_id)[0]["id"]
    results = eventually(lambda: search(app, "pelican sunset")["results"], "the file's name was found")
    assert [(r["thread_id"], r["role"], r["item_id"]) for r in results] == [(thread_id, "user", user_id)]


def test_a_message_added_later_to_a_conversation_is_found_in_it(app: RunningApp) -> None:
    thread_id = thread_id_of(app.send("first turn about lemurs"))
    app.send("second turn about tapirs", thread_id)
    turn_two = [item["id"] for item in app.items(thread_id)[2:]]
    results = eventually(lambda: search(app, "tapirs")["results"], "the second turn was found")
    assert [(r["thread_id"], r["hits"]) for r in results] == [(thread_id, 2)]
    assert results[0]["item_id"] in turn_two
    assert result_for(app, "lemurs", thread_id)["hits"] == 2


# ---- restarts, hand edits and a damaged index -------------------------------------------------------------


def test_files_edited_added_or_removed_by_hand_while_the_app_was_closed_are_searched_as_they_are(
    tmp_path: Path, fake: FakeProvider
) -> None:
    first = start(tmp_path, fake)
    try:
        edited = thread_id_of(first.send("We saw a walrus on the ice"))
        removed = thread_id_of(first.send("We saw a manatee in the bay"))
        eventually(lambda: found(first, "walrus") == [edited] and found(first, "manatee") == [removed], "indexed")
    finally:
        assert first.stop() == 0
    # Edited in place, to words of the same length: the file's size does not change.
    path = tmp_path / "threads" / f"{edited}.json"
    before = path.stat().st_size
    path.write_bytes(path.read_bytes().replace(b"walrus", b"beluga"))
    assert path.stat().st_size == before
    (tmp_path / "threads" / f"{removed}.json").unlink()
    write_conversation(
        tmp_path,
        "thr_dropped0001",
        "From a backup",
        utc(2024, 6, 1),
        [Message("user", "A platypus laid eggs"), Message("assistant", "Monotremes do that.")],
    )

    second = start(tmp_path, fake)
    try:
        wait_indexed(second)
        assert found(second, "beluga") == [edited]
        assert found(second, "walrus") == []
        assert found(second, "manatee") == []
        assert found(second, "platypus") == ["thr_dropped0001"]
        assert found(second, "monotremes") == ["thr_dropped0001"]
        assert [r["thread_id"] for r in titles(second, "backup")] == ["thr_dropped0001"]
    finally:
        second.stop()


def small_history(data: Path, threads: int) -> None:
    """`threads` conversations of six messages; thread n's message m carries `pseudo_word(n * 6 + m)`."""
    for n in range(threads):
        messages = [
            Message(
                "user" if m % 2 == 0 else "assistant", f"{SENTENCES[(n + m) % len(SENTENCES)]} {pseudo_word(n * 6 + m)}"
            )
            for m in range(6)
        ]
        write_conversation(
            data, f"thr_small{n:06d}", f"Conversation {n}", utc(2024, 1, 1) + timedelta(hours=n), messages
        )


def assert_complete(app: RunningApp, threads: int, *, every: int = 1) -> None:
    """Every conversation of `small_history` is found by its title and (every `every`-th) by each message's word,
    exactly once."""
    pages = every_page(app, "conversation", limit=50)
    by_title = [r["thread_id"] for page in pages for r in page]
    assert len(by_title) == len(set(by_title)) == threads, f"{len(set(by_title))} of {threads} titles found"
    for n in range(0, threads, every):
        for m in (0, 5):
            results = search(app, pseudo_word(n * 6 + m))["results"]
            expected = [(f"thr_small{n:06d}", item_id(f"thr_small{n:06d}", m), 1)]
            assert [(r["thread_id"], r["item_id"], r["hits"]) for r in results] == expected, (n, m, results)


@pytest.fixture(scope="module")
def indexed_history(tmp_path_factory: pytest.TempPathFactory, fake: FakeProvider) -> Path:
    """A data folder of 120 conversations whose index was built by the app and left by a clean stop."""
    data = tmp_path_factory.mktemp("indexed")
    small_history(data, 120)
    app = start(data, fake)
    try:
        wait_indexed(app)
        assert_complete(app, 120, every=10)
    finally:
        assert app.stop() == 0
    assert (data / "index.sqlite3").exists()
    return data


def damage_deleted(index: Path) -> None:
    for path in index.parent.glob("index.sqlite3*"):
        path.unlink()


def damage_garbage(index: Path) -> None:
    index.write_bytes(os.urandom(index.stat().st_size))


def damage_truncated(index: Path) -> None:
    with index.open("r+b") as file:
        file.truncate(index.stat().st_size // 2)


def damage_emptied(index: Path) -> None:
    index.write_bytes(b"")


def damage_header_only(index: Path) -> None:
    data = bytearray(index.read_bytes())
    data[100:] = os.urandom(len(data) - 100)  # a valid SQLite header over garbage pages
    index.write_bytes(bytes(data))


def damage_foreign(index: Path) -> None:
    damage_deleted(index)
    with sqlite3.connect(index) as db:  # a real SQLite database, of something else (another version, say)
        db.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)")
        db.execute("INSERT INTO notes (body) VALUES ('not an index')")
    db.close()


def damage_garbage_wal(index: Path) -> None:
    (index.parent / "index.sqlite3-wal").write_bytes(os.urandom(64 * 1024))


DAMAGES: dict[str, Callable[[Path], None]] = {
    "deleted": damage_deleted,
    "garbage": damage_garbage,
    "truncated": damage_truncated,
    "emptied": damage_emptied,
    "garbage-pages-behind-a-valid-header": damage_header_only,
    "a-database-of-something-else": damage_foreign,
    "a-garbage-wal-beside-it": damage_garbage_wal,
}


@pytest.mark.parametrize("damage", list(DAMAGES))
def test_an_index_deleted_or_damaged_while_the_app_was_closed_is_rebuilt_at_start(
    tmp_path: Path, fake: FakeProvider, indexed_history: Path, damage: str
) -> None:
    data = tmp_path / "data"
    shutil.copytree(indexed_history, data)
    DAMAGES[damage](data / "index.sqlite3")
    app = start(data, fake)
    try:
        listed = app.call("threads.list", limit=100, order="desc")["data"]
        assert len(listed) == 100, "the conversation list is there at once"
        wait_indexed(app)
        assert_complete(app, 120, every=7)
        thread_id = thread_id_of(app.send("and a new tarsier"))
        eventually(lambda: found(app, "tarsier") == [thread_id], "a new message was indexed")
        assert "Traceback" not in app.stderr, app.stderr[-3000:]
    finally:
        assert app.stop() == 0
    with sqlite3.connect(data / "index.sqlite3") as db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    db.close()


def test_a_clean_restart_keeps_the_index_and_search_is_complete_at_once(
    tmp_path: Path, fake: FakeProvider, indexed_history: Path
) -> None:
    data = tmp_path / "data"
    shutil.copytree(indexed_history, data)
    app = start(data, fake)
    try:
        first = search(app, pseudo_word(6 * 60))
        assert first["indexing"] is False, "nothing to rebuild"
        assert [r["thread_id"] for r in first["results"]] == ["thr_small000060"]
    finally:
        app.stop()


def test_kill_9_while_indexing_thousands_of_threads_then_a_restart_completes_the_index(
    tmp_path: Path, fake: FakeProvider
) -> None:
    threads = 3000
    for n in range(threads):
        messages = [
            Message(
                "user" if m % 2 == 0 else "assistant",
                f"{SENTENCES[(n + m) % len(SENTENCES)]} {pseudo_word(n * 20 + m)}",
            )
            for m in range(20)
        ]
        messages[-1].text += " the marmot whistled"
        write_conversation(
            tmp_path, f"thr_small{n:06d}", f"Conversation {n}", utc(2023, 1, 1) + timedelta(hours=n), messages
        )
    app = start(tmp_path, fake)
    try:
        assert search(app, "marmot", limit=1)["indexing"] is True, "a start with no index indexes in the background"
        assert len(app.call("threads.list", limit=100, order="desc")["data"]) == 100, "the listing comes first"
        time.sleep(0.3)
        still = search(app, "marmot", limit=1)["indexing"]
    finally:
        app.proc.send_signal(signal.SIGKILL)
        app.proc.wait(10)
    assert still, "the index was complete before the kill: write more threads for this test to mean anything"

    app = start(tmp_path, fake)
    try:
        wait_indexed(app, timeout=300)
        pages = every_page(app, "marmot", limit=50)
        marmots = [(r["thread_id"], r["hits"]) for page in pages for r in page]
        assert len(marmots) == threads, f"{len(marmots)} of {threads} conversations found"
        assert {hits for _, hits in marmots} == {1}, "no message indexed twice"
        for n in range(0, threads, 97):
            results = search(app, pseudo_word(n * 20 + 2))["results"]
            assert [(r["thread_id"], r["hits"]) for r in results] == [(f"thr_small{n:06d}", 1)], (n, results)
    finally:
        assert app.stop() == 0


# ---- a chat never depends on the index -----------------------------------------------------------------------


def test_chats_are_saved_and_answered_while_another_process_holds_the_index_locked(
    tmp_path: Path, fake: FakeProvider
) -> None:
    app = start(tmp_path, fake)
    try:
        thread_id = thread_id_of(app.send("first message about herons"))
        eventually(lambda: found(app, "herons") == [thread_id], "indexed")
        # A real SQLite write lock on the index, held by this process: the app cannot write to it.
        lock = sqlite3.connect(tmp_path / "index.sqlite3", timeout=0, isolation_level=None)
        lock.execute("BEGIN EXCLUSIVE")
        try:
            started = time.monotonic()
            events = app.send("then egrets nested here", thread_id)
            created = app.send("bitterns boom at night")
            took = time.monotonic() - started
            assert answer_text(events).startswith("You said: then egrets nested here.")
            new_thread = thread_id_of(created)
            assert answer_text(created).startswith("You said: bitterns boom at night.")
            assert took < 5, f"the two chats took {took:.1f} s: they waited for the index"
            saved = json.loads((tmp_path / "threads" / f"{thread_id}.json").read_text("utf-8"))
            assert [i["content"][0]["text"] for i in saved["items"] if i["type"] == "user_message"] == [
                "first message about herons",
                "then egrets nested here",
            ]
            assert (tmp_path / "threads" / f"{new_thread}.json").exists()
            listed = [t["id"] for t in app.call("threads.list", limit=20, order="desc")["data"]]
            assert listed[:2] == [new_thread, thread_id], "the new conversation is listed at once"
            assert found(app, "herons") == [thread_id], "search still answers from what is indexed"
        finally:
            lock.execute("ROLLBACK")
            lock.close()
        eventually(lambda: found(app, "egrets") == [thread_id], "the message was indexed once the lock went", 30)
        eventually(lambda: found(app, "bitterns") == [new_thread], "the new chat was indexed once the lock went", 30)
        assert app.proc.poll() is None
    finally:
        assert app.stop() == 0


def test_a_message_sent_while_the_index_was_locked_is_found_after_a_restart(tmp_path: Path, fake: FakeProvider) -> None:
    app = start(tmp_path, fake)
    try:
        thread_id = thread_id_of(app.send("about storks"))
        eventually(lambda: found(app, "storks") == [thread_id], "indexed")
        lock = sqlite3.connect(tmp_path / "index.sqlite3", timeout=0, isolation_level=None)
        lock.execute("BEGIN EXCLUSIVE")
        try:
            app.send("and about ibises", thread_id)
        finally:
            assert app.stop() == 0
            lock.execute("ROLLBACK")
            lock.close()
    finally:
        app.stop()
    app = start(tmp_path, fake)
    try:
        wait_indexed(app)
        assert found(app, "ibises") == [thread_id]
    finally:
        app.stop()


def test_an_untitled_conversation_is_found_with_an_empty_title(tmp_path: Path, fake: FakeProvider) -> None:
    path = tmp_path / "threads" / "thr_unicode0001.json"
    path.parent.mkdir(parents=True)
    path.write_bytes(
        conversation_payload("thr_unicode0001", None, utc(2024, 2, 2), [Message("user", "fish and chips")])
    )
    app = start(tmp_path, fake)
    try:
        wait_indexed(app)
        assert [t["id"] for t in app.call("threads.list", limit=5, order="desc")["data"]] == ["thr_unicode0001"]
        result = result_for(app, "fish", "thr_unicode0001")
        assert result["title"] == "", "an untitled conversation has an empty title"
    finally:
        app.stop()
