"""Sample files for the attachment tests, made in code: real, small, the same bytes on every run.

Images come from Pillow; the PDF is written by hand (objects, a cross-reference table with the right byte offsets,
a Helvetica text stream), so pypdf can open it and extract its text; the broken files have the right signature
and nothing valid after it.
"""

from __future__ import annotations

import io
import random

from PIL import Image, ImageDraw

Color = tuple[int, int, int]

RED: Color = (220, 30, 40)
BLUE: Color = (30, 60, 220)

PYTHON_SOURCE = '''"""Greets whoever runs it."""


def greet(name: str) -> str:
    # A café's welcome, with a non-ASCII letter on purpose.
    return f"Hello, {name}!"


if __name__ == "__main__":
    print(greet("world"))
'''
"""A short Python module, as text; `python_source()` gives its UTF-8 bytes."""


def _image(width: int, height: int, color: Color) -> Image.Image:
    """A `width` x `height` RGB picture of `color` with a white diagonal, so no two sizes look alike."""
    image = Image.new("RGB", (width, height), color)
    ImageDraw.Draw(image).line([(0, 0), (width - 1, height - 1)], fill=(255, 255, 255))
    return image


def _encode(image: Image.Image, fmt: str, **options: object) -> bytes:
    out = io.BytesIO()
    image.save(out, format=fmt, **options)
    return out.getvalue()


def png(width: int = 8, height: int = 8, color: Color = RED) -> bytes:
    """A real PNG file."""
    return _encode(_image(width, height, color), "PNG")


def jpeg(width: int = 8, height: int = 8, color: Color = RED) -> bytes:
    """A real baseline JPEG file."""
    return _encode(_image(width, height, color), "JPEG", quality=90)


def webp(width: int = 8, height: int = 8, color: Color = RED) -> bytes:
    """A real lossless WebP file."""
    return _encode(_image(width, height, color), "WEBP", lossless=True)


def gif(width: int = 8, height: int = 8, color: Color = RED) -> bytes:
    """A real GIF file (one frame)."""
    return _encode(_image(width, height, color).convert("P"), "GIF")


def _pdf_string(text: str) -> bytes:
    """`text` as a PDF literal string: Latin-1, with `\\`, `(` and `)` escaped."""
    escaped = text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
    return b"(" + escaped.encode("latin-1") + b")"


def pdf(text: str, pages: int = 1) -> bytes:
    """A real PDF of `pages` A4 pages, each showing `text` in Helvetica (a line per `\\n`).

    `text` must be Latin-1. pypdf extracts each page's text as `text`.
    """
    if pages < 1:
        raise ValueError("a PDF has at least one page")
    lines = text.split("\n")
    shown = b" T*\n".join(_pdf_string(line) + b" Tj" for line in lines)
    stream = b"BT\n/F1 12 Tf\n14 TL\n72 770 Td\n" + shown + b"\nET\n"
    # Objects: 1 catalog, 2 page tree, 3 font, then per page its page object and its content stream.
    page_ids = [4 + 2 * index for index in range(pages)]
    objects: list[bytes] = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [" + b" ".join(b"%d 0 R" % n for n in page_ids) + b"] /Count %d >>" % pages,
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
    ]
    for page_id in page_ids:
        objects.append(
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 3 0 R >> >> "
            b"/Contents %d 0 R >>" % (page_id + 1)
        )
        objects.append(b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"endstream")
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n" % (len(objects) + 1)
    out += b"0000000000 65535 f \n"
    for offset in offsets:
        out += b"%010d 00000 n \n" % offset
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def _noise(size: int, seed: int) -> bytes:
    """`size` bytes that look random and are the same for the same seed."""
    return random.Random(seed).randbytes(size)


def random_bytes(size: int = 512) -> bytes:
    """Bytes of no known file type (no image or PDF signature, not text)."""
    data = _noise(size, 7)
    # Make sure the noise does not start like a file a sniffer knows, nor decode as text.
    return b"\x00\x9f\xfe" + data[3:]


def corrupt_png() -> bytes:
    """The PNG signature followed by garbage: claims to be a PNG, is not one."""
    return b"\x89PNG\r\n\x1a\n" + _noise(256, 11)


def corrupt_pdf() -> bytes:
    """A PDF header followed by garbage: no objects, no cross-reference table, no trailer."""
    return b"%PDF-1.4\n" + _noise(256, 13)


def python_source() -> bytes:
    """`PYTHON_SOURCE` as UTF-8 bytes, as a `.py` file holds it."""
    return PYTHON_SOURCE.encode("utf-8")
