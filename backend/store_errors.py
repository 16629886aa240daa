"""What can go wrong in the thread store that the user is told about, each with its sentence or reason."""

from __future__ import annotations

import errno
from pathlib import Path

from chatkit.errors import CustomStreamError


class ReadOnlyThreadError(Exception):
    """The thread file has a newer schema than this app knows; it is never overwritten."""


class StoreWriteError(CustomStreamError):
    """A thread file could not be written (disk full, folder not writable); the old file is intact.

    A ChatKit stream error, so ChatKit turns it into an `error` event with this sentence mid-answer.
    """

    def __init__(self, error: OSError, folder: Path) -> None:
        if error.errno in (errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)):
            sentence = "Could not save the conversation because the disk is full — free some space, then retry."
        else:
            sentence = (
                f"Could not save the conversation ({error.strerror or type(error).__name__}) — check that "
                f"{folder} is writable and has free space, then retry."
            )
        super().__init__(sentence, allow_retry=True)


class UnsupportedError(Exception):
    """A ChatKit feature this app does not offer yet (widget actions, client tools, dictation)."""
