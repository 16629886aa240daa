"""Runs the backend on 127.0.0.1 with uvicorn: in the foreground (`serve`) or in a background thread (window)."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import uvicorn

from backend.app import create_app
from backend.config import AppConfig, access_token

READY_PREFIX = "ChatKit Desktop ready:"
# Answers still streaming end at once when the server stops (their partial text is saved, see
# backend/shutdown.py); anything else still running is cancelled after this many seconds.
GRACEFUL_SECONDS = 3


def bind(port: int = 0) -> socket.socket:
    """A listening socket on 127.0.0.1 (port 0: any free port), bound before the app so the port is known.

    The protocol must be named: asyncio sets TCP_NODELAY on accepted connections only when the listening
    socket's protocol is IPPROTO_TCP. With protocol 0, Nagle's algorithm holds back the body uvicorn writes
    after a response's headers until the client's delayed ACK, ~40 ms on every kept-alive request.
    """
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    if hasattr(socket, "SO_EXCLUSIVEADDRUSE"):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_EXCLUSIVEADDRUSE, 1)
    sock.bind(("127.0.0.1", port))
    sock.listen(128)
    sock.set_inheritable(True)
    return sock


class _Server(uvicorn.Server):
    """uvicorn's server, ending open answers itself before it stops (see backend/shutdown.py), and minus two
    ways of ending in a traceback: re-raising the signal after a graceful shutdown, and a repeated Ctrl-C
    forcing the exit."""

    def __init__(self, config: uvicorn.Config, end_streams: Callable[[], None]) -> None:
        super().__init__(config)
        self.end_streams = end_streams

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        self.end_streams()
        await super().shutdown(sockets)

    def handle_exit(self, sig: int, frame: Any) -> None:
        # uvicorn treats a second SIGINT as "quit now", skipping the save of answers still streaming and the
        # lifespan's shutdown. The graceful stop is bounded (GRACEFUL_SECONDS), so every signal asks for it.
        self.should_exit = True

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        wanted = [signal.SIGINT, signal.SIGTERM] + ([signal.SIGBREAK] if hasattr(signal, "SIGBREAK") else [])
        previous = {sig: signal.signal(sig, self.handle_exit) for sig in wanted}
        try:
            yield
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)


@dataclass
class LocalServer:
    """One backend instance: its socket, config, and the uvicorn server driving it."""

    sock: socket.socket
    config: AppConfig
    server: uvicorn.Server = field(init=False)

    def __post_init__(self) -> None:
        app = create_app(self.config)
        self.server = _Server(
            uvicorn.Config(
                app,
                log_level="warning",
                # The page's URL carries the token: an access log would write it to the terminal.
                access_log=False,
                timeout_graceful_shutdown=GRACEFUL_SECONDS,
                lifespan="on",
            ),
            end_streams=app.state.end_streams,
        )

    @classmethod
    def create(cls, port: int, folder: Path) -> LocalServer:
        """Bind a port and build the app for this launch's data folder and token."""
        sock = bind(port)
        port = sock.getsockname()[1]
        return cls(sock, AppConfig(data_dir=folder, token=access_token(), port=port))

    @property
    def url(self) -> str:
        """The page's address, token included."""
        return f"http://127.0.0.1:{self.config.port}/?token={self.config.token}"

    def serve_forever(self, on_ready: Callable[[], None]) -> None:
        """Run in the foreground until SIGINT/SIGTERM, calling `on_ready` once requests are answered."""

        async def main() -> None:
            task = asyncio.create_task(self.server.serve(sockets=[self.sock]))
            while not self.server.started and not task.done():
                await asyncio.sleep(0.005)
            if self.server.started:
                on_ready()
            await task

        asyncio.run(main())

    def start_in_thread(self) -> threading.Thread:
        """Run in a background thread; returns once the server accepts requests."""
        thread = threading.Thread(target=self._run_in_thread, name="chatkit-server", daemon=True)
        thread.start()
        while not self.server.started:
            if not thread.is_alive():
                raise RuntimeError("the local server stopped during start-up")
            time.sleep(0.01)
        return thread

    def _run_in_thread(self) -> None:
        asyncio.run(self.server.serve(sockets=[self.sock]))

    def stop(self, thread: threading.Thread, timeout: float = GRACEFUL_SECONDS + 5) -> None:
        """Ask the background server to finish its work and wait for it."""
        self.server.should_exit = True
        thread.join(timeout)
