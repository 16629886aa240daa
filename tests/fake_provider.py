"""A fake LLM provider: a real HTTP server on 127.0.0.1 speaking OpenAI's and Gemini's wire formats.

LiteLLM (and therefore the app) talks to it unchanged: point `openai/...` models at `openai_base` and
`gemini/...` models at `gemini_base`. Replies echo what history reached the model, and markers in the
last user message trigger failures:

- `[[status:NNN]]` answers HTTP NNN with the provider's real error body.
- `[[slow]]` streams the reply as 40 chunks, 0.1 s apart (about 4 s).
- `[[hang]]` sends nothing for up to 60 s (or until `stop()`).
- `[[drop]]` streams two chunks of text, then cuts the connection mid-body.

An API key of `bad-key` gets the provider's real "invalid API key" response.
"""

from __future__ import annotations

import contextlib
import json
import re
import select
import socket
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, cast
from urllib.parse import parse_qsl, urlsplit

BAD_KEY = "bad-key"
"""The API key the fake rejects the way the real provider rejects an invalid key."""

MODELS = ("fake-local-1", "fake-local-2")
"""The models `GET /v1/models` lists."""

SLOW_CHUNKS = 40
SLOW_DELAY = 0.1
HANG_SECONDS = 60.0
WORDS_PER_CHUNK = 3

_STATUS = re.compile(r"\[\[status:(\d{3})\]\]")
_GEMINI_PATH = re.compile(r"^(?:/v1beta)?/models/(?P<model>[^:]+):(?P<method>streamGenerateContent|generateContent)$")
_OPENAI_CHAT_PATHS = ("/v1/chat/completions", "/chat/completions")
_OPENAI_MODELS_PATHS = ("/v1/models", "/models")

_OPENAI_ERRORS: dict[int, tuple[str, str, str]] = {
    400: ("invalid_request_error", "invalid_request", "Invalid request."),
    401: ("invalid_request_error", "invalid_api_key", "Incorrect API key provided."),
    403: (
        "invalid_request_error",
        "unsupported_country_region_territory",
        "Country, region, or territory not supported.",
    ),
    404: (
        "invalid_request_error",
        "model_not_found",
        "The model does not exist or you do not have access to it.",
    ),
    429: ("requests", "rate_limit_exceeded", "Rate limit reached for requests. Please try again later."),
}
_OPENAI_SERVER_ERROR = (
    "server_error",
    "server_error",
    "The server had an error while processing your request.",
)

_GEMINI_ERRORS: dict[int, tuple[str, str]] = {
    400: ("INVALID_ARGUMENT", "Request contains an invalid argument."),
    401: (
        "UNAUTHENTICATED",
        "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or "
        "other valid authentication credential.",
    ),
    403: ("PERMISSION_DENIED", "The caller does not have permission."),
    404: ("NOT_FOUND", "Requested entity was not found."),
    429: ("RESOURCE_EXHAUSTED", "Resource has been exhausted (e.g. check quota)."),
    500: ("INTERNAL", "An internal error has occurred. Please retry or report in https://ai.google.dev/."),
    503: ("UNAVAILABLE", "The model is overloaded. Please try again later."),
    504: ("DEADLINE_EXCEEDED", "The request timed out. Please try again."),
}


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
    """`[{"role": "system"|"user"|"assistant", "content": str}]`, whichever format was sent."""
    method: str = "POST"
    model: str | None = None
    """The model asked for: the body's `model` (OpenAI) or the path's `models/{model}` (Gemini)."""
    query: dict[str, str] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    """Request headers, names lowercased."""


def _text_of(content: Any) -> str:
    """The text of an OpenAI message content: a string, or a list of parts whose texts are joined."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(str(part.get("text", "")) for part in content if isinstance(part, dict) and "text" in part)
    return ""


def _parts_text(parts: Any) -> str:
    """The joined texts of Gemini `parts` (non-text parts such as function calls contribute nothing)."""
    if not isinstance(parts, list):
        return ""
    return "".join(str(part.get("text", "")) for part in parts if isinstance(part, dict) and "text" in part)


def normalize_openai(body: dict[str, Any]) -> list[dict[str, str]]:
    """An OpenAI chat body's `messages` as `[{"role", "content"}]` with content flattened to text."""
    messages = body.get("messages")
    if not isinstance(messages, list):
        return []
    result = []
    for message in messages:
        if not isinstance(message, dict):
            continue
        role = str(message.get("role", ""))
        # The Agents SDK and newer OpenAI clients may send instructions as "developer".
        if role == "developer":
            role = "system"
        result.append({"role": role, "content": _text_of(message.get("content"))})
    return result


def normalize_gemini(body: dict[str, Any]) -> list[dict[str, str]]:
    """A Gemini body's system instruction and `contents` as `[{"role", "content"}]` (model → assistant)."""
    result = []
    system = body.get("system_instruction") or body.get("systemInstruction")
    if isinstance(system, dict):
        result.append({"role": "system", "content": _parts_text(system.get("parts"))})
    contents = body.get("contents")
    if isinstance(contents, list):
        for content in contents:
            if not isinstance(content, dict):
                continue
            role = str(content.get("role", "user"))
            result.append(
                {
                    "role": "assistant" if role == "model" else role,
                    "content": _parts_text(content.get("parts")),
                }
            )
    return result


def _last_user_text(messages: list[dict[str, str]]) -> str:
    for message in reversed(messages):
        if message["role"] == "user":
            return message["content"]
    return ""


def stream_reply(messages: list[dict[str, str]]) -> str:
    """What the fake streams back: the last user text and the count and roles of the messages it got."""
    roles = ",".join(message["role"] for message in messages)
    return f"You said: {_last_user_text(messages)}. (I received {len(messages)} messages: {roles})"


def title_reply(messages: list[dict[str, str]]) -> str:
    """What the fake answers without streaming: `Fake title` and the last user message's first three words."""
    return " ".join(["Fake title", *_last_user_text(messages).split()[:3]])


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


def _count_tokens(text: str) -> int:
    return len(text.split())


class _Server(ThreadingHTTPServer):
    """The HTTP server, knowing its provider and its open connections so `stop()` can cut them."""

    daemon_threads = True
    # Otherwise server_close() joins every handler thread, including ones blocked in a hang.
    block_on_close = False

    def __init__(self, provider: FakeProvider) -> None:
        self.provider = provider
        self.connections: set[socket.socket] = set()
        self.connections_lock = threading.Lock()
        super().__init__(("127.0.0.1", 0), _Handler)

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


class _Disconnected(Exception):
    """The client went away, or the fake is stopping: abandon the response."""


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "FakeProvider/1.0"
    # Like a real provider: no ~40 ms wait for a delayed ACK between the headers and the body of a reply.
    disable_nagle_algorithm = True

    @property
    def provider(self) -> FakeProvider:
        return cast(_Server, self.server).provider

    def log_message(self, format: str, *args: Any) -> None:
        """Silence the per-request log lines on stderr."""

    # ---- plumbing ------------------------------------------------------------------------------

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
            raise _Disconnected from error

    def _write_event(self, payload: dict[str, Any] | str) -> None:
        text = payload if isinstance(payload, str) else json.dumps(payload)
        self._write_chunk(f"data: {text}\n\n".encode())

    def _end_stream(self) -> None:
        try:
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()
        except OSError as error:
            raise _Disconnected from error

    def _pause(self, seconds: float) -> None:
        """Sleep between chunks, waking at once (and abandoning the response) if the fake stops."""
        if seconds > 0 and self.provider._stopping.wait(seconds):
            raise _Disconnected

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

    # ---- dispatch ------------------------------------------------------------------------------

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
        gemini = _GEMINI_PATH.match(path) if method == "POST" else None
        is_chat = method == "POST" and path in _OPENAI_CHAT_PATHS
        if gemini:
            messages = normalize_gemini(body)
            stream = gemini["method"] == "streamGenerateContent"
            model: str | None = gemini["model"]
        else:
            messages = normalize_openai(body) if is_chat else []
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
            )
        )
        try:
            if gemini:
                self._gemini(api_key, body, messages, stream, model or "")
            elif is_chat:
                self._openai_chat(api_key, body, messages, stream)
            elif method == "GET" and path in _OPENAI_MODELS_PATHS:
                self._openai_models(api_key)
            else:
                self._send_json(404, {"error": {"code": 404, "message": f"No route for {method} {path}"}})
        except _Disconnected:
            self._cut()

    # ---- OpenAI --------------------------------------------------------------------------------

    def _openai_error(self, status: int) -> None:
        kind, code, message = _OPENAI_ERRORS.get(status) or (
            _OPENAI_SERVER_ERROR if status >= 500 else ("invalid_request_error", "error", f"Error {status}.")
        )
        self._send_json(status, {"error": {"message": message, "type": kind, "param": None, "code": code}})

    def _openai_models(self, api_key: str | None) -> None:
        if api_key == BAD_KEY:
            self._openai_error(401)
            return
        data = [{"id": name, "object": "model", "created": 1700000000, "owned_by": "fake"} for name in MODELS]
        self._send_json(200, {"object": "list", "data": data})

    def _openai_chat(
        self, api_key: str | None, body: dict[str, Any], messages: list[dict[str, str]], stream: bool
    ) -> None:
        if api_key == BAD_KEY:
            self._openai_error(401)
            return
        control = _last_user_text(messages)
        status = _STATUS.search(control)
        if status:
            self._openai_error(int(status.group(1)))
            return
        if "[[hang]]" in control:
            self._hang()
            return
        model = str(body.get("model", "fake"))
        ident = f"chatcmpl-fake{uuid.uuid4().hex[:20]}"
        created = int(time.time())
        prompt_tokens = sum(_count_tokens(message["content"]) for message in messages)
        if not stream:
            if "[[drop]]" in control:
                self._cut()
                return
            text = title_reply(messages)
            self._send_json(
                200,
                {
                    "id": ident,
                    "object": "chat.completion",
                    "created": created,
                    "model": model,
                    "system_fingerprint": "fp_fake",
                    "choices": [
                        {
                            "index": 0,
                            "message": {"role": "assistant", "content": text, "refusal": None},
                            "logprobs": None,
                            "finish_reason": "stop",
                        }
                    ],
                    "usage": self._openai_usage(prompt_tokens, _count_tokens(text)),
                },
            )
            return

        text = stream_reply(messages)
        options = body.get("stream_options")
        include_usage = isinstance(options, dict) and bool(options.get("include_usage"))

        def chunk(delta: dict[str, Any], finish: str | None) -> dict[str, Any]:
            payload: dict[str, Any] = {
                "id": ident,
                "object": "chat.completion.chunk",
                "created": created,
                "model": model,
                "system_fingerprint": "fp_fake",
                "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}],
            }
            if include_usage:
                payload["usage"] = None
            return payload

        pieces, delay = self._pieces(text, "[[slow]]" in control)
        self._start_stream()
        self._write_event(chunk({"role": "assistant", "content": ""}, None))
        for index, piece in enumerate(pieces):
            if index:
                self._pause(delay)
            self._write_event(chunk({"content": piece}, None))
            if index == 1 and "[[drop]]" in control:
                self._cut()
                return
        self._write_event(chunk({}, "stop"))
        if include_usage:
            usage = chunk({}, None)
            usage["choices"] = []
            usage["usage"] = self._openai_usage(prompt_tokens, _count_tokens(text))
            self._write_event(usage)
        self._write_event("[DONE]")
        self._end_stream()

    @staticmethod
    def _openai_usage(prompt: int, completion: int) -> dict[str, int]:
        return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}

    # ---- Gemini --------------------------------------------------------------------------------

    def _gemini_error(self, status: int) -> None:
        code, message = _GEMINI_ERRORS.get(status) or (
            ("INTERNAL", "Internal error.") if status >= 500 else ("FAILED_PRECONDITION", f"Error {status}.")
        )
        self._send_json(status, {"error": {"code": status, "message": message, "status": code}})

    def _gemini(
        self,
        api_key: str | None,
        body: dict[str, Any],
        messages: list[dict[str, str]],
        stream: bool,
        model: str,
    ) -> None:
        if api_key == BAD_KEY:
            # Gemini really answers an invalid key with 400 INVALID_ARGUMENT, not 401.
            error = {
                "code": 400,
                "message": "API key not valid. Please pass a valid API key.",
                "status": "INVALID_ARGUMENT",
                "details": [
                    {
                        "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                        "reason": "API_KEY_INVALID",
                        "domain": "googleapis.com",
                        "metadata": {"service": "generativelanguage.googleapis.com"},
                    }
                ],
            }
            self._send_json(400, {"error": error})
            return
        control = _last_user_text(messages)
        status = _STATUS.search(control)
        if status:
            self._gemini_error(int(status.group(1)))
            return
        if "[[hang]]" in control:
            self._hang()
            return
        response_id = uuid.uuid4().hex[:22]
        prompt_tokens = sum(_count_tokens(message["content"]) for message in messages)

        def response(text: str, final: bool, completion_tokens: int = 0) -> dict[str, Any]:
            candidate: dict[str, Any] = {"content": {"parts": [{"text": text}], "role": "model"}, "index": 0}
            payload: dict[str, Any] = {
                "candidates": [candidate],
                "modelVersion": model,
                "responseId": response_id,
            }
            if final:
                candidate["finishReason"] = "STOP"
                payload["usageMetadata"] = {
                    "promptTokenCount": prompt_tokens,
                    "candidatesTokenCount": completion_tokens,
                    "totalTokenCount": prompt_tokens + completion_tokens,
                }
            return payload

        if not stream:
            if "[[drop]]" in control:
                self._cut()
                return
            text = title_reply(messages)
            self._send_json(200, response(text, True, _count_tokens(text)))
            return

        text = stream_reply(messages)
        pieces, delay = self._pieces(text, "[[slow]]" in control)
        self._start_stream()
        for index, piece in enumerate(pieces):
            if index:
                self._pause(delay)
            final = index == len(pieces) - 1
            self._write_event(response(piece, final, _count_tokens(text)))
            if index == 1 and "[[drop]]" in control and not final:
                self._cut()
                return
        self._end_stream()


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
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._port: int | None = None

    def start(self) -> FakeProvider:
        """Bind a free port on 127.0.0.1 and serve from a daemon thread; returns self."""
        if self._server is not None:
            return self
        self._stopping.clear()
        self._server = _Server(self)
        self._port = int(self._server.server_address[1])
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="fake-provider",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving: wake hanging and streaming handlers, cut open connections, free the port."""
        server, self._server = self._server, None
        if server is None:
            return
        self._stopping.set()
        server.shutdown()
        server.cut_all_connections()
        server.server_close()
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
