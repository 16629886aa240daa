"""What the search tests share: talking to the app's search routes, waiting for the background index, and the
hand-written history (`corpus`: thread files in the documented format, one app started on them per test module
that asks for it) that most query tests search."""

from __future__ import annotations

import time
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest

from tests.bench.search import (
    Message,
    file_attachment,
    write_conversation,
)
from tests.conftest import OPENAI_KEY
from tests.fake_provider import FakeProvider
from tests.harness import RunningApp, start_app

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


def run_corpus(tmp_path_factory: pytest.TempPathFactory, fake: FakeProvider) -> Iterator[RunningApp]:
    """The app on the hand-written history, its index complete: the body of the `corpus` fixture (tests/conftest.py)."""
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
