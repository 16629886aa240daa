"""Providers end to end over HTTP: several at once, each message to its own provider with its own key and never
another's; custom providers added, edited, removed and refused with a sentence; keys never shown; providers that
answer garbage or hang; old settings migrated; a conversation's model remembered across a restart."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from tests.fake_local import FakeGateway, FakeOllama
from tests.fake_provider import FakeProvider
from tests.harness import RunningApp, answer_text, read_thread_file, start_app, thread_id_of

CUSTOM_KEY = "sk-custom-gateway-0123456789-SECRET"
OTHER_KEY = "sk-env-openai-9876543210-OTHER"
LLAMA = "ollama/llama3.2:latest"


@pytest.fixture(scope="module")
def ollama() -> Iterator[FakeOllama]:
    with FakeOllama() as server:
        yield server


@pytest.fixture(scope="module")
def keyed() -> Iterator[FakeProvider]:
    """The custom provider's server: an OpenAI-format fake that records the key it gets."""
    with FakeProvider() as server:
        yield server


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory, ollama: FakeOllama) -> Iterator[RunningApp]:
    """The app with a fake Ollama found through `OLLAMA_HOST`, and an OpenAI key in the environment that must
    never travel to anyone but OpenAI."""
    running = start_app(tmp_path_factory.mktemp("data"), OLLAMA_HOST=ollama.host, OPENAI_API_KEY=OTHER_KEY)
    yield running
    running.stop()


@pytest.fixture(scope="module")
def custom(app: RunningApp, keyed: FakeProvider) -> dict[str, Any]:
    """The custom provider "Company Gateway" with its key, added once for the module."""
    return add_provider(app, "Company Gateway", keyed.openai_base, CUSTOM_KEY)


def add_provider(app: RunningApp, name: str, base_url: str, api_key: str | None = None) -> dict[str, Any]:
    with app.client() as client:
        response = client.post("/api/providers", json={"name": name, "base_url": base_url, "api_key": api_key})
    assert response.status_code == 201, response.text
    provider: dict[str, Any] = response.json()
    return provider


def providers(app: RunningApp) -> list[dict[str, Any]]:
    with app.client() as client:
        listed: list[dict[str, Any]] = client.get("/api/providers").raise_for_status().json()["providers"]
    return listed


def provider(app: RunningApp, provider_id: str) -> dict[str, Any]:
    return next(p for p in providers(app) if p["id"] == provider_id)


def model_ids(app: RunningApp, refresh: bool = False) -> list[str]:
    with app.client() as client:
        response = client.get("/api/models", params={"refresh": "1"} if refresh else None)
    assert response.status_code == 200, response.text
    return [m["id"] for m in response.json()["models"]]


@pytest.fixture(scope="module")
def garbage() -> Iterator[str]:
    """A server that answers every request with a web page instead of a model list; yields its base URL."""

    class Page(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            data = b"<html><body>Welcome to nginx!</body></html>"
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_POST = do_GET

        def log_message(self, format: str, *args: Any) -> None:
            """Quiet."""

    server = ThreadingHTTPServer(("127.0.0.1", 0), Page)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def hanging() -> Iterator[str]:
    """An address that takes connections and never answers (a socket listening, never accepting)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(64)
        yield f"http://127.0.0.1:{sock.getsockname()[1]}/v1"


def test_each_message_reaches_its_own_provider_with_its_own_key_and_never_anothers(
    app: RunningApp, custom: dict[str, Any], keyed: FakeProvider, ollama: FakeOllama
) -> None:
    model = f"{custom['id']}/fake-local-1"
    assert model in model_ids(app, refresh=True), "the custom provider's own model list is offered"
    assert LLAMA in model_ids(app), "Ollama's models are offered with no setting touched"
    keyed.clear()
    ollama.clear()

    to_custom = app.send("First to the gateway", model=model)
    thread_id = thread_id_of(to_custom)
    assert answer_text(to_custom).startswith("You said: First to the gateway.")
    assert keyed.last_stream().api_key == CUSTOM_KEY
    assert keyed.last_stream().body["model"] == "fake-local-1"
    assert ollama.chats() == [], "Ollama heard nothing of a message to the gateway"

    keyed.clear()
    to_ollama = app.send("Then to Ollama", thread_id, model=LLAMA)
    assert answer_text(to_ollama).startswith("You said: [Ollama llama3.2:latest] Then to Ollama.")
    assert keyed.requests == [], "the gateway heard nothing of a message to Ollama"
    for request in ollama.requests:
        assert request.api_key not in (CUSTOM_KEY, OTHER_KEY)
        assert CUSTOM_KEY not in str(request.headers) and OTHER_KEY not in str(request.headers)

    back = app.send("Back to the gateway", thread_id, model=model)
    assert answer_text(back).startswith("You said: Back to the gateway.")
    assert [r.api_key for r in keyed.requests] == [CUSTOM_KEY] * len(keyed.requests)
    assert OTHER_KEY not in str(keyed.last_stream().headers), "the environment's OpenAI key stays home"


def test_a_custom_provider_without_a_key_never_gets_the_environments_openai_key(
    app: RunningApp, keyed: FakeProvider
) -> None:
    keyless = add_provider(app, "Keyless Gateway", keyed.openai_base)
    try:
        assert answer_text(app.send("No key here", model=f"{keyless['id']}/fake-local-1")).startswith("You said:")
        sent = keyed.last_stream()
        assert sent.api_key not in (OTHER_KEY, CUSTOM_KEY) and OTHER_KEY not in str(sent.headers)
    finally:
        with app.client() as client:
            client.delete(f"/api/providers/{keyless['id']}")


def test_providers_are_listed_builtins_then_local_then_custom_by_name(
    app: RunningApp, custom: dict[str, Any], ollama: FakeOllama
) -> None:
    another = add_provider(app, "Another gateway", "https://another.example.com/v1")
    model_ids(app, refresh=True)
    try:
        listed = providers(app)
        ids = [p["id"] for p in listed]
        assert ids[:5] == ["gemini", "openai", "anthropic", "ollama", "lm_studio"]
        assert [p["name"] for p in listed[5:]] == sorted((p["name"] for p in listed[5:]), key=str.lower)
        kinds = {p["id"]: p["kind"] for p in listed}
        assert kinds["openai"] == "builtin" and kinds["ollama"] == "local" and kinds[custom["id"]] == "custom"
        local = provider(app, "ollama")
        assert local["key"] is None and local["needs_key"] is False
        assert local["status"]["reachable"] is True, "the fake Ollama is running"
        assert provider(app, "openai")["key"]["source"] == "env"
        assert custom["id"] == "company-gateway" and custom["base_url"].endswith("/v1")
    finally:
        with app.client() as client:
            client.delete(f"/api/providers/{another['id']}")


def test_a_custom_providers_key_is_never_in_an_answer_settings_json_or_stderr(
    app: RunningApp, custom: dict[str, Any], keyed: FakeProvider
) -> None:
    app.send("Spend the key once", model=f"{custom['id']}/fake-local-1")
    with app.client() as client:
        answers = [
            client.get("/api/providers"),
            client.get("/api/settings"),
            client.get("/api/models", params={"refresh": "1"}),
            client.post(f"/api/providers/{custom['id']}/check"),
            client.put(f"/api/providers/{custom['id']}", json={"name": "Company Gateway"}),
        ]
    for response in answers:
        assert response.status_code == 200, response.text
        assert CUSTOM_KEY not in response.text and CUSTOM_KEY[:-4] not in response.text
    shown = provider(app, custom["id"])["key"]
    assert shown["set"] is True and shown["masked"] == "••••" + CUSTOM_KEY[-4:]
    assert CUSTOM_KEY not in (app.data_dir / "settings.json").read_text("utf-8")
    holding = [
        path.name for path in app.data_dir.rglob("*") if path.is_file() and CUSTOM_KEY.encode() in path.read_bytes()
    ]
    assert holding == ["secrets.json"], "without a keyring, the key is in the private key file and nowhere else"
    assert CUSTOM_KEY not in app.stderr


def test_check_asks_the_provider_for_its_models_with_its_key(
    app: RunningApp, custom: dict[str, Any], keyed: FakeProvider
) -> None:
    keyed.clear()
    with app.client() as client:
        checked = client.post(f"/api/providers/{custom['id']}/check").json()
    assert checked["ok"] is True and checked["models"] == 2
    assert "2 models" in checked["message"]
    asked = [r for r in keyed.requests if r.path.endswith("/models")]
    assert asked and all(r.api_key == CUSTOM_KEY for r in asked)


def test_a_custom_provider_is_added_edited_and_removed(app: RunningApp, keyed: FakeProvider) -> None:
    added = add_provider(app, "Scratch Provider", keyed.openai_base, "sk-scratch-first-key-1111")
    assert added["kind"] == "custom" and added["key"]["masked"] == "••••1111"
    provider_id = added["id"]
    assert f"{provider_id}/fake-local-2" in model_ids(app, refresh=True)
    with app.client() as client:
        edited = client.put(f"/api/providers/{provider_id}", json={"name": "Scratch", "api_key": "sk-second-2222"})
    assert edited.status_code == 200, edited.text
    assert edited.json()["name"] == "Scratch" and edited.json()["key"]["masked"] == "••••2222"
    app.send("With the new key", model=f"{provider_id}/fake-local-1")
    assert keyed.last_stream().api_key == "sk-second-2222"

    with app.client() as client:
        forgot = client.put(f"/api/providers/{provider_id}", json={"api_key": ""})
        assert forgot.json()["key"]["set"] is False
        removed = client.delete(f"/api/providers/{provider_id}")
        builtin = client.delete("/api/providers/openai")
        local = client.delete("/api/providers/ollama")
    assert removed.status_code == 204
    assert provider_id not in [p["id"] for p in providers(app)]
    assert not any(m.startswith(f"{provider_id}/") for m in model_ids(app, refresh=True))
    assert builtin.status_code == 400 and builtin.json()["error"]
    assert local.status_code == 400 and local.json()["error"]
    assert {"openai", "ollama"} <= {p["id"] for p in providers(app)}


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ({"name": "Files", "base_url": "file:///etc/passwd"}, "http"),
        ({"name": "FTP", "base_url": "ftp://models.example.com"}, "http"),
        ({"name": "Words", "base_url": "not a url"}, "http"),
        ({"name": "", "base_url": "https://ok.example.com/v1"}, "name"),
        ({"name": "   ", "base_url": "https://ok.example.com/v1"}, "name"),
        ({"name": "Company Gateway", "base_url": "https://dup.example.com/v1"}, "Company Gateway"),
    ],
)
def test_bad_providers_are_refused_with_a_sentence_and_nothing_is_lost(
    app: RunningApp, custom: dict[str, Any], body: dict[str, Any], words: str
) -> None:
    before = providers(app)
    settings_before = (app.data_dir / "settings.json").read_text("utf-8")
    with app.client() as client:
        response = client.post("/api/providers", json=body)
    assert response.status_code == 400, response.text
    sentence = response.json()["error"]
    assert words.lower() in sentence.lower() and sentence.rstrip().endswith((".", "!")), sentence
    assert [p["id"] for p in providers(app)] == [p["id"] for p in before]
    assert (app.data_dir / "settings.json").read_text("utf-8") == settings_before


def test_plain_http_to_a_host_that_is_not_local_is_warned_about(app: RunningApp) -> None:
    cases = {
        "Plain Remote": ("http://models.example.com/v1", True),
        "Tls Remote": ("https://models.example.com/v1", False),
        "Plain Loopback": ("http://127.0.0.1:9/v1", False),
        "Plain Localhost": ("http://localhost:9/v1", False),
    }
    added = {name: add_provider(app, name, url) for name, (url, _) in cases.items()}
    try:
        for name, (_, warned) in cases.items():
            warning = provider(app, added[name]["id"])["warning"]
            assert added[name]["warning"] == warning
            if warned:
                assert isinstance(warning, str) and warning.endswith("."), warning
            else:
                assert warning is None, (name, warning)
    finally:
        with app.client() as client:
            for entry in added.values():
                client.delete(f"/api/providers/{entry['id']}")


def test_a_provider_answering_garbage_or_hanging_gets_a_sentence_and_the_app_stays_usable(
    app: RunningApp, custom: dict[str, Any], garbage: str, hanging: str
) -> None:
    broken = add_provider(app, "Garbage Server", garbage)
    stuck = add_provider(app, "Stuck Server", hanging)
    try:
        settings_before = app.settings()["settings"]
        with app.client() as client:
            start = time.monotonic()
            bad = client.post(f"/api/providers/{broken['id']}/check").json()
            assert time.monotonic() - start < 5
            assert bad["ok"] is False and bad["message"].endswith((".", "?")) and "<html" not in bad["message"]

            answered_meanwhile: list[float] = []

            def ask_settings() -> None:
                time.sleep(0.5)
                asked = time.monotonic()
                with app.client(timeout=5) as other:
                    other.get("/api/settings").raise_for_status()
                answered_meanwhile.append(time.monotonic() - asked)

            side = threading.Thread(target=ask_settings)
            side.start()
            start = time.monotonic()
            hung = client.post(f"/api/providers/{stuck['id']}/check").json()
            waited = time.monotonic() - start
            side.join()
            assert hung["ok"] is False and hung["message"].endswith((".", "?")), hung
            assert waited < 15, f"the check gave up after {waited:.1f} s"
            assert answered_meanwhile and answered_meanwhile[0] < 1, "the app answered while a check hung"

            start = time.monotonic()
            models = client.get("/api/models", params={"refresh": "1"})
            assert models.status_code == 200 and time.monotonic() - start < 15
        assert app.settings()["settings"] == settings_before, "nothing in Settings is lost"
        assert {broken["id"], stuck["id"], custom["id"]} <= {p["id"] for p in providers(app)}
        assert answer_text(app.send("Still there?", model=LLAMA)).startswith("You said: [Ollama")
    finally:
        with app.client() as client:
            client.delete(f"/api/providers/{broken['id']}")
            client.delete(f"/api/providers/{stuck['id']}")


def test_a_conversation_remembers_its_model_after_the_default_changes_and_a_restart(
    tmp_path: Path, ollama: FakeOllama, keyed: FakeProvider
) -> None:
    first = start_app(tmp_path, OLLAMA_HOST=ollama.host)
    try:
        gateway = add_provider(first, "Team Gateway", keyed.openai_base, CUSTOM_KEY)
        thread_id = thread_id_of(first.send("Remember me", model=LLAMA))
        assert thread_model(first, thread_id) == LLAMA
        first.settings(default_model=f"{gateway['id']}/fake-local-2")
        assert thread_model(first, thread_id) == LLAMA
        fresh = thread_id_of(first.send("A new one uses the default"))
        assert keyed.last_stream().body["model"] == "fake-local-2"
        assert thread_model(first, fresh) == f"{gateway['id']}/fake-local-2"
    finally:
        first.stop()
    second = start_app(tmp_path, OLLAMA_HOST=ollama.host)
    try:
        assert thread_model(second, thread_id) == LLAMA
        keyed.clear()
        again = second.send("The gateway and its key survive a restart too", model=f"{gateway['id']}/fake-local-1")
        assert answer_text(again).startswith("You said: The gateway")
        assert keyed.last_stream().api_key == CUSTOM_KEY
    finally:
        second.stop()


def thread_model(app: RunningApp, thread_id: str) -> str:
    """The model a conversation remembers, as the picker asks for it; the thread file keeps the same."""
    with app.client() as client:
        response = client.get(f"/api/threads/{thread_id}/model")
    assert response.status_code == 200, response.text
    model: str = response.json()["model"]
    assert read_thread_file(app.data_dir, thread_id)["thread"]["metadata"]["model"] == model
    return model


def write_old_settings(data_dir: Path, settings: dict[str, Any], secrets: dict[str, str] | None = None) -> None:
    data_dir.mkdir(parents=True, exist_ok=True)
    (data_dir / "settings.json").write_text(json.dumps(settings), "utf-8")
    if secrets is not None:
        path = data_dir / "secrets.json"
        path.write_text(json.dumps(secrets), "utf-8")
        path.chmod(0o600)


def test_old_settings_pointing_at_a_local_server_keep_chatting_there(tmp_path: Path, ollama: FakeOllama) -> None:
    base = f"{ollama.url}/v1"
    write_old_settings(tmp_path, {"default_model": "openai/llama3.2", "api_base": base, "system_prompt": "Be brief."})
    app = start_app(tmp_path)
    try:
        ollama.clear()
        events = app.send("Same place as before?")
        assert answer_text(events).startswith("You said: [Ollama llama3.2:latest] Same place as before?")
        assert ollama.last_stream().messages[0] == {"role": "system", "content": "Be brief."}
        view = app.settings()
        assert view["settings"]["default_model"] == "openai/llama3.2"
        assert not view["settings"].get("api_base"), "the one base URL moved to its provider"
        assert provider(app, "openai")["base_url"] == base
        stored = json.loads((tmp_path / "settings.json").read_text("utf-8"))
        assert stored.get("system_prompt") == "Be brief."
    finally:
        app.stop()


def test_old_settings_with_a_remote_openai_base_url_keep_its_key_and_address(tmp_path: Path) -> None:
    with FakeGateway() as gateway:
        base = f"{gateway.url}/v1"
        write_old_settings(
            tmp_path, {"default_model": "openai/gpt-4o-mini", "api_base": base}, {"openai": "sk-saved-long-ago-7777"}
        )
        app = start_app(tmp_path)
        try:
            events = app.send("Through the company gateway")
            assert answer_text(events).startswith("You said: [Gateway gpt-4o-mini] Through the company gateway.")
            assert gateway.last_stream().api_key == "sk-saved-long-ago-7777"
            openai = provider(app, "openai")
            assert openai["base_url"] == base
            assert openai["key"]["set"] is True and openai["key"]["masked"] == "••••7777"
            assert isinstance(openai["warning"], str), "plain http to a host that is not local"
        finally:
            app.stop()


def test_the_environment_still_chooses_the_model_and_its_base_url(
    tmp_path: Path, keyed: FakeProvider, ollama: FakeOllama
) -> None:
    app = start_app(
        tmp_path / "a",
        CHATKIT_DESKTOP_MODEL="openai/fake-local-2",
        CHATKIT_DESKTOP_API_BASE=keyed.openai_base,
        OPENAI_API_KEY=OTHER_KEY,
    )
    try:
        assert answer_text(app.send("From the environment")).startswith("You said: From the environment.")
        assert keyed.last_stream().api_key == OTHER_KEY and keyed.last_stream().body["model"] == "fake-local-2"
        with app.client() as client:
            assert client.get("/api/models").json()["default"] == "openai/fake-local-2"
    finally:
        app.stop()
    local = start_app(tmp_path / "b", CHATKIT_DESKTOP_MODEL=LLAMA, CHATKIT_DESKTOP_API_BASE=f"{ollama.url}/v1")
    try:
        assert answer_text(local.send("Local from the environment")).startswith("You said: [Ollama llama3.2:latest]")
    finally:
        local.stop()


def test_a_custom_providers_key_goes_to_the_keyring_and_is_forgotten_with_it(
    tmp_path: Path, keyed: FakeProvider
) -> None:
    vault = tmp_path / "keyring"
    vault.mkdir()
    app = start_app(
        tmp_path / "data", PYTHON_KEYRING_BACKEND="tests.keyring_backend.FolderKeyring", TEST_KEYRING_DIR=str(vault)
    )
    try:
        added = add_provider(app, "Vaulted", keyed.openai_base, CUSTOM_KEY)
        assert added["key"]["source"] == "keyring"
        assert (vault / f"ChatKit Desktop--{added['id']}").read_text("utf-8") == CUSTOM_KEY
        assert not (tmp_path / "data" / "secrets.json").exists(), "no copy on disk beside the keyring"
        app.send("Key from the keyring", model=f"{added['id']}/fake-local-1")
        assert keyed.last_stream().api_key == CUSTOM_KEY
        with app.client() as client:
            assert client.delete(f"/api/providers/{added['id']}").status_code == 204
        assert not (vault / f"ChatKit Desktop--{added['id']}").exists(), "removing a provider forgets its key"
    finally:
        app.stop()
