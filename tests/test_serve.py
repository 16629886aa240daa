"""`chatkit-desktop serve`: one ready line, loopback only, clean shutdown on SIGTERM and SIGINT."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.harness import ROOT, TOKEN, app_env, start_app


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_serve_prints_one_ready_line_and_stops_cleanly(tmp_path: Path, sig: int) -> None:
    port = free_port()
    app = start_app(tmp_path, port=port)
    assert app.port == port
    assert app.token == TOKEN
    assert httpx.get(f"{app.base}/health").json()["status"] == "ok"
    assert app.stop(sig) == 0
    assert "Traceback" not in app.stderr
    assert app.proc.stdout is not None


def test_random_token_per_launch_when_none_is_given(tmp_path: Path) -> None:
    first = start_app(tmp_path, CHATKIT_DESKTOP_TOKEN=None)
    second = start_app(tmp_path / "other", CHATKIT_DESKTOP_TOKEN=None)
    try:
        assert first.token != second.token
        assert len(first.token) >= 32
    finally:
        first.stop()
        second.stop()


def test_busy_port_is_one_clear_sentence(tmp_path: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        done = subprocess.run(
            [sys.executable, "-m", "desktop.cli", "serve", "--port", str(port)],
            cwd=ROOT,
            env=app_env(tmp_path),
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert done.returncode == 1
    assert done.stderr.strip().endswith("Pick another --port.")
    assert "Traceback" not in done.stderr


def test_a_second_server_on_the_same_data_folder_is_refused(tmp_path: Path) -> None:
    first = start_app(tmp_path)
    try:
        done = subprocess.run(
            [sys.executable, "-m", "desktop.cli", "serve"],
            cwd=ROOT,
            env=app_env(tmp_path),
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 1
        assert done.stderr.strip() == (
            f"ChatKit Desktop is already running on {tmp_path} at {first.base}. Use that one, or set "
            "CHATKIT_DESKTOP_DATA_DIR to another folder."
        )
        assert done.stdout == ""
        assert httpx.get(f"{first.base}/health").status_code == 200
    finally:
        assert first.stop() == 0
    second = start_app(tmp_path)
    assert second.stop() == 0, "once the first has stopped, the folder is free"


def test_help_lists_commands_and_environment() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "desktop.cli", "--help"], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0
    for word in (
        "serve",
        "--browser",
        "CHATKIT_DESKTOP_DATA_DIR",
        "CHATKIT_DESKTOP_TOKEN",
        "CHATKIT_DESKTOP_MODEL",
        "CHATKIT_DESKTOP_API_BASE",
        "GEMINI_API_KEY",
    ):
        assert word in done.stdout


def test_ready_line_comes_before_the_model_layer_is_loaded(tmp_path: Path) -> None:
    app = start_app(tmp_path)
    try:
        assert httpx.get(f"{app.base}/health").json()["chat_ready"] is False
    finally:
        app.stop()


def test_browser_mode_serves_and_opens_the_page_in_the_default_browser(tmp_path: Path) -> None:
    # Python's webbrowser module runs $BROWSER with the URL: this one writes down what it was asked to open.
    opened = tmp_path / "opened.txt"
    browser = tmp_path / "browser.sh"
    browser.write_text(f'#!/bin/sh\necho "$1" >> {opened}\n')
    browser.chmod(0o755)
    proc = subprocess.Popen(
        [sys.executable, "-m", "desktop.cli", "--browser"],
        cwd=ROOT,
        stdin=subprocess.DEVNULL,
        env=app_env(tmp_path / "data", BROWSER=str(browser), DISPLAY=None),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        ready = proc.stdout.readline().strip()
        assert ready.startswith("ChatKit Desktop ready: http://127.0.0.1:")
        url = ready.split(": ", 1)[1]
        deadline = time.monotonic() + 20
        while not opened.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert opened.read_text().split() == [url], "the page, with its token, opened once"
        assert httpx.get(url).status_code == 200

        again = subprocess.run(
            [sys.executable, "-m", "desktop.cli", "--browser"],
            cwd=ROOT,
            stdin=subprocess.DEVNULL,
            env=app_env(tmp_path / "data", BROWSER=str(browser), DISPLAY=None),
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert again.returncode == 0
        deadline = time.monotonic() + 20
        while len(opened.read_text().split()) < 2 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert opened.read_text().split() == [url, url], "a second launch opens the running app, not a new one"
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(30) == 0
