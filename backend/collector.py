"""Python's garbage collector, kept off the user's path: off while the app starts, then what start-up made frozen,
and full passes made only while no request is being answered.

The cyclic collector walks every object it tracks with the interpreter lock held, so every thread stops for as
long. Measured here: the imports of the model layer set off six full passes (60–220 ms each, 0.9 s in all), and
afterwards each automatic full pass, over the ~360,000 objects LiteLLM and the Agents SDK keep, took 200–500 ms,
often in the middle of an answer. Once start-up's objects are frozen a full pass walks only what was made since
(the parsed threads kept in memory: ~100 ms when they are 32 MB of files), and it is made when nobody waits.
Objects are still freed as soon as nothing refers to them; only reference cycles wait for a full pass.
"""

from __future__ import annotations

import asyncio
import gc
import time
from dataclasses import dataclass

from starlette.types import ASGIApp, Receive, Scope, Send

# Quiet this long (no request being answered) before a full pass.
IDLE_S = 2.0
# How often the quiet is looked for.
CHECK_S = 5.0
# A full pass at the latest this long after the last, quiet or not (an answer streaming for minutes).
LONGEST_S = 600.0
# A threshold for full passes the collector never reaches by itself: they are made by `collect_when_idle`.
_NEVER = 2**31 - 1


def pause() -> None:
    """Turn the collector off while the app starts (until `start_up_done`)."""
    gc.disable()


def start_up_done() -> None:
    """Freeze what start-up made (the collector never walks it again) and turn the collector back on, making its
    quick passes over new objects by itself and leaving full passes to `collect_when_idle`."""
    gc.freeze()
    young, middle, _ = gc.get_threshold()
    gc.set_threshold(young, middle, _NEVER)
    gc.enable()


@dataclass
class Activity:
    """How many requests are being answered, and when the last one ended (`time.monotonic`)."""

    in_flight: int = 0
    last_ended: float = 0.0

    def quiet_for(self, now: float) -> float:
        """Seconds without a request being answered (0 while one is)."""
        return 0.0 if self.in_flight else now - self.last_ended


class CountRequests:
    """Keeps `Activity` up to date: a request counts from its start until its answer (a whole stream) is sent."""

    def __init__(self, app: ASGIApp, activity: Activity) -> None:
        self.app = app
        self.activity = activity

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        self.activity.in_flight += 1
        try:
            await self.app(scope, receive, send)
        finally:
            self.activity.in_flight -= 1
            self.activity.last_ended = time.monotonic()


def full_pass_due(quiet_for: float, since_last: float, grown: bool, idle_s: float = IDLE_S) -> bool:
    """Whether to make a full pass now: something survived into the oldest generation since the last one, and the
    app has been quiet for `idle_s` (or the last pass is `LONGEST_S` old)."""
    return grown and (quiet_for >= idle_s or since_last >= LONGEST_S)


async def collect_when_idle(activity: Activity, check_s: float = CHECK_S, idle_s: float = IDLE_S) -> None:
    """Make the collector's full passes while the app is quiet; runs until cancelled."""
    last = time.monotonic()
    while True:
        await asyncio.sleep(check_s)
        now = time.monotonic()
        # The collector counts its quick passes since the last full one: objects reached the oldest generation.
        grown = gc.get_count()[2] > 0
        if gc.isenabled() and full_pass_due(activity.quiet_for(now), now - last, grown, idle_s):
            gc.collect()
            last = time.monotonic()
