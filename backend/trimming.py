"""What part of a long conversation is sent to the model: the newest whole turns that fit its context window.

Pure logic over model input items (`{"role": …, "content": …}` dicts), with the token counter passed in, so it
is specified by fast tests and does not import LiteLLM.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any


def _item_text(item: Any) -> str:
    content = item.get("content") if isinstance(item, dict) else None
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(str(part.get("text", "")) for part in content if isinstance(part, dict))
    return str(item)


def _media_cost(item: Any, media_tokens: Callable[[Any], int]) -> int:
    content = item.get("content") if isinstance(item, dict) else None
    if not isinstance(content, list):
        return 0
    return sum(media_tokens(part) for part in content if isinstance(part, dict) and "text" not in part)


def _no_media(part: Any) -> int:
    return 0


def _is_user(item: Any) -> bool:
    return isinstance(item, dict) and item.get("role") == "user"


def fit_to_window(
    items: Sequence[Any],
    count_tokens: Callable[[str], int],
    system_prompt: str,
    window: int,
    media_tokens: Callable[[Any], int] = _no_media,
) -> tuple[list[Any], int]:
    """Drop the oldest turns until the conversation fits `window`; return it and how many items were dropped.

    A turn starts at a user message; consecutive user-role items (a message plus its quoted-text context)
    belong to one turn. The newest turn (the message being answered) is always kept, and the system prompt is
    sent separately, so it is never cut. A quarter of the window (at most 4,096 tokens) stays free for the
    answer. Walks back from the newest item and stops at the first turn that does not fit, so the cost follows
    what is sent, not the thread's length. A part that is not text (an image, a document) costs what
    `media_tokens` says.
    """
    reserve = min(4096, window // 4)
    budget = window - reserve - count_tokens(system_prompt)
    kept_from = len(items)
    used = turn = 0
    for position in range(len(items) - 1, -1, -1):
        turn += count_tokens(_item_text(items[position])) + _media_cost(items[position], media_tokens) + 4
        starts_turn = position == 0 or (_is_user(items[position]) and not _is_user(items[position - 1]))
        if not starts_turn:
            continue
        if kept_from < len(items) and used + turn > budget:
            break
        used, turn, kept_from = used + turn, 0, position
    return list(items[kept_from:]), kept_from
