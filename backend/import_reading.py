"""Opening a file someone wants to import, without trusting it: what it is (a ChatGPT or Claude data export, our
backup, one of our thread files), checked whole before anything is written, and read conversation by conversation.

A data export's `conversations.json` can be hundreds of megabytes; it is read as a stream of conversations, so
memory follows the largest conversation, not the file. A zip is checked for what makes a zip dangerous (paths
that climb out of a folder, a bomb that inflates a thousandfold) before any member is read; members are only
ever read into memory, never extracted by their names.
"""

from __future__ import annotations

import codecs
import json
import re
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import IO, Any, Literal, Protocol

from .export import APP_NAME, BACKUP_SCHEMA_VERSION
from .threadfile import SCHEMA_VERSION

MAX_FILE_BYTES = 1024**3
MAX_UNPACKED_BYTES = 8 * 1024**3
# Text compresses about tenfold and images not at all; a thousandfold is a bomb.
MAX_RATIO = 200
_RATIO_FROM_BYTES = 1024**2
_CHUNK = 1024**2
_TRY_IMPORT = (
    "Import a ChatGPT or Claude data export (the .zip or its conversations.json), a ChatKit Desktop backup .zip "
    "or a conversation's .json."
)
_DOWNLOAD_AGAIN = "download the export again and import the new file."

Kind = Literal["chatgpt", "claude", "backup", "thread"]
LABELS: dict[Kind, str] = {
    "chatgpt": "ChatGPT export",
    "claude": "Claude export",
    "backup": "ChatKit Desktop backup",
    "thread": "ChatKit Desktop conversation",
}
# ChatGPT names an exported file after its id: `file-<ID>-<name>`, `file_<ID>-<uuid>.png` (newer images).
_FILE_ID = re.compile(r"^(file[-_][A-Za-z0-9]+)(?:[-.](.*))?$")


class Readable(Protocol):
    """What a stream of bytes needs for `json_array`: a file, a zip member."""

    def read(self, size: int, /) -> bytes: ...


class ImportRefused(Exception):
    """The file cannot be imported; the message is one sentence for the user saying why and what to do."""


@dataclass
class Opened:
    """A checked import file: what it is, how many conversations it holds, and how to read them again."""

    kind: Kind
    total: int
    path: Path
    archive: zipfile.ZipFile | None = None
    # The zip member holding `conversations.json` (None: the file itself is the JSON).
    member: str | None = None
    # ChatGPT's files in the zip by id (`file-abc…`), with the original name where the member's name carries it.
    files: dict[str, tuple[str, str]] = field(default_factory=dict)
    # A backup's manifest: each member's SHA-256.
    hashes: dict[str, str] = field(default_factory=dict)

    @property
    def label(self) -> str:
        """What the file is, as the summary names it."""
        return LABELS[self.kind]

    def conversations(self) -> Iterator[Any]:
        """The export's conversations, one at a time (a second reading of what `open_import` checked)."""
        with self._json() as stream:
            yield from json_array(stream)

    def read_member(self, name: str, limit: int) -> bytes | None:
        """A zip member's bytes; None when it is larger than `limit` or damaged."""
        if self.archive is None:
            return None
        try:
            info = self.archive.getinfo(name)
            if info.file_size > limit:
                return None
            return self.archive.read(info)
        except (KeyError, zipfile.BadZipFile, OSError, EOFError, ValueError):
            return None

    def close(self) -> None:
        """Let go of the file."""
        if self.archive is not None:
            self.archive.close()

    def _json(self) -> IO[bytes]:
        if self.archive is not None and self.member is not None:
            return self.archive.open(self.member)
        return open(self.path, "rb")


def open_import(path: Path, name: str) -> Opened:
    """Check the file at `path` (named `name` by the user) all through and say what it is; raises ImportRefused
    with the sentence for anything that is not an importable file."""
    shown = name or path.name
    size = path.stat().st_size
    if size > MAX_FILE_BYTES:
        raise ImportRefused(
            f"{shown} is {size / 1024**3:.1f} GB; the largest file that can be imported is "
            f"{MAX_FILE_BYTES // 1024**3} GB. For a larger export, import its conversations.json alone."
        )
    if size == 0:
        raise ImportRefused(f"{shown} is empty. {_TRY_IMPORT}")
    with open(path, "rb") as handle:
        head = handle.read(4)
    if head.startswith(b"PK"):
        return _open_zip(path, shown)
    kind, total = _check_json(lambda: open(path, "rb"), shown)  # noqa: SIM115 - opened by its caller's `with`
    return Opened(kind, total, path)


def json_array(stream: Readable) -> Iterator[Any]:
    """The values of the JSON array that `stream` holds (UTF-8), one at a time, each parsed whole; raises
    UnicodeDecodeError, ValueError (not JSON, or not an array) or EOFError (the text ends too early)."""
    decoder = json.JSONDecoder()
    text = codecs.getincrementaldecoder("utf-8-sig")("strict")
    buffer, at, ended = "", 0, False

    def more(size: int) -> None:
        nonlocal buffer, at, ended
        data = stream.read(size)
        ended = not data
        buffer = buffer[at:] + text.decode(data, final=ended)
        at = 0

    def next_char() -> str:
        nonlocal at
        while True:
            while at < len(buffer) and buffer[at] in " \t\r\n":
                at += 1
            if at < len(buffer):
                return buffer[at]
            if ended:
                raise EOFError
            more(_CHUNK)

    if next_char() != "[":
        raise ValueError("not a JSON array")
    at += 1
    first = True
    while True:
        char = next_char()
        if char == "]":
            return
        if not first:
            if char != ",":
                raise ValueError("expected a comma between values")
            at += 1
            next_char()
        first = False
        wanted = _CHUNK
        while True:
            try:
                value, end = decoder.raw_decode(buffer, at)
            except json.JSONDecodeError as error:
                if ended:
                    # Cut off (a string or a value left open at the end) or broken in the middle.
                    cut = error.pos >= len(buffer) - 1 or error.msg.startswith("Unterminated")
                    raise (EOFError if cut else ValueError)(error.msg) from None
                # Read as much again as is waiting: a large value is re-parsed a logarithmic number of times.
                more(max(wanted, len(buffer) - at))
                wanted *= 2
                continue
            except RecursionError:
                raise ValueError("nested too deeply") from None
            if end == len(buffer) and not ended:
                # A number cut by the chunk's end would parse as a shorter one: make sure the value is whole.
                more(_CHUNK)
                continue
            break
        at = end
        yield value


def _open_zip(path: Path, shown: str) -> Opened:
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, EOFError, ValueError):
        raise ImportRefused(f"{shown} is a damaged or incomplete zip file; {_DOWNLOAD_AGAIN}") from None
    try:
        infos = archive.infolist()
        _check_members(infos, shown)
        names = {info.filename for info in infos if not info.is_dir()}
        if "manifest.json" in names and any(n.startswith("threads/") for n in names):
            hashes = _backup_hashes(archive, shown)
            return Opened("backup", sum(1 for n in names if _is_thread_member(n)), path, archive, hashes=hashes)
        member = _conversations_member(names)
        if member is None:
            raise ImportRefused(f"{shown} holds no conversations.json. {_TRY_IMPORT}")
        kind, total = _check_json(lambda: archive.open(member), shown)
        files = _chatgpt_files(names) if kind == "chatgpt" else {}
        return Opened(kind, total, path, archive, member, files)
    except BaseException:
        archive.close()
        raise


def _check_members(infos: list[zipfile.ZipInfo], shown: str) -> None:
    unpacked = 0
    for info in infos:
        name = info.filename
        parts = PurePosixPath(name.replace("\\", "/")).parts
        if name.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", name) or ".." in parts or "\x00" in name:
            raise ImportRefused(
                f"{shown} holds a file with an unsafe path ({name[:80]!r}), so it was not imported. {_TRY_IMPORT}"
            )
        unpacked += info.file_size
        ratio = info.file_size / max(info.compress_size, 1)
        if unpacked > MAX_UNPACKED_BYTES or (info.file_size > _RATIO_FROM_BYTES and ratio > MAX_RATIO):
            raise ImportRefused(
                f"{shown} would unpack to far more than it holds (a zip bomb?), so it was not imported. {_TRY_IMPORT}"
            )


def _backup_hashes(archive: zipfile.ZipFile, shown: str) -> dict[str, str]:
    """A backup's manifest checked: made by this app in a format this version reads; its members' hashes."""
    try:
        manifest = json.loads(archive.read("manifest.json"))
        ours, version = manifest.get("app") == APP_NAME, manifest.get("schema_version")
        hashes = manifest.get("files") or {}
    except (ValueError, AttributeError, zipfile.BadZipFile, OSError):
        ours, version, hashes = False, None, {}
    if not ours or not isinstance(version, int) or not isinstance(hashes, dict):
        raise ImportRefused(f"{shown} has a manifest.json ChatKit Desktop did not write. {_TRY_IMPORT}")
    if version > BACKUP_SCHEMA_VERSION:
        raise ImportRefused(
            f"{shown} was made by a newer version of ChatKit Desktop (backup format {version}); update the app to "
            "restore it."
        )
    return {str(name): str(digest) for name, digest in hashes.items()}


def _conversations_member(names: set[str]) -> str | None:
    # At the top, or in the one folder the zip was made of (an export unpacked and zipped again).
    found = [n for n in names if PurePosixPath(n).name == "conversations.json" and n.count("/") <= 1]
    return min(found, key=lambda n: (n.count("/"), n)) if found else None


def _is_thread_member(name: str) -> bool:
    return name.startswith("threads/") and name.endswith(".json") and name.count("/") == 1


def _chatgpt_files(names: set[str]) -> dict[str, tuple[str, str]]:
    files: dict[str, tuple[str, str]] = {}
    for name in sorted(names):
        match = _FILE_ID.match(PurePosixPath(name).name)
        if match:
            files.setdefault(match.group(1), (name, match.group(2) or ""))
    return files


def _check_json(opener: Callable[[], IO[bytes]], shown: str) -> tuple[Kind, int]:
    """Read the whole JSON once: its kind, and how many conversations it holds."""
    try:
        with opener() as stream:
            head = stream.read(_CHUNK)
        stripped = head.lstrip(b"\xef\xbb\xbf \t\r\n")
        if stripped.startswith(b"{"):
            return _check_thread(opener, shown), 1
        if not stripped.startswith(b"["):
            raise ValueError("neither a JSON array nor a JSON object")
        kind: Kind | None = None
        total = 0
        with opener() as stream:
            for conversation in json_array(stream):
                total += 1
                kind = kind or _kind_of(conversation)
        if total == 0:
            raise ImportRefused(f"{shown} holds no conversations.")
        if kind is None:
            raise ImportRefused(f"{shown} is not an export ChatKit Desktop knows. {_TRY_IMPORT}")
        return kind, total
    except UnicodeDecodeError:
        raise ImportRefused(f"{shown} is not valid UTF-8 text, so it is not an export; {_DOWNLOAD_AGAIN}") from None
    except EOFError:
        raise ImportRefused(f"{shown} ends too early (the file is incomplete); {_DOWNLOAD_AGAIN}") from None
    except ValueError:
        raise ImportRefused(f"{shown} is not an export ChatKit Desktop knows. {_TRY_IMPORT}") from None
    except (zipfile.BadZipFile, OSError):
        raise ImportRefused(f"{shown} is a damaged zip file; {_DOWNLOAD_AGAIN}") from None


def _check_thread(opener: Callable[[], IO[bytes]], shown: str) -> Kind:
    with opener() as stream:
        raw = stream.read(MAX_FILE_BYTES + 1)
    data = json.loads(raw.decode("utf-8-sig"))
    if not (isinstance(data, dict) and isinstance(data.get("thread"), dict) and "schema_version" in data):
        raise ImportRefused(f"{shown} is not an export ChatKit Desktop knows. {_TRY_IMPORT}")
    version = data["schema_version"]
    if isinstance(version, int) and version > SCHEMA_VERSION:
        raise ImportRefused(
            f"{shown} was saved by a newer version of ChatKit Desktop (format {version}); update the app to import it."
        )
    return "thread"


def _kind_of(conversation: Any) -> Kind | None:
    if isinstance(conversation, dict):
        if isinstance(conversation.get("mapping"), dict):
            return "chatgpt"
        if isinstance(conversation.get("chat_messages"), list):
            return "claude"
    return None
