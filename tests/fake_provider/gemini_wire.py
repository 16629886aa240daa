"""Gemini's generateContent wire format, as the fake speaks it: the messages of a request, answers streamed or
not, and Google's real error bodies (an invalid key included)."""

from __future__ import annotations

import re
import uuid
from typing import Any

from tests.fake_provider.wire import (
    BAD_KEY,
    STATUS_MARKER,
    HandlerBase,
    Part,
    count_tokens,
    decode_base64,
    last_user_text,
    stream_reply,
    text_of_parts,
    text_part,
    title_reply,
)

GEMINI_PATH = re.compile(r"^(?:/v1beta)?/models/(?P<model>[^:]+):(?P<method>streamGenerateContent|generateContent)$")

_GEMINI_ERRORS: dict[int, tuple[str, str]] = {
    400: ("INVALID_ARGUMENT", "Request contains an invalid argument."),
    401: (
        "UNAUTHENTICATED",
        "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or "
        "other valid authentication credential.",
    ),
    403: ("PERMISSION_DENIED", "The caller does not have permission."),
    404: ("NOT_FOUND", "Requested entity was not found."),
    429: ("RESOURCE_EXHAUSTED", "Resource has been exhausted (e.g. check quota)."),
    500: ("INTERNAL", "An internal error has occurred. Please retry or report in https://ai.google.dev/."),
    503: ("UNAVAILABLE", "The model is overloaded. Please try again later."),
    504: ("DEADLINE_EXCEEDED", "The request timed out. Please try again."),
}


def _either(part: dict[str, Any], snake: str, camel: str) -> Any:
    """A field LiteLLM or a client may spell in snake_case or camelCase (protobuf JSON accepts both)."""
    return part[snake] if snake in part else part.get(camel)


def _part(part: dict[str, Any]) -> Part:
    """One Gemini part as a recorded `Part`."""
    if "text" in part:
        return text_part(part["text"])
    inline = _either(part, "inline_data", "inlineData")
    if isinstance(inline, dict):
        mime_type = _either(inline, "mime_type", "mimeType")
        data = decode_base64(inline.get("data"))
        if isinstance(mime_type, str) and data is not None:
            if mime_type.startswith("image/"):
                return {"kind": "image", "mime_type": mime_type, "data": data}
            return {"kind": "file", "mime_type": mime_type, "filename": None, "data": data}
    reference = _either(part, "file_data", "fileData")
    if isinstance(reference, dict):
        uri = _either(reference, "file_uri", "fileUri")
        if isinstance(uri, str):
            return {"kind": "file", "mime_type": _either(reference, "mime_type", "mimeType"), "uri": uri}
    return {"kind": "other", "part": part}


def gemini_parts(parts: Any) -> list[Part]:
    """A Gemini `parts` list as recorded parts, in order."""
    if not isinstance(parts, list):
        return []
    return [_part(part) for part in parts if isinstance(part, dict)]


def read_gemini(body: dict[str, Any]) -> tuple[list[dict[str, str]], list[list[Part]]]:
    """A Gemini body's system instruction and `contents` as `[{"role", "content"}]` (model → assistant, content
    the joined texts), and, message by message, all their parts (see `Part`)."""
    normalized: list[dict[str, str]] = []
    parts: list[list[Part]] = []

    def add(role: str, content_parts: list[Part]) -> None:
        normalized.append({"role": role, "content": text_of_parts(content_parts)})
        parts.append(content_parts)

    system = _either(body, "system_instruction", "systemInstruction")
    if isinstance(system, dict):
        add("system", gemini_parts(system.get("parts")))
    contents = body.get("contents")
    if isinstance(contents, list):
        for content in contents:
            if not isinstance(content, dict):
                continue
            role = str(content.get("role", "user"))
            add("assistant" if role == "model" else role, gemini_parts(content.get("parts")))
    return normalized, parts


def normalize_gemini(body: dict[str, Any]) -> list[dict[str, str]]:
    """A Gemini body's system instruction and `contents` as `[{"role", "content"}]` (model → assistant)."""
    return read_gemini(body)[0]


class GeminiWire(HandlerBase):
    """The Gemini half of the request handler."""

    def _gemini_error(self, status: int) -> None:
        code, message = _GEMINI_ERRORS.get(status) or (
            ("INTERNAL", "Internal error.") if status >= 500 else ("FAILED_PRECONDITION", f"Error {status}.")
        )
        self._send_json(status, {"error": {"code": status, "message": message, "status": code}})

    def _gemini(
        self,
        api_key: str | None,
        body: dict[str, Any],
        messages: list[dict[str, str]],
        stream: bool,
        model: str,
    ) -> None:
        if api_key == BAD_KEY:
            # Gemini really answers an invalid key with 400 INVALID_ARGUMENT, not 401.
            error = {
                "code": 400,
                "message": "API key not valid. Please pass a valid API key.",
                "status": "INVALID_ARGUMENT",
                "details": [
                    {
                        "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                        "reason": "API_KEY_INVALID",
                        "domain": "googleapis.com",
                        "metadata": {"service": "generativelanguage.googleapis.com"},
                    }
                ],
            }
            self._send_json(400, {"error": error})
            return
        control = last_user_text(messages)
        status = STATUS_MARKER.search(control)
        if status:
            self._gemini_error(int(status.group(1)))
            return
        if "[[hang]]" in control:
            self._hang()
            return
        response_id = uuid.uuid4().hex[:22]
        prompt_tokens = sum(count_tokens(message["content"]) for message in messages)

        def response(text: str, final: bool, completion_tokens: int = 0) -> dict[str, Any]:
            candidate: dict[str, Any] = {"content": {"parts": [{"text": text}], "role": "model"}, "index": 0}
            payload: dict[str, Any] = {
                "candidates": [candidate],
                "modelVersion": model,
                "responseId": response_id,
            }
            if final:
                candidate["finishReason"] = "STOP"
                payload["usageMetadata"] = {
                    "promptTokenCount": prompt_tokens,
                    "candidatesTokenCount": completion_tokens,
                    "totalTokenCount": prompt_tokens + completion_tokens,
                }
            return payload

        if not stream:
            if "[[drop]]" in control:
                self._cut()
                return
            text = title_reply(messages)
            self._send_json(200, response(text, True, count_tokens(text)))
            return

        text = stream_reply(messages)
        pieces, delay = self._pieces(text, "[[slow]]" in control)
        self._start_stream()
        for index, piece in enumerate(pieces):
            if index:
                self._pause(delay)
            final = index == len(pieces) - 1
            self._write_event(response(piece, final, count_tokens(text)))
            if index == 1 and "[[drop]]" in control and not final:
                self._cut()
                return
        self._end_stream()
