"""One sentence for a person when a provider call fails: what went wrong and what to do about it."""

from __future__ import annotations

import litellm
from litellm.exceptions import MidStreamFallbackError

from .routing import Route


def explain(error: BaseException, route: Route, timeout: float, *, mid_answer: bool = False) -> str:
    """One sentence for a person: what went wrong with the provider and what to do about it.

    `mid_answer` says whether part of the answer had already arrived (a cut stream, not an unreachable host).
    """
    while isinstance(error, MidStreamFallbackError) and error.original_exception is not None:
        error = error.original_exception
    name = route.label
    status = getattr(error, "status_code", None)
    where = f" at {route.api_base}" if route.api_base else ""
    text = str(error).lower()
    if isinstance(error, litellm.AuthenticationError) or status == 401 or "api key not valid" in text:
        return f"{name} rejected the API key — open Settings and check it."
    if isinstance(error, litellm.PermissionDeniedError) or status == 403:
        return f"{name} refused access with this API key — check the key's permissions in Settings."
    if isinstance(error, litellm.RateLimitError) or status == 429:
        return f"{name} is rate-limiting requests or your quota is used up — wait a minute, then retry."
    if isinstance(error, litellm.Timeout) or "timed out" in text or "timeout" in type(error).__name__.lower():
        return f"{name} did not answer within {timeout:g} seconds — retry, or pick a faster model."
    if isinstance(error, litellm.ContextWindowExceededError):
        return f"This conversation is too long for {route.model} — start a new chat or pick a larger model."
    if isinstance(error, litellm.NotFoundError) or status == 404:
        return f"{name}{where} does not offer the model “{route.model}” — pick another model in Settings."
    if isinstance(error, litellm.APIConnectionError) or _is_connection_failure(text):
        if mid_answer:
            return f"The connection to {name} broke off in the middle of the answer — check your network, then retry."
        return (
            f"Could not reach {name}{where} — check your internet connection (or that the server is running), "
            "then retry."
        )
    if isinstance(error, (litellm.InternalServerError, litellm.ServiceUnavailableError)) or (
        isinstance(status, int) and status >= 500
    ):
        return f"{name} had a server error — retry in a moment."
    if isinstance(error, litellm.BadRequestError) or status == 400:
        return f"{name} refused the request — check the model and base URL in Settings, then retry."
    return f"Something went wrong while asking {name} — retry, and check Settings if it keeps happening."


def _is_connection_failure(text: str) -> bool:
    # What httpx, the OpenAI client and the OS say when a host cannot be reached or a stream is cut.
    markers = (
        "connection error",
        "connection attempts failed",
        "cannot connect",
        "connect call failed",
        "connection refused",
        "connection reset",
        "peer closed connection",
        "incomplete chunked read",
        "name or service",
        "nodename",
        "unreachable",
        "getaddrinfo",
    )
    return any(marker in text for marker in markers)
