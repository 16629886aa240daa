"""What the model is given for a conversation the user referenced with `@`: its newest messages, as text, within a
token budget (so a long conversation never crowds out the one being answered)."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from chatkit.types import AssistantMessageItem, ThreadItem, UserMessageItem

from .titles import typed_text

# A reference may take this share of the model's context window (several references share the rest of it).
WINDOW_SHARE = 8
MISSING = "The conversation “{name}” that the user referenced could not be found (it may have been deleted)."


def reference_text(
    name: str, title: str, newest_first: Iterable[ThreadItem], count_tokens: Callable[[str], int], budget: int
) -> str:
    """The referenced conversation `title` (typed as `@name`) as context: its newest messages that fit `budget`
    tokens, oldest first, each marked User or Assistant; the newest one cut short if even it does not fit."""
    lines: list[str] = []
    used = 0
    whole = True
    for item in newest_first:
        if isinstance(item, UserMessageItem):
            line = "User: " + typed_text(item)
        elif isinstance(item, AssistantMessageItem):
            line = "Assistant: " + "".join(part.text for part in item.content)
        else:
            continue
        cost = count_tokens(line)
        if used + cost > budget:
            whole = False
            if not lines:
                # Roughly `budget` tokens of the newest message: better part of it than nothing.
                lines.append(line[: max(0, budget) * 3] + " …")
            break
        lines.append(line)
        used += cost
    shown = title or name
    if not lines:
        return f"The conversation “{shown}” that the user referenced has no messages yet."
    extent = "the whole conversation" if whole else "its newest messages; older ones are left out"
    return f"The conversation “{shown}” that the user referenced ({extent}):\n\n" + "\n\n".join(reversed(lines))
