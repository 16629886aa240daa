"""web/conversation-stream.js on its own, in the browser: how the events of a ChatKit answer stream become the
conversation the built-in face shows.

The module is plain functions (no page, no network), so each test feeds it a made-up event sequence in the
running app's page and reads back the conversation after every event, with the changes the face would redraw.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser import block_chatkit, page_url
from tests.harness import RunningApp

PLAY = """async ({ events, outcome, retry }) => {
    const s = await import('/conversation-stream.js');
    const conversation = s.newConversation();
    let stream;
    if (retry) {
        conversation.thread = { id: 'thr_1', title: 'Earlier' };
        s.addEntry(conversation, { type: 'user_message', id: 'msg_q', content: [{ type: 'input_text', text: 'Hi' }] });
        stream = s.startStream(conversation, { threadId: 'thr_1', userId: 'msg_q' });
    } else {
        const question = s.addEntry(conversation,
            { type: 'user_message', id: null, content: [{ type: 'input_text', text: 'Hi' }] }, { pending: true });
        stream = s.startStream(conversation, { userEntry: question, text: 'Hi' });
    }
    const thought = (e) => e.item.type === 'workflow';
    const entry = (e) => ({
        role: e.item.type === 'user_message' ? 'user' : thought(e) ? 'reasoning' : 'assistant',
        id: e.item.id, text: thought(e) ? s.thoughtsOf(e.item) : s.textOf(e.item), pending: e.pending,
        stopped: e.stopped,
    });
    // Through JSON so that the fields a change does not have are left out rather than read back as None.
    const change = (c) => JSON.parse(JSON.stringify({ type: c.type, entry: c.entry && entry(c.entry),
        before: c.before && entry(c.before), thread: c.thread && c.thread.id, top: c.top, message: c.message,
        kind: c.kind }));
    const step = (changes) => ({
        changes: changes.map(change),
        entries: conversation.entries.map(entry),
        thread: conversation.thread,
        threadId: stream.threadId,
        userId: stream.userId,
        failed: stream.failed,
        answer: stream.assistant ? conversation.entries.indexOf(stream.assistant) : null,
    });
    const steps = [step([])];
    for (const event of events) steps.push(step(s.applyStreamEvent(conversation, stream, event)));
    if (outcome) steps.push(step(s.finishStream(conversation, stream, outcome)));
    return steps;
}"""

THREAD = {"id": "thr_1", "title": None, "created_at": "2025-01-01T10:00:00", "status": {"type": "active"}}


@pytest.fixture(scope="module")
def page(browser: Browser, app: RunningApp) -> Iterator[Page]:
    """The app's page, opened once: the tests only import a module into it."""
    ctx = browser.new_context()
    block_chatkit(ctx)
    opened = ctx.new_page()
    errors: list[str] = []
    opened.on("pageerror", lambda error: errors.append(str(error)))
    opened.goto(page_url(app))
    expect(opened.locator(".builtin")).to_be_visible(timeout=10_000)
    yield opened
    ctx.close()
    assert errors == []


def play(page: Page, events: list[dict[str, Any]], outcome: dict[str, Any] | None = None, retry: bool = False) -> Any:
    """The conversation before any event, then after each event (and after the stream's end, if `outcome`)."""
    return page.evaluate(PLAY, {"events": events, "outcome": outcome, "retry": retry})


def created() -> dict[str, Any]:
    return {"type": "thread.created", "thread": {**THREAD, "items": {"data": [], "has_more": False}}}


def question_saved(item_id: str = "msg_q", text: str = "Hi") -> dict[str, Any]:
    item = {
        "type": "user_message",
        "id": item_id,
        "thread_id": "thr_1",
        "content": [{"type": "input_text", "text": text}],
    }
    return {"type": "thread.item.added", "item": item}


def answer(kind: str, text: str = "", item_id: str = "msg_a") -> dict[str, Any]:
    """`thread.item.added`, `.done` or `.replaced` for an answer holding `text`."""
    content = [{"type": "output_text", "text": text, "annotations": []}] if text or kind == "done" else []
    item = {"type": "assistant_message", "id": item_id, "thread_id": "thr_1", "content": content}
    return {"type": f"thread.item.{kind}", "item": item}


def update(kind: str, item_id: str = "msg_a", **fields: Any) -> dict[str, Any]:
    return {
        "type": "thread.item.updated",
        "item_id": item_id,
        "update": {"type": f"assistant_message.content_part.{kind}", "content_index": 0, **fields},
    }


def delta(text: str, item_id: str = "msg_a") -> dict[str, Any]:
    return update("text_delta", item_id, delta=text)


def part_added() -> dict[str, Any]:
    return update("added", content={"type": "output_text", "text": "", "annotations": []})


def part_done(text: str) -> dict[str, Any]:
    return update("done", content={"type": "output_text", "text": text, "annotations": []})


def answer_of(step: dict[str, Any]) -> dict[str, Any]:
    answer: dict[str, Any] = step["entries"][step["answer"]]
    return answer


def streamed(*deltas: str) -> list[dict[str, Any]]:
    """A new conversation whose answer has streamed these deltas so far."""
    return [created(), question_saved(), answer("added"), part_added(), *[delta(text) for text in deltas]]


def test_streamed_deltas_build_the_answer_text_in_order(page: Page) -> None:
    steps = play(
        page,
        [
            *streamed("The ", "quick ", "brown fox."),
            part_done("The quick brown fox."),
            answer("done", "The quick brown fox."),
        ],
    )
    assert [answer_of(step)["text"] for step in steps] == [
        "",
        "",
        "",
        "",
        "",
        "The ",
        "The quick ",
        "The quick brown fox.",
        "The quick brown fox.",
        "The quick brown fox.",
    ]
    # One question and one answer all along: the waiting answer is the one that fills in.
    assert all(len(step["entries"]) == 2 for step in steps)
    assert steps[-1]["entries"] == [
        {"role": "user", "id": "msg_q", "text": "Hi", "pending": False, "stopped": False},
        {"role": "assistant", "id": "msg_a", "text": "The quick brown fox.", "pending": False, "stopped": False},
    ]


def test_the_answer_shows_as_being_written_until_its_item_is_done(page: Page) -> None:
    steps = play(page, [*streamed("Almost"), answer("done", "Almost there.")])
    assert [answer_of(step)["pending"] for step in steps] == [True] * 6 + [False]
    assert answer_of(steps[-1])["text"] == "Almost there."


def test_every_delta_asks_for_the_answer_to_be_redrawn(page: Page) -> None:
    steps = play(page, [*streamed("a", "b")])
    assert [[c["type"] for c in step["changes"]] for step in steps[-2:]] == [["changed"], ["changed"]]
    assert steps[-1]["changes"][0]["entry"]["text"] == "ab"


def test_the_question_sent_takes_the_id_it_was_saved_under(page: Page) -> None:
    before, after = play(page, [question_saved("msg_q", "Hi")])
    assert before["entries"][0] == {"role": "user", "id": None, "text": "Hi", "pending": True, "stopped": False}
    assert after["entries"][0] == {"role": "user", "id": "msg_q", "text": "Hi", "pending": False, "stopped": False}
    assert len(after["entries"]) == 2  # taken over, not shown twice
    assert after["changes"] == [{"type": "changed", "entry": after["entries"][0]}]
    assert after["userId"] == "msg_q"  # what a retry after a failure answers again


def test_an_added_event_without_text_keeps_what_was_already_streamed(page: Page) -> None:
    steps = play(page, [*streamed("Kept so far"), answer("added"), answer("replaced", "Replaced whole")])
    assert answer_of(steps[-2])["text"] == "Kept so far"
    assert answer_of(steps[-1])["text"] == "Replaced whole"
    assert all(len(step["entries"]) == 2 for step in steps)


def test_an_error_event_is_the_sentence_shown_and_an_empty_answer_is_dropped(page: Page) -> None:
    sentence = "OpenAI had a server error. Try again in a moment."
    steps = play(
        page, [created(), question_saved(), {"type": "error", "message": sentence, "allow_retry": True}], outcome={}
    )
    assert steps[-2]["failed"] == sentence
    end = steps[-1]
    assert end["failed"] == sentence
    assert end["entries"] == [{"role": "user", "id": "msg_q", "text": "Hi", "pending": False, "stopped": False}]
    assert [c["type"] for c in end["changes"]] == ["removed"]


def test_an_error_event_without_a_message_still_says_something(page: Page) -> None:
    steps = play(page, [{"type": "error"}])
    assert steps[-1]["failed"] == "Something went wrong while answering."


def test_an_answer_removed_mid_stream_disappears_and_its_late_deltas_are_ignored(page: Page) -> None:
    sentence = "The model stopped answering."
    steps = play(
        page,
        [
            *streamed("Half an ans"),
            {"type": "thread.item.removed", "item_id": "msg_a"},
            {"type": "error", "message": sentence},
            delta("wer"),
        ],
        outcome={},
    )
    removed = steps[6]
    assert [c["type"] for c in removed["changes"]] == ["removed"]
    assert removed["changes"][0]["entry"]["text"] == "Half an ans"
    assert removed["answer"] is None
    late, end = steps[-2], steps[-1]
    assert late["changes"] == [] and end["changes"] == []
    assert end["entries"] == [{"role": "user", "id": "msg_q", "text": "Hi", "pending": False, "stopped": False}]
    assert end["failed"] == sentence


def test_a_new_thread_becomes_the_open_conversation(page: Page) -> None:
    before, after = play(page, [created()])
    assert before["thread"] is None and before["threadId"] is None
    assert after["thread"] == THREAD  # its metadata, without the items (they come as events of their own)
    assert after["threadId"] == "thr_1"
    assert after["changes"] == [{"type": "thread", "thread": "thr_1", "top": True}]  # listed first


def test_a_renamed_thread_is_passed_on_without_moving_it_up(page: Page) -> None:
    renamed = {"type": "thread.updated", "thread": {**THREAD, "title": "Fox facts"}}
    _, after = play(page, [renamed])
    assert after["changes"] == [{"type": "thread", "thread": "thr_1", "top": False}]
    assert after["thread"] is None  # the list and the header take it from there


def test_unknown_events_change_nothing(page: Page) -> None:
    ignored: list[dict[str, Any]] = [
        {"type": "stream_options", "stream_options": {"allow_cancel": True}},
        {"type": "progress_update", "text": "Thinking…"},
        {"type": "client_effect", "name": "confetti"},
        {"type": "thread.item.shiny_new", "item_id": "msg_a"},
        {"type": "thread.item.added", "item": {"type": "widget", "id": "w_1", "widget": {}}},
        delta("nobody's", item_id="msg_unknown"),
        {"type": "thread.item.removed", "item_id": "msg_unknown"},
        {"type": "thread.item.updated", "item_id": "msg_q", "update": {"type": "whatever"}},
    ]
    steps = play(page, ignored)
    start = {key: value for key, value in steps[0].items() if key != "changes"}
    for event, step in zip(ignored, steps[1:], strict=True):
        assert step["changes"] == [], event
        assert {key: value for key, value in step.items() if key != "changes"} == start, event


def test_updates_to_a_question_are_ignored(page: Page) -> None:
    steps = play(page, [question_saved(), delta("sneaky", item_id="msg_q")])
    assert steps[-1]["changes"] == []
    assert steps[-1]["entries"][0]["text"] == "Hi"


def test_stop_keeps_the_text_shown_and_marks_the_answer_stopped(page: Page) -> None:
    steps = play(page, streamed("Once upon a ", "time"), outcome={"stopped": True})
    end = steps[-1]
    assert end["changes"] == []
    assert answer_of(end) == {
        "role": "assistant",
        "id": "msg_a",
        "text": "Once upon a time",
        "pending": False,
        "stopped": True,
    }
    assert end["failed"] is None


def test_stop_before_any_text_removes_the_waiting_answer(page: Page) -> None:
    steps = play(page, [created(), question_saved(), answer("added")], outcome={"stopped": True})
    end = steps[-1]
    assert [c["type"] for c in end["changes"]] == ["removed"]
    assert [e["role"] for e in end["entries"]] == ["user"]


def test_a_broken_connection_is_shown_as_its_sentence_and_keeps_the_partial_answer(page: Page) -> None:
    sentence = "The connection to ChatKit Desktop broke off mid-answer."
    steps = play(page, streamed("Part of it"), outcome={"failed": sentence})
    end = steps[-1]
    assert end["failed"] == sentence
    assert answer_of(end) == {
        "role": "assistant",
        "id": "msg_a",
        "text": "Part of it",
        "pending": False,
        "stopped": False,
    }


def test_an_answer_that_runs_to_its_end_leaves_no_error(page: Page) -> None:
    steps = play(page, [*streamed("Done."), answer("done", "Done.")], outcome={})
    assert steps[-1]["failed"] is None and steps[-1]["changes"] == []
    assert answer_of(steps[-1])["pending"] is False


def test_notices_become_toasts_of_their_level(page: Page) -> None:
    steps = play(
        page,
        [
            {"type": "notice", "level": "danger", "message": "Your key was rejected."},
            {"type": "notice", "level": "info", "message": "Using a smaller model."},
        ],
    )
    assert [step["changes"] for step in steps[1:]] == [
        [{"type": "notice", "message": "Your key was rejected.", "kind": "error"}],
        [{"type": "notice", "message": "Using a smaller model.", "kind": "info"}],
    ]


def test_a_retried_answer_keeps_the_question_it_answers_for_another_try(page: Page) -> None:
    steps = play(
        page,
        [answer("added"), delta("Second go"), {"type": "error", "message": "Failed again."}],
        outcome={},
        retry=True,
    )
    first = steps[0]
    assert [(e["role"], e["id"], e["pending"]) for e in first["entries"]] == [
        ("user", "msg_q", False),
        ("assistant", None, True),
    ]
    end = steps[-1]
    assert (end["threadId"], end["userId"], end["failed"]) == ("thr_1", "msg_q", "Failed again.")
    assert answer_of(end)["text"] == "Second go"
    assert end["thread"] == {"id": "thr_1", "title": "Earlier"}  # a retry does not create a thread


def thinking(kind: str, *thoughts: str) -> dict[str, Any]:
    """`thread.item.added` or `.done` for a reasoning workflow holding these thoughts."""
    tasks = [{"type": "thought", "content": text, "status_indicator": "none"} for text in thoughts]
    item = {"type": "workflow", "id": "wf_1", "thread_id": "thr_1", "workflow": {"type": "reasoning", "tasks": tasks}}
    return {"type": f"thread.item.{kind}", "item": item}


def task(kind: str, text: str) -> dict[str, Any]:
    update = {"type": f"workflow.task.{kind}", "task_index": 0, "task": {"type": "thought", "content": text}}
    return {"type": "thread.item.updated", "item_id": "wf_1", "update": update}


def test_a_models_thought_is_shown_ahead_of_its_answer_and_grows_as_it_streams(page: Page) -> None:
    steps = play(
        page,
        [
            created(),
            question_saved(),
            thinking("added"),
            task("added", "Weighing "),
            task("updated", "Weighing the question."),
            thinking("done", "Weighing the question."),
            *streamed("Blue.")[2:],
            answer("done", "Blue."),
        ],
    )
    placed = steps[3]["changes"][0]
    assert (placed["type"], placed["entry"]["role"], placed["before"]["role"]) == ("added", "reasoning", "assistant")
    assert [step["entries"][1]["text"] for step in steps[3:7]] == ["", "Weighing ", *["Weighing the question."] * 2]
    assert [step["entries"][1]["pending"] for step in steps[3:7]] == [True, True, True, False]
    assert [(e["role"], e["text"]) for e in steps[-1]["entries"]] == [
        ("user", "Hi"),
        ("reasoning", "Weighing the question."),
        ("assistant", "Blue."),
    ]
