"""The titles shown in the thread list (`backend.titles`).

`tidy` turns the model's reply into a title: one line, without quotes, Markdown marks, a "Title:" prefix or
a final full stop, at most 80 characters. `fallback_title` is the title when no model can help: the first
six words of the message, with an ellipsis when there are more, or "New chat" for an empty message.
"""

from __future__ import annotations

from datetime import datetime

import pytest
from chatkit.types import (
    FileAttachment,
    InferenceOptions,
    UserMessageContent,
    UserMessageItem,
    UserMessageTagContent,
    UserMessageTextContent,
)

from backend.titles import MAX_LENGTH, fallback_title, tidy, typed_text


def test_a_plain_reply_is_the_title_as_it_is() -> None:
    assert tidy("Weekend in Lisbon with kids") == "Weekend in Lisbon with kids"


@pytest.mark.parametrize(
    "reply",
    ['"Weekend in Lisbon"', "“Weekend in Lisbon”", "'Weekend in Lisbon'", '  "Weekend in Lisbon"  '],
)
def test_quotes_around_the_reply_are_removed(reply: str) -> None:
    assert tidy(reply) == "Weekend in Lisbon"


@pytest.mark.parametrize(
    "reply", ["**Weekend in Lisbon**", "*Weekend in Lisbon*", "# Weekend in Lisbon", "## Weekend in Lisbon"]
)
def test_markdown_marks_around_the_reply_are_removed(reply: str) -> None:
    assert tidy(reply) == "Weekend in Lisbon"


@pytest.mark.parametrize("reply", ["Title: Weekend in Lisbon", "title:Weekend in Lisbon", "TITLE :  Weekend in Lisbon"])
def test_a_title_prefix_is_removed_whatever_its_case(reply: str) -> None:
    assert tidy(reply) == "Weekend in Lisbon"


@pytest.mark.parametrize("reply", ['Title: "Weekend in Lisbon"', "**Title:** Weekend in Lisbon"])
def test_quotes_and_marks_after_a_title_prefix_are_removed_too(reply: str) -> None:
    assert tidy(reply) == "Weekend in Lisbon"


def test_a_reply_over_several_lines_becomes_one_line() -> None:
    assert tidy("  Weekend\n in \t Lisbon \n") == "Weekend in Lisbon"


@pytest.mark.parametrize("reply", ["Weekend in Lisbon.", '"Weekend in Lisbon."', "Weekend in Lisbon..."])
def test_a_final_full_stop_is_removed(reply: str) -> None:
    assert tidy(reply) == "Weekend in Lisbon"


def test_a_question_keeps_its_question_mark() -> None:
    assert tidy("Is Lisbon good for kids?") == "Is Lisbon good for kids?"


def test_a_title_is_at_most_80_characters() -> None:
    assert MAX_LENGTH == 80
    title = tidy("Lisbon " * 40)
    assert len(title) <= 80
    assert title.startswith("Lisbon Lisbon")


def test_an_empty_reply_gives_an_empty_title_so_the_caller_falls_back() -> None:
    assert tidy("") == ""
    assert tidy(' "" ') == ""
    assert tidy("Title:") == ""


def test_the_fallback_is_the_first_six_words_and_an_ellipsis_when_there_are_more() -> None:
    assert fallback_title("Plan a weekend in Lisbon with kids please") == "Plan a weekend in Lisbon with…"


def test_a_message_of_six_words_or_fewer_is_its_own_fallback_title() -> None:
    assert fallback_title("Plan a weekend in Lisbon please") == "Plan a weekend in Lisbon please"
    assert fallback_title("Hello") == "Hello"


def test_the_fallback_title_is_one_line() -> None:
    assert fallback_title("Plan\na   weekend\tin\n\nLisbon") == "Plan a weekend in Lisbon"


def test_the_number_of_words_can_be_chosen() -> None:
    assert fallback_title("one two three four", words=2) == "one two…"


@pytest.mark.parametrize("message", ["", "   ", "\n\t"])
def test_an_empty_message_is_titled_new_chat(message: str) -> None:
    assert fallback_title(message) == "New chat"


def test_a_fallback_title_of_long_words_is_at_most_80_characters() -> None:
    assert len(fallback_title("Supercalifragilisticexpialidocious " * 6)) <= 80


def test_a_fallback_title_cut_to_80_characters_still_ends_with_an_ellipsis() -> None:
    title = fallback_title("Supercalifragilisticexpialidocious " * 7)
    assert len(title) <= 80
    assert title.endswith("…")


def _message(text: str, *names: str, content: list[UserMessageContent] | None = None) -> UserMessageItem:
    return UserMessageItem(
        id="msg_1",
        thread_id="thr_1",
        created_at=datetime(2026, 1, 1),
        content=content or ([UserMessageTextContent(text=text)] if text else []),
        attachments=[FileAttachment(id=f"atc_{n}", name=name, mime_type="text/plain") for n, name in enumerate(names)],
        inference_options=InferenceOptions(),
    )


def test_a_title_is_made_from_what_the_user_typed_not_the_files_names() -> None:
    assert typed_text(_message("  Summarise this report ", "q3.pdf")) == "Summarise this report"


def test_files_sent_without_a_word_are_titled_by_their_names() -> None:
    assert typed_text(_message("", "q3.pdf", "chart.png")) == "q3.pdf, chart.png"


def test_a_reference_to_another_conversation_reads_as_its_title() -> None:
    content: list[UserMessageContent] = [
        UserMessageTextContent(text="Compare "),
        UserMessageTagContent(id="thr_k", text="Kyoto trip", data={"thread_id": "thr_k"}),
        UserMessageTextContent(text=" with the tea plan"),
    ]
    assert typed_text(_message("", content=content)) == "Compare Kyoto trip with the tea plan"
