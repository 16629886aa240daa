"""Plays answers through the app's model (`ModelLayer.make_model`) and the Agents SDK, for
tests/test_answer_pacing.py, in a process of its own: importing the model layer sets LiteLLM's process-wide
settings (its HTTP transport, for one), which the other tests in pytest's process must not inherit.

Run: `python -m tests.pacing_probe SCENARIO OPENAI_BASE`; prints the outcome as JSON.
- `late`: the page reports the first words sent late; whether the model's stream went on meanwhile, and the
  whole answer;
- `never`: the page never reports them; the whole answer.
"""

from __future__ import annotations

import asyncio
import json
import sys
from typing import Any

from agents import Agent, RunConfig, Runner

from backend.model_layer import FIRST_WORDS_WAIT_S, ModelLayer
from backend.routing import Route


def _words(event: object) -> str:
    """The answer's words an SDK stream event brings ("" for any other event)."""
    data = getattr(event, "data", None)
    return str(getattr(data, "delta", "")) if getattr(data, "type", None) == "response.output_text.delta" else ""


async def _play(scenario: str, openai_base: str) -> dict[str, Any]:
    sent = asyncio.Event()
    route = Route(model="openai/fake-local-1", provider="openai", api_key="sk-test-0123", api_base=openai_base)
    agent = Agent(name="pacing", instructions="Answer.", model=ModelLayer.make_model(route, sent))
    prompt = "tell me about " + "words " * 40
    events = Runner.run_streamed(agent, prompt, run_config=RunConfig(tracing_disabled=True)).stream_events()
    text, went_on = "", None
    async for event in events:
        text += _words(event)
        if text and scenario == "late":
            break
    if scenario == "late":
        # The page is still sending the first words: nothing more should come before it says so.
        following = asyncio.ensure_future(anext(events))
        done, _ = await asyncio.wait({following}, timeout=FIRST_WORDS_WAIT_S / 2)
        went_on = bool(done)
        sent.set()
        text += _words(await following)
        async for event in events:
            text += _words(event)
    return {"went_on": went_on, "text": text}


if __name__ == "__main__":
    print(json.dumps(asyncio.run(_play(sys.argv[1], sys.argv[2]))))
