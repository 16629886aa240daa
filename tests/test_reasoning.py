"""Models that think, end to end over HTTP against the fake provider: the reasoning a provider streams
(`reasoning_content`) reaches the page as ChatKit's reasoning workflow, is kept in the thread file beside the
answer, and is never sent back to the model on later turns; the reasoning effort set for a provider goes to that
provider's requests only."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.fake_provider import THOUGHT, FakeProvider
from tests.harness import RunningApp, events_of, read_thread_file, start_app, thread_id_of

WHOLE_THOUGHT = "".join(THOUGHT)


@pytest.fixture(scope="module")
def thinker(tmp_path_factory: pytest.TempPathFactory, fake: FakeProvider) -> Iterator[RunningApp]:
    running = start_app(
        tmp_path_factory.mktemp("data"),
        CHATKIT_DESKTOP_MODEL="openai/fake-local-1",
        CHATKIT_DESKTOP_API_BASE=fake.openai_base,
    )
    yield running
    running.stop()


@pytest.fixture(scope="module")
def thought(thinker: RunningApp) -> list[dict[str, Any]]:
    """The events of a message whose answer the model thought about first."""
    return thinker.send("Why is the sky blue? [[think]]")


def test_the_models_reasoning_reaches_the_page_as_a_reasoning_workflow(thought: list[dict[str, Any]]) -> None:
    (done,) = [e for e in events_of(thought, "thread.item.done") if e["item"]["type"] == "workflow"]
    workflow = done["item"]["workflow"]
    assert workflow["type"] == "reasoning"
    assert [(t["type"], t["content"]) for t in workflow["tasks"]] == [("thought", WHOLE_THOUGHT)]
    kinds = [e["item"]["type"] for e in events_of(thought, "thread.item.done")]
    assert kinds.index("workflow") < kinds.index("assistant_message"), "the thinking shows before the answer"


def test_the_reasoning_is_kept_in_the_thread_file_and_shown_again_when_reopened(
    thinker: RunningApp, thought: list[dict[str, Any]]
) -> None:
    thread_id = thread_id_of(thought)
    stored = read_thread_file(thinker.data_dir, thread_id)["items"]
    assert [item["type"] for item in stored] == ["user_message", "workflow", "assistant_message"]
    assert stored[1]["workflow"]["tasks"][0]["content"] == WHOLE_THOUGHT
    assert [item["type"] for item in thinker.items(thread_id)] == ["user_message", "workflow", "assistant_message"]


def test_the_reasoning_is_not_sent_back_to_the_model_on_the_next_turn(
    thinker: RunningApp, fake: FakeProvider, thought: list[dict[str, Any]]
) -> None:
    fake.clear()
    thinker.send("And at sunset?", thread_id_of(thought))
    sent = fake.last_stream().messages
    assert [m["role"] for m in sent] == ["system", "user", "assistant", "user"]
    assert not any(THOUGHT[0] in m["content"] for m in sent)


def test_the_reasoning_effort_set_for_a_provider_goes_to_that_providers_requests(
    thinker: RunningApp, fake: FakeProvider
) -> None:
    fake.clear()
    thinker.send("No effort set yet.")
    assert "reasoning_effort" not in fake.last_stream().body
    with thinker.client() as client:
        assert client.put("/api/providers/gemini", json={"reasoning_effort": "low"}).json()["reasoning_effort"] == "low"
        fake.clear()
        thinker.send("Gemini's effort is not OpenAI's.")
        assert "reasoning_effort" not in fake.last_stream().body
        assert client.put("/api/providers/openai", json={"reasoning_effort": "high"}).status_code == 200
        fake.clear()
        thinker.send("Think hard.")
        assert fake.last_stream().body["reasoning_effort"] == "high"
        client.put("/api/providers/openai", json={"reasoning_effort": None})
        fake.clear()
        thinker.send("Back to the model's own.")
        assert "reasoning_effort" not in fake.last_stream().body


def test_an_unknown_reasoning_effort_is_refused(thinker: RunningApp) -> None:
    with thinker.client() as client:
        refused = client.put("/api/providers/openai", json={"reasoning_effort": "maximum"})
    assert refused.status_code == 400
    assert "reasoning_effort" in refused.json()["error"]
