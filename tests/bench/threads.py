"""Thread files for tests/bench/backend.py, written directly in the documented format (`threads/<id>.json`):
the same text on every run, so figures before and after a change compare like for like."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

START = datetime(2025, 6, 1, 9, 0, tzinfo=UTC)
SENTENCES = [
    "Could you explain how the garbage collector decides when to run a full collection?",
    "I tried the second approach, but the build still fails with the same linker error on Windows.",
    "What would be a good way to structure the tests so they do not depend on the network?",
    "The recipe calls for two cups of flour; can I replace half of it with oat flour without trouble?",
    "The collector runs a full pass when the youngest generation has been promoted several times in a row.",
    "A common fix is to pin the toolchain version in the project file and clear the build cache once.",
    "Put the network behind a small interface and give the tests a fake that answers from memory.",
    "Here is a summary of the trade-offs, with the cheapest option first and the most robust one last.",
]


def message_item(thread_id: str, n: int, rng: random.Random) -> dict[str, Any]:
    """Item `n` of a conversation: user messages at even positions, answers (twice as long) at odd ones."""
    base = {"id": f"msg_{thread_id[4:]}_{n:05d}", "thread_id": thread_id}
    base["created_at"] = (START + timedelta(seconds=30 * n)).isoformat().replace("+00:00", "Z")
    if n % 2 == 0:
        text = f"{rng.choice(SENTENCES)} ({n})"
        content = [{"type": "input_text", "text": text}]
        return base | {"type": "user_message", "content": content, "attachments": [], "inference_options": {}}
    text = " ".join(rng.sample(SENTENCES, 2))
    return base | {"type": "assistant_message", "content": [{"type": "output_text", "text": text, "annotations": []}]}


def write_thread(data_dir: Path, thread_id: str, items: int, created: str = "2025-06-01T09:00:00Z") -> int:
    """A titled thread (so no title request is made) of `items` alternating messages; returns its bytes."""
    rng = random.Random(thread_id)  # the same text on every run, so before and after compare like for like
    thread = {"id": thread_id, "title": f"Bench {thread_id}", "created_at": created, "status": {"type": "active"}}
    payload = {
        "schema_version": 1,
        "thread": thread | {"metadata": {}},
        "items": [message_item(thread_id, n, rng) for n in range(items)],
    }
    path = data_dir / "threads" / f"{thread_id}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(payload), "utf-8")
    return path.stat().st_size


def write_many_threads(data_dir: Path, count: int) -> None:
    """`count` one-message threads, as if the user had chatted for years."""
    for n in range(count):
        created = f"2025-{1 + n % 12:02d}-{1 + n % 28:02d}T{n % 24:02d}:{n % 60:02d}:00Z"
        write_thread(data_dir, f"thr_bench{n:011d}", 1, created)
