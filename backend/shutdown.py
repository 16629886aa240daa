"""Ending open answers when the server stops, the way the stop button ends them, so what was said is saved."""

from __future__ import annotations

import asyncio

from starlette.types import ASGIApp, Message, Receive, Scope, Send

CHATKIT_PATH = "/chatkit"
_GONE: Message = {"type": "http.disconnect"}


class EndStreamsOnShutdown:
    """Once `stopping` is set, a `/chatkit` request is told its client has gone.

    Starlette then ends the stream as it does when the user presses stop and ChatKit saves the partial answer.
    Left to uvicorn, an answer still streaming when its graceful timeout runs out is cancelled as the event loop
    winds down, and the answer is lost.
    """

    def __init__(self, app: ASGIApp, stopping: asyncio.Event) -> None:
        self.app = app
        self.stopping = stopping

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] == CHATKIT_PATH:
            receive = self._until_stopping(receive)
        await self.app(scope, receive, send)

    def _until_stopping(self, receive: Receive) -> Receive:
        async def wrapped() -> Message:
            if self.stopping.is_set():
                return _GONE
            message = asyncio.ensure_future(receive())
            stop = asyncio.ensure_future(self.stopping.wait())
            try:
                await asyncio.wait({message, stop}, return_when=asyncio.FIRST_COMPLETED)
            finally:
                stop.cancel()
                if not message.done():
                    message.cancel()
            return message.result() if message.done() and not message.cancelled() else _GONE

        return wrapped
