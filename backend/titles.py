"""Thread titles: the prompt that asks the model for one, tidying its reply, and the no-model fallback."""

from __future__ import annotations

import re

from chatkit.types import UserMessageItem

TITLE_PROMPT = (
    "Write a short title (at most six words) for a conversation that begins with the user's message below. "
    "Reply with the title only: no quotes, no punctuation at the end."
)
MAX_LENGTH = 80


def tidy(reply: str) -> str:
    """The model's reply as a title: one line, no quotes, Markdown marks or "Title:" prefix."""
    marks = "\"'“”*#"
    title = re.sub(r"\s+", " ", reply).strip().strip(marks).strip()
    # The prefix may itself be in bold (`**Title:** …`) and the title after it quoted (`Title: "…"`).
    title = re.sub(r"^title\s*:[*\s]*", "", title, flags=re.IGNORECASE).strip().strip(marks).strip().rstrip(".")
    return title[:MAX_LENGTH]


def typed_text(message: UserMessageItem) -> str:
    """What the user typed in a message (its text and references, joined), which titles are made from; for
    files sent without a word, their names."""
    # A reference to another conversation reads as that conversation's title.
    text = "".join(part.text for part in message.content).strip()
    return text or ", ".join(attachment.name for attachment in message.attachments)


def fallback_title(message: str, words: int = 6) -> str:
    """The first few words of a message, as a title."""
    parts = message.split()
    title = " ".join(parts[:words])
    if len(title) > MAX_LENGTH:
        title = title[: MAX_LENGTH - 1].rstrip() + "…"
    elif len(parts) > words:
        title = title[: MAX_LENGTH - 1] + "…"
    return title or "New chat"
