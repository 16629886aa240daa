"""Everything that touches LiteLLM: context windows, trimming the history to fit, titles, error sentences.

Importing this module imports LiteLLM (several seconds), so only the background loader does it.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Sequence
from typing import Any

import litellm
from agents.extensions.models.litellm_model import LitellmModel
from litellm.exceptions import MidStreamFallbackError

from .models import Route
from .titles import TITLE_PROMPT, fallback_title, tidy

log = logging.getLogger(__name__)

litellm.suppress_debug_info = True
litellm.telemetry = False
litellm.drop_params = True
# With the default aiohttp transport a stream cut by the network ends quietly, so a truncated answer would
# look finished; httpx raises, and the user is told.
litellm.disable_aiohttp_transport = True
logging.getLogger("LiteLLM").setLevel(logging.WARNING)

# Used when neither the settings nor LiteLLM's model map know a model's window (typical of local models).
FALLBACK_CONTEXT_WINDOW = 8192


def make_model(route: Route) -> LitellmModel:
    """The Agents SDK model for a route; keys go only to that provider."""
    return LitellmModel(model=route.model, base_url=route.api_base, api_key=route.api_key)


def context_window(model: str, override: int | None) -> int:
    """How many input tokens the model accepts: the user's setting, LiteLLM's model map, or a safe default."""
    if override:
        return override
    try:
        info = litellm.get_model_info(model)
    except Exception:
        return FALLBACK_CONTEXT_WINDOW
    return int(info.get("max_input_tokens") or info.get("max_tokens") or FALLBACK_CONTEXT_WINDOW)


def count_tokens(model: str, text: str) -> int:
    """Tokens in `text` for `model`, with LiteLLM's bundled tokenizers (never a download).

    Remembered per (model, text): a long thread's old messages are counted once, not on every message.
    """
    return _count_tokens(model, text)


@functools.lru_cache(maxsize=16_384)
def _count_tokens(model: str, text: str) -> int:
    try:
        return int(litellm.token_counter(model=model, text=text))
    except Exception:
        return len(text) // 3 + 1


def _item_text(item: Any) -> str:
    content = item.get("content") if isinstance(item, dict) else None
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(str(part.get("text", "")) for part in content if isinstance(part, dict))
    return str(item)


def _is_user(item: Any) -> bool:
    return isinstance(item, dict) and item.get("role") == "user"


def fit_to_window(items: Sequence[Any], model: str, system_prompt: str, window: int) -> tuple[list[Any], int]:
    """Drop the oldest turns until the conversation fits `window`; return it and how many items were dropped.

    A turn starts at a user message; consecutive user-role items (a message plus its quoted-text context)
    belong to one turn. The newest turn (the message being answered) is always kept, and the system prompt is
    sent separately, so it is never cut. A quarter of the window (at most 4,096 tokens) stays free for the
    answer. Walks back from the newest item and stops at the first turn that does not fit, so the cost follows
    what is sent, not the thread's length.
    """
    reserve = min(4096, window // 4)
    budget = window - reserve - count_tokens(model, system_prompt)
    kept_from = len(items)
    used = turn = 0
    for position in range(len(items) - 1, -1, -1):
        turn += count_tokens(model, _item_text(items[position])) + 4
        starts_turn = position == 0 or (_is_user(items[position]) and not _is_user(items[position - 1]))
        if not starts_turn:
            continue
        if kept_from < len(items) and used + turn > budget:
            break
        used, turn, kept_from = used + turn, 0, position
    return list(items[kept_from:]), kept_from


async def make_title(route: Route, first_message: str, timeout: float) -> str:
    """A short title made by the model; the first words of the message when the model cannot help."""
    fallback = fallback_title(first_message)
    try:
        response = await litellm.acompletion(
            model=route.model,
            api_key=route.api_key,
            api_base=route.api_base,
            messages=[
                {"role": "system", "content": TITLE_PROMPT},
                {"role": "user", "content": first_message[:2000]},
            ],
            max_tokens=24,
            timeout=min(timeout, 20),
            num_retries=0,
        )
        text = response.choices[0].message.content or ""
    except Exception as error:
        log.info("title generation failed (%s); using the first words", type(error).__name__)
        return fallback
    return tidy(text) or fallback


async def check_key(route: Route, timeout: float) -> tuple[bool, str]:
    """One tiny request with the key; whether it worked and a sentence saying so (or what went wrong)."""
    try:
        await litellm.acompletion(
            model=route.model,
            api_key=route.api_key,
            api_base=route.api_base,
            messages=[{"role": "user", "content": "Reply with OK."}],
            max_tokens=16,
            timeout=min(timeout, 30),
            num_retries=0,
        )
    except Exception as error:
        return False, explain(error, route, min(timeout, 30))
    return True, f"{route.label} accepted the key."


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
