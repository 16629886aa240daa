"""The answer's first words go to the page before the rest of the model's stream is worked through.

In process, with the app's model (`ModelLayer.make_model`) answering through the Agents SDK from the fake
provider, which sends a whole answer at once, as a short answer, a fast local model or a buffering proxy does:
without a pause, the Agents SDK works through the whole stream (and LiteLLM's end-of-stream bookkeeping) before
the page's side gets to send a word.
"""

from __future__ import annotations

import asyncio

from agents import Agent, RunConfig, Runner

from backend.model_layer import FIRST_WORDS_WAIT_S, ModelLayer
from backend.routing import Route
from tests.fake_provider import FakeProvider, stream_reply


def _words(event: object) -> str:
    """The answer's words an SDK stream event brings ("" for any other event)."""
    data = getattr(event, "data", None)
    return str(getattr(data, "delta", "")) if getattr(data, "type", None) == "response.output_text.delta" else ""


def _route(fake: FakeProvider) -> Route:
    return Route(model="openai/fake-local-1", provider="openai", api_key="sk-test-0123", api_base=fake.openai_base)


async def _answer(fake: FakeProvider) -> tuple[bool, str]:
    """Play one answer, the first words' sending reported late; whether the stream went on before that report,
    and the whole answer."""
    sent = asyncio.Event()
    agent = Agent(name="pacing", instructions="Answer.", model=ModelLayer.make_model(_route(fake), sent))
    result = Runner.run_streamed(agent, "tell me about " + "words " * 40, run_config=RunConfig(tracing_disabled=True))
    events = result.stream_events()
    text = ""
    async for event in events:
        if text := _words(event):
            break
    # The page is still sending the first words: nothing more should come before it says so.
    following = asyncio.ensure_future(anext(events))
    done, _ = await asyncio.wait({following}, timeout=FIRST_WORDS_WAIT_S / 2)
    went_on = bool(done)
    sent.set()
    event = await following
    while True:
        text += _words(event)
        try:
            event = await anext(events)
        except StopAsyncIteration:
            return went_on, text


def test_the_rest_of_a_buffered_answer_waits_until_its_first_words_are_sent(fake: FakeProvider) -> None:
    went_on, text = asyncio.run(_answer(fake))
    assert not went_on
    # Pausing loses nothing: the whole answer still arrives.
    assert text == stream_reply(fake.last_stream().messages)


def test_an_answer_whose_first_words_are_never_reported_sent_still_streams_to_its_end(fake: FakeProvider) -> None:
    async def play() -> str:
        never = asyncio.Event()
        agent = Agent(name="pacing", model=ModelLayer.make_model(_route(fake), never))
        result = Runner.run_streamed(agent, "hello there", run_config=RunConfig(tracing_disabled=True))
        text = ""
        async for event in result.stream_events():
            text += _words(event)
        return text

    assert asyncio.run(play()) == stream_reply(fake.last_stream().messages)
