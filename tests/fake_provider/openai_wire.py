"""OpenAI's chat completions wire format, as the fake speaks it: the messages of a request, the model list,
answers streamed or not, and OpenAI's real error bodies."""

from __future__ import annotations

import time
import uuid
from typing import Any

from tests.fake_provider.wire import (
    BAD_KEY,
    MODELS,
    STATUS_MARKER,
    THOUGHT,
    HandlerBase,
    Part,
    count_tokens,
    last_user_text,
    parse_data_url,
    stream_reply,
    text_of_parts,
    text_part,
    title_reply,
)

OPENAI_CHAT_PATHS = ("/v1/chat/completions", "/chat/completions")
OPENAI_MODELS_PATHS = ("/v1/models", "/models")

_OPENAI_ERRORS: dict[int, tuple[str, str, str]] = {
    400: ("invalid_request_error", "invalid_request", "Invalid request."),
    401: ("invalid_request_error", "invalid_api_key", "Incorrect API key provided."),
    403: (
        "invalid_request_error",
        "unsupported_country_region_territory",
        "Country, region, or territory not supported.",
    ),
    404: (
        "invalid_request_error",
        "model_not_found",
        "The model does not exist or you do not have access to it.",
    ),
    429: ("requests", "rate_limit_exceeded", "Rate limit reached for requests. Please try again later."),
}
_OPENAI_SERVER_ERROR = (
    "server_error",
    "server_error",
    "The server had an error while processing your request.",
)


def _part(part: dict[str, Any]) -> Part:
    """One part of a content list as a recorded `Part`."""
    kind = part.get("type")
    if kind == "image_url":
        image = part.get("image_url")
        url = image.get("url") if isinstance(image, dict) else image
        inline = parse_data_url(url)
        if inline:
            return {"kind": "image", "mime_type": inline[0], "data": inline[1]}
        if isinstance(url, str) and not url.startswith("data:"):
            return {"kind": "image", "url": url}
    elif kind == "file" and isinstance(part.get("file"), dict):
        file: dict[str, Any] = part["file"]
        filename = file.get("filename")
        if "file_data" in file:
            inline = parse_data_url(file["file_data"])
            if inline:
                return {"kind": "file", "mime_type": inline[0], "filename": filename, "data": inline[1]}
        elif "file_id" in file:
            return {"kind": "file", "file_id": file["file_id"], "filename": filename}
    elif "text" in part:
        return text_part(part["text"])
    return {"kind": "other", "part": part}


def content_parts(content: Any) -> list[Part]:
    """An OpenAI message's content as its parts: a string is one text part; a list keeps its order."""
    if isinstance(content, str):
        return [text_part(content)]
    if isinstance(content, list):
        return [_part(part) for part in content if isinstance(part, dict)]
    return []


def read_openai(body: dict[str, Any]) -> tuple[list[dict[str, str]], list[list[Part]]]:
    """An OpenAI chat body's `messages` as `[{"role", "content"}]` with content flattened to its text, and,
    message by message, all their parts (see `Part`)."""
    messages = body.get("messages")
    if not isinstance(messages, list):
        return [], []
    normalized, parts = [], []
    for message in messages:
        if not isinstance(message, dict):
            continue
        role = str(message.get("role", ""))
        # The Agents SDK and newer OpenAI clients may send instructions as "developer".
        if role == "developer":
            role = "system"
        message_parts = content_parts(message.get("content"))
        normalized.append({"role": role, "content": text_of_parts(message_parts)})
        parts.append(message_parts)
    return normalized, parts


def normalize_openai(body: dict[str, Any]) -> list[dict[str, str]]:
    """An OpenAI chat body's `messages` as `[{"role", "content"}]` with content flattened to text."""
    return read_openai(body)[0]


class OpenAIWire(HandlerBase):
    """The OpenAI half of the request handler."""

    def _openai_error(self, status: int) -> None:
        kind, code, message = _OPENAI_ERRORS.get(status) or (
            _OPENAI_SERVER_ERROR if status >= 500 else ("invalid_request_error", "error", f"Error {status}.")
        )
        self._send_json(status, {"error": {"message": message, "type": kind, "param": None, "code": code}})

    def _openai_models(self, api_key: str | None) -> None:
        if api_key == BAD_KEY:
            self._openai_error(401)
            return
        data = [{"id": name, "object": "model", "created": 1700000000, "owned_by": "fake"} for name in MODELS]
        self._send_json(200, {"object": "list", "data": data})

    def _openai_chat(
        self, api_key: str | None, body: dict[str, Any], messages: list[dict[str, str]], stream: bool
    ) -> None:
        if api_key == BAD_KEY:
            self._openai_error(401)
            return
        control = last_user_text(messages)
        status = STATUS_MARKER.search(control)
        if status:
            self._openai_error(int(status.group(1)))
            return
        if "[[hang]]" in control:
            self._hang()
            return
        model = str(body.get("model", "fake"))
        ident = f"chatcmpl-fake{uuid.uuid4().hex[:20]}"
        created = int(time.time())
        prompt_tokens = sum(count_tokens(message["content"]) for message in messages)
        if not stream:
            if "[[drop]]" in control:
                self._cut()
                return
            text = title_reply(messages)
            self._send_json(
                200,
                {
                    "id": ident,
                    "object": "chat.completion",
                    "created": created,
                    "model": model,
                    "system_fingerprint": "fp_fake",
                    "choices": [
                        {
                            "index": 0,
                            "message": {"role": "assistant", "content": text, "refusal": None},
                            "logprobs": None,
                            "finish_reason": "stop",
                        }
                    ],
                    "usage": self._openai_usage(prompt_tokens, count_tokens(text)),
                },
            )
            return

        text = stream_reply(messages)
        options = body.get("stream_options")
        include_usage = isinstance(options, dict) and bool(options.get("include_usage"))

        def chunk(delta: dict[str, Any], finish: str | None) -> dict[str, Any]:
            payload: dict[str, Any] = {
                "id": ident,
                "object": "chat.completion.chunk",
                "created": created,
                "model": model,
                "system_fingerprint": "fp_fake",
                "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}],
            }
            if include_usage:
                payload["usage"] = None
            return payload

        pieces, delay = self._pieces(text, "[[slow]]" in control)
        self._start_stream()
        self._write_event(chunk({"role": "assistant", "content": ""}, None))
        if "[[think]]" in control:
            for thought in THOUGHT:
                self._write_event(chunk({"reasoning_content": thought}, None))
        for index, piece in enumerate(pieces):
            if index:
                self._pause(delay)
            self._write_event(chunk({"content": piece}, None))
            if index == 1 and "[[drop]]" in control:
                self._cut()
                return
        self._write_event(chunk({}, "stop"))
        if include_usage:
            usage = chunk({}, None)
            usage["choices"] = []
            usage["usage"] = self._openai_usage(prompt_tokens, count_tokens(text))
            self._write_event(usage)
        self._write_event("[DONE]")
        self._end_stream()

    @staticmethod
    def _openai_usage(prompt: int, completion: int) -> dict[str, int]:
        return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}
