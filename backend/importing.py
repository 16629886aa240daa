"""An import from start to summary: the checked file's conversations read one at a time and written (or found here
already), progress counted, a stop honoured between two conversations, and the summary a person reads after.

`run_import` does the work in the calling thread (the `import` command, without an app); `ImportJob` runs it in the
background for the app's routes, one import at a time, so the app stays usable meanwhile.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from . import import_chatgpt, import_claude
from .import_reading import MAX_FILE_BYTES, Opened
from .import_restore import restore_backup, restore_settings, restore_thread_file
from .import_writing import Outcome, Target, listing_title, write_conversation
from .imported import Unreadable
from .store_errors import StoreWriteError

log = logging.getLogger(__name__)

MAX_EXAMPLES = 20
BUSY = "An import is already running; wait for it to finish or stop it."


@dataclass
class Summary:
    """What an import did, counted as it goes."""

    label: str
    added: list[int] = field(default_factory=lambda: [0, 0])
    present: list[int] = field(default_factory=lambda: [0, 0])
    failed: int = 0
    examples: list[dict[str, str]] = field(default_factory=list)
    empty: int = 0
    attachments: int = 0
    left_out: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    stopped_after: int | None = None

    def count(self, outcome: Outcome) -> None:
        """Add one conversation's outcome."""
        if outcome.status == "added":
            self.added[0] += 1
            self.added[1] += outcome.messages
            self.attachments += outcome.attachments
            for why, n in outcome.left_out.items():
                self.left_out[why] = self.left_out.get(why, 0) + n
        elif outcome.status == "present":
            self.present[0] += 1
            self.present[1] += outcome.messages
        elif outcome.status == "empty":
            self.empty += 1
        else:
            self.failed += 1
            if len(self.examples) < MAX_EXAMPLES:
                self.examples.append({"title": outcome.title, "reason": outcome.reason or "it could not be read"})

    def sentence(self) -> str:
        """The summary in a few words: what was added, what was here already, what could not be read."""
        added, present = self.added[0], self.present[0]
        if added:
            parts = [f"Added {_n(added, 'conversation')} ({_n(self.added[1], 'message')}) from {_a(self.label)}."]
        elif present:
            parts = [f"Nothing new: {_n(present, 'conversation')} of this {self.label} {_were(present)} here already."]
            present = 0
        else:
            parts = [f"No conversation was added from this {self.label}."]
        if present:
            parts.append(f"{_n(present, 'conversation')} {_were(present)} here already.")
        if self.failed:
            parts.append(f"{_n(self.failed, 'conversation')} could not be read.")
        if self.stopped_after is not None:
            parts.append("The import was stopped; import the same file again to add the rest.")
        return " ".join(parts)

    def view(self) -> dict[str, Any]:
        """The summary as `GET /api/import` answers it."""
        notes = [_counted(why, n) for why, n in self.left_out.items()] + self.notes
        if self.empty:
            notes.append(f"{_n(self.empty, 'conversation')} without any message {_were(self.empty)} skipped.")
        return {
            "sentence": self.sentence(),
            "added": {"conversations": self.added[0], "messages": self.added[1]},
            "present": {"conversations": self.present[0], "messages": self.present[1]},
            "failed": {"count": self.failed, "examples": self.examples},
            "attachments": {"added": self.attachments, "left_out": sum(self.left_out.values())},
            "notes": notes,
        }


def run_import(
    opened: Opened,
    target: Target,
    data_dir: Path,
    *,
    progress: Callable[[int, int], None] = lambda done, total: None,
    stopped: Callable[[], bool] = lambda: False,
) -> Summary:
    """Import every conversation of `opened` into the store; StoreWriteError when the disk refuses a write (the
    conversations written before it stay, whole)."""
    summary = Summary(opened.label)
    progress(0, opened.total)
    for done, outcome in enumerate(_outcomes(opened, target), 1):
        summary.count(outcome)
        progress(done, opened.total)
        if stopped() and done < opened.total:
            summary.stopped_after = done
            break
    if opened.kind == "backup" and summary.stopped_after is None:
        note = restore_settings(opened, data_dir)
        if note:
            summary.notes.append(note)
    return summary


def _outcomes(opened: Opened, target: Target) -> Iterator[Outcome]:
    if opened.kind == "backup":
        yield from restore_backup(opened, target)
        return
    if opened.kind == "thread":
        yield from restore_thread_file(opened, target)
        return
    now = datetime.now(UTC)
    in_zip = opened.archive is not None
    for data in opened.conversations():
        try:
            if opened.kind == "chatgpt":
                conversation = import_chatgpt.read(data, opened.files, in_zip, now)
            else:
                conversation = import_claude.read(data, now)
            yield write_conversation(conversation, opened, target)
        except Unreadable as why:
            yield Outcome("failed", listing_title(data), reason=str(why))
        except (StoreWriteError, MemoryError):
            raise
        except (ValueError, TypeError, KeyError, AttributeError) as error:
            # Data of a shape no export should have (pydantic's ValidationError is a ValueError).
            log.warning("an imported conversation could not be read: %s", type(error).__name__)
            yield Outcome("failed", listing_title(data), reason="its content is not in the form the export uses")


@dataclass
class ImportJob:
    """The one import of this launch: its state as the page polls it, and the thread doing it."""

    target: Target
    data_dir: Path
    state: Literal["idle", "running", "done", "failed"] = "idle"
    source: str | None = None
    done: int = 0
    total: int = 0
    error: str | None = None
    summary: Summary | None = None
    _stop: threading.Event = field(default_factory=threading.Event)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def folder(self) -> Path:
        """Where files being imported wait (in the data folder: that is where there is room for them)."""
        return self.data_dir / "imports"

    def view(self) -> dict[str, Any]:
        """What `GET /api/import` answers."""
        with self._lock:
            return {
                "state": self.state,
                "source": self.source,
                "done": self.done,
                "total": self.total,
                "error": self.error,
                "summary": self.summary.view() if self.summary else None,
                "max_bytes": MAX_FILE_BYTES,
            }

    def claim(self) -> bool:
        """Reserve the job for a file about to arrive; False while another import is running."""
        with self._lock:
            if self.state == "running":
                return False
            self.state, self.source, self.done, self.total = "running", None, 0, 0
            self.error, self.summary = None, None
            self._stop = threading.Event()
            return True

    def release(self) -> None:
        """Give the job back when the file never became an import (refused, or the upload broke off)."""
        with self._lock:
            self.state = "idle"

    def start(self, opened: Opened) -> None:
        """Import the checked file in a background thread; the file is removed when done."""
        with self._lock:
            self.source, self.total = opened.label, opened.total
            stop = self._stop
        threading.Thread(target=self._run, args=(opened, stop), name="import", daemon=True).start()

    def stop(self) -> None:
        """Stop a running import after the conversation being written, or forget a finished one."""
        with self._lock:
            if self.state == "running":
                self._stop.set()
            else:
                self.state, self.source, self.done, self.total = "idle", None, 0, 0
                self.error, self.summary = None, None

    def _run(self, opened: Opened, stop: threading.Event) -> None:
        def progress(done: int, total: int) -> None:
            with self._lock:
                self.done, self.total = done, total

        try:
            summary = run_import(opened, self.target, self.data_dir, progress=progress, stopped=stop.is_set)
        except Exception as error:
            # Any failure must end the job (never "running" forever); the page and the command show the sentence.
            log.exception("the import failed")
            sentence = str(error) if isinstance(error, StoreWriteError) else _failed(error)
            with self._lock:
                self.state, self.error = "failed", sentence
            return
        finally:
            opened.close()
            with contextlib.suppress(OSError):
                opened.path.unlink()
        with self._lock:
            self.state, self.summary = "done", summary


def _failed(error: Exception) -> str:
    reason = getattr(error, "strerror", None) or type(error).__name__
    return f"The import stopped ({reason}); the conversations added so far are kept — import the file again to finish."


def _counted(template: str, n: int) -> str:
    """A note's template (`{n} file{s} {were} left out…`) for `n` files."""
    if n == 1:
        return template.format(n="1", s="", were="was", them="it")
    return template.format(n=f"{n:,}", s="s", were="were", them="them")


def _n(count: int, noun: str) -> str:
    return f"{count:,} {noun}{'' if count == 1 else 's'}"


def _were(count: int) -> str:
    return "was" if count == 1 else "were"


def _a(label: str) -> str:
    return f"an {label}" if label[0] in "AEIOU" else f"a {label}"
