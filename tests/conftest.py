"""Shared fixtures: the fake LLM provider, a running app wired to it, and the browser tests' Chromium and page."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

from tests.browser import WIDE, Watch, block_chatkit, launch_chromium
from tests.fake_provider import FakeProvider
from tests.harness import RunningApp, start_app

if TYPE_CHECKING:
    from playwright.sync_api import Browser, BrowserContext, Page

OPENAI_KEY = "sk-test-openai-0123456789-SECRET"
GEMINI_KEY = "AIza-test-gemini-0123456789-SECRET"


@pytest.fixture(scope="session")
def fake() -> Iterator[FakeProvider]:
    """One fake provider for the whole run; tests read `fake.requests` to see what the model received."""
    provider = FakeProvider().start()
    yield provider
    provider.stop()


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory, fake: FakeProvider) -> Iterator[RunningApp]:
    """The app on the search tests' hand-written history (`tests/search_helpers.py`), its index complete."""
    from tests.search_helpers import run_corpus  # imported here: that module imports this one's keys

    yield from run_corpus(tmp_path_factory, fake)


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory, fake: FakeProvider) -> Iterator[RunningApp]:
    """The app with an OpenAI-compatible default model served by the fake (like Ollama or LM Studio)."""
    running = start_app(
        tmp_path_factory.mktemp("data"),
        CHATKIT_DESKTOP_MODEL="openai/fake-local-1",
        CHATKIT_DESKTOP_API_BASE=fake.openai_base,
        OPENAI_API_KEY=OPENAI_KEY,
    )
    yield running
    running.stop()


@pytest.fixture(scope="module")
def gemini_app(tmp_path_factory: pytest.TempPathFactory, fake: FakeProvider) -> Iterator[RunningApp]:
    """The app on its default provider, Gemini, whose API the fake speaks."""
    running = start_app(
        tmp_path_factory.mktemp("data"),
        CHATKIT_DESKTOP_MODEL="gemini/gemini-2.5-flash",
        CHATKIT_DESKTOP_API_BASE=fake.gemini_base,
        GEMINI_API_KEY=GEMINI_KEY,
    )
    yield running
    running.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """One headless Chromium per test module, not per run: while Playwright's sync API is open, its event loop
    counts as running in this thread, so a later module's `asyncio.run()` would fail."""
    with launch_chromium() as launched:
        yield launched


@pytest.fixture
def context(browser: Browser) -> Iterator[BrowserContext]:
    """A fresh browser profile (light, wide) in which chatkit.js fails at once, as it does offline."""
    ctx = browser.new_context(viewport=WIDE, color_scheme="light")
    block_chatkit(ctx)
    yield ctx
    ctx.close()


@pytest.fixture
def watch(context: BrowserContext) -> Iterator[Watch]:
    """A fresh page, watched from its start; the test fails if it showed a dialog or an error."""
    watched = Watch(context.new_page())
    yield watched
    assert watched.errors == [], watched.errors
    assert watched.dialogs == [], watched.dialogs


@pytest.fixture
def page(watch: Watch) -> Page:
    return watch.page
