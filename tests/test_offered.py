"""What the picker offers and how providers are named and reached, in process (`backend/offered.py`,
`backend/model_lists.py`, `backend/providers.py`, `backend/settings.py`, `backend/proxy.py`): favourites first and
hidden models out, the default always there, providers that cannot answer left out; a provider's own list read
from the fake provider over HTTP (filtered to chat models where the provider is OpenAI itself) and one sentence for
each way asking for it fails; custom providers' ids; the old single base URL moved to its provider; this computer
never reached through a proxy."""

from __future__ import annotations

import asyncio
import http.server
import os
import threading
from collections.abc import Iterator

import pytest

from backend import proxy
from backend.model_lists import ListError, chat_models, fetch
from backend.offered import Group, picker
from backend.providers import is_local_url, slug_for
from backend.settings import Settings
from tests.fake_provider import BAD_KEY, MODELS, FakeProvider


def offered() -> list[Group]:
    return [
        Group("gemini", "Gemini", "builtin", True, None, ["gemini/gemini-2.5-flash", "gemini/gemini-2.5-pro"]),
        Group("openai", "OpenAI", "builtin", False, None, ["openai/gpt-5"]),
        Group("ollama", "Ollama", "local", True, None, ["ollama/llama3.2:latest", "ollama/qwen3:8b"]),
        Group("groq", "Groq", "custom", True, None, ["groq/llama-3.3-70b"]),
    ]


def ids(settings: Settings) -> list[str]:
    return [model["id"] for model in picker(offered(), settings)]


def test_the_picker_lists_providers_that_can_answer_in_order_with_the_default_marked() -> None:
    settings = Settings()
    assert ids(settings) == [
        "gemini/gemini-2.5-flash",
        "gemini/gemini-2.5-pro",
        "ollama/llama3.2:latest",
        "ollama/qwen3:8b",
        "groq/llama-3.3-70b",
    ]
    first = picker(offered(), settings)[0]
    assert first == {
        "id": "gemini/gemini-2.5-flash",
        "label": "Gemini 2.5 Flash",
        "provider": "gemini",
        "provider_name": "Gemini",
        "default": True,
        "favourite": False,
    }


def test_favourites_come_first_in_the_order_they_were_starred_and_hidden_models_are_left_out() -> None:
    settings = Settings(
        favourite_models=["groq/llama-3.3-70b", "ollama/qwen3:8b", "openai/gpt-5"],
        hidden_models=["gemini/gemini-2.5-pro", "ollama/llama3.2:latest"],
    )
    assert ids(settings) == ["groq/llama-3.3-70b", "ollama/qwen3:8b", "gemini/gemini-2.5-flash"]


def test_the_default_model_stays_in_the_picker_even_when_hidden() -> None:
    assert "gemini/gemini-2.5-flash" in ids(Settings(hidden_models=["gemini/gemini-2.5-flash"]))


@pytest.mark.parametrize(
    ("name", "taken", "expected"),
    [
        ("OpenRouter", set(), "openrouter"),
        ("My Company Gateway!", set(), "my-company-gateway"),
        ("Groq", {"groq"}, "groq-2"),
        ("OpenAI", set(), "openai-2"),
        ("Ollama", set(), "ollama-2"),
        ("日本語", set(), "custom"),
        ("-dash-", set(), "dash"),
    ],
)
def test_a_custom_providers_id_is_made_from_its_name_and_never_clashes(
    name: str, taken: set[str], expected: str
) -> None:
    assert slug_for(name, taken) == expected


@pytest.mark.parametrize(
    ("url", "local"),
    [
        ("http://127.0.0.1:11434/v1", True),
        ("http://localhost:1234", True),
        ("http://[::1]:8000/v1", True),
        ("https://api.groq.com/openai/v1", False),
        ("http://127.0.0.1.example.com/v1", False),
        ("http://10.0.0.5:8000/v1", False),
        (None, False),
    ],
)
def test_only_this_computers_addresses_count_as_local(url: str | None, local: bool) -> None:
    assert is_local_url(url) is local


def test_the_old_single_base_url_becomes_its_providers_address_and_nothing_else_changes() -> None:
    old = Settings.model_validate(
        {"default_model": "openai/llama3.2", "api_base": "http://127.0.0.1:11434/v1/", "system_prompt": "Be brief."}
    )
    assert old.api_base is None
    assert old.provider_urls == {"openai": "http://127.0.0.1:11434/v1"}
    assert (old.default_model, old.system_prompt) == ("openai/llama3.2", "Be brief.")
    gateway = Settings.model_validate({"default_model": "anthropic/claude-haiku-4-5", "api_base": "https://gw.example"})
    assert gateway.provider_urls == {"anthropic": "https://gw.example"}


def test_a_provider_address_or_proxy_that_is_not_http_is_refused() -> None:
    for bad in ({"provider_urls": {"openai": "ftp://x"}}, {"proxy": "file:///etc/passwd"}):
        with pytest.raises(ValueError, match="must start with http:// or https://"):
            Settings.model_validate(bad)


def test_this_computer_is_added_to_no_proxy_under_both_spellings_keeping_what_the_system_lists(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("NO_PROXY", "intranet.example, .corp")
    monkeypatch.delenv("no_proxy", raising=False)
    proxy.keep_local_direct()
    assert os.environ["NO_PROXY"] == os.environ["no_proxy"] == "intranet.example,.corp,127.0.0.1,localhost,::1"


# ---- a provider's own list, asked over HTTP ----------------------------------------------------------------------


def test_a_providers_list_is_read_from_its_models_route_with_its_key(fake: FakeProvider) -> None:
    fake.clear()
    models = asyncio.run(fetch("gateway", "Gateway", fake.openai_base, "sk-gateway-0001"))
    assert models == tuple(sorted(MODELS))
    (asked,) = [r for r in fake.requests if r.path == "/v1/models"]
    assert asked.api_key == "sk-gateway-0001"


def test_openais_own_list_is_filtered_to_models_that_chat() -> None:
    listed = ("gpt-5", "o3-mini", "text-embedding-3-large", "tts-1", "whisper-1", "dall-e-3", "chatgpt-4o-latest")
    data = {"data": [{"id": n} for n in (*listed, "gpt-4o-realtime-preview", "babbage-002")]}
    assert chat_models("openai", data) == ("chatgpt-4o-latest", "gpt-5", "o3-mini")
    gemini = {
        "models": [
            {"name": "models/gemini-2.5-flash", "supportedGenerationMethods": ["generateContent", "countTokens"]},
            {"name": "models/text-embedding-004", "supportedGenerationMethods": ["embedContent"]},
            {"name": "models/gemini-embedding-001", "supportedGenerationMethods": ["generateContent"]},
        ]
    }
    assert chat_models("gemini", gemini) == ("gemini-2.5-flash",)


@pytest.fixture
def garbage() -> Iterator[str]:
    """A server that answers every request with a web page, as a wrong address might."""

    class Page(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = b"<html>Welcome to nginx!</html>"
            self.send_response(200)
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Page)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    server.shutdown()


def test_each_way_asking_for_a_list_fails_is_one_sentence(fake: FakeProvider, garbage: str) -> None:
    def why(base: str, key: str | None = "sk-1") -> str:
        with pytest.raises(ListError) as failed:
            asyncio.run(fetch("gateway", "Gateway", base, key))
        return str(failed.value)

    assert why(fake.openai_base, BAD_KEY) == "Gateway refused the key — check it."
    assert why(f"{fake.url}/nowhere") == f"Gateway answered 404 when asked for its models at {fake.url}/nowhere/models."
    assert why(garbage) == f"Gateway answered, but not with a list of models — is {garbage} the right address?"
    assert why("http://127.0.0.1:9") == "Gateway is not reachable at http://127.0.0.1:9."
