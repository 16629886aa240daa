"""Ids: new ones for threads, items and attachments, and the strict pattern every id from outside is checked
against before it names a file or a folder."""

from __future__ import annotations

import re
import uuid

from chatkit.store import StoreItemType, default_generate_id

ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,99}$")


class InvalidIdError(ValueError):
    """An id that does not match the strict pattern; it never reaches the filesystem."""


def check_id(value: str, what: str = "id") -> str:
    """Return `value` if it is a safe id, else raise InvalidIdError."""
    if not isinstance(value, str) or not ID_PATTERN.fullmatch(value):
        raise InvalidIdError(f"invalid {what}")
    return value


def new_id(kind: StoreItemType) -> str:
    """A fresh id with ChatKit's prefix for its kind; 64 random bits (ChatKit's own ids have 32) so that ten
    thousand threads never collide."""
    return default_generate_id(kind) + uuid.uuid4().hex[:8]
