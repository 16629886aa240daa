"""Where the time to the first token of one message goes, stretch by stretch, in a thread of 137 messages.

Run: `uv run python tests/bench/message_profile.py` (`--items N` for another length, `--runs N`). It prints a
table and asserts nothing.

The app runs in this process, on the same event loop as the client (about 1 ms of the first stretch is the
client's), answering from the test suite's fake provider; every run sends one message to its own copy of the
thread. Time stamps are taken where the message passes from one layer to the next, by wrapping those functions:
ChatKit's store calls, `ChatServer.respond` and its history, the Agents SDK's `Runner.run_streamed`, and
`litellm.acompletion`. The medians of each stamp are printed as stretches, each named by who spends it.
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
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
os.environ.setdefault("LITELLM_MODE", "PRODUCTION")
os.environ["PYTHON_KEYRING_BACKEND"] = "keyring.backends.fail.Keyring"

import httpx  # noqa: E402
import uvicorn  # noqa: E402

from backend.app import create_app  # noqa: E402
from backend.config import AppConfig  # noqa: E402
from desktop.server import bind  # noqa: E402
from tests.bench.threads import write_thread  # noqa: E402
from tests.fake_provider import FakeProvider  # noqa: E402
from tests.harness import user_input  # noqa: E402

# (stamp that ends the stretch, who spends it), in the order a message meets them.
STRETCHES = [
    ("loaded", "the request read, parsed, checked and dispatched (with the in-process client's share)"),
    ("saved", "ChatKit: the thread loaded, the user's message saved (whole-file atomic write, fsync)"),
    ("responding", "ChatKit: on to ChatServer.respond"),
    ("history", "ours: route, settings, then the history read, converted and trimmed"),
    ("agent", "ours: the agent and its model made"),
    ("asking", "Agents SDK: run set-up up to litellm.acompletion"),
    ("open", "LiteLLM (and the OpenAI client) until the provider's stream is open"),
    ("first words", "the first chunk through the SDK, ChatKit and the route to the page"),
]


class Stamps:
    """The first time each named point is passed in the current run, from the run's start."""

    def __init__(self) -> None:
        self.started = 0.0
        self.seen: dict[str, float] = {}

    def start(self) -> None:
        self.started, self.seen = time.perf_counter(), {}

    def mark(self, name: str) -> None:
        self.seen.setdefault(name, (time.perf_counter() - self.started) * 1000)


def stamp_after(owner: Any, attribute: str, name: str, stamps: Stamps, *, before: str | None = None) -> None:
    """Wrap an async method or function so that `name` is stamped when it returns (and `before` when called)."""
    original: Callable[..., Any] = getattr(owner, attribute)

    async def wrapped(*args: Any, **kwargs: Any) -> Any:
        if before:
            stamps.mark(before)
        result = await original(*args, **kwargs)
        stamps.mark(name)
        return result

    setattr(owner, attribute, wrapped)


def instrument(stamps: Stamps) -> None:
    """Stamps at the layers' borders (imported here: the loader has loaded them by then)."""
    import litellm
    from agents import Runner

    from backend import chatkit_server
    from backend.store import JsonFileStore

    stamp_after(JsonFileStore, "load_thread", "loaded", stamps)
    stamp_after(JsonFileStore, "add_thread_item", "saved", stamps)
    stamp_after(chatkit_server.ChatServer, "_history", "history", stamps)
    stamp_after(litellm, "acompletion", "open", stamps, before="asking")
    respond = chatkit_server.ChatServer.respond
    run_streamed = Runner.run_streamed

    def responding(*args: Any, **kwargs: Any) -> Any:
        stamps.mark("responding")
        return respond(*args, **kwargs)

    def running(*args: Any, **kwargs: Any) -> Any:
        stamps.mark("agent")
        return run_streamed(*args, **kwargs)

    setattr(chatkit_server.ChatServer, "respond", responding)  # noqa: B010
    setattr(Runner, "run_streamed", running)  # noqa: B010


async def profile(data: Path, fake: FakeProvider, thread_ids: list[str]) -> list[dict[str, float]]:
    sock = bind()
    port = sock.getsockname()[1]
    app = create_app(AppConfig(data_dir=data, token="bench-token", port=port))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning"))
    serving = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started:
        await asyncio.sleep(0.01)
    while not app.state.loader.ready:
        await asyncio.sleep(0.05)
    stamps = Stamps()
    instrument(stamps)
    headers = {"Authorization": "Bearer bench-token", "Origin": f"http://127.0.0.1:{port}"}
    runs = []
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", headers=headers, timeout=60) as client:
        await client.put("/api/settings", json={"context_window": 128_000})  # the whole thread reaches the model
        for thread_id in thread_ids:
            params = {"thread_id": thread_id, "input": user_input("and what about the next step?")}
            body = {"type": "threads.add_user_message", "params": params}
            stamps.start()
            async with client.stream("POST", "/chatkit", json=body) as response:
                async for line in response.aiter_lines():
                    if "text_delta" in line and json.loads(line[6:])["update"]["delta"]:
                        stamps.mark("first words")
            runs.append(stamps.seen)
            await asyncio.sleep(0.3)  # as a person would; the writes after an answer settle
    server.should_exit = True
    await serving
    return runs[1:]  # the first run is a warm-up


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--items", type=int, default=136, help="items already in the thread (default 136)")
    parser.add_argument("--runs", type=int, default=20, help="messages profiled (default 20)")
    args = parser.parse_args()
    with FakeProvider() as fake, tempfile.TemporaryDirectory() as tmp:
        os.environ.update(CHATKIT_DESKTOP_MODEL="openai/fake-local-1", CHATKIT_DESKTOP_API_BASE=fake.openai_base)
        os.environ["OPENAI_API_KEY"] = "sk-bench-0123456789"
        thread_ids = [f"thr_profile_{n:03d}" for n in range(args.runs + 1)]
        for thread_id in thread_ids:
            write_thread(Path(tmp), thread_id, args.items)
        runs = asyncio.run(profile(Path(tmp), fake, thread_ids))
    print(f"first token of a message in a {args.items + 1}-message thread, median of {len(runs)} runs")
    print(f"{'stretch':<100} | {'ms':>6} | {'at':>6}")
    previous = 0.0
    for name, who in STRETCHES:
        at = statistics.median(run[name] for run in runs)
        print(f"{who:<100} | {at - previous:6.1f} | {at:6.1f}")
        previous = at


if __name__ == "__main__":
    main()
