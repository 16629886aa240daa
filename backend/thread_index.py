"""`<data>/index.sqlite3`: the thread listing and a full-text index of every message, rebuilt from the files.

The thread files are the truth; this file is a cache of them. It holds each thread's listing entry (with the
file's size and modification time, so a start parses only files that changed) and an FTS5 index of the text of
every user and assistant message and every title (`search_text` says how the text is indexed and queried).

Writes happen in one background thread, after the thread file is written: a chat never waits for the index and
never fails because of it. The items a thread was last indexed at are remembered for a few threads, so that the
next update of a long conversation compares only what changed (a 4,000-item thread: 17 ms → 2 ms). A thread
whose update failed, or was cut off by a crash, keeps the file signature it was last indexed at, so it is
indexed again (in the background, and at the next start). A file that is missing, not SQLite, from another
schema version or otherwise unusable is deleted and rebuilt.
"""

from __future__ import annotations

import contextlib
import json
import logging
import queue
import sqlite3
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import search_text

log = logging.getLogger(__name__)

FILE = "index.sqlite3"
SCHEMA_VERSION = 2
_SCHEMA = """
CREATE TABLE threads (
    id TEXT PRIMARY KEY, listing TEXT NOT NULL, mtime_ns INTEGER NOT NULL, size INTEGER NOT NULL,
    indexed_mtime_ns INTEGER, indexed_size INTEGER
);
CREATE TABLE messages (
    id INTEGER PRIMARY KEY, thread_id TEXT NOT NULL, item_id TEXT, role TEXT NOT NULL,
    created_at TEXT NOT NULL, text TEXT NOT NULL, grams TEXT NOT NULL
);
CREATE INDEX messages_by_thread ON messages (thread_id);
CREATE INDEX messages_by_time ON messages (created_at);
CREATE VIRTUAL TABLE fts USING fts5 (
    text, grams, content = 'messages', content_rowid = 'id',
    tokenize = 'unicode61 remove_diacritics 2'
);
CREATE TRIGGER messages_added AFTER INSERT ON messages BEGIN
    INSERT INTO fts (rowid, text, grams) VALUES (new.id, new.text, new.grams);
END;
CREATE TRIGGER messages_removed AFTER DELETE ON messages BEGIN
    INSERT INTO fts (fts, rowid, text, grams) VALUES ('delete', old.id, old.text, old.grams);
END;
"""
# A title counts more than one message: it names what the whole conversation is about.
TITLE_WEIGHT = 3.0
# Past this many matching messages, results are the newest rather than ranked (see `ThreadIndex.search`).
RANKED_MATCHES = 3000
# How long a lone change waits before it is indexed.
SETTLE_S = 0.5
# Threads updated in one transaction, at most.
BATCH = 200
# A failed update is tried again after this long.
RETRY_S = 5.0
# Threads whose last indexed items are remembered, so that their next update looks only at what changed.
REMEMBERED = 8
# Past this many changed items, an update compares the whole thread.
FEW_CHANGES = 200


class SearchUnavailable(Exception):
    """The index could not be read (damaged while the app runs, say); the message is the sentence for the user."""


class SourceUnreadable(Exception):
    """A thread file could not be read just now (an edit by hand in progress, say): its update is tried again."""


@dataclass(frozen=True)
class Listed:
    """A thread's listing entry as the index keeps it, with the signature of the file it was read from."""

    thread: dict[str, Any]
    mtime_ns: int
    size: int


@dataclass(frozen=True)
class Source:
    """What the index needs of one thread file: its listing entry, signature and items (JSON data)."""

    listed: Listed
    items: tuple[dict[str, Any], ...]


@dataclass(frozen=True)
class Hit:
    """The best-matching message (or title) of one conversation."""

    thread_id: str
    item_id: str | None
    role: str
    created_at: str
    text: str
    hits: int | None
    """How many of the conversation's messages match; None past `RANKED_MATCHES` matches (not counted)."""


class ThreadIndex:
    """The index file, a reader for listing and search, and the background writer."""

    def __init__(self, data_dir: Path, source: Callable[[str], Source | None]) -> None:
        self.path = data_dir / FILE
        # Left when a read failed while the app ran: the next start rebuilds the index.
        self._rebuild_mark = data_dir / f"{FILE}.rebuild"
        self._source = source
        self._reader: sqlite3.Connection | None = None
        self._read_lock = threading.Lock()
        self._queue: queue.Queue[str | None] = queue.Queue()
        self._pending: set[str] = set()
        self._busy = False
        self._pending_lock = threading.Lock()
        self._worker: threading.Thread | None = None
        self._stopping = threading.Event()
        # The items each recently updated thread was last indexed at (the writer's thread only).
        self._indexed: OrderedDict[str, tuple[dict[str, Any], ...]] = OrderedDict()

    # ---- start and stop ----------------------------------------------------------------------------

    def open(self) -> tuple[dict[str, Listed], set[str]]:
        """Open (or create, or rebuild) the file and start the writer. Returns the listing it holds, and the
        threads whose messages were not indexed at that listing's signature (an update cut off by a crash)."""
        try:
            if self._rebuild_mark.exists():
                raise sqlite3.DatabaseError("a read failed while the app last ran")
            found = self._open_existing()
        except sqlite3.Error as error:
            log.warning("the index %s is unusable (%s); rebuilding it from the thread files", FILE, error)
            self._discard()
            try:
                found = self._open_existing()
            except sqlite3.Error as again:
                # Not even a new file can be made (a read-only folder, a file another program holds open): chats
                # and the list work from the thread files; search finds nothing until the next start.
                log.error("the index %s cannot be created (%s); search is off for this run", FILE, again)
                return {}, set()
        self._worker = threading.Thread(target=self._work, name="thread-index", daemon=True)
        self._worker.start()
        return found

    def close(self, timeout: float = 5.0) -> None:
        """Stop after the update in progress (what is still queued is redone at the next start), then close."""
        if self._worker is not None:
            self._stopping.set()
            self._queue.put(None)
            self._worker.join(timeout)
        with self._read_lock:
            if self._reader is not None:
                self._reader.close()
                self._reader = None

    def _open_existing(self) -> tuple[dict[str, Listed], set[str]]:
        conn = _connect(self.path)
        try:
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            if version == 0 and not conn.execute("SELECT 1 FROM sqlite_master").fetchone():
                with conn:
                    conn.executescript(_SCHEMA)
                    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            elif version != SCHEMA_VERSION:
                raise sqlite3.DatabaseError(f"schema version {version}, not {SCHEMA_VERSION}")
            # One JSON document for all the entries: 10,000 small parses took four times as long as one.
            ids, listings, mtimes, sizes = conn.execute(
                "SELECT group_concat(id, ' '), '[' || group_concat(listing, ',') || ']', group_concat(mtime_ns, ' '),"
                " group_concat(size, ' ') FROM threads"
            ).fetchone()
            listed = {
                thread_id: Listed(thread, int(mtime), int(size))
                for thread_id, thread, mtime, size in zip(
                    (ids or "").split(),
                    json.loads(listings or "[]"),
                    (mtimes or "").split(),
                    (sizes or "").split(),
                    strict=True,
                )
            }
            unindexed = "SELECT id FROM threads WHERE indexed_mtime_ns IS NOT mtime_ns OR indexed_size IS NOT size"
            stale = {row[0] for row in conn.execute(unindexed)}
        except (sqlite3.Error, ValueError, TypeError) as error:
            conn.close()
            raise sqlite3.DatabaseError(str(error)) from None
        self._reader = conn
        return listed, stale

    def _discard(self) -> None:
        for suffix in ("", "-wal", "-shm", "-journal", ".rebuild"):
            with contextlib.suppress(OSError):
                Path(f"{self.path}{suffix}").unlink()

    # ---- keeping it up to date -----------------------------------------------------------------------

    def changed(self, thread_ids: Iterable[str]) -> None:
        """These threads' files changed (or went): bring their entries up to date, in the background."""
        if self._worker is None:
            return
        for thread_id in thread_ids:
            with self._pending_lock:
                if thread_id in self._pending:
                    continue
                self._pending.add(thread_id)
            self._queue.put(thread_id)

    @property
    def indexing(self) -> bool:
        """Whether updates are still waiting: search results may be incomplete."""
        with self._pending_lock:
            return bool(self._pending) or self._busy

    def _work(self) -> None:
        writer = _connect(self.path)
        try:
            while (batch := self._next_batch()) and not self._stopping.is_set():
                retry: list[str] = []
                indexed: dict[str, tuple[dict[str, Any], ...] | None] = {}
                try:
                    # Many threads per transaction: one per thread made a rebuild several times slower.
                    with writer:
                        for thread_id in batch:
                            try:
                                indexed[thread_id] = self._update(writer, thread_id)
                            except SourceUnreadable:
                                retry.append(thread_id)
                    self._remember(indexed)
                except (sqlite3.Error, OSError) as error:
                    log.warning("could not update the index (%s); trying again", type(error).__name__)
                    self._remember(dict.fromkeys(batch))
                    retry = batch
                finally:
                    with self._pending_lock:
                        self._busy = False
                if retry:
                    threading.Timer(RETRY_S, self.changed, (retry,)).start()
        finally:
            writer.close()

    def _next_batch(self) -> list[str]:
        """The next threads to update (waiting for the first); empty when it is time to stop."""
        batch: list[str] = []
        item = self._queue.get()
        if item is not None and self._queue.empty():
            # A write while chatting: the model is being asked right now. Let the answer start (and the writes
            # that follow gather) before competing with it for the interpreter.
            self._stopping.wait(SETTLE_S)
        while item is not None:
            batch.append(item)
            if len(batch) >= BATCH:
                break
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                break
        with self._pending_lock:
            # Out of the queue before the update, so a change made meanwhile is queued again.
            self._pending.difference_update(batch)
            self._busy = bool(batch)
        return batch

    def _remember(self, indexed: dict[str, tuple[dict[str, Any], ...] | None]) -> None:
        """Keep what these threads were indexed at (None: forget them), once their transaction is over."""
        for thread_id, items in indexed.items():
            self._indexed.pop(thread_id, None)
            if items is not None:
                self._indexed[thread_id] = items
        while len(self._indexed) > REMEMBERED:
            self._indexed.popitem(last=False)

    def _update(self, conn: sqlite3.Connection, thread_id: str) -> tuple[dict[str, Any], ...] | None:
        """Bring one thread's rows up to date with its file; returns the items indexed (None: the thread is gone)."""
        source = self._source(thread_id)
        if source is None:
            conn.execute("DELETE FROM threads WHERE id = ?", (thread_id,))
            conn.execute("DELETE FROM messages WHERE thread_id = ?", (thread_id,))
            return None
        listed = source.listed
        changed = _changed_items(self._indexed.get(thread_id), source.items)
        query = "SELECT id, item_id, role, created_at, text FROM messages WHERE thread_id = ?"
        if changed is None:
            wanted = {(row[0], row[1]): row for row in _rows(listed.thread, source.items)}
            found = conn.execute(query, (thread_id,))
        else:
            # Items are never changed in place (a change makes a new dict): only the new or replaced ones, the
            # removed ones and the title are compared, the rest of a long thread is not read again.
            fresh, removed = changed
            wanted = {(row[0], row[1]): row for row in _rows(listed.thread, fresh)}
            ids = [str(item.get("id")) for item in fresh] + removed
            marks = ",".join("?" * len(ids))
            found = conn.execute(f"{query} AND (item_id IS NULL OR item_id IN ({marks}))", (thread_id, *ids))
        have = {(item_id, role): (rowid, created_at, text) for rowid, item_id, role, created_at, text in found}
        gone = [(have[key][0],) for key in have if key not in wanted or have[key][1:] != wanted[key][2:4]]
        new = [row for key, row in wanted.items() if key not in have or have[key][1:] != row[2:4]]
        conn.executemany("DELETE FROM messages WHERE id = ?", gone)
        conn.executemany(
            "INSERT INTO messages (thread_id, item_id, role, created_at, text, grams) VALUES (?, ?, ?, ?, ?, ?)",
            [(thread_id, *row, search_text.grams(row[3])) for row in new],
        )
        conn.execute(
            "INSERT OR REPLACE INTO threads (id, listing, mtime_ns, size, indexed_mtime_ns, indexed_size)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (thread_id, json.dumps(listed.thread), listed.mtime_ns, listed.size, listed.mtime_ns, listed.size),
        )
        return source.items

    # ---- reading ------------------------------------------------------------------------------------

    def search(self, terms: list[search_text.Term], limit: int, offset: int, after: str, before: str) -> list[Hit]:
        """Conversations matching every term, one hit each (its best message), most relevant first.

        Relevance (FTS5's bm25, a title counting `TITLE_WEIGHT` times, summed over a conversation's matches, newer
        first on a tie) has to be computed for every matching message, which for a word in most messages takes
        hundreds of milliseconds and says little. Past `RANKED_MATCHES` matches, the conversations with the newest
        matching messages come first instead.
        """
        expression = search_text.match_expression(terms)
        counted = "SELECT count(*) FROM (SELECT 1 FROM fts WHERE fts MATCH ? LIMIT ?)"
        counts = self._read(counted, (expression, RANKED_MATCHES + 1))
        if not counts:  # no index this run
            return []
        if counts[0][0] > RANKED_MATCHES:
            return self._newest(expression, limit, offset, after, before)
        # bm25() only works in a query over the FTS table itself, so its scores are taken first. With one min()
        # and no other aggregate, SQLite takes the other columns from the row of that minimum: the best message.
        query = f"""
            WITH matched AS MATERIALIZED (SELECT rowid AS id, bm25(fts) AS score FROM fts WHERE fts MATCH ?),
            hits AS (
                SELECT m.thread_id, m.item_id, m.role, m.created_at, m.text,
                       matched.score * (CASE WHEN m.role = 'title' THEN {TITLE_WEIGHT} ELSE 1.0 END) AS score
                FROM matched JOIN messages AS m ON m.id = matched.id
                WHERE m.created_at >= ? AND m.created_at < ?
            ),
            best AS (
                SELECT thread_id, item_id, role, created_at, text, min(score) AS score, count(*) AS hits
                FROM hits GROUP BY thread_id
            ),
            totals AS (SELECT thread_id, sum(score) AS total, max(created_at) AS latest FROM hits GROUP BY thread_id)
            SELECT best.thread_id, item_id, role, created_at, text, hits FROM best JOIN totals USING (thread_id)
            ORDER BY total, latest DESC LIMIT ? OFFSET ?
        """
        rows = self._read(query, (expression, after, before, limit, offset))
        return [Hit(*row) for row in rows]

    def _newest(self, expression: str, limit: int, offset: int, after: str, before: str) -> list[Hit]:
        """The conversations with the newest matching messages, each with its newest match (its matches are not
        counted: for a word in tens of thousands of messages that took longer than the search).

        Messages are numbered as they are indexed, a conversation's in order, the conversations last written
        last (live, and in a rebuild, which goes by the files' modification times); FTS5 reads its matches in
        that order backwards without sorting, so this stops as soon as the page is full.
        """
        query = """
            SELECT m.thread_id, m.item_id, m.role, m.created_at, m.text FROM fts JOIN messages AS m ON m.id = fts.rowid
            WHERE fts MATCH ? AND m.created_at >= ? AND m.created_at < ? ORDER BY fts.rowid DESC
        """
        wanted = offset + limit
        newest: dict[str, tuple[Any, ...]] = {}
        with self._read_lock:
            rows = self._cursor(query, (expression, after, before))
            for row in rows:
                newest.setdefault(row[0], row)
                if len(newest) == wanted:
                    break
        return [Hit(row[0], row[1], row[2], row[3], row[4], None) for row in list(newest.values())[offset:wanted]]

    def titles(self, terms: list[search_text.Term], limit: int) -> list[str]:
        """Threads whose title matches every term, newest first."""
        query = """
            SELECT m.thread_id FROM fts JOIN messages AS m ON m.id = fts.rowid
            WHERE fts MATCH ? AND m.role = 'title' ORDER BY m.created_at DESC LIMIT ?
        """
        return [row[0] for row in self._read(query, (search_text.match_expression(terms), limit))]

    def _read(self, query: str, parameters: tuple[Any, ...]) -> list[tuple[Any, ...]]:
        with self._read_lock:
            return list(self._cursor(query, parameters))

    def _cursor(self, query: str, parameters: tuple[Any, ...]) -> Iterator[tuple[Any, ...]]:
        """The rows of a read, one at a time (so a caller can stop early); call with the read lock held."""
        if self._reader is None:
            return
        try:
            yield from self._reader.execute(query, parameters)
        except sqlite3.Error as error:
            log.error("could not read the index %s (%s); it is rebuilt at the next start", FILE, error)
            with contextlib.suppress(OSError):
                self._rebuild_mark.touch()
            raise SearchUnavailable(
                "Search is not available right now because its index could not be read — restart the app to rebuild it."
            ) from None


def _connect(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, timeout=5, check_same_thread=False, isolation_level="DEFERRED")
    conn.execute("PRAGMA journal_mode = WAL")
    # A cache: after a power cut it may lose the last updates, which the next start redoes from the files.
    conn.execute("PRAGMA synchronous = NORMAL")
    return conn


def _changed_items(
    before: tuple[dict[str, Any], ...] | None, now: tuple[dict[str, Any], ...]
) -> tuple[list[dict[str, Any]], list[str]] | None:
    """The items new or replaced since `before` (the very dicts indexed then), and the ids of those removed; None
    when the whole thread has to be compared (not remembered, or too much changed)."""
    if before is None:
        return None
    kept = {id(item) for item in before}
    fresh = [item for item in now if id(item) not in kept]
    gone = sorted({str(item.get("id")) for item in before} - {str(item.get("id")) for item in now})
    return (fresh, gone) if len(fresh) + len(gone) <= FEW_CHANGES else None


def _rows(thread: dict[str, Any], items: Iterable[dict[str, Any]]) -> Iterator[tuple[str | None, str, str, str]]:
    """(item id, role, time, text) for the title and every message with text: what search looks through."""
    if thread.get("title"):
        yield (None, "title", str(thread.get("created_at", "")), str(thread["title"]))
    for item in items:
        kind = item.get("type")
        if kind == "user_message":
            words = [str(part.get("text", "")) for part in item.get("content") or []]
            words += [str(a.get("name", "")) for a in item.get("attachments") or []]
            role = "user"
        elif kind == "assistant_message":
            words = [str(part.get("text", "")) for part in item.get("content") or []]
            role = "assistant"
        else:
            continue
        text = " ".join(word for word in words if word).strip()
        if text:
            yield (str(item.get("id")), role, str(item.get("created_at", "")), text)
