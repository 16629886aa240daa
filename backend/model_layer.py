"""The model layer: every call into LiteLLM and the Agents SDK's model (answers' model, context windows, token
counts, trimming, titles, key checks, error sentences), behind one typed object, `ModelLayer`.

Importing this module imports LiteLLM (seconds), so only the background loader (`backend.loader`) does it and
hands the rest of the app a `ModelLayer`.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any

import litellm
from agents.extensions.models.litellm_model import LitellmModel
from agents.items import TResponseStreamEvent

from . import trimming
from .provider_errors import explain
from .providers import PROVIDERS
from .routing import Route
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
# The longest the model's stream waits for the answer's first words to be sent to the page (`PacedModel`).
FIRST_WORDS_WAIT_S = 0.1


@functools.lru_cache(maxsize=16_384)
def _count_tokens(model: str, text: str) -> int:
    try:
        return int(litellm.token_counter(model=model, text=text))
    except Exception:
        return len(text) // 3 + 1


class PacedModel(LitellmModel):
    """LiteLLM's Agents SDK model, pausing after the answer's first words until they have been sent to the page.

    The SDK reads the model's stream in one task and hands events to the page through a queue read by another.
    When the provider's chunks arrive together (a short answer, a fast local model, a buffering proxy), the
    reading task never waits, so LiteLLM's end-of-stream bookkeeping (rebuilding the whole response, its
    logging hooks) ran before the page got a word: ~9 ms of the first token in a 137-message thread here.
    """

    def __init__(self, route: Route, first_words_sent: asyncio.Event) -> None:
        super().__init__(model=route.model, base_url=route.api_base, api_key=route.api_key)
        self.first_words_sent = first_words_sent

    async def stream_response(self, *args: Any, **kwargs: Any) -> AsyncIterator[TResponseStreamEvent]:
        waiting = True
        async for event in super().stream_response(*args, **kwargs):
            yield event
            # Resumed once the SDK has queued the event for the page; the wait is bounded, so a first delta
            # that the page never shows (an empty one) cannot hold the answer up.
            if waiting and event.type == "response.output_text.delta" and event.delta:
                waiting = False
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.first_words_sent.wait(), FIRST_WORDS_WAIT_S)


class ModelLayer:
    """What the app asks of models. Stateless; the loader makes the one instance once LiteLLM is imported."""

    explain = staticmethod(explain)

    @staticmethod
    def make_model(route: Route, first_words_sent: asyncio.Event) -> LitellmModel:
        """The Agents SDK model for a route; keys go only to that provider. Set `first_words_sent` once the
        answer's first words have been sent to the page (`PacedModel`)."""
        return PacedModel(route, first_words_sent)

    @staticmethod
    def context_window(model: str, override: int | None) -> int:
        """How many input tokens the model accepts: the user's setting, LiteLLM's model map, or a safe default."""
        if override:
            return override
        try:
            info = litellm.get_model_info(model)
        except Exception:
            return FALLBACK_CONTEXT_WINDOW
        return int(info.get("max_input_tokens") or info.get("max_tokens") or FALLBACK_CONTEXT_WINDOW)

    @staticmethod
    def count_tokens(model: str, text: str) -> int:
        """Tokens in `text` for `model`, with LiteLLM's bundled tokenizers (never a download).

        Remembered per (model, text): a long thread's old messages are counted once, not on every message.
        """
        return _count_tokens(model, text)

    @staticmethod
    def fit_to_window(
        items: Sequence[Any],
        model: str,
        system_prompt: str,
        window: int,
        media_tokens: Callable[[Any], int] = lambda part: 0,
    ) -> tuple[list[Any], int]:
        """The newest whole turns of `items` that fit `window` for `model` (`trimming.fit_to_window`)."""
        count = functools.partial(_count_tokens, model)
        return trimming.fit_to_window(items, count, system_prompt, window, media_tokens)

    @staticmethod
    def image_tokens(data_url: str) -> int:
        """What an image costs a model, per LiteLLM's reckoning from its size (OpenAI's high-detail tiles)."""
        from litellm.litellm_core_utils.token_counter import calculate_img_tokens

        try:
            return int(calculate_img_tokens(data_url, mode="high"))
        except Exception:
            return 1_000

    @staticmethod
    def accepts_images(route: Route) -> bool:
        """Whether the model can read images, as LiteLLM's model map says. A model it does not know, or a local
        server's (whose vision the map cannot tell), is given the benefit of the doubt: its server answers."""
        try:
            info = litellm.get_model_info(route.model)
        except Exception:
            return True
        known = info.get("supports_vision")
        local = route.api_base is not None or PROVIDERS.get(route.provider, PROVIDERS["openai"]).keyless
        return True if known is None and local else bool(known)

    @staticmethod
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

    @staticmethod
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
