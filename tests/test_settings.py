"""Settings and keys: saved where the README says, masked on the way out, overridden by the environment."""

from __future__ import annotations

import json
import stat
from pathlib import Path
from typing import Any

from tests.conftest import OPENAI_KEY
from tests.fake_provider import FakeProvider
from tests.harness import RunningApp, answer_text, start_app


def key_info(view: dict[str, Any], provider: str) -> dict[str, Any]:
    info: dict[str, Any] = next(k for k in view["keys"] if k["provider"] == provider)
    return info


def test_settings_are_read_and_changed(app: RunningApp) -> None:
    before = app.settings()["settings"]
    try:
        view = app.settings(system_prompt="Answer like a pirate.", ui_mode="builtin")
        assert view["settings"]["system_prompt"] == "Answer like a pirate."
        assert view["settings"]["ui_mode"] == "builtin"
        stored = json.loads((app.data_dir / "settings.json").read_text("utf-8"))
        assert stored["system_prompt"] == "Answer like a pirate."
        with app.client() as client:
            assert client.get("/api/settings").json()["settings"]["ui_mode"] == "builtin"
    finally:
        # The app is shared by the module: put back exactly what was there.
        app.settings(system_prompt=before["system_prompt"], ui_mode=before["ui_mode"])


def test_environment_overrides_are_reported(app: RunningApp, fake: FakeProvider) -> None:
    view = app.settings()
    assert set(view["overridden"]) == {"default_model", "api_base"}
    assert view["settings"]["default_model"] == "openai/fake-local-1"
    assert key_info(view, "openai") == {"provider": "openai", "set": True, "source": "env", "masked": "••••CRET"}


def test_invalid_settings_are_refused_with_a_reason(app: RunningApp) -> None:
    with app.client() as client:
        bad_mode = client.put("/api/settings", json={"ui_mode": "hacker"})
        bad_url = client.put("/api/settings", json={"api_base": "file:///etc/passwd"})
        unknown = client.put("/api/settings", json={"colour": "red"})
    assert bad_mode.status_code == 400 and "ui_mode" in bad_mode.json()["error"]
    assert bad_url.status_code == 400 and "http://" in bad_url.json()["error"]
    assert unknown.status_code == 400


def test_saved_key_is_masked_everywhere_and_kept_in_a_private_file(tmp_path: Path, fake: FakeProvider) -> None:
    secret = "AIzaSyD-this-is-a-secret-gemini-key-XYZW"
    app = start_app(tmp_path, CHATKIT_DESKTOP_API_BASE=fake.gemini_base)
    try:
        with app.client() as client:
            put = client.put("/api/settings", json={"keys": {"gemini": secret}})
            get = client.get("/api/settings")
            models = client.get("/api/models")
        for response in (put, get, models):
            assert secret not in response.text
            assert secret[:-4] not in response.text
        assert key_info(get.json(), "gemini") == {
            "provider": "gemini",
            "set": True,
            "source": "file",
            "masked": "••••XYZW",
        }
        assert get.json()["key_storage"] == "file"
        secrets_file = tmp_path / "secrets.json"
        assert stat.S_IMODE(secrets_file.stat().st_mode) == 0o600
        assert json.loads(secrets_file.read_text("utf-8")) == {"gemini": secret}
        assert (
            secret not in (tmp_path / "settings.json").read_text("utf-8")
            if (tmp_path / "settings.json").exists()
            else True
        )

        answer = app.send("Does my saved key work?")
        assert answer_text(answer).startswith("You said: Does my saved key work?")
        assert fake.last_stream().api_key == secret
        assert secret not in app.stderr

        with app.client() as client:
            cleared = client.put("/api/settings", json={"keys": {"gemini": ""}}).json()
        assert key_info(cleared, "gemini")["set"] is False
        assert json.loads(secrets_file.read_text("utf-8")) == {}
    finally:
        app.stop()


def test_models_offer_the_default_and_what_the_providers_with_a_key_list(app: RunningApp) -> None:
    with app.client() as client:
        models = client.get("/api/models").json()
    ids = [m["id"] for m in models["models"]]
    assert models["default"] == "openai/fake-local-1"
    assert ids[0] == "openai/fake-local-1" and models["models"][0]["default"] is True
    assert ids == ["openai/fake-local-1", "openai/fake-local-2"], "what the server at OpenAI's base URL lists"
    assert not any(i.startswith(("gemini/", "anthropic/")) for i in ids), "no key for those"


def test_catalog_models_and_default_are_in_litellms_bundled_map() -> None:
    import litellm

    from backend.providers import PROVIDERS
    from backend.settings import DEFAULT_MODEL

    bundled = Path(litellm.__file__).parent / "model_prices_and_context_window_backup.json"
    known = json.loads(bundled.read_text("utf-8"))
    assert DEFAULT_MODEL.startswith("gemini/") and "flash" in DEFAULT_MODEL
    for info in PROVIDERS.values():
        for model_id, _ in info.catalog:
            bare = model_id.split("/", 1)[1]
            assert model_id in known or bare in known, model_id


def test_dotenv_in_the_working_directory_is_never_loaded(tmp_path: Path) -> None:
    workdir = tmp_path / "cwd"
    workdir.mkdir()
    (workdir / ".env").write_text("GEMINI_API_KEY=from-dotenv-file-1234\n", "utf-8")
    app = start_app(tmp_path / "data", cwd=str(workdir), PYTHONPATH=str(Path(__file__).resolve().parent.parent))
    try:
        with app.client() as client:
            view = client.get("/api/settings").json()
        assert key_info(view, "gemini")["set"] is False
        events = app.send("hello")
        assert "No API key for Gemini" in [e for e in events if e["type"] == "error"][0]["message"]
    finally:
        app.stop()


def test_key_used_for_openai_is_the_one_given(app: RunningApp, fake: FakeProvider) -> None:
    app.send("Which key?")
    assert fake.last_stream().api_key == OPENAI_KEY


def test_check_key_says_ok_or_what_is_wrong_in_plain_words(app: RunningApp, fake: FakeProvider) -> None:
    with app.client() as client:
        saved = client.post("/api/keys/check", json={"provider": "openai"}).json()
        typed_bad = client.post("/api/keys/check", json={"provider": "openai", "key": "bad-key"}).json()
        no_key = client.post("/api/keys/check", json={"provider": "anthropic"}).json()
        view = client.get("/api/settings").json()
    assert saved == {"ok": True, "message": "OpenAI accepted the key."}
    assert fake.requests[-2].api_key == OPENAI_KEY, "the check is one real request with the saved key"
    assert typed_bad == {"ok": False, "message": "OpenAI rejected the API key — open Settings and check it."}
    assert fake.requests[-1].api_key == "bad-key"
    assert no_key["ok"] is False and no_key["message"].startswith("No API key for Anthropic yet.")
    assert key_info(view, "openai")["masked"] == "••••CRET", "a checked key is not saved"


def test_first_run_without_a_key_is_flagged_for_the_page(tmp_path: Path, app: RunningApp) -> None:
    assert app.settings()["setup_needed"] is False
    fresh = start_app(tmp_path, CHATKIT_DESKTOP_MODEL=None)
    try:
        view = fresh.settings()
        assert view["setup_needed"] is True
        assert view["settings"]["default_model"].startswith("gemini/")
        gemini = next(p for p in view["providers"] if p["id"] == view["setup_provider"])
        assert gemini["key_url"] == "https://aistudio.google.com/apikey" and gemini["label"] == "Gemini"
        assert fresh.settings(keys={"gemini": "AIza-typed-in-settings-0001"})["setup_needed"] is False
    finally:
        fresh.stop()


def test_keys_go_to_the_os_keyring_when_there_is_one(tmp_path: Path, fake: FakeProvider) -> None:
    secret = "sk-kept-in-the-keyring-0123456789-ABCD"
    vault = tmp_path / "keyring"
    vault.mkdir()
    app = start_app(
        tmp_path / "data",
        PYTHON_KEYRING_BACKEND="tests.keyring_backend.FolderKeyring",
        TEST_KEYRING_DIR=str(vault),
        CHATKIT_DESKTOP_MODEL="openai/fake-local-1",
        CHATKIT_DESKTOP_API_BASE=fake.openai_base,
    )
    try:
        view = app.settings(keys={"openai": secret})
        assert view["key_storage"] == "keyring"
        assert key_info(view, "openai") == {
            "provider": "openai",
            "set": True,
            "source": "keyring",
            "masked": "••••ABCD",
        }
        assert (vault / "ChatKit Desktop--openai").read_text("utf-8") == secret
        assert not (tmp_path / "data" / "secrets.json").exists(), "no copy on disk beside the keyring"
        app.send("Does the keyring key work?")
        assert fake.last_stream().api_key == secret
        assert key_info(app.settings(keys={"openai": ""}), "openai")["set"] is False
        assert not (vault / "ChatKit Desktop--openai").exists()
    finally:
        app.stop()
