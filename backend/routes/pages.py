"""The open routes: the page itself (the token reaches it in its URL) and the health check."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import FileResponse

from ..dependencies import ConfigDep, LoaderDep

router = APIRouter()


@router.get("/health")
async def health(loader: LoaderDep) -> dict[str, Any]:
    """Up, and whether a message can be answered without waiting for the model layer to load."""
    return {"status": "ok", "chat_ready": loader.ready}


@router.get("/")
async def page(config: ConfigDep) -> FileResponse:
    """The app's page."""
    return FileResponse(config.web_dir / "index.html", media_type="text/html")
