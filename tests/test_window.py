"""The real window: pywebview's Qt engine under Xvfb, opened, photographed, resized and closed like a person would."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from desktop.instance import origin
from desktop.window import NO_ENGINE
from tests.conftest import OPENAI_KEY
from tests.fake_provider import FakeProvider
from tests.harness import ROOT, TOKEN, answer_text, app_env, read_thread_file, thread_id_of, user_input
from tests.xdisplay import XDisplay, is_blank, launch_windowed, read_log_until, start_xvfb

TITLE = "ChatKit Desktop"
LOADED = "window page loaded"


@pytest.fixture()
def xdisplay() -> Iterator[XDisplay]:
    """A fresh virtual screen per test, so windows from one test never confuse another."""
    server = start_xvfb()
    yield server
    server.proc.terminate()
    server.proc.wait(10)


class Launch:
    """`chatkit-desktop` (no arguments) started on a virtual display."""

    def __init__(self, data_dir: Path, xdisplay: XDisplay, fake: FakeProvider, **extra: str) -> None:
        self.data_dir = data_dir
        env = app_env(
            data_dir,
            DISPLAY=xdisplay.name,
            CHATKIT_DESKTOP_MODEL="openai/fake-local-1",
            CHATKIT_DESKTOP_API_BASE=fake.openai_base,
            OPENAI_API_KEY=OPENAI_KEY,
            **extra,
        )
        self.proc = launch_windowed([sys.executable, "-m", "desktop.cli"], env)
        self.stderr = ""

    def wait_for(self, words: str, timeout: float = 60) -> None:
        """Read stderr until a line containing `words`."""
        self.stderr = read_log_until(self.proc, words, timeout, seen=self.stderr)

    def finish(self, timeout: float = 30) -> int:
        """Wait for the process to exit; returns its exit code and keeps the rest of stderr."""
        code = self.proc.wait(timeout)
        assert self.proc.stderr is not None
        self.stderr += self.proc.stderr.read()
        return code

    def base(self) -> str:
        """The running server's origin, from the address it publishes for later launches."""
        url: str = json.loads((self.data_dir / "instance.json").read_text("utf-8"))["url"]
        return origin(url)


def chat(base: str, text: str) -> list[dict[str, Any]]:
    """Start a thread through the window's own server."""
    body = {"type": "threads.create", "params": {"input": user_input(text)}}
    with (
        httpx.Client(timeout=60, headers={"Authorization": f"Bearer {TOKEN}"}) as client,
        client.stream("POST", f"{base}/chatkit", json=body) as response,
    ):
        return [json.loads(line[6:]) for line in response.iter_lines() if line.startswith("data: ")]


def settled_screenshot(xdisplay: XDisplay, name: str, seconds: float = 6) -> Path:
    """A screenshot once the page had time to pick its face (the ChatKit CDN is unreachable here)."""
    time.sleep(seconds)
    return xdisplay.screenshot(name)


def test_window_opens_on_the_page_and_closing_it_exits_cleanly(
    tmp_path: Path, xdisplay: XDisplay, fake: FakeProvider
) -> None:
    app = Launch(tmp_path, xdisplay, fake)
    [window] = xdisplay.wait_for_windows(TITLE)
    app.wait_for(LOADED)
    assert xdisplay.icon_sizes(window), "the window has no icon for the task bar"

    events = chat(app.base(), "Hello from the window test")
    assert answer_text(events).startswith("You said: Hello from the window test.")
    thread_id = thread_id_of(events)

    shot = settled_screenshot(xdisplay, "window")
    region = (window.x, window.y, window.x + window.width, window.y + window.height)
    assert not is_blank(shot, region), f"the window shows nothing: {shot}"

    xdisplay.close(window)
    assert app.finish() == 0
    assert "(engine: qtwebengine)" in app.stderr
    assert "Traceback" not in app.stderr
    assert [i["type"] for i in read_thread_file(tmp_path, thread_id)["items"]] == ["user_message", "assistant_message"]
    assert not (tmp_path / "instance.json").exists(), "the next launch starts its own server"
    assert not list((tmp_path / "threads").glob("*.tmp"))


def test_second_launch_opens_a_window_on_the_running_app(
    tmp_path: Path, xdisplay: XDisplay, fake: FakeProvider
) -> None:
    first = Launch(tmp_path, xdisplay, fake)
    [first_window] = xdisplay.wait_for_windows(TITLE)
    first.wait_for(LOADED)
    base = first.base()

    second = Launch(tmp_path, xdisplay, fake)
    second.wait_for("already running")
    windows = xdisplay.wait_for_windows(TITLE, count=2)
    second.wait_for(LOADED)
    assert first.base() == base, "still one server, one writer"
    [second_window] = [w for w in windows if w.id != first_window.id]

    xdisplay.close(second_window)
    assert second.finish() == 0
    assert httpx.get(f"{base}/health").status_code == 200, "closing the second window leaves the first running"

    first.proc.send_signal(signal.SIGTERM)
    assert first.finish() == 0, first.stderr
    with pytest.raises(httpx.HTTPError):
        httpx.get(f"{base}/health", timeout=2)


def test_window_size_is_remembered(tmp_path: Path, xdisplay: XDisplay, fake: FakeProvider) -> None:
    (tmp_path / "settings.json").write_text(json.dumps({"window": {"width": 900, "height": 640}}), "utf-8")
    app = Launch(tmp_path, xdisplay, fake)
    [window] = xdisplay.wait_for_windows(TITLE)
    app.wait_for(LOADED)
    assert (window.width, window.height) == (900, 640)

    xdisplay.resize(window, 1000, 700)
    time.sleep(1)
    xdisplay.close(window)
    assert app.finish() == 0
    saved = json.loads((tmp_path / "settings.json").read_text("utf-8"))["window"]
    assert (saved["width"], saved["height"]) == (1000, 700)

    again = Launch(tmp_path, xdisplay, fake)
    [window] = xdisplay.wait_for_windows(TITLE)
    again.wait_for(LOADED)
    assert (window.width, window.height) == (1000, 700)
    xdisplay.close(window)
    assert again.finish() == 0


def test_the_gtk_engine_works_too(tmp_path: Path, xdisplay: XDisplay, fake: FakeProvider) -> None:
    # Debian's PyGObject and WebKitGTK (python3-gi, gir1.2-webkit2-4.1), as a GTK desktop has them. Only the
    # `gi` package is put on the path, so no other system package can shadow the app's own.
    system_gi = Path("/usr/lib/python3/dist-packages/gi")
    if not system_gi.is_dir():
        message = "python3-gi is not installed (.ci/run installs it with apt-get)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    only_gi = tmp_path / "gi-only"
    only_gi.mkdir()
    (only_gi / "gi").symlink_to(system_gi)
    app = Launch(tmp_path / "data", xdisplay, fake, PYWEBVIEW_GUI="gtk", PYTHONPATH=f"{only_gi}:{ROOT}")
    [window] = xdisplay.wait_for_windows(TITLE)
    app.wait_for(LOADED)
    assert answer_text(chat(app.base(), "Hello from GTK")).startswith("You said: Hello from GTK.")
    shot = settled_screenshot(xdisplay, "window-gtk")
    assert not is_blank(shot, (window.x, window.y, window.x + window.width, window.y + window.height)), shot
    xdisplay.close(window)
    assert app.finish() == 0
    assert "(engine: gtkwebkit2)" in app.stderr, "GTK's WebKit, not Qt, drew this window"
    assert "Traceback" not in app.stderr


def test_no_web_engine_is_one_clear_sentence(tmp_path: Path, fake: FakeProvider) -> None:
    # A machine without Qt's or GTK's Python bindings: both imports fail, as they would there.
    blocked = tmp_path / "site"
    for package in ("PyQt6", "gi"):
        (blocked / package).mkdir(parents=True)
        (blocked / package / "__init__.py").write_text(f"raise ImportError('No module named {package}')\n")
    env = app_env(tmp_path / "data", PYTHONPATH=f"{blocked}:{ROOT}", DISPLAY=None, WAYLAND_DISPLAY=None)
    done = subprocess.run(
        [sys.executable, "-m", "desktop.cli"],
        cwd=ROOT,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1
    assert done.stderr.strip().endswith(NO_ENGINE)
    assert "Traceback" not in done.stderr
