"""Builders of ChatGPT and Claude data exports that follow the published structure (/work/import-contract.md's
formats), for the import tests and tests/bench/imports.py.

The samples are hand-written, small and the same on every run; each conversation covers named cases (edits,
hidden messages, code, tools, files, unicode, no title, archived), and the constants below are their texts, ids
and how many messages the importer should keep. `write_chatgpt_export` (tests/export_formats.py, where the
formats' building blocks live) writes a large generated export to disk.

Counting (`SAMPLE_MESSAGE_COUNTS`, `CLAUDE_MESSAGE_COUNTS`): walk the kept branch (ChatGPT: from `current_node`
up to the root; Claude: from the newest message up its `parent_message_uuid`s) and count every user message that
is not hidden (`is_visually_hidden_from_conversation`: the system prompt, custom instructions), and every
assistant message whose content is `text` or `multimodal_text` (Claude: every human and assistant message). An
assistant's `code` for a tool, the tool's `execution_output`, `thoughts` and `reasoning_recap` are not counted.
"""

from __future__ import annotations

import functools
import io
import json
import uuid
import zipfile

from tests import media
from tests.export_formats import (
    USER_ID,
    ConversationTree,
    Json,
    chatgpt_extras,
    claude_conversation,
    claude_extras,
    claude_message,
    epoch,
    image_pointer,
    text_content,
    zip_member,
)
from tests.export_formats import write_chatgpt_export as write_chatgpt_export

CLAUDE_ROOT = "00000000-0000-4000-8000-000000000000"

EDITED_ID, EDITED_TITLE = "66f1a0c2-0001-4b7e-9a1d-3c5e7f9b1d01", "Reversing a list"
EDITED_OLD_QUESTION = "How do I reverse a list in Python?"
EDITED_OLD_ANSWER = "Use `reversed(items)` for an iterator, or `items[::-1]` for a reversed copy."
EDITED_NEW_QUESTION = "How do I reverse a list in place in Python, without making a copy?"
EDITED_NEW_ANSWER = "Call `items.reverse()`: it reverses the list in place and returns `None`."
EDITED_FOLLOW_UP = "Which is faster for a million items?"
EDITED_O1_ANSWER = "`items.reverse()` is a little faster: it swaps pointers in place and allocates nothing."
THOUGHTS_TEXT = "Comparing an in-place reversal with slicing; slicing allocates a second list."

HIDDEN_ID, HIDDEN_TITLE = "66f1a0c2-0002-4b7e-9a1d-3c5e7f9b1d02", "Colour of the sky"
HIDDEN_SYSTEM_TEXT = "You are ChatGPT, a large language model trained by OpenAI. Hidden-system-marker 7f3a."
CUSTOM_INSTRUCTIONS_TEXT = "Always answer in British English. Custom-instructions-marker 91c2."
CUSTOM_PROFILE_TEXT = "I am a software engineer in Lisbon. Profile-marker 4d8e."
HIDDEN_QUESTION = "What colour is the sky at noon?"
HIDDEN_ANSWER = "Blue, on a clear day: the air scatters blue light far more than red."

CODE_ID, CODE_TITLE = "66f1a0c2-0003-4b7e-9a1d-3c5e7f9b1d03", "Group words by initial"
CODE_QUESTION = "Write a function that groups words by their first letter."
CODE_ANSWER = """Here is one way — it keeps the order in which the letters first appear:

```python
from collections import defaultdict


def group_by_initial(words: list[str]) -> dict[str, list[str]]:
    groups: dict[str, list[str]] = defaultdict(list)
    for word in words:
        if not word:
            continue

        groups[word[0].lower()].append(word)
    return dict(groups)
```

`group_by_initial(["apple", "Avocado", "café"])` gives `{"a": ["apple", "Avocado"], "c": ["café"]}`."""

TOOL_ID, TOOL_TITLE = "66f1a0c2-0004-4b7e-9a1d-3c5e7f9b1d04", "Two to the hundredth"
TOOL_QUESTION = "What is 2 to the power of 100? Work it out exactly."
TOOL_CODE = "result = 2 ** 100\nprint(result)"
TOOL_OUTPUT = "1267650600228229401496703205376"
TOOL_ANSWER = "2¹⁰⁰ = 1,267,650,600,228,229,401,496,703,205,376."

FILES_ID, FILES_TITLE = "66f1a0c2-0005-4b7e-9a1d-3c5e7f9b1d05", "Photo and quarterly report"
IMAGE_FILE_ID, IMAGE_NAME = "file-7Lq3XzR9vM2kP8wT4nB6cD", "IMG_2041.jpeg"
PDF_FILE_ID, PDF_NAME = "file-9Hs2Wd5Qk1Ty7Ur3Ep6Zn4", "report.pdf"
PDF_TEXT = "Quarterly report: revenue grew by 12 per cent."
SEDIMENT_FILE_ID = "file_00000000a3b46230b7c1d3e4f5a6b7c8"
MISSING_FILE_ID = "file-3Fg8Jk2Lm5Np9Qr1St4Uv7"
IMAGE_MEMBER = f"{IMAGE_FILE_ID}-{IMAGE_NAME}"
PDF_MEMBER = f"{PDF_FILE_ID}-{PDF_NAME}"
SEDIMENT_MEMBER = f"{USER_ID}/{SEDIMENT_FILE_ID}-2b9f4c1e-7a3d-4e5f-8b6a-9c0d1e2f3a4b.png"
FILES_IMAGE_QUESTION = "What is in this photo? The quarterly report is attached too."
FILES_IMAGE_ANSWER = "A blue picture crossed by a white diagonal; the report says revenue grew by 12 per cent."
FILES_SEDIMENT_QUESTION = "And this screenshot?"
FILES_SEDIMENT_ANSWER = "A red rectangle with the same white diagonal."
FILES_MISSING_QUESTION = "One more picture, from my phone."
FILES_MISSING_ANSWER = "A street at night, lit by shop windows."

UNICODE_ID, UNICODE_TITLE = "66f1a0c2-0006-4b7e-9a1d-3c5e7f9b1d06", "Kyōto/京都 day trip: plans ✈️ صباح"
UNICODE_QUESTION = (
    "Plan a day in 京都 for me 🙏🏽 — say «good morning» in Arabic (صباح الخير); is it cafe\u0301 or café?"
)
UNICODE_ANSWER = (
    '朝: 伏見稲荷大社 ⛩️, then 錦市場 🍡. صباح الخير! "cafe\u0301" has a combining accent, "café" does not. 👨‍👩‍👧‍👦'
)

UNTITLED_ID = "66f1a0c2-0007-4b7e-9a1d-3c5e7f9b1d07"
UNTITLED_QUESTION = "Is a tomato a fruit or a vegetable?"
UNTITLED_ANSWER = "Botanically a fruit (a berry); in the kitchen it is treated as a vegetable."

ARCHIVED_ID, ARCHIVED_TITLE = "66f1a0c2-0008-4b7e-9a1d-3c5e7f9b1d08", "Packing list for Reykjavík"
ARCHIVED_QUESTION = "What should I pack for Reykjavík in February?"
ARCHIVED_ANSWER = "Layers: thermal underwear, a fleece, a waterproof shell, wool socks and crampons for ice."

SAMPLE_MESSAGE_COUNTS: dict[str, int] = {
    EDITED_ID: 4,  # the new question and its gpt-4o answer, the follow-up and its o1 answer
    HIDDEN_ID: 2,  # the system message and the custom instructions are hidden
    CODE_ID: 2,
    TOOL_ID: 2,  # the question and the final answer; the code and its output are not counted
    FILES_ID: 6,  # three questions with pictures, three answers
    UNICODE_ID: 2,
    UNTITLED_ID: 2,
    ARCHIVED_ID: 2,
}

CLAUDE_EDITED_ID, CLAUDE_EDITED_TITLE = "b3c4d5e6-0001-4f7a-8b9c-0d1e2f3a4b01", "Sorting in Rust"
CLAUDE_OLD_QUESTION = "How do I sort a vector in Rust?"
CLAUDE_OLD_ANSWER = "Call `v.sort()` on a mutable vector of items that implement `Ord`."
CLAUDE_NEW_QUESTION = "How do I sort a vector of floats in Rust?"
CLAUDE_THINKING = "Floats are not Ord because of NaN, so sort_by with total_cmp is the answer."
CLAUDE_CODE_ANSWER = """Floats are only `PartialOrd`, so use `total_cmp`:

```rust
fn main() {
    let mut v = vec![2.5_f64, -1.0, 9.75];

    v.sort_by(|a, b| a.total_cmp(b));
    println!("{v:?}");
}
```"""
CLAUDE_FOLLOW_UP = "And in descending order?"
CLAUDE_FOLLOW_UP_ANSWER = "Swap the arguments: `v.sort_by(|a, b| b.total_cmp(a));`."
CLAUDE_FILES_ID, CLAUDE_FILES_TITLE = "b3c4d5e6-0002-4f7a-8b9c-0d1e2f3a4b02", "Résumé notes ✍️ 履歴書 / CV: draft"
CLAUDE_ATTACHMENT_NAME = "notes.txt"
CLAUDE_ATTACHMENT_TEXT = "Notes for the résumé: 5 years of Rust, 日本語 N2, likes 🧗 climbing."
CLAUDE_FILE_NAME = "diagram.png"
CLAUDE_FILES_QUESTION = "Tidy these notes into three bullet points, please 🙏 (see the diagram too)."
CLAUDE_FILES_ANSWER = "- Five years of Rust\n- Japanese (日本語), JLPT N2\n- Climbing 🧗 — مرحبا to the team!"
CLAUDE_UNTITLED_ID = "b3c4d5e6-0003-4f7a-8b9c-0d1e2f3a4b03"
CLAUDE_SEARCH_QUESTION = "Who wrote Middlemarch?"
CLAUDE_SEARCH_ANSWER = "George Eliot (Mary Ann Evans), published in 1871–72."

CLAUDE_MESSAGE_COUNTS: dict[str, int] = {CLAUDE_EDITED_ID: 4, CLAUDE_FILES_ID: 2, CLAUDE_UNTITLED_ID: 2}


def _exchange(tree: ConversationTree, question: str, answer: str, model: str = "gpt-4o") -> None:
    tree.add("user", text_content(question))
    tree.add("assistant", text_content(answer), model=model)


# ---- ChatGPT: the sample -------------------------------------------------------------------------------------


@functools.cache
def _uploads() -> dict[str, bytes]:
    return {
        IMAGE_MEMBER: media.jpeg(64, 48, media.BLUE),
        PDF_MEMBER: media.pdf(PDF_TEXT),
        SEDIMENT_MEMBER: media.png(40, 30, media.RED),
    }


def chatgpt_files() -> dict[str, bytes]:
    """The sample's files as the export zip names them (a JPEG and a PDF upload, a newer "sediment" PNG);
    the picture `MISSING_FILE_ID` points at is not among them."""
    return dict(_uploads())


def chatgpt_sample() -> list[Json]:
    """Eight ChatGPT conversations, one per `*_ID` constant (see `SAMPLE_MESSAGE_COUNTS`), dated 2023–2024."""
    edited = ConversationTree(EDITED_ID, epoch(2023, 3, 14))
    system = edited.add("system", text_content(""), hidden=True, end_turn=None)
    _exchange(edited, EDITED_OLD_QUESTION, EDITED_OLD_ANSWER)
    edited.add("user", text_content(EDITED_NEW_QUESTION), parent=system, gap=600)
    edited.add("assistant", text_content(EDITED_NEW_ANSWER), model="gpt-4o")
    edited.add("user", text_content(EDITED_FOLLOW_UP))
    thought = {"summary": "Comparing", "content": THOUGHTS_TEXT, "chunks": [], "finished": True}
    edited.add("assistant", {"content_type": "thoughts", "thoughts": [thought]}, model="o1", end_turn=None)
    recap = {"content_type": "reasoning_recap", "content": "Thought for 4 seconds"}
    edited.add("assistant", recap, model="o1", end_turn=None)
    edited.add("assistant", text_content(EDITED_O1_ANSWER), model="o1")

    hidden = ConversationTree(HIDDEN_ID, epoch(2023, 5, 2))
    hidden.add("system", text_content(HIDDEN_SYSTEM_TEXT), hidden=True, end_turn=None)
    context = {
        "content_type": "user_editable_context",
        "user_profile": CUSTOM_PROFILE_TEXT,
        "user_instructions": CUSTOM_INSTRUCTIONS_TEXT,
    }
    hidden.add("user", context, hidden=True)
    _exchange(hidden, HIDDEN_QUESTION, HIDDEN_ANSWER)

    code = ConversationTree(CODE_ID, epoch(2023, 8, 21))
    _exchange(code, CODE_QUESTION, CODE_ANSWER)

    tool = ConversationTree(TOOL_ID, epoch(2023, 11, 5))
    tool.add("user", text_content(TOOL_QUESTION))
    code_content = {"content_type": "code", "language": "unknown", "text": TOOL_CODE}
    tool.add("assistant", code_content, model="gpt-4o", recipient="python", end_turn=False)
    tool.add("tool", {"content_type": "execution_output", "text": TOOL_OUTPUT}, name="python")
    tool.add("assistant", text_content(TOOL_ANSWER), model="gpt-4o")

    uploads = _uploads()
    jpeg, pdf, png = (len(uploads[name]) for name in (IMAGE_MEMBER, PDF_MEMBER, SEDIMENT_MEMBER))
    attached = [
        {"id": IMAGE_FILE_ID, "name": IMAGE_NAME, "size": jpeg, "mime_type": "image/jpeg", "width": 64, "height": 48},
        {"id": PDF_FILE_ID, "name": PDF_NAME, "size": pdf, "mime_type": "application/pdf"},
    ]
    files = ConversationTree(FILES_ID, epoch(2024, 1, 9))
    photo = image_pointer(f"file-service://{IMAGE_FILE_ID}", jpeg, 64, 48)
    files.add("user", {"content_type": "multimodal_text", "parts": [photo, FILES_IMAGE_QUESTION]}, attachments=attached)
    files.add("assistant", text_content(FILES_IMAGE_ANSWER), model="gpt-4o")
    screenshot = image_pointer(f"sediment://{SEDIMENT_FILE_ID}", png, 40, 30)
    files.add("user", {"content_type": "multimodal_text", "parts": [screenshot, FILES_SEDIMENT_QUESTION]})
    files.add("assistant", text_content(FILES_SEDIMENT_ANSWER), model="gpt-4o")
    missing = image_pointer(f"file-service://{MISSING_FILE_ID}", 245_760, 1024, 768)
    files.add("user", {"content_type": "multimodal_text", "parts": [missing, FILES_MISSING_QUESTION]})
    files.add("assistant", text_content(FILES_MISSING_ANSWER), model="gpt-4o")

    unicode = ConversationTree(UNICODE_ID, epoch(2024, 2, 29))
    _exchange(unicode, UNICODE_QUESTION, UNICODE_ANSWER)
    untitled = ConversationTree(UNTITLED_ID, epoch(2024, 6, 1))
    _exchange(untitled, UNTITLED_QUESTION, UNTITLED_ANSWER, model="gpt-4o-mini")
    archived = ConversationTree(ARCHIVED_ID, epoch(2024, 10, 31))
    _exchange(archived, ARCHIVED_QUESTION, ARCHIVED_ANSWER)
    return [
        edited.conversation(EDITED_TITLE, model="o1"),
        hidden.conversation(HIDDEN_TITLE),
        code.conversation(CODE_TITLE),
        tool.conversation(TOOL_TITLE),
        files.conversation(FILES_TITLE),
        unicode.conversation(UNICODE_TITLE),
        untitled.conversation(None, model="gpt-4o-mini"),
        archived.conversation(ARCHIVED_TITLE, archived=True),
    ]


def chatgpt_zip(conversations: list[Json], files: dict[str, bytes] | None = None) -> bytes:
    """A ChatGPT export zip: `conversations.json`, `chat.html`, `user.json`, `message_feedback.json`, and
    `files` (member name → bytes; none when None)."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        zip_member(archive, "conversations.json", json.dumps(conversations, ensure_ascii=False))
        chatgpt_extras(archive)
        for name, data in (files or {}).items():
            zip_member(archive, name, data)
    return out.getvalue()


# ---- Claude ------------------------------------------------------------------------------------------------------


def claude_sample() -> list[Json]:
    """Three Claude conversations: `CLAUDE_EDITED_ID` (an edited first question, a `thinking` block and a Rust
    code block on the newer branch), `CLAUDE_FILES_ID` (unicode, an attachment with `extracted_content` and a
    `files` entry), `CLAUDE_UNTITLED_ID` (no name; an answer with `tool_use` and `tool_result` blocks)."""

    def ids(conversation: str) -> list[str]:
        return [str(uuid.uuid5(uuid.NAMESPACE_URL, f"{conversation}/{n}")) for n in range(6)]

    def text(value: str) -> Json:
        return {"type": "text", "text": value}

    e, start = ids(CLAUDE_EDITED_ID), epoch(2024, 6, 1, 12)
    edited = [
        claude_message(e[0], "human", CLAUDE_ROOT, start, [text(CLAUDE_OLD_QUESTION)]),
        claude_message(e[1], "assistant", e[0], start + 10, [text(CLAUDE_OLD_ANSWER)]),
        claude_message(e[2], "human", CLAUDE_ROOT, start + 300, [text(CLAUDE_NEW_QUESTION)]),
        claude_message(
            e[3],
            "assistant",
            e[2],
            start + 310,
            [{"type": "thinking", "thinking": CLAUDE_THINKING}, text(CLAUDE_CODE_ANSWER)],
        ),
        claude_message(e[4], "human", e[3], start + 400, [text(CLAUDE_FOLLOW_UP)]),
        claude_message(e[5], "assistant", e[4], start + 410, [text(CLAUDE_FOLLOW_UP_ANSWER)]),
    ]
    f, start = ids(CLAUDE_FILES_ID), epoch(2024, 7, 20, 8)
    attachment = {
        "file_name": CLAUDE_ATTACHMENT_NAME,
        "file_size": len(CLAUDE_ATTACHMENT_TEXT.encode()),
        "file_type": "text/plain",
        "extracted_content": CLAUDE_ATTACHMENT_TEXT,
    }
    files = [
        claude_message(
            f[0],
            "human",
            CLAUDE_ROOT,
            start,
            [text(CLAUDE_FILES_QUESTION)],
            attachments=[attachment],
            files=[{"file_name": CLAUDE_FILE_NAME}],
        ),
        claude_message(f[1], "assistant", f[0], start + 12, [text(CLAUDE_FILES_ANSWER)]),
    ]
    u, start = ids(CLAUDE_UNTITLED_ID), epoch(2024, 9, 3, 18)
    search = {"type": "tool_use", "name": "web_search", "input": {"query": "Middlemarch author"}}
    found = {
        "type": "tool_result",
        "name": "web_search",
        "is_error": False,
        "content": [
            {
                "type": "knowledge",
                "title": "Middlemarch",
                "url": "https://en.wikipedia.org/wiki/Middlemarch",
                "text": "Middlemarch is a novel by George Eliot.",
            }
        ],
    }
    untitled = [
        claude_message(u[0], "human", CLAUDE_ROOT, start, [text(CLAUDE_SEARCH_QUESTION)]),
        claude_message(u[1], "assistant", u[0], start + 9, [search, found, text(CLAUDE_SEARCH_ANSWER)]),
    ]
    return [
        claude_conversation(CLAUDE_EDITED_ID, CLAUDE_EDITED_TITLE, epoch(2024, 6, 1, 12), edited),
        claude_conversation(CLAUDE_FILES_ID, CLAUDE_FILES_TITLE, epoch(2024, 7, 20, 8), files),
        claude_conversation(CLAUDE_UNTITLED_ID, "", epoch(2024, 9, 3, 18), untitled),
    ]


def claude_zip(conversations: list[Json]) -> bytes:
    """A Claude export zip: `conversations.json`, `users.json` and `projects.json` (Claude exports no file bytes)."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        zip_member(archive, "conversations.json", json.dumps(conversations, ensure_ascii=False))
        claude_extras(archive)
    return out.getvalue()
