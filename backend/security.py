"""The local server obeys only its own page: Host and Origin checks, a body size cap and security headers here,
and the bearer token as a dependency (`require_token`) on every router that needs it.

Any web page the user visits can send requests to 127.0.0.1, and a DNS-rebinding page can even make them
look same-origin, so every request is checked before any route sees it. This is plain ASGI rather than
Starlette's BaseHTTPMiddleware so that a streamed answer is still cancelled when the client goes away.
Each refusal is logged in one line: method, path and reason, never the query (the page's URL carries the
token), a header's value or the body.
"""

from __future__ import annotations

import hmac
import logging

from fastapi import Request
from starlette.datastructures import Headers
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .config import AppConfig

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 2 * 1024 * 1024

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


async def require_token(request: Request) -> None:
    """A router dependency: the request carries `Authorization: Bearer <this launch's token>`."""
    auth = request.headers.get("authorization", "")
    presented = auth[7:].strip() if auth[:7].lower() == "bearer " else None
    if not token_matches(presented, request.app.state.config.token):
        log.warning("refused %s %s: %s", request.method, request.url.path, "missing or wrong token")
        raise Unauthorized(WRONG_TOKEN)


class SecurityMiddleware:
    """Rejects foreign Host/Origin (403) and oversized bodies (413); adds the security headers."""

    def __init__(self, app: ASGIApp, config: AppConfig) -> None:
        self.app = app
        self.config = config

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
        origin = headers.get("origin")
        if origin is not None and origin not in self.config.origins:
            await _refuse(scope, receive, send, 403, "Requests from other web pages are not allowed.")
            return
        length = headers.get("content-length")
        if length is not None and (not length.isdigit() or int(length) > MAX_BODY_BYTES):
            await _refuse(scope, receive, send, 413, "The request is too large.")
            return
        await self.app(scope, _capped(receive), _with_security_headers(send))


def _capped(receive: Receive) -> Receive:
    """Enforce the body cap for chunked uploads that announce no length."""
    seen = 0

    async def wrapped() -> Message:
        nonlocal seen
        message = await receive()
        if message["type"] == "http.request":
            seen += len(message.get("body", b""))
            if seen > MAX_BODY_BYTES:
                raise BodyTooLarge()
        return message

    return wrapped


def _with_security_headers(send: Send) -> Send:
    async def wrapped(message: Message) -> None:
        if message["type"] == "http.response.start":
            message["headers"] = [*message.get("headers", []), *SECURITY_HEADERS]
        await send(message)

    return wrapped


async def _refuse(scope: Scope, receive: Receive, send: Send, status: int, message: str) -> None:
    log.warning("refused %s %s: %s", scope["method"], scope["path"], message.rstrip("."))
    await JSONResponse({"error": message}, status_code=status)(scope, receive, send)
