"""Backend figures on the user's path, as one table: what | measured | target (the targets of issue 8).

Run: `uv run python tests/bench/backend.py` (a few minutes; `--quick` for a smoke run with fewer runs, starts
and threads). It prints figures and asserts nothing. Progress goes to stderr, the table to stdout.

It measures kept-alive latencies (settings, threads.list and opening a thread with 10,000 threads), starts
(counted from spawning the process), time to first token through the app against a direct
`litellm.acompletion(stream=True)` with the very messages the app sent, and one long thread (200 / 1,000 /
4,000 items) under a local model's 8,192-token window, opened (first for the first time since the start) and
then sent a message, as from the page. The conversation figures are taken once the search index has caught up
with the files, as the app runs every day. Everything runs on 127.0.0.1: `chatkit-desktop serve`
in a subprocess (tests/harness.py) answering with `openai/fake-local-1` from the test suite's fake provider.
Requests in a series share one `httpx.Client`, so they reuse one kept-alive connection as the page does; the
first request on a fresh connection is measured apart. Latencies are medians of 20 runs, start figures of 3
starts. Thread files are written directly in the documented format; the bench stops if the app rejects any.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
# No network for LiteLLM's model map, in this process and (through the environment) in the app's.
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
os.environ.setdefault("LITELLM_MODE", "PRODUCTION")

from tests.bench.threads import write_many_threads, write_thread  # noqa: E402
from tests.fake_provider import FakeProvider  # noqa: E402
from tests.harness import RunningApp, start_app, user_input  # noqa: E402

MODEL = "openai/fake-local-1"
LONG_SIZES = (200, 1_000, 4_000)
OPEN_ID = "thr_open130"


@dataclass
class Row:
    """One line of the table."""

    what: str
    measured: str
    target: str = "—"


def note(message: str) -> None:
    """Progress on stderr, so stdout holds only the table."""
    print(message, file=sys.stderr, flush=True)


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms" if seconds < 1 else sec(seconds)


def sec(seconds: float) -> str:
    return f"{seconds:.2f} s"


def median_ms(times: list[float]) -> str:
    return f"{ms(statistics.median(times))} (p90 {ms(sorted(times)[int(len(times) * 0.9)])}, n={len(times)})"


# ---- data: the generated thread files (tests/bench/threads.py) -----------------------------------------


def check_data(app: RunningApp, thread_id: str, items: int) -> None:
    """Stop if the app rejected a generated file: figures on missing threads would mean nothing."""
    with app.client() as client:
        page = chatkit(client, "items.list", thread_id=thread_id, limit=1000, order="asc")
    corrupt = list((app.data_dir / "threads" / "corrupt").glob("*"))
    if corrupt or len(page["data"]) != min(items, 1000):
        raise SystemExit(f"generated thread files were rejected: {[p.name for p in corrupt]}\n{app.stderr}")


# ---- talking to the app ---------------------------------------------------------------------------------


def launch(data_dir: Path, fake: FakeProvider, timeout: float = 60) -> tuple[RunningApp, float]:
    """Start `serve`; returns the app and the seconds from spawning it to its ready line."""
    started = time.perf_counter()
    app = start_app(
        data_dir,
        timeout=timeout,
        CHATKIT_DESKTOP_MODEL=MODEL,
        CHATKIT_DESKTOP_API_BASE=fake.openai_base,
        OPENAI_API_KEY="sk-bench-0123456789",
    )
    return app, time.perf_counter() - started


def chatkit(client: httpx.Client, type_: str, **params: Any) -> Any:
    """One non-streaming ChatKit request; its JSON."""
    response = client.post("/chatkit", json={"type": type_, "params": params})
    response.raise_for_status()
    return response.json()


def get_settings(client: httpx.Client) -> None:
    """What the Settings dialog asks first."""
    client.get("/api/settings").raise_for_status()


def list_threads(client: httpx.Client) -> Any:
    """What the page asks first: the newest 20 threads."""
    return chatkit(client, "threads.list", limit=20, order="desc")


def open_thread(client: httpx.Client, thread_id: str) -> None:
    """What opening a thread costs: its metadata, then its newest 100 items."""
    chatkit(client, "threads.get_by_id", thread_id=thread_id)
    chatkit(client, "items.list", thread_id=thread_id, limit=100, order="desc")


def walk_threads(client: httpx.Client) -> int:
    """Page through every thread, 100 at a time; returns how many were seen."""
    seen, after = 0, None
    while True:
        page = chatkit(client, "threads.list", limit=100, order="desc", **({"after": after} if after else {}))
        seen += len(page["data"])
        if not page["has_more"]:
            return seen
        after = page["after"]


def wait_chat_ready(client: httpx.Client, timeout: float = 120) -> None:
    """Poll /health until the model layer has loaded."""
    deadline = time.monotonic() + timeout
    while not client.get("/health").json()["chat_ready"]:
        if time.monotonic() > deadline:
            raise SystemExit("the model layer never loaded")
        time.sleep(0.02)


def new_thread(text: str = "hello") -> dict[str, Any]:
    return {"type": "threads.create", "params": {"input": user_input(text)}}


def add_message(thread_id: str, text: str = "and what about the next step?") -> dict[str, Any]:
    return {"type": "threads.add_user_message", "params": {"thread_id": thread_id, "input": user_input(text)}}


def first_token(client: httpx.Client, body: dict[str, Any]) -> float:
    """Seconds from sending a streamed request to its first non-empty text delta (the stream is read out)."""
    started = time.perf_counter()
    elapsed = None
    with client.stream("POST", "/chatkit", json=body) as response:
        response.raise_for_status()
        for line in response.iter_lines():
            if elapsed is None and "text_delta" in line and json.loads(line[6:])["update"]["delta"]:
                elapsed = time.perf_counter() - started
    if elapsed is None:
        raise SystemExit("the answer never streamed")
    return elapsed


def timed(call: Callable[[], Any]) -> float:
    started = time.perf_counter()
    call()
    return time.perf_counter() - started


def kept_alive(call: Callable[[], Any], runs: int) -> list[float]:
    """Seconds per call after one untimed call, so every timed one reuses the open connection."""
    call()
    return [timed(call) for _ in range(runs)]


class DirectLiteLLM:
    """The baseline: LiteLLM in this process, on one event loop so its HTTP client and connection are reused."""

    def __init__(self, fake: FakeProvider) -> None:
        import litellm  # seconds; imported once, before anything is timed

        self.litellm = litellm
        self.fake = fake
        self.loop = asyncio.new_event_loop()
        self.first_token([{"role": "user", "content": "warm up"}])  # LiteLLM's first call sets up its client

    def close(self) -> None:
        self.loop.run_until_complete(self.loop.shutdown_asyncgens())
        self.loop.close()

    def first_token(self, messages: list[dict[str, Any]]) -> float:
        return self.loop.run_until_complete(self._first_token(messages))

    async def _first_token(self, messages: list[dict[str, Any]]) -> float:
        started = time.perf_counter()
        response = await self.litellm.acompletion(
            model=MODEL, api_base=self.fake.openai_base, api_key="sk-bench-0123456789", stream=True, messages=messages
        )
        elapsed = None
        async for chunk in response:
            if elapsed is None and chunk.choices and chunk.choices[0].delta.content:
                elapsed = time.perf_counter() - started
        assert elapsed is not None
        return elapsed


def app_vs_direct(
    client: httpx.Client, fake: FakeProvider, direct: DirectLiteLLM, bodies: list[dict[str, Any]]
) -> tuple[list[float], list[float], int]:
    """First token through the app, each time followed by a direct call with the messages the app sent.

    Alternating keeps both sides under the same load from whatever else shares the machine.
    Returns both series and how many messages the model received.
    """
    through_app, direct_times, received = [], [], 0
    for body in bodies:
        fake.clear()
        through_app.append(first_token(client, body))
        sent = [request for request in fake.requests if request.stream][-1].body["messages"]
        received = len(sent)
        direct_times.append(direct.first_token(sent))
    return through_app, direct_times, received


# ---- the series -----------------------------------------------------------------------------------------


def cold_starts(fake: FakeProvider, tmp: Path, starts: int) -> list[Row]:
    """New process, empty data folder: the ready line, then the first list and first token, from spawn."""
    ready, listed, token = [], [], []
    for run in range(starts):
        note(f"cold start {run + 1}/{starts}")
        # Building an httpx client loads the CA bundle (50-200 ms here), which the page never pays: do it first.
        with httpx.Client(timeout=60) as client:
            spawned = time.perf_counter()
            app, _ = launch(tmp / f"cold{run}", fake)
            ready.append(time.perf_counter() - spawned)
            client.base_url, client.headers["Authorization"] = app.base, f"Bearer {app.token}"
            list_threads(client)
            listed.append(time.perf_counter() - spawned)
            first_token(client, new_thread())
            token.append(time.perf_counter() - spawned)
        app.stop()
    median = statistics.median
    return [
        Row(f"ready line, empty data folder (from spawn, median of {starts} starts)", sec(median(ready))),
        Row("first threads.list after a cold start (from spawn)", sec(median(listed)), "≤ 1.5 s"),
        Row("first token after a cold start (from spawn; a threads.create)", sec(median(token)), "≤ 5.0 s"),
    ]


def first_message_once_loaded(fake: FakeProvider, tmp: Path, starts: int) -> list[Row]:
    """The first message of a process, sent only once /health says the model layer has loaded."""
    times = []
    for run in range(starts):
        note(f"first message once loaded {run + 1}/{starts}")
        app, _ = launch(tmp / f"loaded{run}", fake)
        with app.client() as client:
            wait_chat_ready(client)
            times.append(first_token(client, new_thread()))
        app.stop()
    label = f"first token of the first message once the model layer has loaded (median of {starts} starts)"
    return [Row(label, ms(statistics.median(times)), "≤ 150 ms")]


def start_and_list_during_import(data: Path, fake: FakeProvider) -> tuple[RunningApp, float, float, bool]:
    """Start, then list threads at once; returns the app, seconds to ready, the list's seconds, and whether
    the model layer had already loaded when the list was sent (then the figure is not what it claims)."""
    app, ready = launch(data, fake)
    with app.client() as client:
        loaded = client.get("/health").json()["chat_ready"]  # also opens the connection the list reuses
        return app, ready, timed(lambda: list_threads(client)), loaded


def many_threads(fake: FakeProvider, tmp: Path, count: int, starts: int, runs: int) -> list[Row]:
    """A data folder of `count` threads plus a 130-item one: starts, then kept-alive latencies."""
    data = tmp / "many"
    note(f"writing {count:,} threads")
    write_many_threads(data, count)
    write_thread(data, OPEN_ID, 130, "2026-01-01T00:00:00Z")
    note("start without the index cache")
    app, no_index = launch(data, fake)
    check_data(app, OPEN_ID, 130)
    note("waiting for the search index to be built")
    rebuild = timed(app.wait_indexed)
    app.stop()
    ready, during_import, loaded = [], [], 0
    for run in range(starts):
        note(f"start with the index {run + 1}/{starts}")
        app, seconds, listing, was_loaded = start_and_list_during_import(data, fake)
        ready.append(seconds)
        during_import.append(listing)
        loaded += was_loaded
        if run < starts - 1:
            app.stop()  # the last one stays up for the kept-alive figures
    rows = kept_alive_figures(app, count, runs)
    app.stop()
    index_mb = sum(path.stat().st_size for path in data.glob("index.sqlite3*")) / 1e6
    during = f"{ms(statistics.median(during_import))}" + (f" ({loaded} of {starts} too late)" if loaded else "")
    n = f"{count:,} threads"
    return rows + [
        Row(f"ready line with {n}, no index yet (first start)", sec(no_index)),
        Row(f"  then the search index built in the background (after the ready line), {n}", sec(rebuild)),
        Row(f"ready line with {n}, index present (median of {starts})", sec(statistics.median(ready)), "≤ 1.0 s"),
        Row(f"threads.list(20) while the model layer is importing, {n}", during, "≤ 20 ms"),
        Row("index file", f"{index_mb:.1f} MB"),
    ]


def kept_alive_figures(app: RunningApp, count: int, runs: int) -> list[Row]:
    """Requests on one kept-alive connection (and the first one on fresh connections) to a loaded app."""
    note("kept-alive latencies")
    with app.client() as client:
        wait_chat_ready(client)  # measured without the import competing for the CPU
        settings = kept_alive(lambda: get_settings(client), runs)
        listing = kept_alive(lambda: list_threads(client), runs)
        opening = kept_alive(lambda: open_thread(client, OPEN_ID), runs)
        walks = kept_alive(lambda: walk_threads(client), max(3, runs // 4))
        seen = walk_threads(client)
    fresh = []
    for _ in range(runs):
        with app.client() as client:
            fresh.append(timed(partial(get_settings, client)))
    return [
        Row("GET /api/settings on a kept-alive connection", median_ms(settings), "≤ 2 ms"),
        Row("GET /api/settings, first request on a fresh connection", median_ms(fresh)),
        Row(f"threads.list(20, desc) on a kept-alive connection, {count:,} threads", median_ms(listing), "≤ 5 ms"),
        Row("open a 130-item thread (get_by_id + items.list 100 desc)", median_ms(opening), "≤ 10 ms"),
        Row(f"page through {seen:,} threads, 100 at a time (whole walk)", sec(statistics.median(walks)), "≤ 0.5 s"),
    ]


def conversation(fake: FakeProvider, tmp: Path, runs: int, direct: DirectLiteLLM) -> list[Row]:
    """Answers on a warm app: app vs direct LiteLLM, then long threads under an 8,192-token window.

    Every timed message goes to its own copy of a thread, so each is sent at exactly the stated length.
    """
    data = tmp / "conversation"
    note("writing conversation threads")
    ids137 = [f"thr_c137_{n:03d}" for n in range(runs)]
    for thread_id in ids137:
        write_thread(data, thread_id, 136)
    long_ids = {size: [f"thr_long{size}_{n:03d}" for n in range(runs)] for size in LONG_SIZES}
    sizes_mb = {size: [write_thread(data, tid, size) for tid in ids][0] / 1e6 for size, ids in long_ids.items()}
    app, _ = launch(data, fake)
    check_data(app, long_ids[LONG_SIZES[-1]][0], LONG_SIZES[-1])
    # A first start on these files indexes them for search in the background (the start rows measure that
    # case); the figures here are for the app as it runs every day, so they wait for it.
    app.wait_indexed(timeout=300)
    rows = []
    with app.client() as client:
        wait_chat_ready(client)
        # A cloud model's window, so the whole 137-message thread reaches the model.
        app.settings(context_window=128_000)
        first_token(client, new_thread("warm up"))
        note("first token: app vs direct LiteLLM")
        new_app, new_direct, _ = app_vs_direct(client, fake, direct, [new_thread() for _ in range(runs)])
        app137, direct137, received = app_vs_direct(client, fake, direct, [add_message(t) for t in ids137])
        ratio = statistics.median(app137) / statistics.median(direct137)
        rows += [
            Row("first token, warm, new thread: through the app", median_ms(new_app)),
            Row("first token, warm, new thread: direct LiteLLM, same messages", median_ms(new_direct)),
            Row(f"first token, 137-message thread ({received} sent to the model): through the app", median_ms(app137)),
            Row("first token, 137-message thread: direct LiteLLM, same messages", median_ms(direct137)),
            Row("first token, 137-message thread: app / direct", f"{ratio:.2f}×", "≤ 1.5×"),
        ]
        app.settings(context_window=8192)  # a local model whose window holds only the newest turns
        for size, ids in long_ids.items():
            note(f"long thread of {size:,} items")
            # As from the page: a conversation is opened (each for the first time since the start), then a
            # message is sent to it; opening one again is measured apart.
            first_opening = [timed(partial(open_thread, client, thread_id)) for thread_id in ids]
            opening = kept_alive(partial(open_thread, client, ids[0]), runs)
            tokens = [first_token(client, add_message(thread_id)) for thread_id in ids]
            token_target, open_target = ("≤ 150 ms", "≤ 20 ms") if size == LONG_SIZES[-1] else ("—", "—")
            what = f"long thread of {size:,} items ({sizes_mb[size]:.1f} MB)"
            rows += [
                Row(f"open it the first time since the start, {size:,} items", median_ms(first_opening), open_target),
                Row(f"open it again (get_by_id + newest 100 items), {size:,} items", median_ms(opening), open_target),
                Row(f"first token once opened, {what}, 8,192-token window", median_ms(tokens), token_target),
            ]
    app.stop()
    return rows


def print_table(rows: list[Row], header: str) -> None:
    width = max(len(row.what) for row in rows)
    measured = max(len(row.measured) for row in rows)
    print(header)
    print(f"{'what':<{width}} | {'measured':<{measured}} | target")
    print(f"{'-' * width}-|-{'-' * measured}-|-------")
    for row in rows:
        print(f"{row.what:<{width}} | {row.measured:<{measured}} | {row.target}")


def code_version() -> str:
    """Which code was measured: the commit, and whether the work tree differs from it."""
    git = ["git", "-C", str(ROOT)]
    commit = subprocess.run([*git, "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    dirty = subprocess.run([*git, "status", "--porcelain", "backend", "desktop"], capture_output=True, text=True)
    return commit + (" + uncommitted changes" if dirty.stdout.strip() else "")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="smoke run: 1,000 threads, 5 runs, 1 start")
    parser.add_argument("--threads", type=int, help="threads in the big data folder (default 10,000)")
    parser.add_argument("--runs", type=int, help="runs per latency figure (default 20)")
    parser.add_argument("--starts", type=int, help="process starts per start figure (default 3)")
    args = parser.parse_args()
    threads = args.threads or (1_000 if args.quick else 10_000)
    runs = args.runs or (5 if args.quick else 20)
    starts = args.starts or (1 if args.quick else 3)

    began, load_before = time.perf_counter(), os.getloadavg()[0]
    with FakeProvider().start() as fake, tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        direct = DirectLiteLLM(fake)
        # This process serves the fake provider and makes the direct calls: a pass of its garbage collector over
        # LiteLLM's objects (~150 ms) would stall either side mid-measurement. The app freezes them too.
        gc.freeze()
        rows = many_threads(fake, tmp, threads, starts, runs)
        rows += cold_starts(fake, tmp, starts)
        rows += first_message_once_loaded(fake, tmp, starts)
        rows += conversation(fake, tmp, runs, direct)
        direct.close()
    # The load average says how much other work shared the CPUs, i.e. how far to trust the figures.
    header = (
        f"ChatKit Desktop backend bench — code {code_version()}, {os.cpu_count()} CPUs, load {load_before:.1f} "
        f"→ {os.getloadavg()[0]:.1f}, {runs} runs per latency, {starts} starts, {time.perf_counter() - began:.0f} s"
    )
    print_table(rows, header)


if __name__ == "__main__":
    main()
