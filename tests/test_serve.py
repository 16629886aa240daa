"""`chatkit-desktop serve`: one ready line, loopback only, clean shutdown on SIGTERM and SIGINT."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.harness import ROOT, TOKEN, app_env, start_app


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


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
            cwd=ROOT, env=app_env(tmp_path), capture_output=True, text=True, timeout=60,
        )
    assert done.returncode == 1
    assert done.stderr.strip().endswith("Pick another --port.")
    assert "Traceback" not in done.stderr


def test_a_second_server_on_the_same_data_folder_is_refused(tmp_path: Path) -> None:
    first = start_app(tmp_path)
    try:
        done = subprocess.run(
            [sys.executable, "-m", "desktop.cli", "serve"],
            cwd=ROOT, env=app_env(tmp_path), capture_output=True, text=True, timeout=60,
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
    for word in ("serve", "--browser", "CHATKIT_DESKTOP_DATA_DIR", "CHATKIT_DESKTOP_TOKEN", "CHATKIT_DESKTOP_MODEL",
                 "CHATKIT_DESKTOP_API_BASE", "GEMINI_API_KEY"):
        assert word in done.stdout


def test_ready_line_comes_before_the_model_layer_is_loaded(tmp_path: Path) -> None:
    app = start_app(tmp_path)
    try:
        assert httpx.get(f"{app.base}/health").json()["chat_ready"] is False
    finally:
        app.stop()
