"""A conversation through the real server, as the ChatKit web component drives it."""

from __future__ import annotations

import pytest

from tests.fake_provider import FakeProvider
from tests.harness import RunningApp, answer_text, events_of, read_thread_file, thread_id_of


def roles_seen(fake: FakeProvider) -> list[str]:
    """The roles of the conversation the model last received (its answer-producing, streamed request)."""
    return [m["role"] for m in fake.last_stream().messages]


@pytest.mark.parametrize("which", ["app", "gemini_app"])
def test_multi_turn_conversation_keeps_every_answer_and_sends_full_history(
    which: str, request: pytest.FixtureRequest, fake: FakeProvider
) -> None:
    app: RunningApp = request.getfixturevalue(which)
    first = app.send("Hello there")
    thread_id = thread_id_of(first)
    assert answer_text(first).startswith("You said: Hello there.")

    second = app.send("What did I say first?", thread_id)
    third = app.send("And now?", thread_id)
    assert "(I received 6 messages: system,user,assistant,user,assistant,user)" in answer_text(third)
    assert roles_seen(fake) == ["system", "user", "assistant", "user", "assistant", "user"]
    sent = fake.last_stream().messages
    assert sent[1]["content"] == "Hello there"
    assert sent[2]["content"] == answer_text(first)
    assert sent[4]["content"] == answer_text(second)

    items = app.items(thread_id)
    assert [i["type"] for i in items] == ["user_message", "assistant_message"] * 3
    ids = [i["id"] for i in items]
    assert len(set(ids)) == 6, ids
    assert "__fake_id__" not in ids
    on_disk = read_thread_file(app.data_dir, thread_id)
    assert on_disk["schema_version"] == 1
    assert [i["id"] for i in on_disk["items"]] == ids


def test_streamed_events_use_one_fresh_id_per_answer(app: RunningApp) -> None:
    events = app.send("Stream this please")
    added = [e["item"]["id"] for e in events_of(events, "thread.item.added")]
    updated = {e["item_id"] for e in events_of(events, "thread.item.updated")}
    done = [e["item"]["id"] for e in events_of(events, "thread.item.done") if e["item"]["type"] == "assistant_message"]
    assert len(added) == 1 and added == done
    assert updated == set(added)
    assert len(events_of(events, "thread.item.updated")) > 2, "the answer should arrive in several deltas"


def test_first_answer_gives_the_thread_a_title(app: RunningApp) -> None:
    events = app.send("Plan a weekend in Lisbon with kids")
    updates = events_of(events, "thread.updated")
    assert updates and updates[-1]["thread"]["title"] == "Fake title Plan a weekend"
    thread_id = thread_id_of(events)
    assert app.call("threads.get_by_id", thread_id=thread_id)["title"] == "Fake title Plan a weekend"
    later = app.send("Another question", thread_id)
    assert not events_of(later, "thread.updated"), "the title is made once"


def test_model_picked_in_composer_is_used_and_remembered_for_retry(app: RunningApp, fake: FakeProvider) -> None:
    events = app.send("Use the other model", model="openai/fake-local-2")
    thread_id = thread_id_of(events)
    assert fake.last_stream().body["model"] == "fake-local-2"
    user_item = app.items(thread_id)[0]
    assert user_item["inference_options"]["model"] == "openai/fake-local-2"

    fake.clear()
    retried = app.stream("threads.retry_after_item", thread_id=thread_id, item_id=user_item["id"])
    assert answer_text(retried).startswith("You said: Use the other model.")
    assert fake.last_stream().body["model"] == "fake-local-2"


def test_retry_replaces_the_answer_and_the_model_sees_no_trace_of_it(app: RunningApp, fake: FakeProvider) -> None:
    thread_id = thread_id_of(app.send("First question"))
    app.send("Second question", thread_id)
    items = app.items(thread_id)
    second_user, old_answer = items[2], items[3]

    retried = app.stream("threads.retry_after_item", thread_id=thread_id, item_id=second_user["id"])
    assert "(I received 4 messages: system,user,assistant,user)" in answer_text(retried)
    items = app.items(thread_id)
    assert len(items) == 4
    assert items[2]["id"] == second_user["id"]
    assert items[3]["id"] != old_answer["id"]


def test_threads_list_paginates_newest_first(app: RunningApp) -> None:
    created = [thread_id_of(app.send(f"Thread number {n}")) for n in range(3)]
    page1 = app.call("threads.list", limit=2, order="desc")
    assert [t["id"] for t in page1["data"]] == created[::-1][:2]
    assert page1["has_more"] is True
    page2 = app.call("threads.list", limit=2, order="desc", after=page1["after"])
    assert page2["data"][0]["id"] == created[0]


def test_items_list_paginates(app: RunningApp) -> None:
    thread_id = thread_id_of(app.send("one"))
    app.send("two", thread_id)
    page = app.call("items.list", thread_id=thread_id, limit=3, order="asc")
    assert len(page["data"]) == 3 and page["has_more"] is True
    rest = app.call("items.list", thread_id=thread_id, limit=3, order="asc", after=page["after"])
    assert len(rest["data"]) == 1 and rest["has_more"] is False
    assert rest["data"][0]["type"] == "assistant_message"


def test_get_rename_and_delete_a_thread(app: RunningApp) -> None:
    thread_id = thread_id_of(app.send("Rename me"))
    thread = app.call("threads.get_by_id", thread_id=thread_id)
    assert [i["type"] for i in thread["items"]["data"]] == ["user_message", "assistant_message"]

    renamed = app.call("threads.update", thread_id=thread_id, title="Trip ideas")
    assert renamed["title"] == "Trip ideas"
    assert read_thread_file(app.data_dir, thread_id)["thread"]["title"] == "Trip ideas"
    listed = {t["id"]: t["title"] for t in app.call("threads.list", limit=100)["data"]}
    assert listed[thread_id] == "Trip ideas"

    app.call("threads.delete", thread_id=thread_id)
    assert not (app.data_dir / "threads" / f"{thread_id}.json").exists()
    assert thread_id not in {t["id"] for t in app.call("threads.list", limit=100)["data"]}
    assert app.post({"type": "threads.get_by_id", "params": {"thread_id": thread_id}}).status_code == 404


def test_feedback_is_stored_in_the_thread_file(app: RunningApp) -> None:
    thread_id = thread_id_of(app.send("Rate my answer"))
    answer_id = app.items(thread_id)[1]["id"]
    app.call("items.feedback", thread_id=thread_id, item_ids=[answer_id], kind="positive")
    assert read_thread_file(app.data_dir, thread_id)["thread"]["metadata"]["feedback"] == {answer_id: "positive"}
    app.call("items.feedback", thread_id=thread_id, item_ids=[answer_id], kind="negative")
    assert read_thread_file(app.data_dir, thread_id)["thread"]["metadata"]["feedback"] == {answer_id: "negative"}


def test_long_thread_is_cut_oldest_first_to_fit_the_context_window(app: RunningApp, fake: FakeProvider) -> None:
    thread_id = thread_id_of(app.send("Opening message " + "alpha " * 150))
    for n in range(4):
        app.send(f"Message {n} " + "beta " * 150, thread_id)
    before = app.settings()["settings"]
    try:
        app.settings(context_window=1200, system_prompt="SYSTEM PROMPT STAYS")
        events = app.send("The newest question", thread_id)
    finally:
        # The app is shared by the module: put back exactly what was there.
        app.settings(context_window=before["context_window"], system_prompt=before["system_prompt"])
    sent = fake.last_stream().messages
    assert sent[0] == {"role": "system", "content": "SYSTEM PROMPT STAYS"}
    assert sent[-1]["content"] == "The newest question"
    assert not any("Opening message" in m["content"] for m in sent), "the oldest turn is cut first"
    assert 2 < len(sent) < 12, f"some history is kept, not all: {len(sent)} messages"
    assert answer_text(events).startswith("You said: The newest question.")
    assert len(app.items(thread_id)) == 12, "cutting what is sent never removes anything from the thread"


def test_whole_history_is_sent_when_it_fits(app: RunningApp, fake: FakeProvider) -> None:
    thread_id = thread_id_of(app.send("m0"))
    for n in range(1, 12):
        app.send(f"m{n}", thread_id)
    sent = fake.last_stream().messages
    assert len(sent) == 1 + 12 * 2 - 1, "all 23 earlier messages plus the system prompt, not the last N"
