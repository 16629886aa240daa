"""The one launch path, in process: a real server on 127.0.0.1 over a real data folder, held by a real OS lock."""

from __future__ import annotations

import json
import os
import signal
import socket
import stat
import threading
from pathlib import Path

import httpx
import pytest

from desktop.instance import origin, running_url
from desktop.launch import launch


@pytest.fixture(autouse=True)
def no_real_keyring(monkeypatch: pytest.MonkeyPatch) -> None:
    # The app opens its key store as it starts; tests must never read or write the developer's real keyring.
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.fail.Keyring")


def health(url: str) -> int:
    return httpx.get(f"{origin(url)}/health", timeout=5).status_code


def published(folder: Path) -> dict[str, object]:
    data: dict[str, object] = json.loads((folder / "instance.json").read_text("utf-8"))
    return data


def test_a_second_launch_on_a_held_folder_gets_none_and_finds_the_first_ones_address(tmp_path: Path) -> None:
    with launch(tmp_path) as first:
        assert first is not None
        server = first.start_in_thread()
        with launch(tmp_path) as second:
            assert second is None
        assert running_url(tmp_path) == server.url
        assert health(server.url) == 200, "the refused launch leaves the first one serving and published"


def test_leaving_the_launch_stops_the_server_forgets_the_address_and_frees_the_folder(tmp_path: Path) -> None:
    with launch(tmp_path) as first:
        assert first is not None
        url = first.start_in_thread().url
    assert not (tmp_path / "instance.json").exists()
    with pytest.raises(httpx.ConnectError):
        health(url)
    with launch(tmp_path) as again:
        assert again is not None, "the next launch holds the folder"


@pytest.mark.skipif(os.name == "nt", reason="POSIX file modes")
def test_the_published_address_is_readable_by_its_owner_only(tmp_path: Path) -> None:
    with launch(tmp_path) as ours:
        assert ours is not None
        url = ours.start_in_thread().url
        assert stat.S_IMODE((tmp_path / "instance.json").stat().st_mode) == 0o600, "the address carries the token"
        assert published(tmp_path) == {"pid": os.getpid(), "url": url}


def test_a_port_that_cannot_be_had_is_an_oserror_and_nothing_is_published(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        with launch(tmp_path) as ours:
            assert ours is not None
            with pytest.raises(OSError):
                ours.bind(taken.getsockname()[1])
            assert not (tmp_path / "instance.json").exists()
    with launch(tmp_path) as again:
        assert again is not None, "the failed launch released the folder"


def test_in_the_foreground_the_address_is_published_before_ready_and_ctrl_c_ends_the_launch(tmp_path: Path) -> None:
    seen: dict[str, object] = {}

    def ask_then_press_ctrl_c(url: str) -> None:
        try:
            seen["health"] = health(url)
        finally:
            os.kill(os.getpid(), signal.SIGINT)

    def ready(url: str) -> None:
        seen["url"] = url
        seen["published"] = published(tmp_path)["url"]
        # This runs on the server's event loop, which must stay free to answer: ask from another thread.
        threading.Thread(target=ask_then_press_ctrl_c, args=(url,)).start()

    with launch(tmp_path) as ours:
        assert ours is not None
        ours.serve_forever(ready)
    assert seen["published"] == seen["url"]
    assert seen["health"] == 200
    assert not (tmp_path / "instance.json").exists()
    with launch(tmp_path) as again:
        assert again is not None, "the next launch holds the folder"
