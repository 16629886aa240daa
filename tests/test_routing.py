"""Which model a message goes to, with which key and which base URL (`backend.routing`).

Specified with real `Settings` and a real `SecretStore` over a temporary folder (never the OS keyring, never
the developer's environment keys):

- a key is sent only to its own provider, whether saved in Settings or set in the environment;
- the base URL belongs only to the default model's provider;
- local providers that want no key get a placeholder, and need no setup;
- a missing key is a `MissingKeyError` whose sentence says where to get one;
- "check key" goes to the default model when it is that provider's, else to a catalog model, typed key first;
- a local server's model goes to its OpenAI-compatible address, a custom provider's to its base URL with its key.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from backend.keys import SecretStore
from backend.providers import PROVIDERS, provider_of
from backend.routing import MissingKeyError, check_route, route, setup_needed
from backend.settings import CustomProvider, Settings

GEMINI_KEY = "AIza-saved-gemini-key-0001"
OPENAI_KEY = "sk-saved-openai-key-0002"
ANTHROPIC_KEY = "sk-ant-saved-anthropic-key-0003"
LOCAL_BASE = "http://127.0.0.1:11434/v1"

GEMINI_MODEL = "gemini/gemini-2.5-flash"
OPENAI_MODEL = "openai/gpt-5-mini"
ANTHROPIC_MODEL = "anthropic/claude-sonnet-4-5"
MODEL_OF = {"gemini": GEMINI_MODEL, "openai": OPENAI_MODEL, "anthropic": ANTHROPIC_MODEL}
KEY_OF = {"gemini": GEMINI_KEY, "openai": OPENAI_KEY, "anthropic": ANTHROPIC_KEY}


@pytest.fixture
def keys(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> SecretStore:
    """An empty key store in `secrets.json` under tmp_path, with no key in the environment."""
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.fail.Keyring")
    for name in list(os.environ):
        if name.endswith("_API_KEY"):
            monkeypatch.delenv(name)
    store = SecretStore(tmp_path)
    assert store.backend == "file", "the tests must never read or write the real OS keyring"
    return store


def test_the_default_model_is_used_when_none_is_picked(keys: SecretStore) -> None:
    keys.set("gemini", GEMINI_KEY)
    target = route(None, Settings(), keys)
    assert (target.model, target.provider, target.api_key, target.api_base) == (
        "gemini/gemini-2.5-flash",
        "gemini",
        GEMINI_KEY,
        None,
    )
    assert target.label == "Gemini"


def test_a_saved_key_is_sent_only_to_its_own_provider(keys: SecretStore) -> None:
    keys.set("gemini", GEMINI_KEY)
    keys.set("openai", OPENAI_KEY)
    settings = Settings()
    assert route(GEMINI_MODEL, settings, keys).api_key == GEMINI_KEY
    assert route(OPENAI_MODEL, settings, keys).api_key == OPENAI_KEY
    with pytest.raises(MissingKeyError, match="^No API key for Anthropic yet"):
        route(ANTHROPIC_MODEL, settings, keys)  # another provider's key is never sent to Anthropic


@pytest.mark.parametrize("provider", ["gemini", "openai", "anthropic"])
def test_a_key_from_the_environment_is_sent_only_to_its_own_provider(
    provider: str, keys: SecretStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(f"{provider.upper()}_API_KEY", KEY_OF[provider])
    settings = Settings()
    assert route(MODEL_OF[provider], settings, keys).api_key == KEY_OF[provider]
    for other in MODEL_OF.keys() - {provider}:
        with pytest.raises(MissingKeyError):
            route(MODEL_OF[other], settings, keys)


def test_a_bare_model_id_is_openais_and_gets_only_the_openai_key(keys: SecretStore) -> None:
    keys.set("gemini", GEMINI_KEY)
    keys.set("openai", OPENAI_KEY)
    target = route("gpt-4.1-mini", Settings(), keys)
    assert (target.provider, target.api_key) == ("openai", OPENAI_KEY)


def test_the_base_url_belongs_only_to_the_default_models_provider(keys: SecretStore) -> None:
    keys.set("gemini", GEMINI_KEY)
    settings = Settings(default_model="openai/llama3.2", api_base=LOCAL_BASE)
    assert route(None, settings, keys).api_base == LOCAL_BASE
    assert route("openai/qwen2.5", settings, keys).api_base == LOCAL_BASE, "another model on the same server"
    to_gemini = route(GEMINI_MODEL, settings, keys)
    assert to_gemini.api_base is None, "Gemini is reached at Gemini, never at the local server"
    assert to_gemini.api_key == GEMINI_KEY


def test_a_base_url_for_gemini_is_not_used_for_openai(keys: SecretStore) -> None:
    keys.set("openai", OPENAI_KEY)
    keys.set("gemini", GEMINI_KEY)
    settings = Settings(default_model=GEMINI_MODEL, api_base="https://gemini-proxy.example/v1beta")
    assert route(None, settings, keys).api_base == "https://gemini-proxy.example/v1beta"
    assert route(OPENAI_MODEL, settings, keys).api_base is None


def test_a_local_openai_compatible_server_needs_no_key(keys: SecretStore) -> None:
    settings = Settings(default_model="openai/llama3.2", api_base=LOCAL_BASE)
    target = route(None, settings, keys)
    assert target.api_key == "local", "the client libraries insist on a key; the local server ignores it"
    assert setup_needed(settings, keys) is False


def test_a_saved_key_for_the_providers_own_base_url_is_sent_there(keys: SecretStore) -> None:
    keys.set("openai", OPENAI_KEY)
    settings = Settings(default_model="openai/gpt-5-mini", api_base="https://openai-proxy.example/v1")
    target = route(None, settings, keys)
    assert (target.api_key, target.api_base) == (OPENAI_KEY, "https://openai-proxy.example/v1")


@pytest.mark.parametrize("model", ["ollama_chat/llama3.2", "hosted_vllm/mistral"])
def test_other_keyless_litellm_providers_get_the_placeholder_key_and_need_no_setup(
    model: str, keys: SecretStore
) -> None:
    settings = Settings(default_model=model)
    target = route(None, settings, keys)
    assert (target.model, target.api_key, target.api_base) == (model, "local", None)
    assert setup_needed(settings, keys) is False


@pytest.mark.parametrize(
    ("model", "sent_as", "base"),
    [
        ("ollama/llama3.2:latest", "openai/llama3.2:latest", "http://127.0.0.1:11434/v1"),
        ("lm_studio/qwen2.5-7b", "openai/qwen2.5-7b", "http://127.0.0.1:1234/v1"),
    ],
)
def test_a_local_servers_model_goes_to_its_openai_compatible_address_with_the_placeholder_key(
    model: str, sent_as: str, base: str, keys: SecretStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OLLAMA_HOST", raising=False)
    keys.set("openai", OPENAI_KEY)
    settings = Settings(default_model=model)
    target = route(None, settings, keys)
    assert (target.model, target.api_key, target.api_base) == (sent_as, "local", base)
    assert target.local and setup_needed(settings, keys) is False


def test_ollamas_own_host_variable_and_an_address_set_in_settings_say_where_it_answers(
    keys: SecretStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OLLAMA_HOST", "0.0.0.0:11500")
    assert route("ollama/llama3.2", Settings(), keys).api_base == "http://127.0.0.1:11500/v1"
    settings = Settings(provider_urls={"ollama": "http://127.0.0.1:11600"})
    assert route("ollama/llama3.2", settings, keys).api_base == "http://127.0.0.1:11600/v1"


def test_a_custom_providers_model_goes_to_its_base_url_with_its_own_key_only(keys: SecretStore) -> None:
    keys.set("openai", OPENAI_KEY)
    keys.set("groq", "gsk-custom-key-0007")
    settings = Settings(providers=[CustomProvider(id="groq", name="Groq", base_url="https://api.groq.com/openai/v1")])
    target = route("groq/llama-3.3-70b", settings, keys)
    assert (target.model, target.api_key, target.api_base, target.label) == (
        "openai/llama-3.3-70b",
        "gsk-custom-key-0007",
        "https://api.groq.com/openai/v1",
        "Groq",
    )
    assert route(OPENAI_MODEL, settings, keys).api_key == OPENAI_KEY, "OpenAI's key stays OpenAI's"
    keys.set("groq", "")
    assert route("groq/llama-3.3-70b", settings, keys).api_key == "local", "no key: the placeholder, never another's"


def test_a_keyless_local_model_picked_in_the_composer_gets_the_placeholder_not_a_saved_key(keys: SecretStore) -> None:
    keys.set("gemini", GEMINI_KEY)
    keys.set("openai", OPENAI_KEY)
    target = route("ollama/llama3.2", Settings(), keys)
    assert target.api_key == "local"


@pytest.mark.parametrize(
    ("provider", "label", "where"),
    [
        ("gemini", "Gemini", "https://aistudio.google.com/apikey"),
        ("openai", "OpenAI", "https://platform.openai.com/api-keys"),
        ("anthropic", "Anthropic", "https://console.anthropic.com/settings/keys"),
    ],
)
def test_a_missing_key_says_where_to_get_one(provider: str, label: str, where: str, keys: SecretStore) -> None:
    with pytest.raises(MissingKeyError) as missing:
        route(MODEL_OF[provider], Settings(), keys)
    assert str(missing.value) == f"No API key for {label} yet. Open Settings and add one (get one at {where})."


def test_a_key_that_was_forgotten_is_missing_again(keys: SecretStore) -> None:
    keys.set("gemini", GEMINI_KEY)
    assert route(None, Settings(), keys).api_key == GEMINI_KEY
    keys.set("gemini", "")
    with pytest.raises(MissingKeyError):
        route(None, Settings(), keys)


def test_first_run_without_a_key_needs_setup_until_one_is_saved(keys: SecretStore) -> None:
    settings = Settings()
    assert setup_needed(settings, keys) is True
    keys.set("openai", OPENAI_KEY)
    assert setup_needed(settings, keys) is True, "a key for another provider does not let Gemini answer"
    keys.set("gemini", GEMINI_KEY)
    assert setup_needed(settings, keys) is False


def test_a_key_in_the_environment_needs_no_setup(keys: SecretStore, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GEMINI_API_KEY", GEMINI_KEY)
    assert setup_needed(Settings(), keys) is False


def test_checking_a_key_uses_the_default_model_and_its_base_url_when_they_are_that_providers(
    keys: SecretStore,
) -> None:
    settings = Settings(default_model="openai/llama3.2", api_base=LOCAL_BASE)
    target = check_route("openai", "sk-typed-0004", settings, keys)
    assert (target.model, target.provider, target.api_key, target.api_base) == (
        "openai/llama3.2",
        "openai",
        "sk-typed-0004",
        LOCAL_BASE,
    )


def test_checking_another_providers_key_uses_one_of_its_catalog_models_and_not_the_base_url(
    keys: SecretStore,
) -> None:
    settings = Settings(default_model="openai/llama3.2", api_base=LOCAL_BASE)
    target = check_route("gemini", "AIza-typed-0005", settings, keys)
    assert target.model in [model for model, _ in PROVIDERS["gemini"].catalog]
    assert (target.provider, target.api_key, target.api_base) == ("gemini", "AIza-typed-0005", None)


def test_checking_a_typed_key_checks_it_rather_than_the_saved_one(keys: SecretStore) -> None:
    keys.set("anthropic", ANTHROPIC_KEY)
    assert check_route("anthropic", " sk-ant-typed-0006 ", Settings(), keys).api_key == "sk-ant-typed-0006"
    assert check_route("anthropic", "   ", Settings(), keys).api_key == ANTHROPIC_KEY, "blank: the saved key"
    assert check_route("anthropic", None, Settings(), keys).api_key == ANTHROPIC_KEY


def test_checking_without_a_typed_or_saved_key_is_a_missing_key(keys: SecretStore) -> None:
    keys.set("gemini", GEMINI_KEY)
    with pytest.raises(MissingKeyError, match="^No API key for Anthropic yet"):
        check_route("anthropic", "", Settings(), keys)


@pytest.mark.parametrize(
    ("model", "provider"),
    [
        ("gemini/gemini-2.5-flash", "gemini"),
        ("anthropic/claude-haiku-4-5", "anthropic"),
        ("ollama_chat/llama3.2", "ollama_chat"),
        ("openrouter/anthropic/claude-sonnet-4-5", "openrouter"),
        ("gpt-4.1-mini", "openai"),
    ],
)
def test_the_provider_is_the_model_ids_prefix_and_bare_ids_are_openais(model: str, provider: str) -> None:
    assert provider_of(model) == provider
