"""Backend figures: cold start, time to first token against a direct LiteLLM call, threads.list at 10,000 threads.

Run: `uv run python tests/bench/backend.py`. It prints figures; it asserts nothing (speed is reported, not
tested). Everything runs on 127.0.0.1 against the test suite's fake provider.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
os.environ.setdefault("LITELLM_MODE", "PRODUCTION")

from tests.fake_provider import FakeProvider  # noqa: E402
from tests.harness import RunningApp, start_app  # noqa: E402

MODEL = "openai/fake-local-1"
MESSAGE = {"content": [{"type": "input_text", "text": "hello"}], "attachments": [], "inference_options": {}}


def launch(data_dir: Path, fake: FakeProvider) -> tuple[RunningApp, float]:
    """Start `serve`; returns the app and the seconds from spawning it to its ready line."""
    started = time.perf_counter()
    app = start_app(
        data_dir,
        CHATKIT_DESKTOP_MODEL=MODEL,
        CHATKIT_DESKTOP_API_BASE=fake.openai_base,
        OPENAI_API_KEY="sk-bench-0123456789",
    )
    return app, time.perf_counter() - started


def first_token(app: RunningApp, body: dict) -> float:
    """Seconds from sending a streamed request to the first text delta of the answer."""
    started = time.perf_counter()
    elapsed = None
    with app.client() as client, client.stream("POST", "/chatkit", json=body) as response:
        for line in response.iter_lines():
            if elapsed is None and "text_delta" in line:
                elapsed = time.perf_counter() - started
    if elapsed is None:
        raise RuntimeError("the answer never streamed")
    return elapsed


def list_latency(app: RunningApp, calls: int) -> list[float]:
    """Seconds per `threads.list` (one page of 20, newest first), over `calls` calls."""
    times = []
    with app.client() as client:
        for _ in range(calls):
            started = time.perf_counter()
            response = client.post("/chatkit", json={"type": "threads.list", "params": {"limit": 20, "order": "desc"}})
            times.append(time.perf_counter() - started)
            response.raise_for_status()
    return times


async def direct_first_token(fake: FakeProvider) -> float:
    """Seconds to the first token of the same answer asked of the fake directly through LiteLLM."""
    import litellm

    started = time.perf_counter()
    response = await litellm.acompletion(
        model=MODEL,
        api_base=fake.openai_base,
        api_key="k",
        stream=True,
        messages=[{"role": "system", "content": "x"}, {"role": "user", "content": "hello"}],
    )
    elapsed = None
    async for chunk in response:
        if elapsed is None and chunk.choices and chunk.choices[0].delta.content:
            elapsed = time.perf_counter() - started
    assert elapsed is not None
    return elapsed


def write_threads(data_dir: Path, count: int) -> None:
    """`count` small thread files in the documented format, as if the user had chatted for years."""
    folder = data_dir / "threads"
    folder.mkdir(parents=True)
    for n in range(count):
        thread_id = f"thr_bench{n:011d}"
        created = f"2025-{1 + n % 12:02d}-{1 + n % 28:02d}T{n % 24:02d}:{n % 60:02d}:00Z"
        item = {
            "type": "user_message",
            "id": f"msg_bench{n:011d}",
            "thread_id": thread_id,
            "created_at": created,
            "content": [{"type": "input_text", "text": f"question {n}"}],
            "attachments": [],
            "inference_options": {},
            "quoted_text": None,
        }
        payload = {
            "schema_version": 1,
            "thread": {
                "id": thread_id,
                "title": f"Thread {n}",
                "created_at": created,
                "status": {"type": "active"},
                "metadata": {},
            },
            "items": [item],
        }
        (folder / f"{thread_id}.json").write_text(json.dumps(payload), "utf-8")


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--threads", type=int, default=10_000, help="threads for the listing figure")
    parser.add_argument("--runs", type=int, default=3, help="cold starts to average")
    args = parser.parse_args()

    with FakeProvider().start() as fake, tempfile.TemporaryDirectory() as tmp:
        print("Cold start of `chatkit-desktop serve` (new process, empty data folder), median of", args.runs)
        ready, listed, token = [], [], []
        for run in range(args.runs):
            spawned = time.perf_counter()
            app, _ = launch(Path(tmp) / f"cold{run}", fake)
            ready.append(time.perf_counter() - spawned)
            list_latency(app, 1)
            listed.append(time.perf_counter() - spawned)
            first_token(app, {"type": "threads.create", "params": {"input": MESSAGE}})
            token.append(time.perf_counter() - spawned)
            app.stop()
        print(f"  ready line            {ms(statistics.median(ready))}")
        print(f"  first threads.list    {ms(statistics.median(listed))}  (after launch)")
        print(
            f"  first streamed token  {ms(statistics.median(token))}  (after launch; a threads.create sent after"
            " the list)"
        )

        print("\nTime to first token, warm, median of 20")
        app, _ = launch(Path(tmp) / "warm", fake)
        body = {"type": "threads.create", "params": {"input": MESSAGE}}
        first_token(app, body)
        through_app = [first_token(app, body) for _ in range(20)]
        app.stop()
        direct = [asyncio.run(direct_first_token(fake)) for _ in range(21)][1:]
        print(f"  through the app       {ms(statistics.median(through_app))}")
        print(f"  direct LiteLLM call   {ms(statistics.median(direct))}")

        print(f"\nthreads.list with {args.threads:,} threads (page of 20, newest first)")
        data = Path(tmp) / "many"
        write_threads(data, args.threads)
        app, seconds = launch(data, fake)
        print(f"  start, no index yet   {ms(seconds)} to ready line")
        app.stop()
        app, seconds = launch(data, fake)
        list_latency(app, 1)
        times = list_latency(app, 200)
        print(f"  start, with index     {ms(seconds)} to ready line")
        print(
            f"  threads.list          median {ms(statistics.median(times))}, "
            f"p95 {ms(sorted(times)[int(len(times) * 0.95)])}"
        )
        app.stop()
        print(f"  index file            {(data / 'threads' / 'index.json').stat().st_size / 1e6:.1f} MB")


if __name__ == "__main__":
    main()
