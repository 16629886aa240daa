"""Provider figures (issue 13), as one table: what | measured.

Run: `uv run python tests/bench/providers.py`. It prints figures and asserts nothing; progress goes to stderr.

- `GET /api/models` with three providers that answer — a custom OpenAI-compatible endpoint with a key (the test
  suite's fake provider), a keyless Ollama (`tests/fake_local.FakeOllama`, found through `OLLAMA_HOST`) and
  OpenAI pointed at the fake provider's address — on a kept-alive connection: the first call after start (cold:
  every list asked for, Ollama looked at) and the next ones (cached), median of 20; and with `refresh=1`.
- What local-server detection costs the start: the ready line and the first `threads.list` (from spawning the
  process, median of 3 starts) with Ollama running, with `OLLAMA_HOST` pointing at a port nobody listens on,
  and with an address that swallows connections (a listening socket that never answers).
"""

from __future__ import annotations

import os
import socket
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
os.environ.setdefault("LITELLM_MODE", "PRODUCTION")

from tests.fake_local import FakeOllama  # noqa: E402
from tests.fake_provider import FakeProvider  # noqa: E402
from tests.harness import RunningApp, start_app  # noqa: E402

RUNS = 20
STARTS = 3


def note(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


def timed(call: Callable[[], object]) -> float:
    began = time.perf_counter()
    call()
    return time.perf_counter() - began


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def models_figures(fake: FakeProvider, ollama: FakeOllama) -> list[tuple[str, str]]:
    with tempfile.TemporaryDirectory() as folder:
        app = start_app(
            Path(folder),
            CHATKIT_DESKTOP_MODEL="openai/fake-local-1",
            CHATKIT_DESKTOP_API_BASE=fake.openai_base,
            OLLAMA_HOST=f"127.0.0.1:{ollama.port}",
        )
        try:
            with app.client() as client:
                added = client.post(
                    "/api/providers", json={"name": "Gateway", "base_url": fake.openai_base, "api_key": "sk-gw-1"}
                )
                assert added.status_code == 201, added.text
            # A fresh app for the cold call: the provider above is in its settings, nothing is cached yet.
            app.stop()
            app = restart(app, fake, ollama)
            with app.client() as client:
                cold = timed(lambda: client.get("/api/models").raise_for_status())
                answer = client.get("/api/models").json()
                cached = [timed(lambda: client.get("/api/models").raise_for_status()) for _ in range(RUNS)]
                refreshed = [timed(lambda: client.get("/api/models?refresh=1").raise_for_status()) for _ in range(5)]
        finally:
            app.stop()
    groups = ", ".join(f"{g['name']} {len(g['models'])}" for g in answer["groups"] if g["available"])
    return [
        ("/api/models, first call after start (cold: 3 providers asked)", ms(cold)),
        ("/api/models, cached (kept-alive, median of 20)", ms(statistics.median(cached))),
        ("/api/models?refresh=1 (every list asked again, median of 5)", ms(statistics.median(refreshed))),
        ("  groups that answered (models)", groups),
    ]


def restart(app: RunningApp, fake: FakeProvider, ollama: FakeOllama) -> RunningApp:
    return start_app(
        app.data_dir,
        CHATKIT_DESKTOP_MODEL="openai/fake-local-1",
        CHATKIT_DESKTOP_API_BASE=fake.openai_base,
        OLLAMA_HOST=f"127.0.0.1:{ollama.port}",
    )


def start_figures(fake: FakeProvider, ollama_host: str) -> tuple[float, float]:
    """Median seconds from spawn to the ready line, and to the first threads.list answered."""
    ready, listed = [], []
    for _ in range(STARTS):
        with tempfile.TemporaryDirectory() as folder:
            began = time.perf_counter()
            app = start_app(
                Path(folder),
                CHATKIT_DESKTOP_MODEL="openai/fake-local-1",
                CHATKIT_DESKTOP_API_BASE=fake.openai_base,
                OLLAMA_HOST=ollama_host,
            )
            ready.append(time.perf_counter() - began)
            app.call("threads.list", limit=20, order="desc")
            listed.append(time.perf_counter() - began)
            app.stop()
    return statistics.median(ready), statistics.median(listed)


def main() -> None:
    load = os.getloadavg()[0]
    fake = FakeProvider().start()
    ollama = FakeOllama().start()
    rows: list[tuple[str, str]] = []
    try:
        note("models…")
        rows += models_figures(fake, ollama)
        silent = socket.socket()
        silent.bind(("127.0.0.1", 0))
        silent.listen(64)  # accepts connections, never answers: a server that hangs
        hosts = {
            "Ollama running": f"127.0.0.1:{ollama.port}",
            "nothing listening": f"127.0.0.1:{free_port()}",
            "a server that never answers": f"127.0.0.1:{silent.getsockname()[1]}",
        }
        for what, host in hosts.items():
            note(f"starts, {what}…")
            ready, listed = start_figures(fake, host)
            rows.append((f"ready line / first threads.list from spawn, {what} (median of {STARTS})",
                         f"{ms(ready)} / {ms(listed)}"))  # fmt: skip
        silent.close()
    finally:
        ollama.stop()
        fake.stop()
    width = max(len(what) for what, _ in rows)
    print(f"ChatKit Desktop providers bench — {os.cpu_count()} CPUs, load {load:.1f} → {os.getloadavg()[0]:.1f}")
    print(f"{'what'.ljust(width)} | measured")
    print(f"{'-' * width}-|---------")
    for what, measured in rows:
        print(f"{what.ljust(width)} | {measured}")


if __name__ == "__main__":
    main()
