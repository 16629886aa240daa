"""The ChatKit server: answers a thread through the Agents SDK with a LiteLLM model.

Importing this module imports ChatKit's server and the Agents SDK (seconds), so the background loader
does it; the model layer (LiteLLM) is awaited separately, only when a message is answered.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import itertools
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TYPE_CHECKING, Any, cast

import anyio
from agents import Agent, ModelSettings, RunConfig, Runner, TResponseInputItem
from agents.models.fake_id import FAKE_RESPONSES_ID
from chatkit.agents import AgentContext, ThreadItemConverter, stream_agent_response
from chatkit.errors import CustomStreamError
from chatkit.server import ChatKitServer, NonStreamingResult, StreamingResult
from chatkit.store import NotFoundError
from chatkit.types import (
    AssistantMessageContentPartTextDelta,
    AssistantMessageItem,
    Attachment,
    ChatKitReq,
    FeedbackKind,
    ThreadItem,
    ThreadItemAddedEvent,
    ThreadItemDoneEvent,
    ThreadItemRemovedEvent,
    ThreadItemUpdatedEvent,
    ThreadMetadata,
    ThreadStreamEvent,
    UserMessageItem,
    UserMessageTagContent,
    is_streaming_req,
)
from openai.types.responses import EasyInputMessageParam, ResponseInputContentParam, ResponseInputTextParam
from openai.types.shared import Reasoning

from .attachment_content import Reader, content_part
from .filetypes import is_image
from .ids import InvalidIdError, check_id
from .keys import SecretStore
from .local_servers import LocalServers
from .providers import LOCAL, PROVIDERS, model_label
from .references import MISSING, WINDOW_SHARE, reference_text
from .routing import MissingKeyError, Route, route
from .settings import SettingsFile
from .store import JsonFileStore
from .titles import fallback_title, typed_text

if TYPE_CHECKING:
    from .model_layer import ModelLayer

log = logging.getLogger(__name__)

# Items read per step when walking back through a thread's history (then four times as many, and so on).
HISTORY_BATCH = 64
DAMAGED = (
    "This conversation's file is damaged, so it was moved to the threads/corrupt folder in your data folder"
    " (nothing was deleted) — start a new conversation."
)


class Converter(ThreadItemConverter):
    """ChatKit's converter, with past answers as plain text, attachments as the model in use can take them, and
    `@` references to other conversations as their text.

    The default sends answers as `output_text` parts, which the chat-completions path rejects from the second
    turn on. One converter serves one answer: it notes what each non-text part costs, for the trimming.
    """

    def __init__(self, store: JsonFileStore, reader: Reader, count_tokens: Callable[[str], int], window: int) -> None:
        self.store = store
        self.files = store.attachments
        self.reader = reader
        self.count_tokens = count_tokens
        self.reference_budget = window // WINDOW_SHARE
        self.costs: dict[int, int] = {}

    async def tag_to_message_content(self, tag: UserMessageTagContent) -> ResponseInputContentParam:
        thread_id = str(tag.data.get("thread_id") or tag.id)
        try:
            listed = self.store.listed(check_id(thread_id, "thread id"))
            items = await asyncio.to_thread(self.store.items_newest_first, thread_id) if listed else None
        except (InvalidIdError, NotFoundError):
            listed, items = None, None
        text = MISSING.format(name=tag.text)
        if listed is not None and items is not None:
            title = str(listed.get("title") or "")
            with contextlib.suppress(NotFoundError):  # an item in it found damaged: moved aside, so missing
                text = await asyncio.to_thread(
                    reference_text, tag.text, title, items, self.count_tokens, self.reference_budget
                )
        return ResponseInputTextParam(type="input_text", text=text)

    async def assistant_message_to_input(self, item: AssistantMessageItem) -> EasyInputMessageParam:
        return EasyInputMessageParam(
            type="message", role="assistant", content="".join(part.text for part in item.content)
        )

    async def user_message_to_input(
        self, item: UserMessageItem, is_last_message: bool = True
    ) -> TResponseInputItem | list[TResponseInputItem] | None:
        converted = await super().user_message_to_input(item, is_last_message)
        if converted is None:
            return None
        messages = converted if isinstance(converted, list) else [converted]
        for message in messages:
            data = cast(dict[str, Any], message)
            content = data.get("content") if isinstance(data, dict) else None
            # Files sent without a word would go with an empty text part first, which Anthropic refuses.
            if isinstance(content, list) and len(content) > 1:
                data["content"] = [p for p in content if not (p.get("type") == "input_text" and not p.get("text"))]
        # ChatKit puts the context (quoted text, `@` references) after the question; a model answers the last
        # thing it reads, so the question goes last.
        return [*messages[1:], messages[0]] if len(messages) > 1 else converted

    async def attachment_to_message_content(self, attachment: Attachment) -> ResponseInputContentParam:
        try:
            meta = await asyncio.to_thread(self.files.load, attachment.id)
            part, cost = await asyncio.to_thread(content_part, meta, self.files.path(meta), self.reader)
        except (NotFoundError, OSError):
            # The file was removed from the attachments folder by hand: the conversation goes on without it.
            part, cost = {"type": "input_text", "text": f"[{attachment.name}: this attached file is missing]"}, 0
        self.costs[id(part)] = cost
        return cast(ResponseInputContentParam, part)

    def media_tokens(self, part: Any) -> int:
        """What a non-text part this converter made costs (for `trimming.fit_to_window`)."""
        return self.costs.get(id(part), 0)


class ChatServer(ChatKitServer[Any]):
    """ChatKit server for ChatKit Desktop."""

    store: JsonFileStore

    def __init__(
        self,
        store: JsonFileStore,
        settings: SettingsFile,
        keys: SecretStore,
        model_layer: Callable[[], Awaitable[ModelLayer]],
        local: LocalServers,
    ) -> None:
        super().__init__(store)
        self.settings = settings
        self.keys = keys
        self.model_layer = model_layer
        self.local = local

    async def process_parsed(self, request: ChatKitReq, context: Any) -> StreamingResult | NonStreamingResult:
        """`ChatKitServer.process` for a request the route has already parsed and checked.

        Upstream's `process` builds a new pydantic adapter of the whole protocol union for every request (~3 ms
        here) before it dispatches; this dispatches the same way (openai-chatkit 1.6's private handlers, the
        version pinned in pyproject) without parsing again.
        """
        if is_streaming_req(request):
            return StreamingResult(self._process_streaming(request, context))
        return NonStreamingResult(await self._process_non_streaming(request, context))

    async def respond(
        self, thread: ThreadMetadata, input_user_message: UserMessageItem | None, context: Any
    ) -> AsyncIterator[ThreadStreamEvent]:
        """Answer the thread's newest message with the model picked for it (or the default)."""
        settings = self.settings.effective()
        chosen = input_user_message.inference_options.model if input_user_message else None
        try:
            target = route(chosen, settings, self.keys)
        except MissingKeyError as error:
            _title_from_first_words(thread, input_user_message)
            raise CustomStreamError(str(error), allow_retry=True) from None
        stated_window = None
        if target.provider in LOCAL:
            found = await self.local.look_at(target.provider, settings, fresh_s=2.0)
            if not found.running:
                _title_from_first_words(thread, input_user_message)
                raise CustomStreamError(found.not_running(), allow_retry=True)
            if not settings.context_window:
                stated_window = await self.local.context_window(
                    target.provider, target.model.split("/", 1)[1], settings
                )
        llm = await self.model_layer()
        info = PROVIDERS.get(target.provider)
        reader = Reader(
            images=llm.accepts_images(target),
            # An OpenAI-compatible server (a local one, a custom endpoint, OpenAI's models at another address)
            # cannot be counted on to read a PDF document: it gets the text. Gemini and Anthropic behind a proxy
            # still speak their own API.
            pdf_documents=info is not None and info.reads_pdf and not (target.provider == "openai" and target.api_base),
            image_tokens=llm.image_tokens,
        )
        if not reader.images and input_user_message and _has_images(input_user_message):
            _title_from_first_words(thread, input_user_message)
            raise CustomStreamError(
                f"{model_label(target.model)} cannot read images — pick a model that can in the composer, or send"
                " the message without the image.",
                allow_retry=True,
            )

        window = llm.context_window(target.model, settings.context_window or stated_window)
        converter = Converter(self.store, reader, functools.partial(llm.count_tokens, target.model), window)
        try:
            history, dropped = await self._history(thread.id, target, settings.system_prompt, window, llm, converter)
        except NotFoundError:
            # An item of the thread file turned out damaged: the store moved the file aside (nothing is deleted).
            raise CustomStreamError(DAMAGED, allow_retry=False) from None
        if dropped:
            log.info("sent the newest part of a long thread: the oldest items left out to fit")

        effort = settings.reasoning_effort.get(target.provider)
        first_words_sent = asyncio.Event()
        agent = Agent(
            name="ChatKit Desktop",
            instructions=settings.system_prompt,
            model=llm.make_model(target, first_words_sent),
            model_settings=ModelSettings(
                # The user asked for this effort: it is sent even to a model LiteLLM does not know to think.
                extra_args={"timeout": settings.request_timeout, "num_retries": 0, "max_retries": 0}
                | ({"allowed_openai_params": ["reasoning_effort"]} if effort else {}),
                reasoning=Reasoning(effort=effort) if effort else None,
            ),
        )
        agent_context: AgentContext[Any] = AgentContext(thread=thread, store=self.store, request_context=context)
        result = Runner.run_streamed(agent, history, context=agent_context, run_config=RunConfig(tracing_disabled=True))
        streaming: str | None = None  # the assistant message being streamed, until its done event
        got_text = False
        try:
            async for event in _fresh_assistant_ids(stream_agent_response(agent_context, result), agent_context):
                if isinstance(event, ThreadItemAddedEvent) and isinstance(event.item, AssistantMessageItem):
                    streaming = event.item.id
                elif isinstance(event, ThreadItemUpdatedEvent):
                    got_text = True
                elif isinstance(event, ThreadItemDoneEvent) and event.item.id == streaming:
                    streaming = None
                yield event
                # Resumed once ChatKit has sent the event to the page.
                if _says_something(event):
                    first_words_sent.set()
        except CustomStreamError:
            raise
        except Exception as error:
            log.warning("%s request failed: %s", target.label, type(error).__name__)
            if streaming is not None:
                # ChatKit keeps no half-streamed item when a stream fails; take it off the screen too, so
                # what the user sees is what the thread file holds (their message, then the error).
                yield ThreadItemRemovedEvent(item_id=streaming)
            sentence = llm.explain(error, target, settings.request_timeout, mid_answer=got_text)
            _title_from_first_words(thread, input_user_message)
            raise CustomStreamError(sentence, allow_retry=True) from None
        finally:
            result.cancel()

        # The conversation remembers the model that answered it: opening it again selects it in the picker. Set
        # after the answer, so that the thread is saved once, after the stream, not between its first events.
        thread.metadata = {**thread.metadata, "model": chosen or settings.default_model}
        if not thread.title:
            first = await asyncio.to_thread(self.store.first_user_text, thread.id)
            thread.title = await llm.make_title(target, first, settings.request_timeout) if first else None

    async def _history(
        self, thread_id: str, target: Route, system_prompt: str, window: int, llm: ModelLayer, converter: Converter
    ) -> tuple[list[Any], bool]:
        """The newest part of the thread that fits the model's window, as model input; and whether any was cut.

        Items are read and converted from the newest back, a batch at a time, until a turn no longer fits or
        the thread is exhausted: the cost follows what is sent, not how long the thread is.
        """
        newest_first = await asyncio.to_thread(self.store.items_newest_first, thread_id)
        batch: list[ThreadItem] = []
        size = HISTORY_BATCH
        while True:
            batch.extend(itertools.islice(newest_first, size - len(batch)))
            exhausted = len(batch) < size
            converter.costs.clear()  # parts of the last try are gone, and their ids may be reused
            converted = await converter.to_agent_input(batch[::-1])
            history, dropped = llm.fit_to_window(converted, target.model, system_prompt, window, converter.media_tokens)
            if dropped or exhausted:
                return history, bool(dropped)
            size *= 4

    async def handle_stream_cancelled(
        self, thread: ThreadMetadata, pending_items: list[ThreadItem], context: Any
    ) -> None:
        """Keep the part of the answer the user saw before pressing stop.

        Starlette cancels the request's task when the client goes away and re-cancels every later await, so
        without a shield the writes that save the partial answer are themselves cancelled.
        """
        with anyio.CancelScope(shield=True):
            await super().handle_stream_cancelled(thread, pending_items, context)
            if not thread.title:
                first = await asyncio.to_thread(self.store.first_user_text, thread.id)
                thread.title = fallback_title(first)
                await self.store.save_thread(thread, context)

    async def add_feedback(self, thread_id: str, item_ids: list[str], feedback: FeedbackKind, context: Any) -> None:
        """Keep the user's feedback in the thread file."""
        await asyncio.to_thread(self.store.set_feedback, thread_id, item_ids, feedback)


async def _fresh_assistant_ids(
    events: AsyncIterator[ThreadStreamEvent], context: AgentContext[Any]
) -> AsyncIterator[ThreadStreamEvent]:
    """Give each fake-id assistant message its own store id across its added/updated/done events.

    Chat-completions models (all LiteLLM ones) give every message the Agents SDK's `FAKE_RESPONSES_ID`; without
    this every answer in a thread has the same id and each one overwrites the previous one.
    """
    current: str | None = None
    async for event in events:
        if isinstance(event, ThreadItemAddedEvent) and event.item.id == FAKE_RESPONSES_ID:
            current = context.generate_id("message")
            event.item.id = current
        elif isinstance(event, ThreadItemUpdatedEvent) and event.item_id == FAKE_RESPONSES_ID:
            if current is None:
                current = context.generate_id("message")
            event.item_id = current
        elif isinstance(event, ThreadItemDoneEvent) and event.item.id == FAKE_RESPONSES_ID:
            event.item.id = current or context.generate_id("message")
            current = None
        yield event


def _says_something(event: ThreadStreamEvent) -> bool:
    """Whether the event brings words of the answer to the page."""
    return (
        isinstance(event, ThreadItemUpdatedEvent)
        and isinstance(event.update, AssistantMessageContentPartTextDelta)
        and bool(event.update.delta)
    )


def _has_images(message: UserMessageItem) -> bool:
    return any(is_image(attachment.mime_type) for attachment in message.attachments)


def _title_from_first_words(thread: ThreadMetadata, message: UserMessageItem | None) -> None:
    """A thread whose first answer failed still gets a title (ChatKit saves it with the error)."""
    if not thread.title and message is not None:
        thread.title = fallback_title(typed_text(message))
