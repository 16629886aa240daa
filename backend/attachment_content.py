"""What the model receives for an attached file, and roughly what it costs in tokens.

Parts are in the Agents SDK's input format (`input_image`, `input_file`, `input_text`); the SDK and LiteLLM turn
them into each provider's own format (OpenAI's `image_url`/`file` parts, Gemini's inline data, Anthropic's image
and document blocks). Images go as images to models that can see; PDFs go as documents to providers that read
them natively, else as their text; text and code files go as text, under their name. A PDF's text and page
count are worked out once per file content (by hash), not on every turn.
"""

from __future__ import annotations

import base64
import functools
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import filetypes
from .attachments import Meta

# What a model is told in place of an image it cannot see (in earlier turns, after a switch of model).
IMAGE_NOT_SENT = "[{name}: an image, not shown to this model because it cannot read images]"
# Rough tokens per PDF page read natively (page image plus text); providers count differently, this errs high.
PDF_PAGE_TOKENS = 800
DATA_URL_CACHE_CHARS = 64 * 1024 * 1024
_DATA_URLS: OrderedDict[str, str] = OrderedDict()
_DATA_URLS_LOCK = threading.Lock()
# An image's cost by content hash: measured once per file (it decodes the image), not on every turn.
_IMAGE_TOKENS: dict[str, int] = {}


@dataclass(frozen=True)
class Reader:
    """What the model in use can take: images, and PDFs as documents; and what an image costs it."""

    images: bool
    pdf_documents: bool
    image_tokens: Callable[[str], int]
    """An image's token cost, from its data URL."""


def content_part(meta: Meta, path: Path, reader: Reader) -> tuple[dict[str, Any], int]:
    """The model input part for one uploaded attachment, and its token cost when that is not plain text
    (text parts are counted by the caller's tokenizer, so their cost here is 0)."""
    sha = meta.sha256 or ""
    if filetypes.is_image(meta.mime_type):
        if not reader.images:
            return _text(IMAGE_NOT_SENT.format(name=meta.name)), 0
        url = _data_url(meta, path)
        if sha not in _IMAGE_TOKENS:
            _IMAGE_TOKENS[sha] = reader.image_tokens(url)
        return {"type": "input_image", "image_url": url, "detail": "auto"}, _IMAGE_TOKENS[sha]
    if meta.mime_type == filetypes.PDF_TYPE:
        if reader.pdf_documents:
            part = {"type": "input_file", "file_data": _data_url(meta, path), "filename": meta.name}
            return part, _pdf_pages(sha, path) * PDF_PAGE_TOKENS
        return _text(_framed(meta.name, _pdf_text(sha, path) or "(no text could be read from this PDF)")), 0
    return _text(_framed(meta.name, filetypes.decode_text(path.read_bytes()) or "")), 0


def _text(text: str) -> dict[str, Any]:
    return {"type": "input_text", "text": text}


def _framed(name: str, text: str) -> str:
    # A fence longer than any run of backticks in the file, so a Markdown file cannot close it early.
    fence = "`" * max(3, _longest_backtick_run(text) + 1)
    return f"Attached file {name}:\n{fence}\n{text.removesuffix(chr(10))}\n{fence}"


def _longest_backtick_run(text: str) -> int:
    longest = run = 0
    for char in text:
        run = run + 1 if char == "`" else 0
        longest = max(longest, run)
    return longest


def _data_url(meta: Meta, path: Path) -> str:
    # Every turn of a thread sends its files again; reading and encoding 5 MB takes ~20 ms, so the newest
    # encodings are kept (by content hash and type, so a changed file is never served stale).
    key = f"{meta.sha256}:{meta.mime_type}"
    with _DATA_URLS_LOCK:
        if (url := _DATA_URLS.get(key)) is not None:
            _DATA_URLS.move_to_end(key)
            return url
    url = f"data:{meta.mime_type};base64,{base64.b64encode(path.read_bytes()).decode('ascii')}"
    with _DATA_URLS_LOCK:
        _DATA_URLS[key] = url
        while sum(map(len, _DATA_URLS.values())) > DATA_URL_CACHE_CHARS and len(_DATA_URLS) > 1:
            _DATA_URLS.popitem(last=False)
    return url


@functools.lru_cache(maxsize=64)
def _pdf_text(sha256: str, path: Path) -> str:
    return filetypes.pdf_text(path.read_bytes())


@functools.lru_cache(maxsize=256)
def _pdf_pages(sha256: str, path: Path) -> int:
    return filetypes.pdf_pages(path.read_bytes())
