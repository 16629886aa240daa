"""Drives the real app: `chatkit-desktop serve` in a subprocess, spoken to over HTTP with the ChatKit protocol."""

from __future__ import annotations

import json
import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
READY = re.compile(r"^ChatKit Desktop ready: http://127\.0\.0\.1:(\d+)/\?token=(\S+)$")
TOKEN = "test-token-0123456789abcdef"


def app_env(data_dir: Path, **overrides: str | None) -> dict[str, str]:
    """The environment a test app runs in: its own data folder and token, no real keyring, no real keys."""
    env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY") and not k.startswith("CHATKIT_")}
    env.update(
        {
            "CHATKIT_DESKTOP_DATA_DIR": str(data_dir),
            "CHATKIT_DESKTOP_TOKEN": TOKEN,
            # Tests must never read or write the developer's real keyring.
            "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring",
            "PYTHONUNBUFFERED": "1",
        }
    )
    for key, value in overrides.items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    return env


@dataclass
class RunningApp:
    """A `chatkit-desktop serve` process and a ChatKit client for it."""

    proc: subprocess.Popen[str]
    port: int
    token: str
    data_dir: Path
    stderr_lines: list[str] = field(default_factory=list)

    @property
    def base(self) -> str:
        """The server's origin."""
        return f"http://127.0.0.1:{self.port}"

    def client(self, **kwargs: Any) -> httpx.Client:
        """An HTTP client carrying the token (unless told otherwise)."""
        headers = {"Authorization": f"Bearer {self.token}"} | kwargs.pop("headers", {})
        return httpx.Client(base_url=self.base, headers=headers, timeout=kwargs.pop("timeout", 60), **kwargs)

    def post(self, payload: Any, **kwargs: Any) -> httpx.Response:
        """POST a ChatKit request (any JSON, or raw bytes with content=)."""
        with self.client() as client:
            if isinstance(payload, bytes | str | Iterator):
                return client.post("/chatkit", content=payload, **kwargs)
            return client.post("/chatkit", json=payload, **kwargs)

    def call(self, type_: str, **params: Any) -> Any:
        """A non-streaming ChatKit request; returns the parsed JSON and asserts 200."""
        response = self.post({"type": type_, "params": params})
        assert response.status_code == 200, response.text
        return response.json()

    def stream(self, type_: str, **params: Any) -> list[dict[str, Any]]:
        """A streaming ChatKit request; returns every event."""
        with self.client() as client, client.stream("POST", "/chatkit", json={"type": type_, "params": params}) as r:
            assert r.status_code == 200, r.read().decode()
            assert r.headers["content-type"].startswith("text/event-stream")
            return [json.loads(line[6:]) for line in r.iter_lines() if line.startswith("data: ")]

    def send(self, text: str, thread_id: str | None = None, model: str | None = None) -> list[dict[str, Any]]:
        """Send a user message (a new thread when thread_id is None); returns the streamed events."""
        message = user_input(text, model)
        if thread_id is None:
            return self.stream("threads.create", input=message)
        return self.stream("threads.add_user_message", thread_id=thread_id, input=message)

    def items(self, thread_id: str) -> list[dict[str, Any]]:
        """All items of a thread as the client sees them, oldest first."""
        items: list[dict[str, Any]] = self.call("items.list", thread_id=thread_id, limit=1000, order="asc")["data"]
        return items

    def settings(self, **changes: Any) -> dict[str, Any]:
        """PUT /api/settings and return the new view."""
        with self.client() as client:
            response = client.put("/api/settings", json=changes)
        assert response.status_code == 200, response.text
        view: dict[str, Any] = response.json()
        return view

    def wait_indexed(self, timeout: float = 60) -> None:
        """Wait until the search index has caught up with every thread file."""
        deadline = time.monotonic() + timeout
        with self.client() as client:
            while client.get("/api/search", params={"q": "x"}).json()["indexing"]:
                if time.monotonic() > deadline:
                    raise AssertionError("the search index did not catch up")
                time.sleep(0.05)

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30) -> int:
        """Signal the process and wait for it; returns its exit code."""
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        return self.proc.wait(timeout)

    @property
    def stderr(self) -> str:
        """What the process wrote to stderr so far."""
        return "".join(self.stderr_lines)


def start_app(
    data_dir: Path,
    *,
    port: int = 0,
    timeout: float = 60,
    preexec_fn: Callable[[], None] | None = None,
    **env: str | None,
) -> RunningApp:
    """Start `chatkit-desktop serve` and wait for its ready line (`preexec_fn` runs in the child first)."""
    cmd = [sys.executable, "-m", "desktop.cli", "serve"] + (["--port", str(port)] if port else [])
    proc = subprocess.Popen(
        cmd,
        cwd=env.pop("cwd", None) or ROOT,
        env=app_env(data_dir, **env),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=preexec_fn,
    )
    lines: queue.Queue[str | None] = queue.Queue()
    stderr_lines: list[str] = []

    def pump_stdout() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.put(line)
        lines.put(None)

    def pump_stderr() -> None:
        assert proc.stderr is not None
        for line in proc.stderr:
            stderr_lines.append(line)

    threading.Thread(target=pump_stdout, daemon=True).start()
    threading.Thread(target=pump_stderr, daemon=True).start()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            line = lines.get(timeout=0.2)
        except queue.Empty:
            continue
        if line is None:
            break
        match = READY.match(line.strip())
        if match:
            return RunningApp(proc, int(match.group(1)), match.group(2), data_dir, stderr_lines)
    proc.kill()
    raise AssertionError(f"no ready line; stderr:\n{''.join(stderr_lines)}")


def user_input(text: str, model: str | None = None) -> dict[str, Any]:
    """The `input` of a ChatKit request that sends `text` as the user's message (to `model`, if given)."""
    return {
        "content": [{"type": "input_text", "text": text}],
        "attachments": [],
        "inference_options": {"model": model} if model else {},
    }


def events_of(events: list[dict[str, Any]], type_: str) -> list[dict[str, Any]]:
    """The events of one type."""
    return [e for e in events if e["type"] == type_]


def answer_text(events: list[dict[str, Any]]) -> str:
    """The assistant's final text in a stream of events."""
    done = [e["item"] for e in events_of(events, "thread.item.done") if e["item"]["type"] == "assistant_message"]
    assert done, f"no assistant message in {[e['type'] for e in events]}"
    return "".join(part["text"] for part in done[-1]["content"])


def thread_id_of(events: list[dict[str, Any]]) -> str:
    """The id of the thread a threads.create stream created."""
    thread_id: str = events_of(events, "thread.created")[0]["thread"]["id"]
    return thread_id


def read_thread_file(data_dir: Path, thread_id: str) -> dict[str, Any]:
    """A thread's file on disk, parsed."""
    data: dict[str, Any] = json.loads((data_dir / "threads" / f"{thread_id}.json").read_text(encoding="utf-8"))
    return data
