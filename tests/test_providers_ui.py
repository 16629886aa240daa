"""Providers in the page, in a real browser (Debian's Chromium, Playwright) against the real app and the fake LLM
(tests/fake_provider) standing in for a cloud endpoint: Settings adds an OpenAI-compatible provider by name, base URL
and key, checks it, and its models answer in the built-in face's picker with that key and no other; a bad base URL
is refused with the server's sentence at its field; a provider is removed after asking; a starred model comes
first in the picker and a hidden one is left out; opening a conversation selects the model it last used and a new
one the default; the ChatKit face (tests/test_chatkit_face.py's stand-in) gets the same order, names the provider
where two offer the same model, and defaults to the open conversation's model; a local server (tests/fake_local.py's
fake Ollama) started after the page appears in the picker; and the section fits a dark 400 px window.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from tests.browser import (
    ANSWER_TIMEOUT,
    CHATKIT_JS,
    WIDE,
    block_chatkit,
    last_answer,
    open_builtin,
    open_settings,
    page_url,
    screenshot,
    send,
    wait_idle,
)
from tests.conftest import OPENAI_KEY
from tests.fake_local import FakeOllama
from tests.fake_provider import MODELS, FakeProvider
from tests.harness import RunningApp, start_app, thread_id_of
from tests.test_chatkit_face import STAND_IN, options

CLOUD_KEY = "sk-cloud-typed-in-settings-0123456789-wxyz"
# The picker as the page shows it: [optgroup label, [option value, …]] in order.
PICKER = """() => [...document.querySelectorAll('.model-picker optgroup')].map(
    (g) => [g.label, [...g.querySelectorAll('option')].map((o) => o.value)])"""


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory, fake: FakeProvider) -> Iterator[RunningApp]:
    """The app on OpenAI (the fake, reached through a base URL from the environment) with its key from the
    environment, and no local server where Ollama and LM Studio usually listen."""
    running = start_app(
        tmp_path_factory.mktemp("providers-ui"),
        CHATKIT_DESKTOP_MODEL="openai/fake-local-1",
        CHATKIT_DESKTOP_API_BASE=fake.openai_base,
        OPENAI_API_KEY=OPENAI_KEY,
        OLLAMA_HOST="127.0.0.1:9",  # nothing listens on the discard port
    )
    yield running
    running.stop()


@pytest.fixture(autouse=True)
def clean(app: RunningApp) -> Iterator[None]:
    """Each test starts with no custom provider, no favourite and no hidden model."""
    yield
    with app.client() as client:
        for provider in client.get("/api/providers").json()["providers"]:
            if provider["kind"] == "custom":
                client.delete(f"/api/providers/{provider['id']}")
    app.settings(favourite_models=[], hidden_models=[])


def add_provider(app: RunningApp, name: str, base_url: str, api_key: str | None = None) -> dict[str, Any]:
    """Add a custom provider over HTTP (as Settings does); returns it."""
    with app.client() as client:
        answer = client.post("/api/providers", json={"name": name, "base_url": base_url, "api_key": api_key})
    assert answer.status_code == 201, answer.text
    provider: dict[str, Any] = answer.json()
    return provider


def assert_model_kept(app: RunningApp, thread_id: str, model: str) -> None:
    """What the page asks when a conversation opens (ChatKit's protocol leaves a thread's metadata out)."""
    with app.client() as client:
        answer = client.get(f"/api/threads/{thread_id}/model")
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"model": model}


def picker(page: Page) -> list[list[Any]]:
    groups: list[list[Any]] = page.evaluate(PICKER)
    return groups


def picker_values(page: Page) -> list[str]:
    return [value for _, values in picker(page) for value in values]


def provider_row(dialog: Any, provider_id: str) -> Any:
    return dialog.locator(f'.provider[data-provider="{provider_id}"]')


def close_settings(page: Page) -> None:
    dialog = page.locator("dialog.settings")
    dialog.get_by_role("button", name="Close", exact=True).click()
    expect(dialog).to_be_hidden()


def test_a_custom_provider_is_added_checked_picked_and_answered_with_its_own_key(
    page: Page, app: RunningApp, fake: FakeProvider
) -> None:
    open_builtin(page, app)
    dialog = open_settings(page)
    dialog.get_by_role("button", name="Add provider").click()
    form = dialog.get_by_role("group", name="New provider")
    form.get_by_label("Name").fill("Fake Cloud")
    form.get_by_label("Base URL").fill(fake.openai_base)
    form.get_by_label("API key (optional)").fill(CLOUD_KEY)
    form.get_by_role("button", name="Add", exact=True).click()

    row = provider_row(dialog, "fake-cloud")
    expect(row).to_be_visible()
    expect(row.locator(".provider-name")).to_have_text("Fake Cloud")
    expect(row.locator(".provider-status")).to_contain_text("Key saved ••••wxyz")
    expect(row.locator(".provider-url")).to_have_text(fake.openai_base)
    expect(form).to_be_hidden()
    # Checked at once after adding, and again on request: the sentence says how many models it lists.
    row.get_by_role("button", name="Check Fake Cloud").click()
    expect(row.locator(".check-result")).to_have_text(
        f"Fake Cloud answered; the key works; {len(MODELS)} models.", timeout=ANSWER_TIMEOUT
    )
    expect(row.locator(".provider-status")).to_contain_text(f"{len(MODELS)} models")
    screenshot(page, "providers-added")
    close_settings(page)

    # Its models are in the picker, in their own group; one of them answers, with the key typed and no other.
    cloud_models = [f"fake-cloud/{name}" for name in MODELS]
    page.wait_for_function(
        "(id) => [...document.querySelectorAll('.model-picker option')].some((o) => o.value === id)",
        arg=cloud_models[1],
    )
    assert ["Fake Cloud", cloud_models] in picker(page)
    page.get_by_label("Model", exact=True).select_option(cloud_models[1])
    fake.clear()
    send(page, "Which key did you get?")
    wait_idle(page)
    expect(last_answer(page)).to_contain_text("You said: Which key did you get?")
    request = fake.last_stream()
    assert request.api_key == CLOUD_KEY
    assert request.model == MODELS[1]
    assert OPENAI_KEY not in [r.api_key for r in fake.requests]
    assert CLOUD_KEY not in page.content()


def test_a_base_url_that_is_not_http_is_refused_with_the_servers_sentence_at_its_field(
    page: Page, app: RunningApp
) -> None:
    with app.client() as client:
        refused = client.post("/api/providers", json={"name": "Gopher", "base_url": "ftp://example.com/v1"})
    assert refused.status_code == 400
    sentence = refused.json()["error"]

    open_builtin(page, app)
    dialog = open_settings(page)
    dialog.get_by_role("button", name="Add provider").click()
    form = dialog.get_by_role("group", name="New provider")
    form.get_by_label("Name").fill("Gopher")
    form.get_by_label("Base URL").fill("ftp://example.com/v1")
    form.get_by_label("Base URL").press("Enter")  # Enter adds; it does not save the whole dialog
    expect(form.locator("#prov-new-base-error")).to_have_text(sentence)
    expect(form.get_by_label("Base URL")).to_be_focused()
    expect(form.get_by_label("Base URL")).to_have_value("ftp://example.com/v1")  # nothing typed is lost
    expect(dialog.locator(".provider[data-kind='custom']")).to_have_count(0)
    expect(dialog.locator(".saved-note")).to_have_text("")

    # An empty name is the name's fault, said under the name.
    form.get_by_label("Name").fill("")
    form.get_by_label("Base URL").fill("https://example.com/v1")
    form.get_by_role("button", name="Add", exact=True).click()
    expect(form.locator("#prov-new-name-error")).to_contain_text("name")
    expect(form.locator("#prov-new-base-error")).to_have_text("")


def test_a_provider_edit_is_saved_with_the_dialog_and_one_the_server_refuses_stays_open_with_its_sentence(
    page: Page, app: RunningApp, fake: FakeProvider
) -> None:
    add_provider(app, "Edit Me", fake.openai_base)
    open_builtin(page, app)
    dialog = open_settings(page)
    row = provider_row(dialog, "edit-me")
    row.get_by_role("button", name="Edit Edit Me").click()
    expect(row.get_by_label("Name")).to_be_focused()
    expect(row.get_by_label("Base URL")).to_have_value(fake.openai_base)
    row.get_by_label("Base URL").fill("ftp://example.com/v1")
    row.get_by_label("Edit Me API key").fill(CLOUD_KEY)
    # What is typed but not saved is not what Check tries, and it says so.
    row.get_by_role("button", name="Check Edit Me").click()
    expect(row.locator(".check-result")).to_contain_text("Save to check your changes", timeout=ANSWER_TIMEOUT)
    dialog.get_by_role("button", name="Save").click()
    expect(row.locator("#prov-edit-me-base-error")).to_contain_text("http:// or https://")
    expect(dialog.locator(".form-error")).to_contain_text("not saved")
    expect(row.get_by_label("Base URL")).to_have_value("ftp://example.com/v1")  # kept to be corrected

    row.get_by_label("Base URL").fill(fake.openai_base)
    row.get_by_label("Name").fill("Edited")
    row.get_by_label("Base URL").press("Enter")  # Enter saves the dialog, the provider's edit with it
    expect(dialog.locator(".saved-note")).to_have_text("Saved.")
    expect(row.locator(".provider-name")).to_have_text("Edited")
    expect(row.locator(".provider-status")).to_contain_text("Key saved ••••wxyz")
    expect(row.locator(".provider-editor")).to_be_hidden()
    with app.client() as client:
        saved = {p["id"]: p for p in client.get("/api/providers").json()["providers"]}["edit-me"]
    assert saved["name"] == "Edited" and saved["base_url"] == fake.openai_base and saved["key"]["set"]


def test_removing_a_custom_provider_asks_first_then_takes_its_models_away(
    page: Page, app: RunningApp, fake: FakeProvider
) -> None:
    add_provider(app, "Spare Gateway", fake.openai_base)
    open_builtin(page, app)
    page.wait_for_function("() => document.querySelector('.model-picker optgroup[label=\"Spare Gateway\"]')")
    dialog = open_settings(page)
    row = provider_row(dialog, "spare-gateway")
    expect(row.locator(".provider-status")).to_contain_text("No key")
    # Built-in and local providers cannot be removed.
    expect(provider_row(dialog, "openai").get_by_role("button", name="Remove OpenAI")).to_be_hidden()
    expect(provider_row(dialog, "ollama").get_by_role("button", name="Remove Ollama")).to_be_hidden()

    row.get_by_role("button", name="Remove Spare Gateway").click()
    confirm = row.get_by_role("group", name="Remove Spare Gateway?")
    expect(confirm).to_be_visible()
    expect(confirm.get_by_role("button", name="Cancel")).to_be_focused()
    confirm.get_by_role("button", name="Cancel").click()
    expect(confirm).to_be_hidden()
    expect(row).to_be_visible()

    row.get_by_role("button", name="Remove Spare Gateway").click()
    confirm.get_by_role("button", name="Remove", exact=True).click()
    expect(row).to_have_count(0)
    with app.client() as client:
        assert "spare-gateway" not in [p["id"] for p in client.get("/api/providers").json()["providers"]]
    close_settings(page)
    page.wait_for_function("() => !document.querySelector('.model-picker optgroup[label=\"Spare Gateway\"]')")
    assert not [value for value in picker_values(page) if value.startswith("spare-gateway/")]


def test_a_starred_model_comes_first_in_the_picker_and_a_hidden_one_is_left_out(
    page: Page, app: RunningApp, fake: FakeProvider
) -> None:
    add_provider(app, "Fake Cloud", fake.openai_base)
    open_builtin(page, app)
    dialog = open_settings(page)
    openai = dialog.locator('.model-group[data-provider="openai"]')
    cloud = dialog.locator('.model-group[data-provider="fake-cloud"]')
    expect(openai.locator(".model-row")).to_have_count(len(MODELS))
    expect(cloud.locator(".model-row")).to_have_count(len(MODELS))
    favourite, hidden = f"openai/{MODELS[1]}", f"fake-cloud/{MODELS[0]}"
    star = openai.locator(f'.model-row[data-model="{favourite}"]').get_by_role("button", name="Favourite")
    star.click()
    expect(star).to_have_attribute("aria-pressed", "true")
    hide = cloud.locator(f'.model-row[data-model="{hidden}"]').get_by_role("button", name="Hide")
    hide.click()
    expect(hide).to_have_attribute("aria-pressed", "true")
    expect(cloud.locator(".model-group-count")).to_have_text(f"{len(MODELS)} models · 1 hidden")
    settings = app.settings()["settings"]
    assert settings["favourite_models"] == [favourite]
    assert settings["hidden_models"] == [hidden]
    screenshot(page, "providers-models")
    close_settings(page)

    # The picker read the lists again when Settings changed them.
    page.wait_for_function(
        "() => document.querySelector('.model-picker optgroup')?.label === 'Favourites'", timeout=10_000
    )
    assert picker(page)[0] == ["Favourites", [favourite]]
    assert hidden not in picker_values(page)
    assert picker_values(page).count(favourite) == 1
    assert f"fake-cloud/{MODELS[1]}" in picker_values(page)

    # Unstarred and shown again, from the same place.
    dialog = open_settings(page)
    openai.locator(f'.model-row[data-model="{favourite}"]').get_by_role("button", name="Favourite").click()
    cloud.locator(f'.model-row[data-model="{hidden}"]').get_by_role("button", name="Hide").click()
    expect(cloud.locator(".model-group-count")).to_have_text(f"{len(MODELS)} models")
    close_settings(page)
    page.wait_for_function(
        "(id) => [...document.querySelectorAll('.model-picker option')].some((o) => o.value === id)", arg=hidden
    )
    assert picker(page)[0][0] != "Favourites"


def test_opening_a_conversation_selects_the_model_it_last_used_and_a_new_one_the_default(
    page: Page, app: RunningApp
) -> None:
    other = f"openai/{MODELS[1]}"
    older = thread_id_of(app.send("Answered by the second model", model=other))
    newer = thread_id_of(app.send("Answered by the default model"))
    assert_model_kept(app, older, other)
    open_builtin(page, app)
    picker_box = page.get_by_label("Model", exact=True)
    expect(picker_box).to_have_value("openai/fake-local-1")

    page.locator(f'.thread[data-id="{older}"] .thread-open').click()
    expect(page.locator(".msg-user").first).to_contain_text("Answered by the second model")
    expect(picker_box).to_have_value(other)
    page.locator(f'.thread[data-id="{newer}"] .thread-open').click()
    expect(page.locator(".msg-user").first).to_contain_text("Answered by the default model")
    expect(picker_box).to_have_value("openai/fake-local-1")
    page.locator(f'.thread[data-id="{older}"] .thread-open').click()
    expect(picker_box).to_have_value(other)
    page.get_by_role("button", name="New chat").click()
    expect(picker_box).to_have_value("openai/fake-local-1")


@pytest.fixture
def stand_in_context(browser: Browser) -> Iterator[BrowserContext]:
    """A browser profile in which chatkit.js's real address serves the stand-in."""
    ctx = browser.new_context(viewport={"width": 1000, "height": 720}, color_scheme="light")
    ctx.route(CHATKIT_JS, lambda route: route.fulfill(status=200, content_type="text/javascript", body=STAND_IN))
    yield ctx
    ctx.close()


def composer_models(page: Page) -> list[dict[str, Any]]:
    models: list[dict[str, Any]] = page.evaluate("() => window.__chatkit.options.composer.models")
    return models


def wait_default(page: Page, model_id: str) -> None:
    page.wait_for_function(
        "(id) => window.__chatkit.options.composer.models.find((m) => m.default)?.id === id", arg=model_id
    )


def test_the_chatkit_face_lists_favourites_first_names_shared_models_and_follows_the_open_conversation(
    stand_in_context: BrowserContext, app: RunningApp, fake: FakeProvider
) -> None:
    add_provider(app, "Fake Cloud", fake.openai_base, CLOUD_KEY)
    favourite = f"fake-cloud/{MODELS[1]}"
    app.settings(favourite_models=[favourite])
    other = f"openai/{MODELS[1]}"
    older = thread_id_of(app.send("For the ChatKit face", model=other))
    assert_model_kept(app, older, other)

    page = stand_in_context.new_page()
    page.goto(page_url(app))
    page.wait_for_function("() => window.__chatkit && window.__chatkit.fetch")
    models = composer_models(page)
    assert models[0]["id"] == favourite
    assert all(set(m) == {"id", "label", "default"} for m in models)
    # Both providers offer the same model names: each label says whose it is.
    labels = {m["id"]: m["label"] for m in models}
    assert labels[favourite] == f"{MODELS[1]} (Fake Cloud)"
    assert labels[other] == f"{MODELS[1]} (OpenAI)"
    assert len(set(labels.values())) == len(labels)
    assert [m["id"] for m in models if m["default"]] == ["openai/fake-local-1"]

    # ChatKit says a conversation was opened: its model becomes the composer's default; a new one, ours.
    change = """(id) => document.querySelector('openai-chatkit').dispatchEvent(
        new CustomEvent('chatkit.thread.change', { detail: { threadId: id } }))"""
    page.evaluate(change, older)
    wait_default(page, other)
    assert options(page)["initialThread"] == older
    assert sum(1 for m in composer_models(page) if m["default"]) == 1
    page.evaluate(change, None)
    wait_default(page, "openai/fake-local-1")


def picker_groups_when_pointed_at(page: Page, present: bool, label: str) -> dict[str, list[str]]:
    """Point at the picker (which asks for the models again, every few seconds at most, as opening it would) until
    the group `label` is there (`present`) or gone; returns the picker's groups."""
    box = page.get_by_label("Model", exact=True)
    for _ in range(60):
        box.hover()
        groups = {group: values for group, values in picker(page)}
        if (label in groups) == present:
            return groups
        page.mouse.move(0, 0)
        page.wait_for_timeout(500)
    raise AssertionError(f"the picker's groups never {'gained' if present else 'lost'} {label}: {groups}")


def test_a_local_server_started_after_the_page_appears_in_the_picker_answers_and_goes_when_stopped(
    browser: Browser, tmp_path_factory: pytest.TempPathFactory
) -> None:
    ollama = FakeOllama()
    ollama.start()
    ollama.stop()  # its port is known, nothing listens there yet
    local_app = start_app(tmp_path_factory.mktemp("local"), OLLAMA_HOST=ollama.host, GEMINI_API_KEY="AIza-unused")
    ctx = browser.new_context(viewport=WIDE)
    block_chatkit(ctx)
    try:
        page = open_builtin(ctx.new_page(), local_app)
        assert "Ollama" not in [label for label, _ in picker(page)]
        ollama.start()
        groups = picker_groups_when_pointed_at(page, True, "Ollama")
        assert "ollama/llama3.2:latest" in groups["Ollama"], groups
        page.get_by_label("Model", exact=True).select_option("ollama/llama3.2:latest")
        send(page, "hello, local model")
        wait_idle(page)
        expect(last_answer(page)).to_contain_text("[Ollama llama3.2:latest] hello, local model")
        assert ollama.last_stream().api_key not in (OPENAI_KEY, "AIza-unused", CLOUD_KEY)  # no one else's key
        ollama.stop()
        groups = picker_groups_when_pointed_at(page, False, "Ollama")
        assert not [value for values in groups.values() for value in values if value.startswith("ollama/")]
    finally:
        ctx.close()
        local_app.stop()
        ollama.stop()


def test_the_providers_section_fits_a_dark_400_px_window(browser: Browser, app: RunningApp, fake: FakeProvider) -> None:
    # 127.0.0.2 is not local as far as the app can tell; nothing listens on port 9, so it fails fast.
    add_provider(app, "Plain Gateway", "http://127.0.0.2:9/v1", "sk-plain-gateway-0123456789")
    ctx = browser.new_context(viewport={"width": 400, "height": 760}, color_scheme="dark")
    block_chatkit(ctx)
    try:
        page = open_builtin(ctx.new_page(), app)
        dialog = open_settings(page)
        row = provider_row(dialog, "plain-gateway")
        # A key over plain http to another machine is warned about.
        expect(row.locator(".provider-warning")).to_contain_text("http")
        row.get_by_role("button", name="Edit Plain Gateway").click()
        expect(row.get_by_label("Base URL")).to_have_value("http://127.0.0.2:9/v1")
        row.scroll_into_view_if_needed()
        for element in (dialog, row):
            box = element.bounding_box()
            assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 400
        assert page.evaluate("document.documentElement.scrollWidth") <= 400
        screenshot(page, "providers-400-dark")
    finally:
        ctx.close()
