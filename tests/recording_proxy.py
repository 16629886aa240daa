"""A tiny HTTP proxy on 127.0.0.1 that records what it forwards: `RecordingProxy`.

Point `HTTP_PROXY`/`HTTPS_PROXY` at `proxy.url`. It forwards absolute-form requests (`POST http://host:port/path`,
the body and the answer relayed byte for byte, streamed answers as they come) and `CONNECT host:port` tunnels,
and records each as `(method, target)` in `proxy.requests` — the target as the client wrote it (the absolute URL,
or `host:port`) — before it tries to reach the host. A host it cannot reach gets `502 Bad Gateway`.

`hosts` maps host names to the address the proxy really connects to, as a proxy's own resolver would: with
`{"gateway.test": "127.0.0.1"}` a client can use a name that resolves nowhere else, so an answer that arrives
proves it came through the proxy.
"""

from __future__ import annotations

import contextlib
import select
import socket
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from types import TracebackType
from typing import Any, cast
from urllib.parse import urlsplit

from tests.fake_provider import TrackedServer

_HOP_BY_HOP = {"connection", "keep-alive", "proxy-connection", "proxy-authorization", "te", "trailer", "upgrade"}


@dataclass(frozen=True)
class ProxiedRequest:
    """One request the proxy received."""

    method: str
    """`CONNECT` for a tunnel, else the HTTP method."""
    target: str
    """`host:port` for a tunnel, else the absolute URL."""

    @property
    def host(self) -> str:
        """The host name the client asked for."""
        if self.method == "CONNECT":
            return self.target.rsplit(":", 1)[0].strip("[]")
        return urlsplit(self.target).hostname or ""


class _Server(TrackedServer):
    def __init__(self, proxy: RecordingProxy) -> None:
        self.proxy = proxy
        super().__init__(("127.0.0.1", 0), _Handler)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        """Silence the per-request log lines on stderr."""

    @property
    def proxy(self) -> RecordingProxy:
        return cast(_Server, self.server).proxy

    def _fail(self, status: int, reason: str) -> None:
        with contextlib.suppress(OSError):
            self.send_response(status, reason)
            self.send_header("Content-Length", "0")
            self.send_header("Connection", "close")
            self.end_headers()
        self.close_connection = True

    def _connect(self, host: str, port: int) -> socket.socket | None:
        try:
            return socket.create_connection((self.proxy.hosts.get(host, host), port), timeout=5)
        except OSError:
            self._fail(502, "Bad Gateway")
            return None

    def do_CONNECT(self) -> None:
        self.proxy._record(ProxiedRequest("CONNECT", self.path))
        host, _, port = self.path.rpartition(":")
        upstream = self._connect(host.strip("[]"), int(port or 443))
        if upstream is None:
            return
        self.send_response(200, "Connection Established")
        self.end_headers()
        self.close_connection = True
        self._pipe(upstream)

    def _forward(self) -> None:
        self.proxy._record(ProxiedRequest(self.command, self.path))
        split = urlsplit(self.path)
        if split.scheme != "http" or not split.hostname:
            self._fail(400, "Bad Request")
            return
        upstream = self._connect(split.hostname, split.port or 80)
        if upstream is None:
            return
        body = self._body()
        origin_form = (split.path or "/") + (f"?{split.query}" if split.query else "")
        lines = [f"{self.command} {origin_form} HTTP/1.1"]
        lines += [f"{name}: {value}" for name, value in self.headers.items() if name.lower() not in _HOP_BY_HOP]
        lines.append("Connection: close")
        # One request per client connection: the answer is relayed as it comes, then both connections close.
        self.close_connection = True
        try:
            upstream.sendall(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body)
        except OSError:
            upstream.close()
            self._fail(502, "Bad Gateway")
            return
        # The answer's head is rewritten to say the connection closes after it; its body is relayed as it comes.
        try:
            head = self._response_head(upstream)
        except OSError:
            head = b""
        if not head:
            upstream.close()
            self._fail(502, "Bad Gateway")
            return
        with contextlib.suppress(OSError):
            self.connection.sendall(head)
        self._pipe(upstream)

    @staticmethod
    def _response_head(upstream: socket.socket) -> bytes:
        """The upstream answer's status line and headers, `Connection: close` in place of its own; b"" if none."""
        reader = upstream.makefile("rb", buffering=0)
        status = reader.readline(65536)
        if not status:
            return b""
        lines = [status]
        while (line := reader.readline(65536)) not in (b"\r\n", b"\n", b""):
            if line.split(b":", 1)[0].strip().lower() not in (b"connection", b"keep-alive"):
                lines.append(line)
        return b"".join(lines) + b"Connection: close\r\n\r\n"

    def _body(self) -> bytes:
        """The request's body as it came, chunked framing included."""
        if "chunked" not in self.headers.get("Transfer-Encoding", "").lower():
            length = int(self.headers.get("Content-Length") or 0)
            return self.rfile.read(length) if length > 0 else b""
        raw = b""
        while True:
            size_line = self.rfile.readline()
            raw += size_line
            size = int(size_line.split(b";")[0].strip() or b"0", 16)
            raw += self.rfile.read(size + 2)
            if size == 0:
                return raw

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = _forward

    def _pipe(self, upstream: socket.socket) -> None:
        """Relay bytes both ways until either side closes or the proxy stops."""
        client = self.connection
        upstream.settimeout(None)
        try:
            while not self.proxy._stopping.is_set():
                readable, _, _ = select.select([client, upstream], [], [], 0.1)
                for source in readable:
                    data = source.recv(65536)
                    if not data:
                        return
                    (upstream if source is client else client).sendall(data)
        except OSError:
            return
        finally:
            upstream.close()


class RecordingProxy:
    """An HTTP proxy on a free port of 127.0.0.1 recording every request it receives.

    Use as `with RecordingProxy() as proxy: ...`, or call `start()` and `stop()` yourself.
    """

    def __init__(self, hosts: dict[str, str] | None = None) -> None:
        """`hosts`: host name → the address the proxy connects to instead (see the module's docstring)."""
        self.hosts = dict(hosts or {})
        self.requests: list[ProxiedRequest] = []
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> RecordingProxy:
        """Serve from a daemon thread; returns self."""
        if self._server is None:
            self._stopping.clear()
            self._server = _Server(self)
            self._thread = self._server.serve_in_thread("proxy")
        return self

    def stop(self) -> None:
        """Stop serving, cut every connection and tunnel, free the port."""
        server, self._server = self._server, None
        if server is None:
            return
        self._stopping.set()
        server.close()
        if self._thread is not None:
            self._thread.join(timeout=2)

    @property
    def url(self) -> str:
        """`http://127.0.0.1:PORT`, the value for `HTTP_PROXY`/`HTTPS_PROXY`."""
        if self._server is None:
            raise RuntimeError("RecordingProxy is not started")
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def hosts_seen(self) -> set[str]:
        """Every host name a request asked for."""
        with self._lock:
            return {request.host for request in self.requests}

    def clear(self) -> None:
        """Forget the recorded requests."""
        with self._lock:
            self.requests.clear()

    def _record(self, request: ProxiedRequest) -> None:
        with self._lock:
            self.requests.append(request)

    def __enter__(self) -> RecordingProxy:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()
