"""Python's garbage collector stays off the user's path (`backend.collector`): no full pass while a request is
being answered, and reference cycles are still freed once the app is quiet.

In process: the collector is the interpreter's own, so these tests set it as the app does and put it back after.
"""

from __future__ import annotations

import asyncio
import gc
import time
import weakref
from collections.abc import Iterator

import pytest
from starlette.types import Message, Receive, Scope, Send

from backend import collector
from backend.collector import LONGEST_S, Activity, CountRequests, full_pass_due


@pytest.fixture
def app_collector() -> Iterator[None]:
    """The collector as the app leaves it after start-up, for one test."""
    threshold, enabled = gc.get_threshold(), gc.isenabled()
    collector.pause()
    collector.start_up_done()
    yield
    gc.unfreeze()
    gc.set_threshold(*threshold)
    if enabled:
        gc.enable()


class _Node:
    """Something a reference cycle can hold, and a weak reference can watch."""

    other: object = None


def _cycle_in_the_oldest_generation() -> weakref.ref[_Node]:
    """A reference cycle that became garbage after surviving the quick passes: only a full pass frees it."""
    node = _Node()
    node.other = node
    gc.collect(1)  # survives the young generations, as anything kept across a few requests does
    return weakref.ref(node)


async def _wait_for(condition: object, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if callable(condition) and condition():
            return True
        await asyncio.sleep(0.02)
    return False


def test_a_full_pass_waits_for_the_app_to_be_quiet() -> None:
    assert not full_pass_due(quiet_for=0.0, since_last=30.0, grown=True)
    assert not full_pass_due(quiet_for=1.0, since_last=30.0, grown=True)
    assert full_pass_due(quiet_for=2.0, since_last=30.0, grown=True)


def test_a_full_pass_is_skipped_when_nothing_new_reached_the_oldest_generation() -> None:
    assert not full_pass_due(quiet_for=60.0, since_last=LONGEST_S * 2, grown=False)


def test_an_app_never_quiet_still_gets_a_full_pass_now_and_then() -> None:
    assert full_pass_due(quiet_for=0.0, since_last=LONGEST_S, grown=True)


def test_a_request_counts_as_being_answered_until_its_whole_answer_is_sent() -> None:
    async def play() -> list[int]:
        finish = asyncio.Event()

        async def streaming_app(scope: Scope, receive: Receive, send: Send) -> None:
            await send({"type": "http.response.start", "status": 200, "headers": []})
            await finish.wait()
            await send({"type": "http.response.body", "body": b"done"})

        async def receive() -> Message:
            return {"type": "http.request", "body": b""}

        async def send(message: Message) -> None:
            pass

        activity = Activity()
        counted = CountRequests(streaming_app, activity)
        request = asyncio.ensure_future(counted({"type": "http", "path": "/chatkit"}, receive, send))
        await asyncio.sleep(0.05)
        seen = [activity.in_flight]
        finish.set()
        await request
        return [*seen, activity.in_flight, int(activity.quiet_for(time.monotonic()) < 1)]

    assert asyncio.run(play()) == [1, 0, 1]


@pytest.mark.usefixtures("app_collector")
def test_cycles_wait_while_a_request_is_answered_and_are_freed_once_the_app_is_quiet() -> None:
    async def play() -> tuple[bool, bool]:
        activity = Activity(in_flight=1)
        collecting = asyncio.create_task(collector.collect_when_idle(activity, check_s=0.05, idle_s=0.2))
        try:
            watched = _cycle_in_the_oldest_generation()
            freed_while_busy = await _wait_for(lambda: watched() is None, 0.6)
            activity.in_flight, activity.last_ended = 0, time.monotonic()
            freed_once_quiet = await _wait_for(lambda: watched() is None, 2.0)
        finally:
            collecting.cancel()
        return freed_while_busy, freed_once_quiet

    assert asyncio.run(play()) == (False, True)
