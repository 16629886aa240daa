"""The rest of `/api/`: unknown paths ask for the token first, then answer 404 (included after every router)."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from fastapi.responses import Response

from ..errors import error_response
from ..security import require_token

router = APIRouter(dependencies=[Depends(require_token)])


@router.api_route("/api", methods=["GET", "POST", "PUT", "DELETE", "PATCH"])
@router.api_route("/api/{rest:path}", methods=["GET", "POST", "PUT", "DELETE", "PATCH"])
async def no_such_api_route() -> Response:
    """An API path that does not exist."""
    return error_response(404, "There is no such API route.")
