"""The local server obeys only its own page: Host, Origin and bearer token checks, and a body size cap.

Any web page the user visits can send requests to 127.0.0.1, and a DNS-rebinding page can even make them
look same-origin, so every request is checked here before any route sees it. This is plain ASGI rather than
Starlette's BaseHTTPMiddleware so that a streamed answer is still cancelled when the client goes away.
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from .config import AppConfig

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

MAX_BODY_BYTES = 2 * 1024 * 1024
PROTECTED_PREFIXES = ("/chatkit/", "/api/")
PROTECTED_PATHS = ("/chatkit", "/api")

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


def token_matches(presented: str | None, token: str) -> bool:
    """Constant-time comparison, so the token cannot be guessed a character at a time."""
    if not presented:
        return False
    return hmac.compare_digest(presented.encode("utf-8"), token.encode("utf-8"))


class SecurityMiddleware:
    """Rejects foreign Host/Origin (403), missing or wrong token (401) and oversized bodies (413)."""

    def __init__(self, app: ASGIApp, config: AppConfig) -> None:
        self.app = app
        self.config = config

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        path: str = scope["path"]

        if headers.get("host") not in self.config.hosts:
            await _reject(send, 403, "This server only answers requests addressed to 127.0.0.1.")
            return
        origin = headers.get("origin")
        if origin is not None and origin not in self.config.origins:
            await _reject(send, 403, "Requests from other web pages are not allowed.")
            return
        # Exact segments: the page's own files (`/api.js`, `/chatkit-face.js`) are as open as the page itself.
        if path in PROTECTED_PATHS or path.startswith(PROTECTED_PREFIXES):
            auth = headers.get("authorization", "")
            presented = auth[7:].strip() if auth[:7].lower() == "bearer " else None
            if not token_matches(presented, self.config.token):
                await _reject(send, 401, "Missing or wrong access token. Open the app from its window.")
                return
        length = headers.get("content-length")
        if length is not None and (not length.isdigit() or int(length) > MAX_BODY_BYTES):
            await _reject(send, 413, "The request is too large.")
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


class BodyTooLarge(Exception):
    """Raised while reading a body that exceeds MAX_BODY_BYTES; the app turns it into a 413."""


def _with_security_headers(send: Send) -> Send:
    async def wrapped(message: Message) -> None:
        if message["type"] == "http.response.start":
            extra = [
                (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
                (b"x-content-type-options", b"nosniff"),
                (b"referrer-policy", b"no-referrer"),
                (b"cache-control", b"no-store"),
            ]
            message["headers"] = [*message.get("headers", []), *extra]
        await send(message)

    return wrapped


async def _reject(send: Send, status: int, message: str) -> None:
    body = json.dumps({"error": message}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})
