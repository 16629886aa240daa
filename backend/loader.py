"""Loads the ChatKit server and the model layer in a background thread, so the page is served at once.

Importing ChatKit's server with the Agents SDK takes seconds and LiteLLM several more; history requests need
neither (`backend.history`). The loader imports them in that order (a message being answered waits for both),
then warms the model stack up (`backend.warmup`) so that the first answer is as quick as the next.
"""

from __future__ import annotations

import asyncio
import importlib
import logging
import threading
import time
from concurrent.futures import Future
from types import ModuleType
from typing import TYPE_CHECKING

from .keys import SecretStore
from .settings import SettingsFile
from .store import JsonFileStore
from .warmup import warm_up

if TYPE_CHECKING:
    from .chat import ChatServer

log = logging.getLogger(__name__)


class Engine:
    """The lazily loaded heavy half of the backend."""

    def __init__(self, store: JsonFileStore, settings: SettingsFile, keys: SecretStore) -> None:
        self._store = store
        self._settings = settings
        self._keys = keys
        self._server: Future[ChatServer] = Future()
        self._llm: Future[ModuleType] = Future()
        self._thread: threading.Thread | None = None
        self._warm = threading.Event()
        self.timings: dict[str, float] = {}

    def start(self) -> None:
        """Begin loading in the background (idempotent)."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._load, name="engine-loader", daemon=True)
            self._thread.start()

    @property
    def ready(self) -> bool:
        """Whether a message can be answered without waiting for imports or first-use set-up."""
        return self._warm.is_set() and self._llm.done() and self._llm.exception() is None

    async def chat_server(self) -> ChatServer:
        """The ChatKit server, once its modules are imported."""
        self.start()
        return await asyncio.wrap_future(self._server)

    async def llm(self) -> ModuleType:
        """The `backend.llm` module, once LiteLLM is imported."""
        self.start()
        return await asyncio.wrap_future(self._llm)

    def _load(self) -> None:
        started = time.perf_counter()
        try:
            from .chat import ChatServer

            self._server.set_result(ChatServer(self._store, self._settings, self._keys, self.llm))
            self.timings["chat_server"] = time.perf_counter() - started
        except BaseException as error:  # the page must get an error, not a request that waits forever
            log.exception("could not load the ChatKit server")
            self._server.set_exception(error)
            self._llm.set_exception(error)
            return
        try:
            llm = importlib.import_module("backend.llm")
            self._llm.set_result(llm)
            self.timings["llm"] = time.perf_counter() - started
        except BaseException as error:
            log.exception("could not load LiteLLM")
            self._llm.set_exception(error)
            return
        try:
            asyncio.run(warm_up(llm, self._settings.effective().default_model))
        except Exception as error:  # only a first answer that is slower: never a reason to stop
            log.warning("could not warm the model layer up (%s)", type(error).__name__)
        finally:
            self._warm.set()
