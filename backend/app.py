"""The FastAPI app: routes, error responses, and the wiring of store, settings, keys and ChatKit server.

Routes (DESIGN.md): `GET /health` and `GET /` are open; `POST /chatkit` (the ChatKit protocol) and `/api/*`
need the bearer token, which `security.SecurityMiddleware` checks before anything here runs.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
from chatkit.store import NotFoundError
from chatkit.types import (
    ChatKitReq,
    ItemsFeedbackReq,
    ItemsListReq,
    ThreadsAddUserMessageReq,
    ThreadsCreateReq,
    ThreadsDeleteReq,
    ThreadsGetByIdReq,
    ThreadsListReq,
    ThreadsRetryAfterItemReq,
    ThreadsUpdateReq,
)
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse, Response, StreamingResponse
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from . import history
from .config import AppConfig
from .engine import Engine
from .keys import Provider, SecretStore
from .models import KEY_URLS, MissingKeyError, available_models, check_route, provider_of, setup_needed
from .security import BodyTooLarge, SecurityMiddleware
from .settings import Settings, SettingsFile
from .shutdown import EndStreamsOnShutdown
from .store import (
    NEWER_VERSION_REASON,
    InvalidIdError,
    JsonFileStore,
    ReadOnlyThreadError,
    StoreWriteError,
    UnsupportedError,
    check_id,
)

log = logging.getLogger(__name__)

_request_adapter: TypeAdapter[ChatKitReq] = TypeAdapter(ChatKitReq)
_WRITES = (ThreadsAddUserMessageReq, ThreadsRetryAfterItemReq, ThreadsUpdateReq, ThreadsDeleteReq, ItemsFeedbackReq)
# What the ChatKit web component sends for plain chat; anything else (attachments, widgets' actions, tool
# outputs, dictation) is a feature this app does not offer yet and gets a clear 400 instead of a 500.
_SUPPORTED = (
    ThreadsCreateReq,
    ThreadsAddUserMessageReq,
    ThreadsListReq,
    ThreadsGetByIdReq,
    ItemsListReq,
    ThreadsUpdateReq,
    ThreadsDeleteReq,
    ThreadsRetryAfterItemReq,
    ItemsFeedbackReq,
)


class KeyCheck(BaseModel):
    """`POST /api/keys/check`: try a key (the one typed, or else the saved one) with one tiny request."""

    model_config = ConfigDict(extra="forbid")

    provider: Provider
    key: str | None = Field(None, max_length=500)


class SettingsUpdate(BaseModel):
    """`PUT /api/settings`: only the fields present are changed; a key of "" or null forgets that key."""

    model_config = ConfigDict(extra="forbid")

    default_model: str | None = Field(None, min_length=1, max_length=200)
    api_base: str | None = Field(None, max_length=500)
    system_prompt: str | None = Field(None, max_length=20_000)
    ui_mode: str | None = None
    context_window: int | None = None
    request_timeout: float | None = None
    window: dict[str, int] | None = None
    keys: dict[Provider, str | None] | None = None


def _not_a_failed_save(record: logging.LogRecord) -> bool:
    # ChatKit logs a traceback for any error in a stream; a failed save is already logged in one line by the
    # store and told to the user as a sentence.
    return not (record.exc_info and isinstance(record.exc_info[1], StoreWriteError))


def create_app(config: AppConfig) -> FastAPI:
    """Build the app for one launch (one data folder, one token, one port)."""
    logging.getLogger("chatkit").addFilter(_not_a_failed_save)
    store = JsonFileStore(config.data_dir)
    settings_file = SettingsFile(config.data_dir / "settings.json")
    keys = SecretStore(config.data_dir)
    engine = Engine(store, settings_file, keys)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        await asyncio.to_thread(store.open)
        engine.start()
        yield
        store.flush()

    app = FastAPI(title="ChatKit Desktop", lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=None)
    stopping = asyncio.Event()
    app.add_middleware(EndStreamsOnShutdown, stopping=stopping)
    app.add_middleware(SecurityMiddleware, config=config)
    # Called by the server (on its event loop) as it starts to stop: open answers end and are saved.
    app.state.end_streams = stopping.set
    app.state.config = config
    app.state.store = store
    app.state.engine = engine
    _add_error_handlers(app)

    @app.get("/health")
    async def health() -> dict[str, Any]:
        return {"status": "ok", "chat_ready": engine.ready}

    @app.get("/")
    async def page() -> FileResponse:
        return FileResponse(config.web_dir / "index.html", media_type="text/html")

    @app.post("/chatkit")
    async def chatkit(request: Request) -> Response:
        body = await request.body()
        try:
            parsed = _request_adapter.validate_json(body)
        except ValidationError as error:
            return _error(400, _describe_validation(error))
        await asyncio.to_thread(_precheck, store, parsed)
        if isinstance(parsed, history.READS):
            # Conversations show at once, while the model layer may still be loading.
            return Response(content=await history.answer(store, parsed), media_type="application/json")
        server = await engine.chat_server()
        result = await server.process(body, {})
        if hasattr(result, "json_events"):
            return StreamingResponse(_saving_errors_as_events(result), media_type="text/event-stream")
        return Response(content=result.json, media_type="application/json")

    @app.get("/api/settings")
    async def get_settings() -> dict[str, Any]:
        return _settings_view(settings_file, keys)

    @app.put("/api/settings")
    async def put_settings(update: SettingsUpdate) -> dict[str, Any]:
        changes = update.model_dump(exclude_unset=True, exclude={"keys"})
        if changes:
            current = settings_file.load()
            settings_file.save(Settings.model_validate(current.model_dump() | changes))
        for provider, key in (update.keys or {}).items():
            await asyncio.to_thread(keys.set, provider, key)
        return _settings_view(settings_file, keys)

    @app.post("/api/keys/check")
    async def check_key(check: KeyCheck) -> dict[str, Any]:
        settings = settings_file.effective()
        try:
            target = check_route(check.provider, check.key, settings, keys)
        except MissingKeyError as error:
            return {"ok": False, "message": str(error)}
        llm = await engine.llm()
        ok, message = await llm.check_key(target, settings.request_timeout)
        return {"ok": ok, "message": message}

    @app.get("/api/models")
    async def models() -> dict[str, Any]:
        settings = settings_file.effective()
        offered = available_models(settings, keys)
        if settings.api_base:
            offered += await _local_models(settings)
        return {"default": settings.default_model, "models": offered}

    app.mount("/", StaticFiles(directory=config.web_dir), name="web")
    return app


async def _saving_errors_as_events(stream: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    """A failed save before the answer starts (the user's message) ends the stream with a sentence, not a cut."""
    try:
        async for chunk in stream:
            yield chunk
    except StoreWriteError as error:
        event = {"type": "error", "code": "custom", "message": error.message, "allow_retry": True}
        yield b"data: " + json.dumps(event).encode() + b"\n\n"


def _precheck(store: JsonFileStore, request: Any) -> None:
    """Turn unknown ids into 404s (and unsafe ones into 400s) before a stream starts, not inside it."""
    if not isinstance(request, _SUPPORTED):
        raise UnsupportedError(f"{request.type} is not supported by ChatKit Desktop yet")
    params = request.params
    if getattr(getattr(params, "input", None), "attachments", None):
        raise UnsupportedError("attachments are not supported by ChatKit Desktop yet")
    thread_id = getattr(params, "thread_id", None)
    if thread_id is None:
        return
    if not store.thread_exists(thread_id):
        raise NotFoundError(f"thread {thread_id} not found")
    if isinstance(request, _WRITES) and store.is_read_only(thread_id):
        raise ReadOnlyThreadError(NEWER_VERSION_REASON)
    item_ids = [params.item_id] if isinstance(request, ThreadsRetryAfterItemReq) else []
    if isinstance(request, ItemsFeedbackReq):
        item_ids = params.item_ids
    for item_id in item_ids:
        check_id(item_id, "item id")
    if not item_ids:
        return
    types = store.item_types(thread_id, item_ids)
    if missing := [i for i in item_ids if i not in types]:
        raise NotFoundError(f"item {missing[0]} not found")
    if isinstance(request, ThreadsRetryAfterItemReq) and types[params.item_id] != "user_message":
        raise UnsupportedError("only a user message can be retried")


async def _local_models(settings: Settings) -> list[dict[str, str | bool]]:
    """Models a reachable OpenAI-compatible server (Ollama, LM Studio, vLLM) lists at `<base>/models`."""
    prefix = provider_of(settings.default_model)
    try:
        async with httpx.AsyncClient(timeout=1.5) as client:
            response = await client.get(f"{settings.api_base}/models")
            response.raise_for_status()
            names = [m["id"] for m in response.json().get("data", []) if isinstance(m.get("id"), str)]
    except (httpx.HTTPError, ValueError, AttributeError, TypeError):
        return []
    return [
        {"id": f"{prefix}/{name}", "label": name, "default": f"{prefix}/{name}" == settings.default_model}
        for name in names
        if f"{prefix}/{name}" != settings.default_model
    ]


def _settings_view(settings_file: SettingsFile, keys: SecretStore) -> dict[str, Any]:
    settings = settings_file.effective()
    return {
        "settings": settings.model_dump(),
        "setup_needed": setup_needed(settings, keys),
        "overridden": settings_file.overridden(),
        "keys": [info.__dict__ for info in keys.describe()],
        "key_storage": keys.backend,
        "key_urls": KEY_URLS,
    }


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


def _describe_validation(error: ValidationError) -> str:
    # Field locations and reasons only: the input itself may be a user's message and is never echoed.
    first = error.errors(include_input=False, include_url=False)[0]
    where = ".".join(str(part) for part in first["loc"]) or "body"
    return f"Malformed request ({where}: {first['msg']})."


def _add_error_handlers(app: FastAPI) -> None:
    statuses: list[tuple[type[Exception], int, str | None]] = [
        (NotFoundError, 404, None),
        (InvalidIdError, 400, None),
        (ReadOnlyThreadError, 409, None),
        (UnsupportedError, 400, None),
        (BodyTooLarge, 413, "The request is too large."),
        (StoreWriteError, 507, None),
    ]
    for exc_type, status, fixed in statuses:

        async def handler(_: Request, exc: Exception, status: int = status, fixed: str | None = fixed) -> Response:
            return _error(status, fixed or _sentence(exc))

        app.add_exception_handler(exc_type, handler)

    async def unwritable(_: Request, exc: OSError) -> Response:
        log.error("could not use the data folder: %s", exc.strerror)
        reason = exc.strerror or type(exc).__name__
        return _error(
            507, f"Could not read or write the data folder ({reason}) — check that it has free space and is writable."
        )

    app.add_exception_handler(OSError, unwritable)  # type: ignore[arg-type]

    async def invalid(_: Request, exc: ValidationError) -> Response:
        return _error(400, _describe_validation(exc))

    async def request_invalid(_: Request, exc: RequestValidationError) -> Response:
        first = exc.errors()[0] if exc.errors() else {"loc": ["body"], "msg": "invalid"}
        where = ".".join(str(part) for part in first.get("loc", [])) or "body"
        return _error(400, f"Malformed request ({where}: {first.get('msg')}).")

    app.add_exception_handler(RequestValidationError, request_invalid)  # type: ignore[arg-type]
    app.add_exception_handler(ValidationError, invalid)  # type: ignore[arg-type]


def _sentence(exc: Exception) -> str:
    text = getattr(exc, "message", None) or str(exc) or type(exc).__name__
    text = text[0].upper() + text[1:]
    return text if text.endswith(".") else text + "."
