"""History read without the model layer (`backend.history`) answers exactly what ChatKit's own server answers.

The page cannot tell which of the two answered: the same bytes for listing threads, opening one and paging its
items, in both orders, with hidden context left out and private metadata kept back.
"""

from __future__ import annotations

import asyncio
import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from chatkit.server import NonStreamingResult
from chatkit.types import (
    AssistantMessageContent,
    AssistantMessageItem,
    ChatKitReq,
    HiddenContextItem,
    ThreadMetadata,
    UserMessageItem,
    UserMessageTextContent,
)
from pydantic import TypeAdapter

from backend import history
from backend.attachments import AttachmentFiles
from backend.chatkit_server import ChatServer
from backend.config import AppConfig
from backend.keys import SecretStore
from backend.local_servers import LocalServers
from backend.settings import SettingsFile
from backend.store import JsonFileStore

START = datetime(2025, 5, 1, 9, 0, 0)


async def _no_model_layer() -> Any:
    raise AssertionError("reading history must not need the model layer")


def filled_store(folder: Path) -> JsonFileStore:
    store = JsonFileStore(folder, AttachmentFiles(AppConfig(folder, token="test-token", port=1)))
    store.open()

    async def fill() -> None:
        for n in range(3):
            thread_id = f"thr_hist{n:04d}"
            await store.save_thread(
                ThreadMetadata(
                    id=thread_id, title=f"Thread {n}", created_at=START + timedelta(minutes=n), metadata={"secret": 1}
                ),
                None,
            )
            for m in range(25):
                at = START + timedelta(minutes=n, seconds=m)
                await store.add_thread_item(
                    thread_id,
                    UserMessageItem(
                        id=f"msg_u{n}x{m:03d}",
                        thread_id=thread_id,
                        created_at=at,
                        content=[UserMessageTextContent(text=f"question {m}")],
                        attachments=[],
                        inference_options={},
                    ),
                    None,
                )
                if m % 5 == 0:
                    await store.add_thread_item(
                        thread_id,
                        HiddenContextItem(id=f"hid_{n}x{m:03d}", thread_id=thread_id, created_at=at, content="hidden"),
                        None,
                    )
                await store.add_thread_item(
                    thread_id,
                    AssistantMessageItem(
                        id=f"msg_a{n}x{m:03d}",
                        thread_id=thread_id,
                        created_at=at,
                        content=[AssistantMessageContent(text=f"answer {m}")],
                    ),
                    None,
                )

    asyncio.run(fill())
    return store


REQUESTS: list[dict[str, Any]] = [
    {"type": "threads.list", "params": {"limit": 2, "order": "desc"}},
    {"type": "threads.list", "params": {"limit": 2, "order": "asc", "after": "thr_hist0000"}},
    {"type": "threads.list", "params": {}},
    {"type": "threads.get_by_id", "params": {"thread_id": "thr_hist0001"}},
    {"type": "items.list", "params": {"thread_id": "thr_hist0002", "limit": 100, "order": "desc"}},
    {"type": "items.list", "params": {"thread_id": "thr_hist0002", "limit": 7, "order": "asc", "after": "msg_u2x004"}},
    {"type": "items.list", "params": {"thread_id": "thr_hist0000"}},
]


@pytest.mark.parametrize("request_body", REQUESTS, ids=lambda r: f"{r['type']}-{json.dumps(r['params'])}")
def test_history_answers_are_chatkits_answers_byte_for_byte(tmp_path: Path, request_body: dict[str, Any]) -> None:
    store = filled_store(tmp_path)
    settings, keys = SettingsFile(tmp_path / "settings.json"), SecretStore(tmp_path)
    server = ChatServer(store, settings, keys, _no_model_layer, LocalServers())
    raw = json.dumps(request_body).encode()
    parsed = TypeAdapter(ChatKitReq).validate_json(raw)
    assert isinstance(parsed, history.READS)

    ours = asyncio.run(history.answer(store, parsed))
    theirs = asyncio.run(server.process(raw, {}))

    assert isinstance(theirs, NonStreamingResult), "a read is answered with JSON, not a stream"
    assert ours == theirs.json
    shown = json.loads(ours)
    assert "hidden" not in ours.decode() and "secret" not in ours.decode()
    assert shown  # an answer the page can use, not an empty body
