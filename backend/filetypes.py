"""What a file is, decided from its bytes: an image, a PDF, text, or something the app refuses — and the text in it.

A browser's claimed MIME type comes from the file's extension (or is empty), so it is never trusted: images and
PDFs are recognised by their signature and then opened (a corrupt one is refused here, not by the model
provider later); anything else is accepted as text only if it decodes as text.
"""

from __future__ import annotations

import codecs
import io
import mimetypes
import warnings

IMAGE_TYPES: dict[str, tuple[str, ...]] = {
    "image/png": (".png",),
    "image/jpeg": (".jpg", ".jpeg"),
    "image/webp": (".webp",),
    "image/gif": (".gif",),
}
PDF_TYPE = "application/pdf"
# fmt: off
TEXT_EXTENSIONS = [
    ".txt", ".md", ".markdown", ".rst", ".log", ".csv", ".tsv", ".json", ".jsonl", ".xml", ".html", ".htm",
    ".css", ".yaml", ".yml", ".toml", ".ini", ".cfg", ".conf", ".env", ".sql", ".py", ".pyi", ".ipynb", ".js",
    ".mjs", ".cjs", ".ts", ".tsx", ".jsx", ".java", ".kt", ".swift", ".c", ".h", ".cc", ".cpp", ".hpp", ".cs",
    ".go", ".rs", ".rb", ".php", ".pl", ".lua", ".r", ".jl", ".scala", ".sh", ".bash", ".zsh", ".ps1", ".bat",
    ".tex", ".svg", ".vue", ".svelte", ".dart", ".ex", ".exs", ".hs", ".ml", ".clj", ".gradle", ".properties",
    ".dockerfile", ".makefile", ".gitignore",
]
# fmt: on
ACCEPT: dict[str, list[str]] = {
    **{mime: list(exts) for mime, exts in IMAGE_TYPES.items()},
    PDF_TYPE: [".pdf"],
    "text/plain": TEXT_EXTENSIONS,
}
"""What the file pickers offer, as ChatKit's `composer.attachments.accept` (MIME type → extensions). A text file
with another extension is still accepted when it is dropped or pasted: its bytes decide."""

KINDS_SENTENCE = "images (PNG, JPEG, WebP, GIF), PDFs and text or code files"

# Image signatures: the first bytes of each accepted format.
_SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
)
_TEXT_TYPES = {".md": "text/markdown", ".csv": "text/csv", ".html": "text/html", ".htm": "text/html"}
# Control characters that never occur in text (tab, newlines, form feed and escape do).
_BINARY_BYTES = bytes(set(range(32)) - {9, 10, 12, 13, 27})


class NotAcceptable(ValueError):
    """The bytes are not a file the app accepts; the message is the sentence for the user (without the name)."""


def identify(data: bytes, name: str) -> str:
    """The MIME type of `data` (a file called `name`): an accepted image or PDF type, or a text type.

    Raises NotAcceptable when the bytes are not one of them, or claim to be an image or a PDF and are corrupt.
    """
    mime = _signature_type(data)
    if mime is not None:
        _check_image(data, mime)
        return mime
    if data.startswith(b"%PDF-"):
        _check_pdf(data)
        return PDF_TYPE
    if decode_text(data) is None:
        raise NotAcceptable(f"is not a file ChatKit Desktop can read — attach {KINDS_SENTENCE}")
    suffix = "." + name.rsplit(".", 1)[-1].lower() if "." in name else ""
    guessed = _TEXT_TYPES.get(suffix) or mimetypes.guess_type(name)[0]
    return guessed if guessed and guessed.startswith("text/") else "text/plain"


def is_image(mime: str) -> bool:
    """Whether `mime` is one of the image types models are sent as images."""
    return mime in IMAGE_TYPES


def decode_text(data: bytes) -> str | None:
    """`data` as text (UTF-8, or UTF-16 with a byte-order mark), or None when it is not text."""
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            return None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return None
    sample = data[:65536]
    if any(byte in _BINARY_BYTES for byte in sample):
        return None
    return text


def pdf_text(data: bytes) -> str:
    """The text of a PDF, page by page (for models that cannot read PDFs themselves)."""
    from pypdf import PdfReader

    reader = PdfReader(io.BytesIO(data))
    pages = [(page.extract_text() or "").strip() for page in reader.pages]
    return "\n\n".join(f"[page {number}]\n{text}" for number, text in enumerate(pages, 1) if text)


def pdf_pages(data: bytes) -> int:
    """How many pages a (checked) PDF has."""
    from pypdf import PdfReader

    return len(PdfReader(io.BytesIO(data)).pages)


def _signature_type(data: bytes) -> str | None:
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return next((mime for signature, mime in _SIGNATURES if data.startswith(signature)), None)


def _check_image(data: bytes, mime: str) -> None:
    # Pillow is imported here, on the first image, not when the server starts.
    from PIL import Image

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as image:
                image.load()
    except Exception:
        label = mime.split("/")[1].upper()
        raise NotAcceptable(f"is not a readable {label} image (the file may be damaged)") from None


def _check_pdf(data: bytes) -> None:
    from pypdf import PdfReader
    from pypdf.errors import PyPdfError

    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
        if reader.is_encrypted and not reader.decrypt(""):
            raise NotAcceptable("is a password-protected PDF — remove the password, then attach it again")
        if len(reader.pages) == 0:
            raise NotAcceptable("is a PDF with no pages")
    except NotAcceptable:
        raise
    except (PyPdfError, ValueError, KeyError, TypeError, OSError, RecursionError):
        raise NotAcceptable("is not a readable PDF (the file may be damaged)") from None
