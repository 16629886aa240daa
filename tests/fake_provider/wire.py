"""What the fake provider's two wire formats share: its constants, the markers' pattern, the recorded parts of
a message (`Part`) and data URLs, the reply texts and how they are cut into chunks, and `HandlerBase`, the HTTP
plumbing of one request (JSON answers, chunked event streams, pauses, hangs and cuts)."""

from __future__ import annotations

import base64
import binascii
import contextlib
import json
import re
import select
import socket
import time
from http.server import BaseHTTPRequestHandler
from typing import TYPE_CHECKING, Any, cast
from urllib.parse import unquote_to_bytes

if TYPE_CHECKING:
    from tests.fake_provider import FakeProvider, _Server

BAD_KEY = "bad-key"
"""The API key the fake rejects the way the real provider rejects an invalid key."""

MODELS = ("fake-local-1", "fake-local-2")
"""The models `GET /v1/models` lists."""

SLOW_CHUNKS = 40
SLOW_DELAY = 0.1
HANG_SECONDS = 60.0
WORDS_PER_CHUNK = 3

STATUS_MARKER = re.compile(r"\[\[status:(\d{3})\]\]")
THOUGHT = ("Weighing the question ", "before answering it.")
"""What a message with `[[think]]` gets as the model's reasoning (`reasoning_content`), streamed in two pieces
before the answer (OpenAI wire format)."""

Part = dict[str, Any]
"""One part of a recorded message, in the order it was sent, whichever wire format carried it:

- `{"kind": "text", "text": str}`;
- `{"kind": "image", "mime_type": str, "data": bytes}`: an image sent inline (a data URL or Gemini's inline
  data), `data` decoded from base64, byte for byte what was sent;
- `{"kind": "image", "url": str}`: an image sent by address;
- `{"kind": "file", "mime_type": str, "filename": str | None, "data": bytes}`: a file sent inline (OpenAI's
  `file_data`, or Gemini's inline data of a type that is not an image: Gemini sends no file name);
- `{"kind": "file", "file_id": str, "filename": str | None}` (OpenAI) or
  `{"kind": "file", "mime_type": str | None, "uri": str}` (Gemini's `file_data`): a file sent by reference;
- `{"kind": "other", "part": dict}`: anything else (a function call, audio, inline data that is not base64),
  kept as sent so nothing is silently lost.

Options beside the content (OpenAI's `detail`, for one) are not kept; `RecordedRequest.body` has them.
"""


def text_part(text: Any) -> Part:
    """A text part."""
    return {"kind": "text", "text": str(text)}


def text_of_parts(parts: list[Part]) -> str:
    """A message's text as the echo reads it: its text parts joined, everything else left out."""
    return "".join(part["text"] for part in parts if part["kind"] == "text")


def decode_base64(data: Any) -> bytes | None:
    """Standard or URL-safe base64, strictly decoded; None if `data` is not base64."""
    if not isinstance(data, str):
        return None
    try:
        return base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        try:
            return base64.urlsafe_b64decode(data) if re.fullmatch(r"[A-Za-z0-9_-]*={0,2}", data) else None
        except (binascii.Error, ValueError):
            return None


def parse_data_url(url: Any) -> tuple[str, bytes] | None:
    """`data:<mime>[;params][;base64],<data>` as (mime type, decoded bytes); None if `url` is no data URL or its
    base64 does not decode."""
    if not isinstance(url, str) or not url.startswith("data:") or "," not in url:
        return None
    header, _, payload = url[len("data:") :].partition(",")
    mime, *params = header.split(";")
    if "base64" in params:
        data = decode_base64(payload)
        if data is None:
            return None
    else:
        data = unquote_to_bytes(payload)
    return mime or "text/plain", data


def last_user_text(messages: list[dict[str, str]]) -> str:
    """The last user message's text: what the reply echoes, and where the markers are read."""
    for message in reversed(messages):
        if message["role"] == "user":
            return message["content"]
    return ""


def stream_reply(messages: list[dict[str, str]]) -> str:
    """What the fake streams back: the last user text and the count and roles of the messages it got."""
    roles = ",".join(message["role"] for message in messages)
    return f"You said: {last_user_text(messages)}. (I received {len(messages)} messages: {roles})"


def title_reply(messages: list[dict[str, str]]) -> str:
    """What the fake answers without streaming: `Fake title` and the last user message's first three words."""
    return " ".join(["Fake title", *last_user_text(messages).split()[:3]])


def _split_words(text: str, per_chunk: int) -> list[str]:
    """`text` in pieces of `per_chunk` words, whitespace kept, so the pieces join back to `text` exactly."""
    words = re.findall(r"\S+\s*|\s+", text)
    return ["".join(words[i : i + per_chunk]) for i in range(0, len(words), per_chunk)] or [""]


def _split_exactly(text: str, count: int) -> list[str]:
    """`text` in exactly `count` pieces: groups of words if there are enough, else slices of characters."""
    words = re.findall(r"\S+\s*|\s+", text)
    units = words if len(words) >= count else list(text)
    if len(units) < count:
        units += [""] * (count - len(units))
    bounds = [round(i * len(units) / count) for i in range(count + 1)]
    return ["".join(units[bounds[i] : bounds[i + 1]]) for i in range(count)]


def count_tokens(text: str) -> int:
    """Words, counted as tokens for the usage figures (nothing reads them closer than that)."""
    return len(text.split())


class Disconnected(Exception):
    """The client went away, or the fake is stopping: abandon the response."""


class HandlerBase(BaseHTTPRequestHandler):
    """The request handler's plumbing, shared by both wire formats."""

    protocol_version = "HTTP/1.1"
    server_version = "FakeProvider/1.0"
    # Like a real provider: no ~40 ms wait for a delayed ACK between the headers and the body of a reply.
    disable_nagle_algorithm = True

    @property
    def provider(self) -> FakeProvider:
        return cast("_Server", self.server).provider

    def log_message(self, format: str, *args: Any) -> None:
        """Silence the per-request log lines on stderr."""

    def _read_body(self) -> dict[str, Any]:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length > 0 else b""
        if not raw:
            return {}
        try:
            data = json.loads(raw)
        except ValueError:
            return {}
        return data if isinstance(data, dict) else {}

    def _api_key(self, query: dict[str, str]) -> str | None:
        auth = self.headers.get("Authorization")
        if auth and auth.lower().startswith("bearer "):
            return auth[7:].strip()
        goog = self.headers.get("x-goog-api-key")
        if goog:
            return goog
        return query.get("key")

    def _send_json(self, status: int, payload: dict[str, Any]) -> None:
        data = json.dumps(payload).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except OSError:
            self.close_connection = True

    def _start_stream(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        # Chunked framing lets the client tell a finished stream (terminal 0-chunk) from a cut one.
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()

    def _write_chunk(self, data: bytes) -> None:
        try:
            self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
            self.wfile.flush()
        except OSError as error:
            raise Disconnected from error

    def _write_event(self, payload: dict[str, Any] | str) -> None:
        text = payload if isinstance(payload, str) else json.dumps(payload)
        self._write_chunk(f"data: {text}\n\n".encode())

    def _end_stream(self) -> None:
        try:
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()
        except OSError as error:
            raise Disconnected from error

    def _pause(self, seconds: float) -> None:
        """Sleep between chunks, waking at once (and abandoning the response) if the fake stops."""
        if seconds > 0 and self.provider._stopping.wait(seconds):
            raise Disconnected

    def _cut(self) -> None:
        """Close the connection abruptly, mid-response, like a network failure.

        Streams are chunked, so the client sees the body end without its terminating chunk: plain httpx
        raises `RemoteProtocolError`; LiteLLM's default aiohttp transport quietly ends the stream instead.
        """
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)

    def _client_gone(self) -> bool:
        try:
            readable, _, _ = select.select([self.connection], [], [], 0)
            return bool(readable) and self.connection.recv(1, socket.MSG_PEEK) == b""
        except OSError:
            return True

    def _hang(self) -> None:
        """Send nothing until the client gives up, the fake stops, or a minute passes; then close."""
        deadline = time.monotonic() + HANG_SECONDS
        stopping = self.provider._stopping
        while time.monotonic() < deadline and not stopping.wait(0.05):
            if self._client_gone():
                break
        self._cut()

    def _pieces(self, text: str, slow: bool) -> tuple[list[str], float]:
        if slow:
            return _split_exactly(text, SLOW_CHUNKS), SLOW_DELAY
        return _split_words(text, WORDS_PER_CHUNK), self.provider.chunk_delay
