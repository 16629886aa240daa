"""Loads the ChatKit server and the model layer in a background thread, so the page is served at once.

Importing ChatKit's server with the Agents SDK takes seconds and LiteLLM several more; history requests need
neither (`backend.history`). The loader imports them in that order (a message being answered waits for both),
then warms the model stack up (`backend.warmup`) so that the first answer is as quick as the next.
"""

from __future__ import annotations

import asyncio
import logging
import sys
import threading
from concurrent.futures import Future
from typing import TYPE_CHECKING

from . import collector
from .keys import SecretStore
from .local_servers import LocalServers
from .settings import SettingsFile
from .store import JsonFileStore

if TYPE_CHECKING:
    from .chatkit_server import ChatServer
    from .model_layer import ModelLayer

log = logging.getLogger(__name__)

LOADING_SWITCH_INTERVAL = 0.0005
"""Seconds between interpreter-lock hand-overs while the loader imports (Python's default is 0.005)."""


class BackgroundLoader:
    """The lazily loaded heavy half of the backend."""

    def __init__(self, store: JsonFileStore, settings: SettingsFile, keys: SecretStore, local: LocalServers) -> None:
        self._store = store
        self._settings = settings
        self._keys = keys
        self._local = local
        self._server: Future[ChatServer] = Future()
        self._models: Future[ModelLayer] = Future()
        self._warm = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Begin loading in the background (idempotent)."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._load, name="model-layer-loader", daemon=True)
            self._thread.start()

    @property
    def ready(self) -> bool:
        """Whether a message can be answered without waiting for imports or first-use set-up."""
        return self._warm.is_set() and self._models.done() and self._models.exception() is None

    async def chat_server(self) -> ChatServer:
        """The ChatKit server, once its modules are imported."""
        self.start()
        return await asyncio.wrap_future(self._server)

    async def model_layer(self) -> ModelLayer:
        """The model layer, once LiteLLM is imported."""
        self.start()
        return await asyncio.wrap_future(self._models)

    def _load(self) -> None:
        # The loader is CPU-bound for seconds. With Python's default 5 ms switch interval, each hand-over of the
        # interpreter lock to the server's thread can wait that long, and one request needs several: the
        # conversations list took ~40 ms while loading instead of ~2 ms.
        previous = sys.getswitchinterval()
        sys.setswitchinterval(LOADING_SWITCH_INTERVAL)
        # The garbage collector's passes over what the imports make stop every thread (`backend.collector`).
        collector.pause()
        try:
            self._load_in_order()
        finally:
            collector.start_up_done()
            sys.setswitchinterval(previous)

    def _load_in_order(self) -> None:
        try:
            from .chatkit_server import ChatServer

            self._server.set_result(ChatServer(self._store, self._settings, self._keys, self.model_layer, self._local))
        except BaseException as error:  # the page must get an error, not a request that waits forever
            log.exception("could not load the ChatKit server")
            self._server.set_exception(error)
            self._models.set_exception(error)
            self._warm.set()
            return
        try:
            from .model_layer import ModelLayer

            models = ModelLayer()
            self._models.set_result(models)
        except BaseException as error:
            log.exception("could not load LiteLLM")
            self._models.set_exception(error)
            self._warm.set()
            return
        try:
            from .warmup import warm_up

            asyncio.run(warm_up(models, self._settings.effective().default_model))
        except Exception as error:  # only a first answer that is slower: never a reason to stop
            log.warning("could not warm the model layer up (%s)", type(error).__name__)
        finally:
            self._warm.set()
