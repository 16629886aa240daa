"""The answer's first words go to the page before the rest of the model's stream is worked through.

The app's model (`ModelLayer.make_model`) answers through the Agents SDK from the fake provider, which sends a
whole answer at once, as a short answer, a fast local model or a buffering proxy does: without a pause, the SDK
works through the whole stream (and LiteLLM's end-of-stream bookkeeping) before the page's side gets to send a
word. The answers are played in a child process (tests/pacing_probe.py), since importing the model layer sets
LiteLLM's process-wide settings.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.fake_provider import FakeProvider, stream_reply

ROOT = Path(__file__).resolve().parent.parent


def play(scenario: str, fake: FakeProvider) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-m", "tests.pacing_probe", scenario, fake.openai_base],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    outcome: dict[str, Any] = json.loads(done.stdout)
    return outcome


def test_the_rest_of_a_buffered_answer_waits_until_its_first_words_are_sent(fake: FakeProvider) -> None:
    outcome = play("late", fake)
    assert outcome["went_on"] is False
    # Pausing loses nothing: the whole answer still arrives.
    assert outcome["text"] == stream_reply(fake.last_stream().messages)


def test_an_answer_whose_first_words_are_never_reported_sent_still_streams_to_its_end(fake: FakeProvider) -> None:
    assert play("never", fake)["text"] == stream_reply(fake.last_stream().messages)
