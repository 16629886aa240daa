"""Search figures on a big history, as one table: what | measured | target.

Run: `uv run python tests/bench/search.py` (several minutes; `--quick` for a smoke run with 1,000 threads and
fewer runs). It prints figures and asserts nothing. Progress goes to stderr, the table to stdout.

With 10,000 threads of 20 messages each (200,000 messages) written as thread files in the documented format, it
measures: the full rebuild of `<data>/index.sqlite3` (a start with no index, from spawn to the ready line and
until `/api/search` says `indexing: false`) and the index's size on disk; the ready line with an up-to-date
index; `GET /api/search` latency (p50/p95) for a common word, a rare word, a phrase and a CJK substring, and a
second page through `next_cursor`; `GET /api/search/titles`; and `threads.list(20)`. Requests in a series share
one `httpx.Client`, so they reuse one kept-alive connection as the page does, and are timed after the model
layer has loaded (nothing else competes for the CPU).

The generator below (`write_search_corpus`, `write_conversation`) is also what tests/test_search.py writes its
hand-placed thread files with: the same text on every run, so figures before and after a change compare like
for like.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[2]
if __name__ == "__main__":  # run as a script: make `tests` importable (importing this module changes nothing)
    sys.path.insert(0, str(ROOT))

from tests.bench.backend import (  # noqa: E402
    Row,
    code_version,
    kept_alive,
    launch,
    ms,
    note,
    print_table,
    wait_chat_ready,
)
from tests.bench.threads import SENTENCES  # noqa: E402
from tests.fake_provider import FakeProvider  # noqa: E402
from tests.harness import RunningApp  # noqa: E402

MODEL = "openai/fake-local-1"
START = datetime(2024, 1, 1, 9, 0, tzinfo=UTC)

# ---- thread files with searchable words ---------------------------------------------------------------------


@dataclass
class Message:
    """One message of a hand-written conversation."""

    role: str
    """"user" or "assistant"."""
    text: str
    at: datetime | None = None
    """Its time; None: the conversation's creation time plus 30 s per earlier message."""
    attachments: list[dict[str, Any]] = field(default_factory=list)
    """ChatKit attachments as stored in a thread file (user messages only)."""


def stamp(moment: datetime) -> str:
    """A time as thread files keep it (UTC, `Z`)."""
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def file_attachment(attachment_id: str, name: str, mime_type: str = "application/pdf") -> dict[str, Any]:
    """A sent file as a user message in a thread file names it."""
    return {
        "type": "file",
        "id": attachment_id,
        "name": name,
        "mime_type": mime_type,
        "thread_id": None,
        "metadata": {"size": 1234, "sha256": "0" * 64},
    }


def conversation_payload(thread_id: str, title: str | None, created: datetime, messages: Sequence[Message]) -> bytes:
    """A thread file's bytes (`{"schema_version": 1, "thread": …, "items": […]}`), items oldest first."""
    items: list[dict[str, Any]] = []
    for n, message in enumerate(messages):
        at = message.at or created + timedelta(seconds=30 * n)
        base: dict[str, Any] = {"id": item_id(thread_id, n), "thread_id": thread_id, "created_at": stamp(at)}
        if message.role == "user":
            content: list[dict[str, Any]] = [{"type": "input_text", "text": message.text}]
            items.append(
                base
                | {
                    "type": "user_message",
                    "content": content,
                    "attachments": message.attachments,
                    "inference_options": {},
                    "quoted_text": None,
                }
            )
        else:
            content = [{"type": "output_text", "text": message.text, "annotations": []}]
            items.append(base | {"type": "assistant_message", "content": content})
    thread = {"id": thread_id, "title": title, "created_at": stamp(created), "status": {"type": "active"}}
    payload = {"schema_version": 1, "thread": thread | {"metadata": {}}, "items": items}
    return json.dumps(payload, ensure_ascii=False).encode("utf-8")


def write_conversation(
    data_dir: Path, thread_id: str, title: str | None, created: datetime, messages: Sequence[Message]
) -> Path:
    """Write `threads/<thread_id>.json` as a person restoring a backup would, its modification time its
    creation time; returns its path. Message `n` is `msg_<id without thr_>_<n:05d>`."""
    path = data_dir / "threads" / f"{thread_id}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(conversation_payload(thread_id, title, created, messages))
    os.utime(path, (created.timestamp(), created.timestamp()))
    return path


def item_id(thread_id: str, n: int) -> str:
    """The id `write_conversation` gives message `n` of a thread."""
    return f"msg_{thread_id[4:]}_{n:05d}"


def pseudo_word(n: int, prefix: str = "qu") -> str:
    """A made-up word for `n`, all letters, always the same length (so no such word is a prefix of another)."""
    letters = "bcdfghjklmnprstvwxz"
    out = ""
    for _ in range(5):
        n, digit = divmod(n, len(letters))
        out += letters[digit]
    return prefix + out


CJK_SENTENCES = [
    "東京都庁に行きました。",
    "京都の紅葉がとてもきれいでした。",
    "大阪で友達にコーヒーをごちそうしました。",
    "北京烤鸭很好吃。",
    "서울에서 다시 만나요.",
]
COMMON_WORD = "network"
"""In two of the eight sentences: in about a third of the bench's messages, in every thread."""
RARE_WORD = "zeppelin"
"""In one message of one thread in a thousand."""
PHRASE = '"garbage collector"'
"""In one of the eight sentences, in that order (the words also appear apart in another)."""
CJK_QUERY = "東京"
"""Inside `東京都庁に行きました`, in about one message in a hundred."""


def corpus_thread(n: int, messages: int) -> tuple[str, str, datetime, list[Message]]:
    """Thread `n` of the bench's history: id, title, creation time and messages (the same on every run)."""
    thread_id = f"thr_search{n:09d}"
    rng = random.Random(thread_id)
    created = START + timedelta(minutes=97 * n)
    out: list[Message] = []
    for m in range(messages):
        if m % 2 == 0:
            text = f"{rng.choice(SENTENCES)} {pseudo_word(n * messages + m)}"
        else:
            text = " ".join(rng.sample(SENTENCES, 2))
        if rng.random() < 0.05:
            text += " " + rng.choice(CJK_SENTENCES)
        if n % 1000 == 7 and m == 3:
            text += f" The {RARE_WORD} museum opens at ten."
        out.append(Message("user" if m % 2 == 0 else "assistant", text))
    return thread_id, f"Conversation {pseudo_word(n, 'ti')}", created, out


def write_search_corpus(data_dir: Path, threads: int, messages: int = 20) -> dict[str, int]:
    """`threads` conversations of `messages` messages each; returns how many messages hold each query's text."""
    counts = {COMMON_WORD: 0, RARE_WORD: 0, PHRASE: 0, CJK_QUERY: 0}
    for n in range(threads):
        thread_id, title, created, items = corpus_thread(n, messages)
        write_conversation(data_dir, thread_id, title, created, items)
        for item in items:
            text = item.text.lower()
            counts[COMMON_WORD] += COMMON_WORD in text
            counts[RARE_WORD] += RARE_WORD in text
            counts[PHRASE] += PHRASE.strip('"') in text
            counts[CJK_QUERY] += CJK_QUERY in text
    return counts


# ---- the bench --------------------------------------------------------------------------------------------


def plural(count: int, noun: str) -> str:
    return f"{count:,} {noun}" + ("" if count == 1 else "s")


def percentile(times: list[float], fraction: float) -> float:
    ordered = sorted(times)
    return ordered[min(len(ordered) - 1, int(len(ordered) * fraction))]


def p50_p95(times: list[float]) -> str:
    return f"p50 {ms(statistics.median(times))}, p95 {ms(percentile(times, 0.95))} (n={len(times)})"


def search(client: httpx.Client, q: str, **params: Any) -> dict[str, Any]:
    response = client.get("/api/search", params={"q": q, **params})
    if response.status_code != 200:
        raise SystemExit(f"GET /api/search?q={q} answered {response.status_code}: {response.text}")
    answer: dict[str, Any] = response.json()
    return answer


def titles(client: httpx.Client, q: str) -> None:
    client.get("/api/search/titles", params={"q": q}).raise_for_status()


def wait_indexed(client: httpx.Client, timeout: float = 3600) -> float:
    """Poll until `/api/search` says the index is complete; returns the seconds waited."""
    started = time.perf_counter()
    while search(client, COMMON_WORD, limit=1)["indexing"]:
        if time.perf_counter() - started > timeout:
            raise SystemExit("the index was never complete")
        time.sleep(0.05)
    return time.perf_counter() - started


def index_bytes(data_dir: Path) -> tuple[int, int]:
    """The index's size on disk: `index.sqlite3`, and its `-wal` file."""

    def size(name: str) -> int:
        path = data_dir / name
        return path.stat().st_size if path.exists() else 0

    return size("index.sqlite3"), size("index.sqlite3-wal")


def mb(size: int) -> str:
    return f"{size / 1e6:.1f} MB"


def rebuild(data: Path, fake: FakeProvider, threads: int, messages: int) -> tuple[list[Row], RunningApp]:
    """A start with no index: the ready line, then until the whole index is built; the app stays up."""
    for name in ("index.sqlite3", "index.sqlite3-wal", "index.sqlite3-shm"):
        (data / name).unlink(missing_ok=True)
    note("start with no index.sqlite3: full rebuild")
    spawned = time.perf_counter()
    app, ready = launch(data, fake, timeout=600)
    with app.client() as client:
        first = search(client, COMMON_WORD, limit=1)
        listed = client.post("/chatkit", json={"type": "threads.list", "params": {"limit": 20, "order": "desc"}})
        listed.raise_for_status()
        wait_indexed(client)
        built = time.perf_counter() - spawned
        whole = len(listed.json()["data"]) == min(20, threads)
    db, wal = index_bytes(data)
    n = f"{threads:,} threads × {messages} messages"
    return [
        Row(f"ready line, no index.sqlite3, {n} (from spawn)", ms(ready)),
        Row("  the listing at once (threads.list(20) right after the ready line)", "yes" if whole else "NO"),
        Row("  `indexing` true right after the ready line", str(first["indexing"]).lower()),
        Row(f"full rebuild: spawn → `indexing: false`, {threads * messages:,} messages", ms(built)),
        Row("index size on disk after the rebuild: index.sqlite3 + -wal", f"{mb(db + wal)} ({mb(db)} + {mb(wal)})"),
    ], app


def restarts(data: Path, fake: FakeProvider, starts: int, threads: int) -> list[Row]:
    """Starts with an up-to-date index: the ready line, and until search is complete."""
    ready, complete = [], []
    for run in range(starts):
        note(f"start with an up-to-date index {run + 1}/{starts}")
        spawned = time.perf_counter()
        app, seconds = launch(data, fake)
        with app.client() as client:
            wait_indexed(client)
            complete.append(time.perf_counter() - spawned)
        ready.append(seconds)
        app.stop()
    db, wal = index_bytes(data)
    n = f"{threads:,} threads"
    return [
        Row(f"ready line, index up to date, {n} (median of {starts})", ms(statistics.median(ready)), "≤ 1.0 s"),
        Row(f"spawn → `indexing: false`, index up to date (median of {starts})", ms(statistics.median(complete))),
        Row("index size on disk after a clean stop: index.sqlite3 + -wal", f"{mb(db + wal)} ({mb(db)} + {mb(wal)})"),
    ]


def latencies(app: RunningApp, runs: int, counts: dict[str, int], threads: int) -> list[Row]:
    """Kept-alive latencies of search and listing on the loaded app."""
    rows = []
    with app.client() as client:
        wait_chat_ready(client)
        wait_indexed(client)
        queries = [
            ("a common word", COMMON_WORD),
            ("a rare word", RARE_WORD),
            ("a phrase", PHRASE),
            ("a CJK substring", CJK_QUERY),
        ]
        for what, q in queries:
            note(f"search latency: {what}")
            answer = search(client, q)
            times = kept_alive(partial(search, client, q), runs)
            matching, shown = plural(counts[q], "message"), plural(len(answer["results"]), "result")
            label = f"search {what} `{q}` ({matching}; {shown} on page 1)"
            rows.append(Row(label, p50_p95(times), "p50 ≤ 30 ms, p95 ≤ 100 ms"))
        cursor = search(client, COMMON_WORD)["next_cursor"]
        if cursor is not None:
            note("search latency: second page")
            times = kept_alive(lambda: search(client, COMMON_WORD, cursor=cursor), runs)
            rows.append(Row(f"search `{COMMON_WORD}`, second page (cursor {cursor})", p50_p95(times)))
        note("titles latency")
        for what, q in (("a title prefix `conv`", "conv"), ("empty (the most recent)", "")):
            times = kept_alive(partial(titles, client, q), runs)
            rows.append(Row(f"/api/search/titles, {what}", p50_p95(times)))
        note("threads.list latency")
        body = {"type": "threads.list", "params": {"limit": 20, "order": "desc"}}
        times = kept_alive(lambda: client.post("/chatkit", json=body).raise_for_status(), runs)
        rows.append(Row(f"threads.list(20, desc), {threads:,} threads", p50_p95(times), "≤ 5 ms"))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="smoke run: 1,000 threads, 20 runs, 1 start")
    parser.add_argument("--threads", type=int, help="threads in the history (default 10,000)")
    parser.add_argument("--messages", type=int, default=20, help="messages per thread (default 20)")
    parser.add_argument("--runs", type=int, help="runs per latency figure (default 100)")
    parser.add_argument("--starts", type=int, help="process starts for the restart figure (default 3)")
    args = parser.parse_args()
    threads = args.threads or (1_000 if args.quick else 10_000)
    runs = args.runs or (20 if args.quick else 100)
    starts = args.starts or (1 if args.quick else 3)
    # No network for LiteLLM's model map, in the app's process (through the environment).
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    os.environ.setdefault("LITELLM_MODE", "PRODUCTION")

    began, load_before = time.perf_counter(), os.getloadavg()[0]
    with FakeProvider().start() as fake, tempfile.TemporaryDirectory() as tmp_name:
        data = Path(tmp_name) / "data"
        note(f"writing {threads:,} threads of {args.messages} messages")
        written = time.perf_counter()
        counts = write_search_corpus(data, threads, args.messages)
        note(f"written in {time.perf_counter() - written:.1f} s")
        rows, app = rebuild(data, fake, threads, args.messages)
        try:
            rows += latencies(app, runs, counts, threads)
        finally:
            app.stop()
        rows += restarts(data, fake, starts, threads)
    header = (
        f"ChatKit Desktop search bench — code {code_version()}, {os.cpu_count()} CPUs, load {load_before:.1f} "
        f"→ {os.getloadavg()[0]:.1f}, {runs} runs per latency, {starts} starts, {time.perf_counter() - began:.0f} s"
    )
    print_table(rows, header)


if __name__ == "__main__":
    main()
