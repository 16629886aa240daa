"""The Settings dialog, in a real browser (Debian's Chromium, Playwright) against the real app and the fake
LLM: a typed key is saved and never comes back whole, keys from the environment are shown fixed, a key can be
checked, the first run opens Settings, and the dialog fits a 400 px window. The keys live in each provider's
editor (web/providers.js; the rest of the Providers section is tests/test_providers_ui.py's).
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, Response, expect

from tests.browser import (
    ANSWER_TIMEOUT,
    WIDE,
    block_chatkit,
    open_builtin,
    open_settings,
    page_url,
    screenshot,
    send,
)
from tests.fake_provider import BAD_KEY, FakeProvider
from tests.harness import RunningApp, start_app


@pytest.fixture(scope="module")
def keyless_app(tmp_path_factory: pytest.TempPathFactory, fake: FakeProvider) -> Iterator[RunningApp]:
    """An app on a local OpenAI-compatible model (the fake) with no key from the environment: keys are
    typed in Settings, and a typed key is checked against the fake."""
    running = start_app(
        tmp_path_factory.mktemp("keyless"),
        CHATKIT_DESKTOP_MODEL="openai/fake-local-1",
        CHATKIT_DESKTOP_API_BASE=fake.openai_base,
    )
    yield running
    running.stop()


def test_settings_save_a_key_that_never_comes_back_whole(page: Page, keyless_app: RunningApp) -> None:
    secret = "sk-browser-test-0123456789-TOPSECRET-wxyz"
    bodies: list[str] = []

    def keep(response: Response) -> None:
        if response.url.startswith(keyless_app.base):
            with contextlib.suppress(Exception):  # a streamed or aborted body has none to give
                bodies.append(response.text())

    page.on("response", keep)
    open_builtin(page, keyless_app)
    dialog = open_settings(page)
    expect(dialog).to_contain_text("Keys you enter are kept in secrets.json")
    row = dialog.locator('.provider[data-provider="openai"]')
    expect(row.locator(".provider-status")).to_contain_text("No key")
    row.get_by_role("button", name="Edit OpenAI").click()
    row.get_by_label("OpenAI API key").fill(secret)
    dialog.get_by_role("button", name="Save").click()
    expect(dialog.locator(".saved-note")).to_have_text("Saved.")
    expect(row.locator(".provider-status")).to_contain_text("Key saved ••••wxyz")
    expect(row.get_by_label("OpenAI API key")).to_have_value("")
    screenshot(page, "settings")

    # The key went in once and never came back whole: not in any response, not in the page.
    page.reload()
    expect(page.locator(".builtin")).to_be_visible(timeout=10_000)
    dialog = open_settings(page)
    expect(dialog.locator('.provider[data-provider="openai"] .provider-status')).to_contain_text("••••wxyz")
    assert bodies, "no responses were captured"
    assert not [body for body in bodies if secret in body]
    assert secret not in page.content()
    assert secret not in page.evaluate("[...document.querySelectorAll('input, textarea')].map(e => e.value).join(' ')")
    assert "TOPSECRET" not in page.evaluate("document.body.innerText")
    secrets_file = keyless_app.data_dir / "secrets.json"
    assert secret in secrets_file.read_text()  # it is stored (no keyring on the test machine)

    # Forget it again.
    row = dialog.locator('.provider[data-provider="openai"]')
    row.get_by_role("button", name="Edit OpenAI").click()
    row.get_by_role("button", name="Forget key").click()
    expect(row.locator(".provider-status")).to_contain_text("No key")
    assert secret not in secrets_file.read_text()


def test_settings_show_env_keys_fixed_and_400_sentences(page: Page, app: RunningApp) -> None:
    open_builtin(page, app)
    dialog = open_settings(page)
    openai = dialog.locator('.provider[data-provider="openai"]')
    expect(openai.locator(".provider-status")).to_contain_text("Key from OPENAI_API_KEY")
    openai.get_by_role("button", name="Edit OpenAI").click()
    expect(openai.get_by_label("OpenAI API key")).to_be_disabled()
    expect(openai).to_contain_text("Set by the environment variable OPENAI_API_KEY.")
    expect(openai.get_by_role("button", name="Forget key")).to_be_hidden()
    expect(dialog.get_by_label("Default model")).to_be_disabled()  # fixed by CHATKIT_DESKTOP_MODEL
    expect(dialog.get_by_label("Default model")).to_have_value("openai/fake-local-1")
    expect(dialog).to_contain_text("CHATKIT_DESKTOP_MODEL")
    # Local servers are looked for at their usual addresses, with no setting touched.
    expect(dialog.locator('.provider[data-provider="ollama"] .provider-url')).to_contain_text("127.0.0.1:11434")
    expect(dialog.locator('.provider[data-provider="lm_studio"] .provider-url')).to_contain_text("127.0.0.1:1234")
    dialog.locator("summary", has_text="Advanced").click()
    dialog.get_by_label("Context window (tokens)").fill("12")
    dialog.get_by_role("button", name="Save").click()
    expect(dialog.locator(".form-error")).to_contain_text("context_window")
    expect(dialog.locator(".form-error")).to_contain_text("256")
    dialog.get_by_label("Context window (tokens)").fill("")
    dialog.get_by_role("button", name="Close", exact=True).click()
    expect(dialog).to_be_hidden()


def test_check_key_good_and_rejected(page: Page, keyless_app: RunningApp) -> None:
    open_builtin(page, keyless_app)
    dialog = open_settings(page)
    row = dialog.locator('.provider[data-provider="openai"]')
    row.get_by_role("button", name="Edit OpenAI").click()
    row.get_by_label("OpenAI API key").fill("sk-a-good-key-0123456789")
    # A typed key is checked before it is saved.
    row.get_by_role("button", name="Check OpenAI").click()
    expect(row.locator(".check-result")).to_have_text("OpenAI accepted the key.", timeout=ANSWER_TIMEOUT)
    row.get_by_label("OpenAI API key").fill(BAD_KEY)
    row.get_by_role("button", name="Check OpenAI").click()
    expect(row.locator(".check-result")).to_have_text(
        "OpenAI rejected the API key — open Settings and check it.", timeout=ANSWER_TIMEOUT
    )
    expect(row.locator(".check-result")).to_have_class(re.compile(r"\bbad\b"))


def test_first_run_opens_settings_with_the_gemini_sentence(
    browser: Browser, tmp_path_factory: pytest.TempPathFactory
) -> None:
    first = start_app(tmp_path_factory.mktemp("first-run"))  # Gemini by default, no key anywhere
    ctx = browser.new_context(viewport=WIDE)
    block_chatkit(ctx)
    try:
        page = ctx.new_page()
        page.goto(page_url(first))
        dialog = page.locator("dialog.settings")
        expect(dialog).to_be_visible(timeout=10_000)
        note = dialog.locator(".setup-note")
        expect(note).to_contain_text("Gemini API key")
        expect(note).to_contain_text("stays on this computer")
        expect(note.get_by_role("link")).to_have_attribute("href", "https://aistudio.google.com/apikey")
        expect(dialog.get_by_label("Gemini API key")).to_be_focused()
        expect(page.locator(".builtin")).to_be_attached(timeout=10_000)
        screenshot(page, "first-run-settings")
        # Once closed, sending a message says plainly what is missing.
        dialog.get_by_role("button", name="Close", exact=True).click()
        send(page, "hello?")
        expect(page.locator(".msg-error")).to_contain_text("No API key for Gemini yet", timeout=ANSWER_TIMEOUT)
    finally:
        ctx.close()
        first.stop()


def test_settings_usable_at_400_px(browser: Browser, app: RunningApp) -> None:
    ctx = browser.new_context(viewport={"width": 400, "height": 760})
    block_chatkit(ctx)
    try:
        page = open_builtin(ctx.new_page(), app)
        dialog = open_settings(page)
        box = dialog.bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 400
        screenshot(page, "settings-400")
    finally:
        ctx.close()


def choose_openais_effort(page: Page, shown: str, chosen: str) -> None:
    """In Settings, OpenAI's editor shows the effort `shown`; `chosen` is picked and saved."""
    dialog = open_settings(page)
    row = dialog.locator('.provider[data-provider="openai"]')
    row.get_by_role("button", name="Edit OpenAI").click()
    expect(row.get_by_label("Reasoning effort")).to_have_value(shown)
    row.get_by_label("Reasoning effort").select_option(chosen)
    dialog.get_by_role("button", name="Save").click()
    expect(dialog.locator(".saved-note")).to_have_text("Saved.")


def test_a_providers_reasoning_effort_is_chosen_in_its_editor_and_reaches_its_requests(
    page: Page, keyless_app: RunningApp, fake: FakeProvider
) -> None:
    open_builtin(page, keyless_app)
    choose_openais_effort(page, shown="", chosen="high")
    page.keyboard.press("Escape")
    fake.clear()
    send(page, "Think it through.")
    expect(page.locator(".msg-assistant").last).to_contain_text("You said: Think it through.", timeout=ANSWER_TIMEOUT)
    assert fake.last_stream().body["reasoning_effort"] == "high"

    choose_openais_effort(page, shown="high", chosen="")
    assert "openai" not in keyless_app.settings()["settings"]["reasoning_effort"]


def test_a_proxy_is_set_in_advanced_settings_and_a_bad_one_is_refused_with_a_sentence(
    page: Page, keyless_app: RunningApp
) -> None:
    open_builtin(page, keyless_app)
    dialog = open_settings(page)
    dialog.locator("summary", has_text="Advanced").click()
    proxy = dialog.get_by_label("Proxy for providers")
    proxy.fill("ftp://proxy.example:21")
    dialog.get_by_role("button", name="Save").click()
    expect(dialog).to_contain_text("must start with http:// or https://")
    proxy.fill("http://proxy.example:8080")
    dialog.get_by_role("button", name="Save").click()
    expect(dialog.locator(".saved-note")).to_have_text("Saved.")
    assert keyless_app.settings()["settings"]["proxy"] == "http://proxy.example:8080"
    dialog.locator("summary", has_text="Advanced").click()  # the dialog is drawn again after a save
    expect(proxy).to_have_value("http://proxy.example:8080")
    proxy.fill("")
    dialog.get_by_role("button", name="Save").click()
    expect(dialog.locator(".saved-note")).to_have_text("Saved.")
    assert keyless_app.settings()["settings"]["proxy"] is None
