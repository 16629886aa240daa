"""Shared fixtures: the fake LLM provider and a running app wired to it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.fake_provider import FakeProvider
from tests.harness import RunningApp, start_app

OPENAI_KEY = "sk-test-openai-0123456789-SECRET"
GEMINI_KEY = "AIza-test-gemini-0123456789-SECRET"


@pytest.fixture(scope="session")
def fake() -> Iterator[FakeProvider]:
    """One fake provider for the whole run; tests read `fake.requests` to see what the model received."""
    provider = FakeProvider().start()
    yield provider
    provider.stop()


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
