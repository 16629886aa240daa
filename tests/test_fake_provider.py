"""The fake provider speaks OpenAI's and Gemini's wire formats the way LiteLLM understands them.

These call LiteLLM directly (no app), so a failure here means the fake, not the app, is wrong.
"""

from __future__ import annotations

import asyncio
import base64
import os
import threading
import time
from collections.abc import Iterator
from typing import Any

os.environ["LITELLM_LOCAL_MODEL_COST_MAP"] = "True"
os.environ["LITELLM_MODE"] = "PRODUCTION"

import httpx  # noqa: E402
import litellm  # noqa: E402
import pytest  # noqa: E402
from litellm.exceptions import MidStreamFallbackError  # noqa: E402
from openai import APIStatusError  # noqa: E402

from tests import media  # noqa: E402
from tests.fake_provider import FakeProvider, stream_reply  # noqa: E402

litellm.suppress_debug_info = True

OPENAI = "openai/fake-local-1"
GEMINI = "gemini/gemini-2.5-flash"
NO_RETRIES: dict[str, Any] = {"num_retries": 0, "max_retries": 0}

CONVERSATION: list[dict[str, Any]] = [
    {"role": "system", "content": "Be brief."},
    {"role": "user", "content": [{"type": "text", "text": "First "}, {"type": "text", "text": "question"}]},
    {"role": "assistant", "content": "First answer"},
    {"role": "user", "content": "Second question here please"},
]
NORMALIZED = [
    {"role": "system", "content": "Be brief."},
    {"role": "user", "content": "First question"},
    {"role": "assistant", "content": "First answer"},
    {"role": "user", "content": "Second question here please"},
]
ECHO = "You said: Second question here please. (I received 4 messages: system,user,assistant,user)"


@pytest.fixture()
def p() -> Iterator[FakeProvider]:
    """A fresh fake per test, so `requests` holds only this test's calls."""
    with FakeProvider().start() as provider:
        yield provider


def base_of(p: FakeProvider, model: str) -> str:
    return p.openai_base if model.startswith("openai/") else p.gemini_base


def user(text: str) -> list[dict[str, Any]]:
    return [{"role": "user", "content": text}]


async def collect(model: str, api_base: str, messages: list[dict[str, Any]], **kwargs: Any) -> list[Any]:
    """Every chunk of a streamed `litellm.acompletion`."""
    response = await litellm.acompletion(
        model=model, api_base=api_base, messages=messages, stream=True, **{"api_key": "k", **kwargs}
    )
    return [chunk async for chunk in response]


def text_of(chunks: list[Any]) -> list[str]:
    return [c.choices[0].delta.content for c in chunks if c.choices and c.choices[0].delta.content]


def test_openai_stream_arrives_in_several_chunks_and_the_request_is_recorded_normalized(
    p: FakeProvider,
) -> None:
    chunks = asyncio.run(collect(OPENAI, p.openai_base, CONVERSATION, stream_options={"include_usage": True}))
    pieces = text_of(chunks)
    assert len(pieces) >= 3 and "".join(pieces) == ECHO
    assert [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason] == ["stop"]
    usage = [c.usage for c in chunks if getattr(c, "usage", None)][-1]
    assert (usage.prompt_tokens, usage.completion_tokens) == (10, len(ECHO.split()))
    [request] = p.requests
    assert (request.method, request.path, request.api_key, request.stream) == (
        "POST",
        "/v1/chat/completions",
        "k",
        True,
    )
    assert request.model == "fake-local-1" and request.body["stream_options"] == {"include_usage": True}
    assert request.messages == NORMALIZED


def test_gemini_stream_uses_the_url_and_header_litellm_builds_and_echoes_the_history(p: FakeProvider) -> None:
    chunks = asyncio.run(collect(GEMINI, p.gemini_base, CONVERSATION))
    pieces = text_of(chunks)
    assert len(pieces) >= 3 and "".join(pieces) == ECHO
    assert [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason] == ["stop"]
    [request] = p.requests
    assert request.path == "/v1beta/models/gemini-2.5-flash:streamGenerateContent"
    assert request.query == {"alt": "sse"} and request.stream
    assert request.api_key == "k" and request.headers["x-goog-api-key"] == "k"
    assert request.model == "gemini-2.5-flash"
    # LiteLLM sends the system prompt as `system_instruction` and the assistant turn as role "model".
    assert request.body["system_instruction"] == {"parts": [{"text": "Be brief."}]}
    assert [c["role"] for c in request.body["contents"]] == ["user", "model", "user"]
    assert request.messages == NORMALIZED


@pytest.mark.parametrize("model", [OPENAI, GEMINI])
def test_non_streaming_call_gets_a_title_style_answer(p: FakeProvider, model: str) -> None:
    response = asyncio.run(
        litellm.acompletion(model=model, api_base=base_of(p, model), api_key="k", messages=CONVERSATION)
    )
    assert response.choices[0].message.content == "Fake title Second question here"
    assert response.choices[0].finish_reason == "stop"
    assert response.usage.prompt_tokens == 10 and response.usage.completion_tokens == 5
    [request] = p.requests
    assert not request.stream and request.messages == NORMALIZED
    if model == GEMINI:
        assert request.path == "/v1beta/models/gemini-2.5-flash:generateContent" and request.query == {}


@pytest.mark.parametrize("model", [OPENAI, GEMINI])
def test_reply_counts_only_the_messages_sent(p: FakeProvider, model: str) -> None:
    chunks = asyncio.run(collect(model, base_of(p, model), user("just one")))
    assert "".join(text_of(chunks)) == "You said: just one. (I received 1 messages: user)"


@pytest.mark.parametrize(
    ("model", "text", "key", "expected", "status"),
    [
        (OPENAI, "[[status:429]] hi", "k", litellm.RateLimitError, 429),
        (OPENAI, "hi", "bad-key", litellm.AuthenticationError, 401),
        (OPENAI, "[[status:500]] hi", "k", litellm.InternalServerError, 500),
        (GEMINI, "[[status:429]] hi", "k", litellm.RateLimitError, 429),
        # Gemini answers a bad key with 400 INVALID_ARGUMENT; LiteLLM maps it by its message.
        (GEMINI, "hi", "bad-key", litellm.AuthenticationError, 401),
        (GEMINI, "[[status:401]] hi", "k", litellm.AuthenticationError, 401),
    ],
)
def test_errors_map_to_litellm_exception_classes(
    p: FakeProvider, model: str, text: str, key: str, expected: type[APIStatusError], status: int
) -> None:
    with pytest.raises(expected) as raised:
        asyncio.run(
            litellm.acompletion(model=model, api_base=base_of(p, model), api_key=key, messages=user(text), **NO_RETRIES)
        )
    assert raised.value.status_code == status
    assert len(p.requests) == 1, "no retries"


@pytest.mark.parametrize("model", [OPENAI, GEMINI])
def test_bad_key_fails_a_stream_before_any_text(p: FakeProvider, model: str) -> None:
    with pytest.raises(litellm.AuthenticationError):
        asyncio.run(collect(model, base_of(p, model), user("hi"), api_key="bad-key", **NO_RETRIES))


def test_gemini_stream_errors_are_raised_at_the_first_chunk_and_5xx_429_come_wrapped(p: FakeProvider) -> None:
    # gemini/ streams open the HTTP request lazily, so errors surface while iterating; LiteLLM wraps 429
    # and 5xx in MidStreamFallbackError (a ServiceUnavailableError) around the mapped exception.
    with pytest.raises(MidStreamFallbackError) as raised:
        asyncio.run(collect(GEMINI, p.gemini_base, user("[[status:429]] hi"), **NO_RETRIES))
    assert isinstance(raised.value.original_exception, litellm.RateLimitError)
    assert raised.value.status_code == 429


@pytest.mark.parametrize(
    ("path", "status", "error"),
    [
        (
            "/v1/chat/completions",
            401,
            {
                "message": "Incorrect API key provided.",
                "type": "invalid_request_error",
                "param": None,
                "code": "invalid_api_key",
            },
        ),
        ("/v1beta/models/gemini-2.5-flash:generateContent", 503, {"code": 503, "status": "UNAVAILABLE"}),
        ("/models/gemini-2.5-flash:streamGenerateContent", 403, {"code": 403, "status": "PERMISSION_DENIED"}),
    ],
)
def test_status_control_sends_the_providers_error_body(
    p: FakeProvider, path: str, status: int, error: dict[str, Any]
) -> None:
    text = f"please [[status:{status}]] now"
    body = (
        {"model": "m", "messages": user(text)}
        if "chat" in path
        else {"contents": [{"role": "user", "parts": [{"text": text}]}]}
    )
    response = httpx.post(p.url + path, json=body, params={"key": "from-query"})
    assert response.status_code == status
    assert response.json()["error"].items() >= error.items()
    assert p.requests[0].api_key == "from-query"


def test_gemini_bad_key_body_is_what_google_sends(p: FakeProvider) -> None:
    response = httpx.post(
        f"{p.gemini_base}/models/gemini-2.5-flash:generateContent",
        json={"contents": [{"role": "user", "parts": [{"text": "hi"}]}]},
        headers={"x-goog-api-key": "bad-key"},
    )
    assert response.status_code == 400
    error = response.json()["error"]
    assert (error["code"], error["status"]) == (400, "INVALID_ARGUMENT")
    assert error["message"] == "API key not valid. Please pass a valid API key."
    assert error["details"][0]["reason"] == "API_KEY_INVALID"


def test_models_list_and_unknown_paths(p: FakeProvider) -> None:
    listing = httpx.get(f"{p.openai_base}/models", headers={"Authorization": "Bearer k"})
    assert listing.status_code == 200 and listing.json()["object"] == "list"
    assert [m["id"] for m in listing.json()["data"]] == ["fake-local-1", "fake-local-2"]
    assert httpx.get(f"{p.url}/models").status_code == 200
    missing = httpx.post(f"{p.url}/v2/whatever", json={})
    assert missing.status_code == 404 and "error" in missing.json()
    assert [(r.method, r.path) for r in p.requests] == [
        ("GET", "/v1/models"),
        ("GET", "/models"),
        ("POST", "/v2/whatever"),
    ]
    p.clear()
    assert p.requests == []


@pytest.fixture()
def plain_httpx_transport(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """LiteLLM's async calls over plain httpx instead of its default aiohttp transport.

    Clients keep the transport they were built with, so the client cache is emptied on the way in and out,
    and the lazily built module-level client (gemini/ streams use it) is rebuilt for the test.
    """
    # Touch it first, so it exists with the default transport and undo() puts it back.
    assert litellm.module_level_aclient is not None
    litellm.in_memory_llm_clients_cache.flush_cache()
    monkeypatch.setattr(litellm, "disable_aiohttp_transport", True)
    monkeypatch.delitem(vars(litellm), "module_level_aclient")
    yield
    monkeypatch.undo()
    litellm.in_memory_llm_clients_cache.flush_cache()


@pytest.mark.parametrize("model", [OPENAI, GEMINI])
def test_drop_cuts_the_stream_after_two_chunks_and_the_call_raises(
    p: FakeProvider, model: str, plain_httpx_transport: None
) -> None:
    received: list[str] = []

    async def run() -> None:
        response = await litellm.acompletion(
            model=model,
            api_base=base_of(p, model),
            api_key="k",
            messages=user("[[drop]] a b c d e f"),
            stream=True,
            **NO_RETRIES,
        )
        async for chunk in response:
            received.extend(text_of([chunk]))

    started = time.monotonic()
    # LiteLLM reports a stream that breaks after its first chunk as MidStreamFallbackError.
    with pytest.raises(MidStreamFallbackError) as raised:
        asyncio.run(run())
    assert time.monotonic() - started < 3
    assert isinstance(raised.value.original_exception, litellm.APIConnectionError)
    assert received == ["You said: [[drop]] ", "a b c "]


@pytest.mark.parametrize("model", [OPENAI, GEMINI])
def test_drop_is_swallowed_by_litellms_default_aiohttp_transport(p: FakeProvider, model: str) -> None:
    # Not the fake's doing: LiteLLM's aiohttp transport ends a stream quietly when the body is cut
    # (ClientPayloadError is caught in AiohttpResponseStream). If this starts failing, LiteLLM fixed it.
    chunks = asyncio.run(collect(model, base_of(p, model), user("[[drop]] a b c d e f"), **NO_RETRIES))
    assert text_of(chunks) == ["You said: [[drop]] ", "a b c "]


def test_slow_streams_short_chunks_a_tenth_of_a_second_apart(p: FakeProvider) -> None:
    async def first_chunks() -> list[tuple[float, str]]:
        response = await litellm.acompletion(
            model=OPENAI, api_base=p.openai_base, api_key="k", messages=user("[[slow]] hi"), stream=True
        )
        seen: list[tuple[float, str]] = []
        async for chunk in response:
            seen.extend((time.monotonic(), piece) for piece in text_of([chunk]))
            if len(seen) == 4:
                break
        return seen

    seen = asyncio.run(first_chunks())
    gaps = [later[0] - earlier[0] for earlier, later in zip(seen, seen[1:], strict=False)]
    assert all(0.07 < gap < 0.3 for gap in gaps), gaps
    # The reply has fewer than 40 words, so its 40 pieces are slices of a character or two.
    pieces = [piece for _, piece in seen]
    assert all(1 <= len(piece) <= 2 for piece in pieces), pieces
    assert stream_reply([{"role": "user", "content": "[[slow]] hi"}]).startswith("".join(pieces))


def test_chunk_delay_spaces_out_normal_chunks() -> None:
    with FakeProvider(chunk_delay=0.05).start() as p:
        started = time.monotonic()
        chunks = asyncio.run(collect(OPENAI, p.openai_base, CONVERSATION))
        elapsed = time.monotonic() - started
    assert "".join(text_of(chunks)) == ECHO
    assert elapsed >= 0.05 * (len(text_of(chunks)) - 1)


def test_stop_returns_promptly_while_a_request_hangs() -> None:
    p = FakeProvider().start()
    errors: list[BaseException] = []

    def call() -> None:
        try:
            litellm.completion(
                model=OPENAI, api_base=p.openai_base, api_key="k", messages=user("[[hang]]"), **NO_RETRIES
            )
        except Exception as error:
            errors.append(error)

    caller = threading.Thread(target=call, daemon=True)
    caller.start()
    deadline = time.monotonic() + 5
    while not p.requests and time.monotonic() < deadline:
        time.sleep(0.01)
    assert p.requests and p.requests[0].messages == [{"role": "user", "content": "[[hang]]"}]
    time.sleep(0.2)
    assert caller.is_alive(), "a hanging request gets no answer"
    started = time.monotonic()
    p.stop()
    assert time.monotonic() - started < 2
    caller.join(2)
    assert not caller.is_alive() and errors, "the caller is released with an error"


# ---- images and files in a message ----------------------------------------------------------------------

PNG = media.png()
JPEG = media.jpeg(color=media.BLUE)
PDF = media.pdf("Quarterly report")


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def data_url(mime_type: str, data: bytes) -> str:
    return f"data:{mime_type};base64,{b64(data)}"


def test_openai_images_and_files_are_recorded_byte_for_byte_in_order_and_the_text_is_unchanged(
    p: FakeProvider,
) -> None:
    audio = {"type": "input_audio", "input_audio": {"data": "AAAA", "format": "wav"}}
    body = {
        "model": "fake-local-1",
        "messages": [
            {"role": "developer", "content": "Be brief."},
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "Look at "},
                    {"type": "image_url", "image_url": {"url": data_url("image/png", PNG), "detail": "auto"}},
                    {"type": "text", "text": "these two"},
                    {"type": "file", "file": {"file_data": data_url("application/pdf", PDF), "filename": "r.pdf"}},
                    {"type": "image_url", "image_url": {"url": "https://example.com/cat.jpg"}},
                    {"type": "file", "file": {"file_id": "file-abc", "filename": "old.pdf"}},
                    audio,
                ],
            },
            {"role": "assistant", "content": None, "tool_calls": []},
        ],
    }
    response = httpx.post(f"{p.openai_base}/chat/completions", json=body, headers={"Authorization": "Bearer k"})
    assert response.status_code == 200
    # The replies read only the text parts, joined as before.
    assert response.json()["choices"][0]["message"]["content"] == "Fake title Look at these"
    [request] = p.requests
    assert request.messages == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Look at these two"},
        {"role": "assistant", "content": ""},
    ]
    assert request.parts == [
        [{"kind": "text", "text": "Be brief."}],
        [
            {"kind": "text", "text": "Look at "},
            {"kind": "image", "mime_type": "image/png", "data": PNG},
            {"kind": "text", "text": "these two"},
            {"kind": "file", "mime_type": "application/pdf", "filename": "r.pdf", "data": PDF},
            {"kind": "image", "url": "https://example.com/cat.jpg"},
            {"kind": "file", "file_id": "file-abc", "filename": "old.pdf"},
            {"kind": "other", "part": audio},
        ],
        [],
    ]
    assert [part["kind"] for part in request.media()] == ["image", "file", "image", "file", "other"]
    assert request.media("system") == [] and request.media("assistant") == []


def test_gemini_inline_data_is_recorded_byte_for_byte_in_either_spelling(p: FakeProvider) -> None:
    call = {"functionCall": {"name": "lookup", "args": {}}}
    body = {
        "systemInstruction": {"parts": [{"text": "Be brief."}]},
        "contents": [
            {
                "role": "user",
                "parts": [
                    {"text": "Compare "},
                    {"inline_data": {"mime_type": "image/png", "data": b64(PNG)}},
                    {"inlineData": {"mimeType": "image/jpeg", "data": b64(JPEG)}},
                    {"text": "with the report"},
                    {"inline_data": {"data": b64(PDF), "mime_type": "application/pdf"}},
                    {"file_data": {"mime_type": "application/pdf", "file_uri": "https://g.co/files/abc"}},
                    {"fileData": {"fileUri": "https://g.co/files/def"}},
                ],
            },
            {"role": "model", "parts": [call]},
        ],
    }
    response = httpx.post(f"{p.gemini_base}/models/gemini-2.5-flash:generateContent", json=body, params={"key": "k"})
    assert response.status_code == 200
    assert response.json()["candidates"][0]["content"]["parts"][0]["text"] == "Fake title Compare with the"
    [request] = p.requests
    assert request.messages == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Compare with the report"},
        {"role": "assistant", "content": ""},
    ]
    assert request.parts[1:] == [
        [
            {"kind": "text", "text": "Compare "},
            {"kind": "image", "mime_type": "image/png", "data": PNG},
            {"kind": "image", "mime_type": "image/jpeg", "data": JPEG},
            {"kind": "text", "text": "with the report"},
            # Gemini's inline data carries no file name.
            {"kind": "file", "mime_type": "application/pdf", "filename": None, "data": PDF},
            {"kind": "file", "mime_type": "application/pdf", "uri": "https://g.co/files/abc"},
            {"kind": "file", "mime_type": None, "uri": "https://g.co/files/def"},
        ],
        [{"kind": "other", "part": call}],
    ]
    assert request.media("user")[0]["data"] == PNG


@pytest.mark.parametrize(
    "part",
    [
        {"type": "image_url", "image_url": {"url": "data:image/png;base64,not base64!"}},
        {"type": "file", "file": {"file_data": "data:application/pdf;base64,%%%", "filename": "x.pdf"}},
    ],
)
def test_inline_data_that_is_not_base64_is_kept_as_sent_not_decoded(p: FakeProvider, part: dict[str, Any]) -> None:
    body = {"model": "m", "messages": [{"role": "user", "content": [{"type": "text", "text": "hi"}, part]}]}
    assert httpx.post(f"{p.openai_base}/chat/completions", json=body).status_code == 200
    assert p.requests[0].parts == [[{"kind": "text", "text": "hi"}, {"kind": "other", "part": part}]]


ATTACHED: list[dict[str, Any]] = [
    {
        "role": "user",
        "content": [
            {"type": "text", "text": "What is in these?"},
            {"type": "image_url", "image_url": {"url": data_url("image/png", PNG)}},
            {"type": "file", "file": {"file_data": data_url("application/pdf", PDF), "filename": "a.pdf"}},
        ],
    }
]


def test_litellm_sends_a_gemini_model_images_and_pdfs_as_inline_data_and_the_fake_records_their_bytes(
    p: FakeProvider,
) -> None:
    chunks = asyncio.run(collect(GEMINI, p.gemini_base, ATTACHED))
    assert "".join(text_of(chunks)) == "You said: What is in these?. (I received 1 messages: user)"
    [request] = p.requests
    # What LiteLLM really puts on the wire: snake_case inline_data, no file name.
    assert request.body["contents"][0]["parts"] == [
        {"text": "What is in these?"},
        {"inline_data": {"data": b64(PNG), "mime_type": "image/png"}},
        {"inline_data": {"data": b64(PDF), "mime_type": "application/pdf"}},
    ]
    assert request.media() == [
        {"kind": "image", "mime_type": "image/png", "data": PNG},
        {"kind": "file", "mime_type": "application/pdf", "filename": None, "data": PDF},
    ]


def test_litellm_sends_an_openai_model_images_and_pdfs_as_data_urls_and_the_fake_records_their_bytes(
    p: FakeProvider,
) -> None:
    chunks = asyncio.run(collect(OPENAI, p.openai_base, ATTACHED))
    assert "".join(text_of(chunks)) == "You said: What is in these?. (I received 1 messages: user)"
    [request] = p.requests
    assert request.parts == [
        [
            {"kind": "text", "text": "What is in these?"},
            {"kind": "image", "mime_type": "image/png", "data": PNG},
            {"kind": "file", "mime_type": "application/pdf", "filename": "a.pdf", "data": PDF},
        ]
    ]
