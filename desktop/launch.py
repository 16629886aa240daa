"""The one launch path: hold the data folder, run its server, publish where it answers; undo it all on exit.

`serve` runs the server in the foreground, the window and the self-test in a background thread. When another app
already holds the folder there is nothing to undo, and each caller decides what to do about the running one.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from .instance import InstanceLock
from .server import LocalServer


@contextlib.contextmanager
def launch(folder: Path) -> Iterator[Launch | None]:
    """Hold `folder` for the `with` block; None when another running app holds it (see `instance.running_url`).

    On exit the server stops before the folder is released, so no later launch starts writing there while this
    one's answers are still being saved.
    """
    lock = InstanceLock.acquire(folder)
    if lock is None:
        yield None
        return
    ours = Launch(folder, lock)
    try:
        yield ours
    finally:
        ours._stop()
        lock.release()


@dataclass
class Launch:
    """This process's hold on a data folder: the server it runs there, once bound."""

    folder: Path
    lock: InstanceLock
    server: LocalServer | None = None
    thread: threading.Thread | None = None

    def bind(self, port: int = 0) -> LocalServer:
        """Listen on 127.0.0.1:`port` (0: any free port) and build the app; OSError when the port cannot be had.

        Separate from serving so a caller can tell this error, the one a person can fix, from the rest.
        """
        self.server = LocalServer.create(port, self.folder)
        return self.server

    def serve_forever(self, on_ready: Callable[[str], None]) -> None:
        """Serve in the foreground until SIGINT/SIGTERM (on any free port unless `bind` chose one).

        Once requests are answered, publishes the address, then calls `on_ready` with the page's URL.
        """
        server = self.server or self.bind()

        def ready() -> None:
            self.lock.publish(server.url)
            on_ready(server.url)

        server.serve_forever(ready)

    def start_in_thread(self) -> LocalServer:
        """Serve in a background thread (on any free port unless `bind` chose one) until the launch ends.

        Returns once requests are answered and the address is published.
        """
        server = self.server or self.bind()
        self.thread = server.start_in_thread()
        self.lock.publish(server.url)
        return server

    def _stop(self) -> None:
        """Stop a background server and wait for it; a foreground one has already stopped when this runs."""
        if self.server is not None and self.thread is not None:
            self.server.stop(self.thread)
