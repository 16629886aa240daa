"""Errors as people read them: one sentence per failure, and the JSON error answer every route gives."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from chatkit.store import NotFoundError
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError
from starlette.responses import JSONResponse, Response

from .attachments import AttachmentError
from .ids import InvalidIdError
from .security import BodyTooLarge, Unauthorized
from .store_errors import ReadOnlyThreadError, StoreWriteError, UnsupportedError
from .thread_index import SearchUnavailable

log = logging.getLogger(__name__)


def sentence(text: str) -> str:
    """`text` as a sentence: capital first letter, full stop at the end."""
    text = " ".join(text.split())
    if not text:
        return text
    text = text[0].upper() + text[1:]
    return text if text.endswith((".", "!", "?")) else text + "."


def error_response(status: int, message: str) -> JSONResponse:
    """The answer of every refused or failed request: `{"error": "<one sentence>"}`."""
    return JSONResponse({"error": message}, status_code=status)


def malformed(errors: Sequence[Any]) -> str:
    """The sentence for a body that does not have the expected shape: where and why, never the input itself
    (it may be a user's message)."""
    first = errors[0] if errors else {"loc": ("body",), "msg": "invalid"}
    where = ".".join(str(part) for part in first.get("loc", ())) or "body"
    return f"Malformed request ({where}: {first.get('msg')})."


def install_error_handlers(app: FastAPI) -> None:
    """Map the app's exceptions to statuses and sentences."""
    statuses: list[tuple[type[Exception], int, str | None]] = [
        (NotFoundError, 404, None),
        (InvalidIdError, 400, None),
        (ReadOnlyThreadError, 409, None),
        (UnsupportedError, 400, None),
        (Unauthorized, 401, None),
        (BodyTooLarge, 413, "The request is too large."),
        (StoreWriteError, 507, None),
        (SearchUnavailable, 503, None),
    ]
    for exc_type, status, fixed in statuses:

        async def handler(_: Request, exc: Exception, status: int = status, fixed: str | None = fixed) -> Response:
            text = fixed or getattr(exc, "message", None) or str(exc) or type(exc).__name__
            return error_response(status, sentence(text))

        app.add_exception_handler(exc_type, handler)

    async def unwritable(_: Request, exc: Exception) -> Response:
        reason = getattr(exc, "strerror", None) or type(exc).__name__
        log.error("could not use the data folder: %s", reason)
        return error_response(
            507, f"Could not read or write the data folder ({reason}) — check that it has free space and is writable."
        )

    async def invalid(_: Request, exc: Exception) -> Response:
        if isinstance(exc, ValidationError):
            return error_response(400, malformed(exc.errors(include_input=False, include_url=False)))
        return error_response(400, malformed(exc.errors() if isinstance(exc, RequestValidationError) else []))

    async def refused_attachment(_: Request, exc: Exception) -> Response:
        # Already a sentence, often starting with the user's file name, which must stay exactly as they wrote it.
        return error_response(exc.status if isinstance(exc, AttachmentError) else 400, str(exc))

    app.add_exception_handler(AttachmentError, refused_attachment)
    app.add_exception_handler(OSError, unwritable)
    app.add_exception_handler(RequestValidationError, invalid)
    app.add_exception_handler(ValidationError, invalid)
