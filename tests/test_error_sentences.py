"""What the user is told when a provider fails: `backend.provider_errors.explain` on LiteLLM's real exceptions.

Every failure becomes one sentence that names the provider (as people know it; for a conversation too long
for the model, the model) and says what to do; a connection cut in the middle of an answer is told apart from
a server that cannot be reached; a failure wrapped by LiteLLM's mid-stream fallback is explained by its
cause; and the API key never appears, even when the provider's own error message quotes it.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import httpx
import litellm
import pytest
from litellm.exceptions import MidStreamFallbackError

from backend.provider_errors import explain
from backend.routing import Route

OPENAI_KEY = "sk-proj-test-0123456789abcdef-SECRET"
GEMINI_KEY = "AIzaSy-test-0123456789abcdef-SECRET"
LOCAL_BASE = "http://127.0.0.1:11434/v1"

OPENAI = Route(model="openai/gpt-5-mini", provider="openai", api_key=OPENAI_KEY, api_base=None)
GEMINI = Route(model="gemini/gemini-2.5-flash", provider="gemini", api_key=GEMINI_KEY, api_base=None)
OLLAMA = Route(model="ollama/llama3.2", provider="ollama", api_key="local", api_base=LOCAL_BASE)
ROUTES = {"OpenAI": OPENAI, "Gemini": GEMINI, "Ollama": OLLAMA}

MakeError = Callable[[Route], Exception]


def _response(status: int) -> httpx.Response:
    return httpx.Response(status, request=httpx.Request("POST", "https://provider.example/v1/chat/completions"))


def _bare(route: Route) -> tuple[str, str]:
    """The model without its prefix and the provider, as LiteLLM's exceptions take them."""
    return route.model.split("/", 1)[1], route.provider


def _quoting_key(route: Route) -> str:
    # Providers do quote the key back ("Incorrect API key provided: sk-..."); the sentence must not.
    return f"Error from the provider for key {route.api_key}: request failed"


def auth(route: Route) -> Exception:
    model, provider = _bare(route)
    return litellm.AuthenticationError(_quoting_key(route), provider, model)


def permission(route: Route) -> Exception:
    model, provider = _bare(route)
    return litellm.PermissionDeniedError(_quoting_key(route), provider, model, _response(403))


def rate_limit(route: Route) -> Exception:
    model, provider = _bare(route)
    return litellm.RateLimitError(_quoting_key(route), provider, model)


def timeout(route: Route) -> Exception:
    model, provider = _bare(route)
    return litellm.Timeout(_quoting_key(route), model, provider)


def connection(route: Route) -> Exception:
    model, provider = _bare(route)
    return litellm.APIConnectionError(_quoting_key(route), provider, model)


def not_found(route: Route) -> Exception:
    model, provider = _bare(route)
    return litellm.NotFoundError(_quoting_key(route), model, provider)


def context_window(route: Route) -> Exception:
    model, provider = _bare(route)
    return litellm.ContextWindowExceededError(_quoting_key(route), model, provider)


def bad_request(route: Route) -> Exception:
    model, provider = _bare(route)
    return litellm.BadRequestError(_quoting_key(route), model, provider)


def server_error(route: Route) -> Exception:
    model, provider = _bare(route)
    return litellm.InternalServerError(_quoting_key(route), provider, model)


def unavailable(route: Route) -> Exception:
    model, provider = _bare(route)
    return litellm.ServiceUnavailableError(_quoting_key(route), provider, model)


def mid_stream(cause: MakeError) -> MakeError:
    """The cause, wrapped the way LiteLLM wraps a failure once a stream has started."""

    def make(route: Route) -> Exception:
        model, provider = _bare(route)
        return MidStreamFallbackError(_quoting_key(route), model, provider, original_exception=cause(route))

    return make


# The error, and the words that tell the user what to do about it.
WHAT_TO_DO: dict[str, tuple[MakeError, str]] = {
    "authentication": (auth, "open Settings and check it"),
    "permission": (permission, "check the key's permissions in Settings"),
    "rate limit": (rate_limit, "wait a minute, then retry"),
    "timeout": (timeout, "retry, or pick a faster model"),
    "unreachable": (connection, "then retry"),
    "model not found": (not_found, "pick another model in Settings"),
    "bad request": (bad_request, "check the model and base URL in Settings"),
    "server error": (server_error, "retry in a moment"),
    "service unavailable": (unavailable, "retry in a moment"),
    "rate limit mid-stream": (mid_stream(rate_limit), "wait a minute, then retry"),
    "server error mid-stream": (mid_stream(server_error), "retry in a moment"),
}


def assert_one_sentence(sentence: str) -> None:
    assert "\n" not in sentence
    assert sentence[0].isupper() and sentence.endswith("."), sentence
    assert not re.search(r"[.!?]\s+[A-Z]", sentence), f"more than one sentence: {sentence}"


@pytest.mark.parametrize("mid_answer", [False, True], ids=["before the answer", "mid-answer"])
@pytest.mark.parametrize("label", ROUTES)
@pytest.mark.parametrize("case", WHAT_TO_DO)
def test_each_failure_is_one_sentence_naming_the_provider_and_what_to_do(
    case: str, label: str, mid_answer: bool
) -> None:
    make, remedy = WHAT_TO_DO[case]
    route = ROUTES[label]
    sentence = explain(make(route), route, 30, mid_answer=mid_answer)
    assert_one_sentence(sentence)
    assert label in sentence
    assert remedy in sentence


def test_a_conversation_too_long_for_the_model_names_the_model_and_suggests_a_new_chat() -> None:
    sentence = explain(context_window(OPENAI), OPENAI, 30)
    assert_one_sentence(sentence)
    assert "openai/gpt-5-mini" in sentence
    assert "start a new chat or pick a larger model" in sentence


def test_an_unreachable_server_is_named_with_its_base_url() -> None:
    sentence = explain(connection(OLLAMA), OLLAMA, 30)
    assert sentence.startswith(f"Could not reach Ollama at {LOCAL_BASE} ")
    assert "or that the server is running" in sentence


def test_a_model_the_server_does_not_offer_is_named_with_the_server() -> None:
    sentence = explain(not_found(OLLAMA), OLLAMA, 30)
    assert f"Ollama at {LOCAL_BASE}" in sentence
    assert "“ollama/llama3.2”" in sentence


def test_a_connection_cut_mid_answer_is_told_as_a_broken_answer_not_an_unreachable_server() -> None:
    before = explain(connection(OPENAI), OPENAI, 30, mid_answer=False)
    during = explain(connection(OPENAI), OPENAI, 30, mid_answer=True)
    assert before.startswith("Could not reach OpenAI")
    assert during == "The connection to OpenAI broke off in the middle of the answer — check your network, then retry."


def test_a_cut_wrapped_by_the_mid_stream_fallback_is_explained_by_its_cause() -> None:
    wrapped = mid_stream(connection)(GEMINI)
    assert explain(wrapped, GEMINI, 30, mid_answer=True).startswith("The connection to Gemini broke off")
    assert explain(wrapped, GEMINI, 30, mid_answer=False).startswith("Could not reach Gemini")
    assert explain(mid_stream(auth)(GEMINI), GEMINI, 30, mid_answer=True) == explain(auth(GEMINI), GEMINI, 30)


def test_the_timeout_sentence_says_how_long_the_app_waited() -> None:
    assert "did not answer within 2.5 seconds" in explain(timeout(OPENAI), OPENAI, 2.5)
    assert "did not answer within 120 seconds" in explain(timeout(OPENAI), OPENAI, 120.0)


def test_gemini_refusing_a_key_with_http_400_is_told_as_a_rejected_key() -> None:
    # Gemini answers an invalid key with 400 INVALID_ARGUMENT, "API key not valid", not with 401.
    error = litellm.BadRequestError(
        "GeminiException - API key not valid. Please pass a valid API key.", "gemini-2.5-flash", "gemini"
    )
    assert explain(error, GEMINI, 30) == "Gemini rejected the API key — open Settings and check it."


def test_an_unexpected_error_still_names_the_provider_and_suggests_a_retry() -> None:
    sentence = explain(RuntimeError(f"something odd with {OPENAI_KEY}"), OPENAI, 30)
    assert_one_sentence(sentence)
    assert "OpenAI" in sentence and "retry" in sentence
    assert OPENAI_KEY not in sentence


@pytest.mark.parametrize("mid_answer", [False, True], ids=["before the answer", "mid-answer"])
@pytest.mark.parametrize("case", [*WHAT_TO_DO, "context window", "mid-stream cut"])
def test_the_sentence_never_contains_the_api_key(case: str, mid_answer: bool) -> None:
    make = {"context window": context_window, "mid-stream cut": mid_stream(connection)}.get(case) or WHAT_TO_DO[case][0]
    for route in (OPENAI, GEMINI):
        assert route.api_key is not None
        error = make(route)
        assert route.api_key in str(error), "the provider's message quotes the key"
        sentence = explain(error, route, 30, mid_answer=mid_answer)
        assert route.api_key not in sentence
        assert route.api_key[-12:] not in sentence
