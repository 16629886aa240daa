"""Files that must not import, and imports that go wrong half-way, over HTTP against the real server: each bad file
gets one sentence saying what is wrong and what to do, nothing of it is written, and the app keeps answering; a
conversation that cannot be read is named in the summary while the others are added; a stopped import completes
when the same file is imported again, to the same files a single import writes."""

from __future__ import annotations

import io
import json
import socket
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests import export_fixtures as fx
from tests.fake_provider import FakeProvider
from tests.harness import TOKEN, RunningApp, start_app
from tests.import_helpers import import_file, refusal, send_file, wait_finished

DOWNLOAD_AGAIN = "download the export again and import the new file."


@pytest.fixture
def fresh(tmp_path: Path, fake: FakeProvider) -> Iterator[RunningApp]:
    """An app on an empty data folder of its own."""
    running = start_app(tmp_path / "data", CHATKIT_DESKTOP_MODEL="openai/fake-local-1")
    yield running
    running.stop()


def conversations_json() -> bytes:
    return json.dumps(fx.chatgpt_sample(), ensure_ascii=False).encode("utf-8")


def zip_of(members: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(zipfile.ZipInfo(name), data, compress_type=zipfile.ZIP_DEFLATED)
    return out.getvalue()


def nothing_written(app: RunningApp) -> None:
    """The data folder holds no conversation and no attachment, and the app still answers."""
    assert list((app.data_dir / "threads").glob("*.json")) == []
    assert not (app.data_dir / "attachments").exists() or list((app.data_dir / "attachments").iterdir()) == []
    assert app.call("threads.list", limit=10, order="desc")["data"] == []
    assert list((app.data_dir / "imports").glob("*")) == []


@pytest.mark.parametrize(
    ("data", "name", "sentence"),
    [
        (fx.chatgpt_files()[fx.IMAGE_MEMBER], "export.zip", "export.zip is not an export ChatKit Desktop knows."),
        (b'[{"question": "hi"}]', "conversations.json", "conversations.json is not an export ChatKit Desktop knows."),
        (b'{"hello": "world"}', "thread.json", "thread.json is not an export ChatKit Desktop knows."),
        (b"[]", "conversations.json", "conversations.json holds no conversations."),
        (b"", "conversations.json", "conversations.json is empty."),
    ],
    ids=["a-picture-called-zip", "other-json-list", "other-json-object", "no-conversations", "empty"],
)
def test_a_file_that_is_not_an_export_is_refused_with_a_sentence_naming_it(
    fresh: RunningApp, data: bytes, name: str, sentence: str
) -> None:
    status, said = refusal(fresh, data, name)
    assert status == 400
    assert said.startswith(sentence)
    nothing_written(fresh)


def test_a_truncated_zip_is_refused_as_incomplete(fresh: RunningApp) -> None:
    whole = fx.chatgpt_zip(fx.chatgpt_sample(), fx.chatgpt_files())
    status, said = refusal(fresh, whole[: len(whole) * 2 // 3], "chatgpt-export.zip")
    assert (status, said) == (400, f"chatgpt-export.zip is a damaged or incomplete zip file; {DOWNLOAD_AGAIN}")
    nothing_written(fresh)


def test_a_conversations_json_cut_short_is_refused_before_any_conversation_is_written(fresh: RunningApp) -> None:
    whole = conversations_json()
    status, said = refusal(fresh, whole[: len(whole) - 300], "conversations.json")
    assert (status, said) == (400, f"conversations.json ends too early (the file is incomplete); {DOWNLOAD_AGAIN}")
    nothing_written(fresh)


def test_invalid_utf8_is_refused_with_a_sentence(fresh: RunningApp) -> None:
    broken = conversations_json().replace(fx.HIDDEN_QUESTION.encode(), b"What colour \xff\xfe is the sky?")
    status, said = refusal(fresh, broken, "conversations.json")
    assert status == 400
    assert said == f"conversations.json is not valid UTF-8 text, so it is not an export; {DOWNLOAD_AGAIN}"
    nothing_written(fresh)


@pytest.mark.parametrize("unsafe", ["../escaped.txt", "/etc/escaped.txt", "files/../../escaped.txt", "C:\\escaped.txt"])
def test_a_zip_whose_paths_climb_out_of_its_folder_is_refused_and_nothing_lands_outside(
    fresh: RunningApp, unsafe: str
) -> None:
    data = zip_of({"conversations.json": conversations_json(), unsafe: b"gotcha"})
    status, said = refusal(fresh, data, "chatgpt-export.zip")
    assert status == 400
    assert said.startswith("chatgpt-export.zip holds a file with an unsafe path")
    nothing_written(fresh)
    assert not list(fresh.data_dir.parent.rglob("escaped.txt"))


def test_a_zip_bomb_is_refused_before_it_is_unpacked(fresh: RunningApp) -> None:
    data = zip_of({"conversations.json": conversations_json(), "file-AAAA-bomb.png": bytes(200 * 1024 * 1024)})
    assert len(data) < 1024 * 1024
    status, said = refusal(fresh, data, "chatgpt-export.zip")
    assert status == 400
    assert said.startswith("chatgpt-export.zip would unpack to far more than it holds (a zip bomb?)")
    nothing_written(fresh)


def test_a_file_of_two_gigabytes_is_refused_before_its_bytes_are_read(fresh: RunningApp) -> None:
    with socket.create_connection(("127.0.0.1", fresh.port), timeout=10) as raw:
        raw.sendall(
            (
                f"POST /api/import?name=huge.zip HTTP/1.1\r\nHost: 127.0.0.1:{fresh.port}\r\n"
                f"Authorization: Bearer {TOKEN}\r\nContent-Type: application/octet-stream\r\n"
                f"Content-Length: {2 * 1024**3}\r\n\r\n"
            ).encode()
            + b"PK" * 1024
        )
        received = b""
        while b"largest" not in received and (chunk := raw.recv(65536)):
            received += chunk
        answer = received.decode("utf-8", "replace")
    assert answer.startswith("HTTP/1.1 413")
    assert "larger than 1 GB, the largest that can be imported" in answer
    nothing_written(fresh)


def test_a_conversation_whose_messages_loop_is_named_in_the_summary_and_the_others_are_added(
    fresh: RunningApp,
) -> None:
    looping: dict[str, Any] = {
        "id": "loop-1",
        "title": "Round and round",
        "create_time": 1700000000.0,
        "current_node": "a",
        "mapping": {
            "a": {"id": "a", "message": None, "parent": "b", "children": ["b"]},
            "b": {"id": "b", "message": None, "parent": "a", "children": ["a"]},
        },
    }
    summary = import_file(fresh, fx.chatgpt_zip([*fx.chatgpt_sample(), looping], fx.chatgpt_files()), "export.zip")
    assert summary["added"]["conversations"] == 8
    assert summary["failed"] == {
        "count": 1,
        "examples": [{"title": "Round and round", "reason": "its messages refer to each other in a loop"}],
    }
    assert summary["sentence"].endswith("1 conversation could not be read.")
    assert "Round and round" not in {t["title"] for t in fresh.call("threads.list", limit=50, order="desc")["data"]}


def test_a_second_import_while_one_runs_is_refused_and_the_first_goes_on(fresh: RunningApp, tmp_path: Path) -> None:
    big = tmp_path / "big.zip"
    fx.write_chatgpt_export(big, 400, 20)
    assert send_file(fresh, big.read_bytes(), "big.zip").status_code == 200
    status, said = refusal(fresh, conversations_json(), "conversations.json")
    assert (status, said) == (409, "An import is already running; wait for it to finish or stop it.")
    assert wait_finished(fresh)["summary"]["added"]["conversations"] == 400


def test_a_stopped_import_completes_when_the_file_is_imported_again_to_the_very_same_files(
    tmp_path: Path, fake: FakeProvider
) -> None:
    big = tmp_path / "big.zip"
    fx.write_chatgpt_export(big, 400, 20)
    stopped = start_app(tmp_path / "stopped")
    whole = start_app(tmp_path / "whole")
    try:
        assert send_file(stopped, big.read_bytes(), "big.zip").status_code == 200
        with stopped.client() as client:
            while client.get("/api/import").json()["done"] < 20:
                time.sleep(0.01)
            client.delete("/api/import")
        first = wait_finished(stopped)["summary"]
        assert 0 < first["added"]["conversations"] < 400
        assert first["sentence"].endswith("The import was stopped; import the same file again to add the rest.")
        second = import_file(stopped, big.read_bytes(), "big.zip")
        assert second["present"]["conversations"] == first["added"]["conversations"]
        assert second["added"]["conversations"] == 400 - first["added"]["conversations"]
        import_file(whole, big.read_bytes(), "big.zip")

        def files(app: RunningApp) -> dict[str, bytes]:
            return {p.name: p.read_bytes() for p in (app.data_dir / "threads").glob("*.json")}

        assert files(stopped) == files(whole)
        assert len(files(whole)) == 400
    finally:
        stopped.stop()
        whole.stop()
