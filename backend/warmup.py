"""Pays, at start and in the background loader, what the first requests would otherwise pay on the user's time.

ChatKit's protocol types build their schemas on first use (`build_chatkit_schemas`, run before the server
answers). The first streamed answer builds a lot lazily: the tokenizer, pydantic schemas of the OpenAI and LiteLLM
response types, HTTP connection machinery, the Agents SDK's run loop. Without this the first answer after
start took 0.5–0.9 s to its first token against ~70 ms for the next. The warm-up runs one real answer through
the same stack (Agents SDK → LiteLLM → OpenAI client → HTTP) against a tiny OpenAI-compatible responder on
127.0.0.1 inside this process: nothing leaves the machine and no key is used.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .model_layer import ModelLayer

log = logging.getLogger(__name__)

_CHUNKS: tuple[dict[str, str], ...] = (
    {"role": "assistant", "content": "ready"},
    {},
)


def build_chatkit_schemas() -> None:
    """Finish ChatKit's protocol types whose pydantic schemas are built on first use (46 of them, ~70 ms),
    which would otherwise happen inside the first message's request."""
    from chatkit import types
    from pydantic import BaseModel

    for value in vars(types).values():
        if (
            isinstance(value, type)
            and issubclass(value, BaseModel)
            and value.__module__.startswith("chatkit")
            and not value.__pydantic_complete__
        ):
            value.model_rebuild()


async def warm_up(models: ModelLayer, default_model: str) -> None:
    """Run one answer through the model stack, and load the default model's tokenizer."""
    from agents import Agent, RunConfig, Runner

    from .routing import Route

    models.count_tokens(default_model, "warm up")
    server = await asyncio.start_server(_answer, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    route = Route(model="openai/warm-up", provider="openai", api_key="warm-up", api_base=f"http://127.0.0.1:{port}/v1")
    nobody_waits = asyncio.Event()
    nobody_waits.set()
    try:
        agent = Agent(name="warm-up", instructions="warm up", model=models.make_model(route, nobody_waits))
        result = Runner.run_streamed(agent, "warm up", run_config=RunConfig(tracing_disabled=True))
        async for _ in result.stream_events():
            pass
    finally:
        server.close()
        await server.wait_closed()


async def _answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Answer one chat-completions request with a two-chunk stream, whatever it asks."""
    try:
        head = await reader.readuntil(b"\r\n\r\n")
        length = next(
            (
                int(line.split(b":", 1)[1])
                for line in head.split(b"\r\n")
                if line.lower().startswith(b"content-length:")
            ),
            0,
        )
        await reader.readexactly(length)
        events = [
            {
                "id": "warm-up",
                "object": "chat.completion.chunk",
                "created": 0,
                "model": "warm-up",
                "choices": [{"index": 0, "delta": delta, "finish_reason": None if delta else "stop"}],
            }
            for delta in _CHUNKS
        ]
        body = b"".join(b"data: " + json.dumps(e).encode() + b"\n\n" for e in events) + b"data: [DONE]\n\n"
        writer.write(
            b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\nconnection: close\r\n"
            + f"content-length: {len(body)}\r\n\r\n".encode()
            + body
        )
        await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError, ValueError) as error:
        log.debug("warm-up request ended early: %s", type(error).__name__)
    finally:
        writer.close()
