"""Thread and item ids (`backend.store.check_id`, `new_id`): the only names that become file names.

An id from the page is accepted only if it is a plain name: letters, digits, `_` and `-`, starting with a
letter or digit, at most 100 characters; anything else (a path, an empty or overlong name, control
characters) is refused before it can reach the filesystem. Fresh ids carry ChatKit's prefixes, pass the same
check, and do not collide.
"""

from __future__ import annotations

import pytest
from chatkit.store import StoreItemType

from backend.ids import InvalidIdError, check_id, new_id

REFUSED = {
    "parent folder": "../x",
    "parent folder alone": "..",
    "absolute path": "/etc/passwd",
    "sub-folder": "thr_1/items",
    "windows path": "..\\x",
    "empty": "",
    "too long": "t" * 101,
    "NUL": "thr_1\x00",
    "newline at the end": "thr_1\n",
    "newline inside": "thr\n_1",
    "tab": "thr\t1",
    "escape": "thr\x1b1",
    "space": "thr 1",
    "dot": "thr_1.json",
    "leading underscore": "_thr_1",
    "leading dash": "-thr_1",
    "non-ASCII letter": "thr_é",
    "fullwidth digit": "thr_１",
}


@pytest.mark.parametrize("value", REFUSED.values(), ids=REFUSED.keys())
def test_an_unsafe_id_is_refused(value: str) -> None:
    with pytest.raises(InvalidIdError):
        check_id(value)


def test_a_value_that_is_not_text_is_refused() -> None:
    with pytest.raises(InvalidIdError):
        check_id(None)  # type: ignore[arg-type]
    with pytest.raises(InvalidIdError):
        check_id(12)  # type: ignore[arg-type]


def test_the_refusal_names_what_was_refused_but_does_not_echo_it() -> None:
    with pytest.raises(InvalidIdError) as refused:
        check_id("../../etc/passwd", "thread id")
    assert str(refused.value) == "invalid thread id"


def test_an_invalid_id_is_a_value_error() -> None:
    # Callers that handle bad input as ValueError (a 400/404, never a 500) catch it.
    assert issubclass(InvalidIdError, ValueError)


@pytest.mark.parametrize(
    "value",
    [
        "thr_1a2b3c4d",
        "thr_1a2b3c4d5e6f7a8b",
        "msg_0f9e8d7c",
        "cthr_abc",
        "tc_ABC-def_123",
        "7",
        "a" * 100,
    ],
)
def test_chatkit_style_ids_are_accepted_unchanged(value: str) -> None:
    assert check_id(value) == value


@pytest.mark.parametrize(
    ("kind", "prefix"),
    [
        ("thread", "thr_"),
        ("message", "msg_"),
        ("tool_call", "tc_"),
        ("workflow", "wf_"),
        ("task", "tsk_"),
        ("attachment", "atc_"),
        ("sdk_hidden_context", "shcx_"),
    ],
)
def test_a_fresh_id_has_chatkits_prefix_and_passes_the_check(kind: StoreItemType, prefix: str) -> None:
    fresh = new_id(kind)
    assert fresh.startswith(prefix)
    assert len(fresh) > len(prefix) + 8, "enough random characters after the prefix"
    assert check_id(fresh) == fresh


def test_fresh_ids_do_not_collide() -> None:
    made = [new_id("thread") for _ in range(20_000)]
    assert len(set(made)) == len(made)
