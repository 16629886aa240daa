"""One running app per data folder: the first launch holds a lock; later launches find it and reuse it.

Two processes writing the same thread files would each keep their own index and per-thread locks, and could
lose items. The lock is an OS file lock, so the kernel releases it when the process ends, even on kill -9;
`instance.json` beside it tells a second launch where the running one listens.

Not `filelock`: it takes the same flock/LockFileEx lock only with non-default options (by default it can fall back
to a marker file the kernel does not release), and importing it adds ~25 ms to every launch, for a dozen lines.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import httpx

from backend.fileio import atomic_write_text

LOCK_NAME = "instance.lock"
INFO_NAME = "instance.json"


@dataclass
class InstanceLock:
    """The lock on a data folder, held for as long as this process serves it."""

    data_dir: Path
    handle: IO[bytes]

    @classmethod
    def acquire(cls, data_dir: Path) -> InstanceLock | None:
        """Take the data folder's lock, or return None when another running app holds it."""
        handle = open(data_dir / LOCK_NAME, "a+b")  # noqa: SIM115 - held open for the process's lifetime
        try:
            _lock(handle)
        except OSError:
            handle.close()
            return None
        return cls(data_dir, handle)

    def publish(self, url: str) -> None:
        """Tell later launches where this instance answers (private file: the URL carries the token)."""
        info = {"pid": os.getpid(), "url": url}
        atomic_write_text(self.data_dir / INFO_NAME, json.dumps(info), mode=0o600)

    def release(self) -> None:
        """Forget the address and let the next launch have the folder."""
        with contextlib.suppress(OSError):
            (self.data_dir / INFO_NAME).unlink()
        self.handle.close()


def running_url(data_dir: Path, timeout: float = 2.0) -> str | None:
    """The page address of the app that holds `data_dir`, if it answers; None otherwise."""
    try:
        info = json.loads((data_dir / INFO_NAME).read_text(encoding="utf-8"))
        url = str(info["url"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    try:
        healthy = httpx.get(f"{origin(url)}/health", timeout=timeout).status_code == 200
    except httpx.HTTPError:
        return None
    return url if healthy else None


def origin(url: str) -> str:
    """A page URL without its path and token: where /health answers, and what may be printed."""
    return url.split("/?", 1)[0]


def _lock(handle: IO[bytes]) -> None:
    if sys.platform == "win32":  # os.name == "nt", in the form mypy narrows on
        import msvcrt

        handle.seek(0)
        msvcrt.locking(handle.fileno(), msvcrt.LK_NBLCK, 1)
    else:
        import fcntl

        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
