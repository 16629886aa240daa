"""A fake LLM provider: a real HTTP server on 127.0.0.1 speaking OpenAI's and Gemini's wire formats.

LiteLLM (and therefore the app) talks to it unchanged: point `openai/...` models at `openai_base` and
`gemini/...` models at `gemini_base`. Replies echo what history reached the model, and markers in the
last user message trigger failures:

- `[[status:NNN]]` answers HTTP NNN with the provider's real error body.
- `[[slow]]` streams the reply as 40 chunks, 0.1 s apart (about 4 s).
- `[[hang]]` sends nothing for up to 60 s (or until `stop()`).
- `[[drop]]` streams two chunks of text, then cuts the connection mid-body.
- `[[think]]` (OpenAI format) streams the model's reasoning, `THOUGHT`, as `reasoning_content` before the reply.

An API key of `bad-key` gets the provider's real "invalid API key" response.

Every request is recorded (`FakeProvider.requests`): its messages as text, and each message's parts, images and
files byte for byte, in the same shape for both formats (`RecordedRequest.parts`, `.media()`).
"""

from __future__ import annotations

import contextlib
import socket
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from tests.fake_provider.gemini_wire import GEMINI_PATH, GeminiWire, read_gemini
from tests.fake_provider.openai_wire import OPENAI_CHAT_PATHS, OPENAI_MODELS_PATHS, OpenAIWire, read_openai
from tests.fake_provider.wire import BAD_KEY, MODELS, THOUGHT, Disconnected, Part, stream_reply

__all__ = ["BAD_KEY", "MODELS", "THOUGHT", "FakeProvider", "Part", "RecordedRequest", "stream_reply"]


@dataclass
class RecordedRequest:
    """One request the fake received, with the conversation normalized across wire formats."""

    path: str
    """The URL path, without the query string."""
    api_key: str | None
    """From `Authorization: Bearer X`, `x-goog-api-key`, or `?key=`, in that order."""
    body: dict[str, Any]
    """The JSON body as sent (`{}` when there is none)."""
    stream: bool
    """Whether a streamed reply was asked for."""
    messages: list[dict[str, str]]
    """`[{"role": "system"|"user"|"assistant", "content": str}]`, whichever format was sent; `content` is the
    message's text parts joined (images and files leave no trace in it)."""
    method: str = "POST"
    model: str | None = None
    """The model asked for: the body's `model` (OpenAI) or the path's `models/{model}` (Gemini)."""
    query: dict[str, str] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    """Request headers, names lowercased."""
    parts: list[list[Part]] = field(default_factory=list)
    """Message by message (`parts[i]` belongs to `messages[i]`), every part in the order sent: text, images and
    files with their bytes decoded (see `tests.fake_provider.wire.Part` for the shapes)."""

    def media(self, role: str | None = None) -> list[Part]:
        """The images and files of every message (of `role`'s messages only, if given), in the order sent."""
        return [
            part
            for message, message_parts in zip(self.messages, self.parts, strict=True)
            if role is None or message["role"] == role
            for part in message_parts
            if part["kind"] != "text"
        ]


class TrackedServer(ThreadingHTTPServer):
    """A threading HTTP server that knows its open connections, so that stopping it can cut them: handlers blocked
    reading a kept-alive socket, or in a hang, return."""

    daemon_threads = True
    # Otherwise server_close() joins every handler thread, including ones blocked in a hang.
    block_on_close = False

    def __init__(self, address: tuple[str, int], handler: type[BaseHTTPRequestHandler]) -> None:
        self.connections: set[socket.socket] = set()
        self.connections_lock = threading.Lock()
        super().__init__(address, handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self.connections_lock:
            self.connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self.connections_lock:
            self.connections.discard(request)
        super().shutdown_request(request)

    def cut_all_connections(self) -> None:
        """Shut every open connection down, so handlers blocked reading a keep-alive socket return."""
        with self.connections_lock:
            connections = list(self.connections)
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)

    def serve_in_thread(self, name: str) -> threading.Thread:
        """Serve from a daemon thread (checking for shutdown every 50 ms); returns the thread, started."""
        thread = threading.Thread(target=self.serve_forever, kwargs={"poll_interval": 0.05}, name=name, daemon=True)
        thread.start()
        return thread

    def close(self) -> None:
        """Stop serving, cut the open connections, free the port."""
        self.shutdown()
        self.cut_all_connections()
        self.server_close()


class _Server(TrackedServer):
    """The fake provider's HTTP server, knowing its provider."""

    def __init__(self, provider: FakeProvider, address: tuple[str, int] = ("127.0.0.1", 0)) -> None:
        self.provider = provider
        super().__init__(address, _Handler)


class _Handler(OpenAIWire, GeminiWire):
    """Routes each request to its wire format, after recording it."""

    def do_GET(self) -> None:
        """Serve the OpenAI-compatible model listing."""
        self._dispatch("GET")

    def do_POST(self) -> None:
        """Serve chat completions (OpenAI) and generateContent (Gemini)."""
        self._dispatch("POST")

    def _dispatch(self, method: str) -> None:
        split = urlsplit(self.path)
        path = split.path
        query = dict(parse_qsl(split.query))
        body = self._read_body() if method == "POST" else {}
        gemini = GEMINI_PATH.match(path) if method == "POST" else None
        is_chat = method == "POST" and path in OPENAI_CHAT_PATHS
        if gemini:
            messages, parts = read_gemini(body)
            stream = gemini["method"] == "streamGenerateContent"
            model: str | None = gemini["model"]
        else:
            messages, parts = read_openai(body) if is_chat else ([], [])
            stream = bool(body.get("stream")) if is_chat else False
            model = str(body["model"]) if "model" in body else None
        api_key = self._api_key(query)
        self.provider._record(
            RecordedRequest(
                path=path,
                api_key=api_key,
                body=body,
                stream=stream,
                messages=messages,
                method=method,
                model=model,
                query=query,
                headers={name.lower(): value for name, value in self.headers.items()},
                parts=parts,
            )
        )
        try:
            if gemini:
                self._gemini(api_key, body, messages, stream, model or "")
            elif is_chat:
                self._openai_chat(api_key, body, messages, stream)
            elif method == "GET" and path in OPENAI_MODELS_PATHS:
                self._openai_models(api_key)
            else:
                self._send_json(404, {"error": {"code": 404, "message": f"No route for {method} {path}"}})
        except Disconnected:
            self._cut()


class FakeProvider:
    """A fake OpenAI + Gemini provider on 127.0.0.1, recording every request it receives.

    Use as `with FakeProvider().start() as p: ...`, or call `start()` and `stop()` yourself.
    """

    def __init__(self, *, chunk_delay: float = 0.0) -> None:
        """`chunk_delay` is the pause, in seconds, between streamed chunks."""
        self.chunk_delay = chunk_delay
        self.requests: list[RecordedRequest] = []
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._server: TrackedServer | None = None
        self._thread: threading.Thread | None = None
        self._port: int | None = None

    def start(self) -> FakeProvider:
        """Bind a free port on 127.0.0.1 and serve from a daemon thread; returns self."""
        if self._server is not None:
            return self
        self._stopping.clear()
        self._server = _Server(self)
        self._port = int(self._server.server_address[1])
        self._thread = self._server.serve_in_thread("fake-provider")
        return self

    def stop(self) -> None:
        """Stop serving: wake hanging and streaming handlers, cut open connections, free the port."""
        server, self._server = self._server, None
        if server is None:
            return
        self._stopping.set()
        server.close()
        if self._thread is not None:
            self._thread.join(timeout=2)
            self._thread = None

    @property
    def port(self) -> int:
        """The port the fake listens on (set by `start()`, kept after `stop()`)."""
        if self._port is None:
            raise RuntimeError("FakeProvider is not started")
        return self._port

    @property
    def url(self) -> str:
        """The server's origin, `http://127.0.0.1:PORT`."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def openai_base(self) -> str:
        """The `api_base` for LiteLLM's `openai/` models."""
        return f"{self.url}/v1"

    @property
    def gemini_base(self) -> str:
        """The `api_base` for LiteLLM's `gemini/` models."""
        return f"{self.url}/v1beta"

    def clear(self) -> None:
        """Forget the recorded requests."""
        with self._lock:
            self.requests.clear()

    def last_stream(self) -> RecordedRequest:
        """The last request that asked for a streamed reply: the one whose answer the user saw.

        Fails the test with the requests received so far when there was no streamed request.
        """
        with self._lock:
            received = list(self.requests)
        streamed = [request for request in received if request.stream]
        assert streamed, f"the fake received no streamed request; it received {[r.path for r in received]}"
        return streamed[-1]

    def _record(self, request: RecordedRequest) -> None:
        with self._lock:
            self.requests.append(request)

    def __enter__(self) -> FakeProvider:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()
