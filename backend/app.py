"""The FastAPI app for one launch: the store, settings, keys and model loader in its state, the security
middleware, one router per capability (`backend.routes`), the error answers, and the page's static files.

`GET /health` and `GET /` are open; `POST /chatkit` (the ChatKit protocol) and `/api/*` need the bearer token,
which each of their routers requires (`security.require_token`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from . import collector, proxy
from .attachments import MAX_BYTES, AttachmentFiles
from .config import AppConfig
from .errors import install_error_handlers
from .import_reading import MAX_FILE_BYTES
from .import_writing import Target
from .importing import ImportJob
from .keys import SecretStore
from .loader import BackgroundLoader
from .local_servers import LocalServers
from .model_lists import ModelLists
from .routes import attachments, chat, export, imports, models, pages, providers, search, settings, unknown
from .security import SecurityMiddleware
from .settings import SettingsFile
from .shutdown import EndStreamsOnShutdown
from .store import JsonFileStore
from .store_errors import StoreWriteError
from .warmup import build_chatkit_schemas


def _not_a_failed_save(record: logging.LogRecord) -> bool:
    # ChatKit logs a traceback for any error in a stream; a failed save is already logged in one line by the
    # store and told to the user as a sentence.
    return not (record.exc_info and isinstance(record.exc_info[1], StoreWriteError))


def _open_history(store: JsonFileStore) -> None:
    """What the conversations list needs, done before the server answers and before the loader competes for
    the interpreter: ChatKit's protocol schemas built, the thread index read and sorted."""
    build_chatkit_schemas()
    store.open()


async def _sweep_hourly(files: AttachmentFiles) -> None:
    """Attachments uploaded but never sent go after a day: looked for after start (off its path) and every hour,
    for an app left running for days."""
    while True:
        await asyncio.to_thread(files.sweep)
        await asyncio.sleep(3600)


def create_app(config: AppConfig) -> FastAPI:
    """Build the app for one launch (one data folder, one token, one port)."""
    logging.getLogger("chatkit").addFilter(_not_a_failed_save)
    attachments_folder = AttachmentFiles(config)
    store = JsonFileStore(config.data_dir, attachments_folder)
    settings_file = SettingsFile(config.data_dir / "settings.json")
    keys = SecretStore(config.data_dir)
    proxy.keep_local_direct()
    proxy.apply(settings_file.effective().proxy)
    local = LocalServers()
    loader = BackgroundLoader(store, settings_file, keys, local)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        collector.pause()  # until the loader is done (`backend.collector`)
        await asyncio.to_thread(_open_history, store)
        loader.start()
        collecting = asyncio.create_task(collector.collect_when_idle(activity))
        sweeping = asyncio.create_task(_sweep_hourly(attachments_folder))
        # Local servers are looked for at once, off the start's path: the picker then knows them.
        looking = asyncio.create_task(local.look(settings_file.effective()))
        yield
        looking.cancel()
        sweeping.cancel()
        collecting.cancel()
        await asyncio.to_thread(store.close)

    app = FastAPI(title="ChatKit Desktop", lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=None)
    stopping = asyncio.Event()
    activity = collector.Activity()
    app.add_middleware(EndStreamsOnShutdown, stopping=stopping)
    app.add_middleware(collector.CountRequests, activity=activity)
    app.add_middleware(SecurityMiddleware, config=config, upload_bytes=MAX_BYTES, import_bytes=MAX_FILE_BYTES)
    # Called by the server (on its event loop) as it starts to stop: open answers end and are saved.
    app.state.end_streams = stopping.set
    app.state.config = config
    app.state.store = store
    app.state.attachments = attachments_folder
    app.state.settings = settings_file
    app.state.keys = keys
    app.state.loader = loader
    app.state.backup = export.BackupJob(config.data_dir)
    app.state.local = local
    app.state.model_lists = ModelLists(config.data_dir)
    app.state.imports = ImportJob(Target(store, attachments_folder), config.data_dir)
    install_error_handlers(app)
    routers = (pages.router, chat.router, attachments.token_router, attachments.router, search.router, export.router)
    # The unknown-route answer comes last: it takes every /api path the others do not.
    for router in (*routers, imports.router, settings.router, providers.router, models.router, unknown.router):
        app.include_router(router)
    app.mount("/", StaticFiles(directory=config.web_dir), name="web")
    return app
