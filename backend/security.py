"""The local server obeys only its own page: Host and Origin checks, a body size cap and security headers here,
and the bearer token as a dependency (`require_token`) on every router that needs it.

Any web page the user visits can send requests to 127.0.0.1, and a DNS-rebinding page can even make them
look same-origin, so every request is checked before any route sees it. This is plain ASGI rather than
Starlette's BaseHTTPMiddleware so that a streamed answer is still cancelled when the client goes away.
Each refusal is logged in one line: method, path and reason, never the query (the page's URL carries the
token), a header's value or the body.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
from dataclasses import dataclass
from typing import Literal

from fastapi import Request
from starlette.datastructures import Headers
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .config import AppConfig

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 2 * 1024 * 1024
# An attachment's bytes arrive raw (PUT) or as a form (POST): its own size limit plus room for the form's framing.
UPLOAD_PATH = re.compile(r"/api/attachments/[A-Za-z0-9][A-Za-z0-9_-]{0,99}/upload")
UPLOAD_SLACK_BYTES = 64 * 1024
# A file to import (a data export) arrives raw too, with its own, larger limit.
IMPORT_PATH = "/api/import"

# The page is ours and the ChatKit web component is OpenAI's; nothing else may run or be framed.
CHATKIT_CDN = "https://cdn.platform.openai.com"
CHATKIT_FRAME = "https://*.openai.com"
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        f"script-src 'self' {CHATKIT_CDN}",
        f"style-src 'self' 'unsafe-inline' {CHATKIT_CDN}",
        f"connect-src 'self' {CHATKIT_CDN} {CHATKIT_FRAME}",
        f"frame-src {CHATKIT_FRAME}",
        "img-src 'self' data: blob: https:",
        f"font-src 'self' data: {CHATKIT_CDN}",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'none'",
        "frame-ancestors 'none'",
    ]
)
SECURITY_HEADERS = [
    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"cache-control", b"no-store"),
]
# What ChatKit's frame may do on the upload route: a PUT with its descriptor's headers. Chromium also asks whether a
# public page may reach a private address (Private Network Access).
_FRAME_PREFLIGHT = {
    "access-control-allow-origin": CHATKIT_CDN,
    "access-control-allow-methods": "PUT, POST",
    "access-control-allow-headers": "authorization, content-type",
    "access-control-allow-private-network": "true",
    "access-control-max-age": "600",
    "vary": "origin",
}
WRONG_TOKEN = "Missing or wrong access token. Open the app from its window."


class Unauthorized(Exception):
    """A protected route was asked without the right token; the app answers 401 with WRONG_TOKEN."""


class BodyTooLarge(Exception):
    """Raised while reading a body that exceeds MAX_BODY_BYTES; the app turns it into a 413."""


def token_matches(presented: str | None, token: str) -> bool:
    """Constant-time comparison, so the token cannot be guessed a character at a time."""
    if not presented:
        return False
    return hmac.compare_digest(presented.encode("utf-8"), token.encode("utf-8"))


def capability(token: str, purpose: str, subject: str) -> str:
    """A secret that allows one thing (`purpose`) on one object (`subject`) during this launch.

    Derived from the launch's token, so it needs no storage and dies with the launch; it can go where the token
    must not: into an `<img>` URL, or to ChatKit's frame for one upload.
    """
    return hmac.new(token.encode(), f"{purpose}:{subject}".encode(), hashlib.sha256).hexdigest()[:32]


def bearer(request: Request) -> str | None:
    """The `Authorization: Bearer …` value, if any."""
    auth = request.headers.get("authorization", "")
    return auth[7:].strip() if auth[:7].lower() == "bearer " else None


def refuse_unauthorized(request: Request) -> Unauthorized:
    """Log a refused request in one line (never the token) and make the exception that answers it."""
    log.warning("refused %s %s: %s", request.method, request.url.path, "missing or wrong token")
    return Unauthorized(WRONG_TOKEN)


async def require_token(request: Request) -> None:
    """A router dependency: the request carries `Authorization: Bearer <this launch's token>`."""
    if not token_matches(bearer(request), request.app.state.config.token):
        raise refuse_unauthorized(request)


@dataclass(frozen=True)
class TokenOrCapability:
    """A route dependency: the app's token, or the capability for `purpose` on the object the route's path names
    (`{attachment_id}`): as the bearer for an upload (ChatKit's frame sends the descriptor's header), as `?sig=`
    for reading (a URL is all an `<img>` has)."""

    purpose: Literal["upload", "preview"]

    async def __call__(self, request: Request) -> None:
        token: str = request.app.state.config.token
        expected = capability(token, self.purpose, request.path_params.get("attachment_id", ""))
        presented = bearer(request) if self.purpose == "upload" else request.query_params.get("sig")
        if not (token_matches(bearer(request), token) or token_matches(presented, expected)):
            raise refuse_unauthorized(request)


class SecurityMiddleware:
    """Rejects foreign Host/Origin (403) and oversized bodies (413); adds the security headers.

    One exception to the Origin rule: ChatKit's frame (`CHATKIT_CDN`) may upload an attachment's bytes to the
    upload route, and only there (its preflight is answered here); the route itself still wants a credential.
    """

    def __init__(self, app: ASGIApp, config: AppConfig, upload_bytes: int, import_bytes: int) -> None:
        self.app = app
        self.config = config
        self.upload_bytes = upload_bytes
        self.import_bytes = import_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        # The exact Host string, not a parsed URL: "127.0.0.1:PORT" or "localhost:PORT" and nothing that merely
        # contains or resolves to them.
        if headers.get("host") not in self.config.hosts:
            await _refuse(scope, receive, send, 403, "This server only answers requests addressed to 127.0.0.1.")
            return
        upload = UPLOAD_PATH.fullmatch(scope["path"]) is not None
        origin = headers.get("origin")
        frame = upload and origin == CHATKIT_CDN
        if origin is not None and origin not in self.config.origins and not frame:
            await _refuse(scope, receive, send, 403, "Requests from other web pages are not allowed.")
            return
        if frame and scope["method"] == "OPTIONS":
            await Response(status_code=204, headers=_FRAME_PREFLIGHT)(scope, receive, send)
            return
        importing = scope["path"] == IMPORT_PATH
        cap = self.upload_bytes + UPLOAD_SLACK_BYTES if upload else self.import_bytes if importing else MAX_BODY_BYTES
        length = headers.get("content-length")
        # An upload or an import too large is refused by its route with its own sentence (an upload also forgets
        # the attachment it was for); the cap on reading still holds.
        if not (upload or importing) and length is not None and (not length.isdigit() or int(length) > cap):
            await _refuse(scope, receive, send, 413, "The request is too large.")
            return
        extra = [*SECURITY_HEADERS, *([(b"access-control-allow-origin", CHATKIT_CDN.encode())] if frame else [])]
        await self.app(scope, _capped(receive, cap), _with_headers(send, extra))


def _capped(receive: Receive, cap: int) -> Receive:
    """Enforce the body cap for chunked uploads that announce no length."""
    seen = 0

    async def wrapped() -> Message:
        nonlocal seen
        message = await receive()
        if message["type"] == "http.request":
            seen += len(message.get("body", b""))
            if seen > cap:
                raise BodyTooLarge()
        return message

    return wrapped


def _with_headers(send: Send, extra: list[tuple[bytes, bytes]]) -> Send:
    async def wrapped(message: Message) -> None:
        if message["type"] == "http.response.start":
            message["headers"] = [*message.get("headers", []), *extra]
        await send(message)

    return wrapped


async def _refuse(scope: Scope, receive: Receive, send: Send, status: int, message: str) -> None:
    log.warning("refused %s %s: %s", scope["method"], scope["path"], message.rstrip("."))
    await JSONResponse({"error": message}, status_code=status)(scope, receive, send)
