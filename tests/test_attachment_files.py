"""What an attached file is, where it lives and what the model gets of it — in-process, on real files:

- `filetypes.identify` decides a file's type from its bytes: the four image formats and PDF by signature and
  only when they open, text when it decodes as text, whatever the name claims; anything else is refused;
- `attachments.safe_name` keeps a user's file name, or refuses one with a path, `..` or control characters;
- `AttachmentFiles` creates, uploads, claims and deletes `attachments/<id>/`, leaves nothing when it refuses
  an upload, and sweeps what was never sent after a day;
- `attachment_content.content_part` gives the model an image, a PDF as a document or as its text, and a text
  file framed under its name.
"""

from __future__ import annotations

import base64
import json
import time
from pathlib import Path

import pytest

from backend import filetypes
from backend.attachment_content import Reader, content_part
from backend.attachments import MAX_BYTES, AttachmentError, AttachmentFiles, safe_name
from backend.config import AppConfig
from backend.security import capability
from tests import media


@pytest.fixture
def files(tmp_path: Path) -> AttachmentFiles:
    return AttachmentFiles(AppConfig(tmp_path, token="test-token", port=4321))


def upload(files: AttachmentFiles, name: str, data: bytes, mime: str = "application/octet-stream") -> str:
    meta = files.create(name, len(data), mime)
    return files.upload(meta.id, data).mime_type


# ---- what a file is ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "name", "expected"),
    [
        (media.png(), "shot.png", "image/png"),
        (media.jpeg(), "photo.jpg", "image/jpeg"),
        (media.webp(), "pic.webp", "image/webp"),
        (media.gif(), "anim.gif", "image/gif"),
        (media.png(), "no-extension", "image/png"),
        (media.pdf("Hello"), "report.pdf", "application/pdf"),
        (media.pdf("Hello"), "report.txt", "application/pdf"),
        (media.python_source(), "tool.py", "text/x-python"),
        (b"# Title\n\nSome *markdown*.\n", "notes.md", "text/markdown"),
        (b"a,b\n1,2\n", "table.csv", "text/csv"),
        ("snowman ☃\n".encode("utf-16"), "wide.txt", "text/plain"),
        (b"plain words", "README", "text/plain"),
    ],
)
def test_a_files_type_comes_from_its_bytes_not_its_name(data: bytes, name: str, expected: str) -> None:
    assert filetypes.identify(data, name) == expected


@pytest.mark.parametrize(
    ("data", "words"),
    [
        (media.corrupt_png(), "not a readable PNG image"),
        (media.corrupt_pdf(), "not a readable PDF"),
        (media.random_bytes(), "not a file ChatKit Desktop can read"),
        (b"text with a \x00 NUL byte", "not a file ChatKit Desktop can read"),
    ],
)
def test_corrupt_and_unknown_files_are_refused_with_a_reason(data: bytes, words: str) -> None:
    with pytest.raises(filetypes.NotAcceptable, match=words):
        filetypes.identify(data, "file.bin")


def test_a_pdfs_text_is_read_page_by_page() -> None:
    text = filetypes.pdf_text(media.pdf("Quarterly report", pages=2))
    assert "[page 1]\nQuarterly report" in text
    assert "[page 2]" in text


# ---- names ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["report.pdf", "Café menu (2).png", "日本語のメモ.txt", ".bashrc"])
def test_ordinary_file_names_are_kept_as_the_user_wrote_them(name: str) -> None:
    assert safe_name(name) == name


@pytest.mark.parametrize("name", ["", "  ", "..", "../etc/passwd", "a/b.txt", "a\\b.txt", "bell\x07.txt", "x" * 201])
def test_names_with_paths_or_control_characters_are_refused(name: str) -> None:
    with pytest.raises(AttachmentError):
        safe_name(name)


# ---- the folder ----------------------------------------------------------------------------------------


def test_an_upload_is_kept_with_its_record_and_hash(files: AttachmentFiles) -> None:
    data = media.png()
    meta = files.create("shot.png", len(data), "image/png")
    uploaded = files.upload(meta.id, data)
    folder = files.root / meta.id
    assert (folder / "shot.png").read_bytes() == data
    record = json.loads((folder / "meta.json").read_text())
    assert record["sha256"] == uploaded.sha256 and len(record["sha256"]) == 64
    assert record["size"] == len(data) and record["mime_type"] == "image/png" and record["thread_id"] is None


@pytest.mark.parametrize(
    ("data", "claimed", "status"),
    [
        (b"", "text/plain", 400),
        (media.corrupt_png(), "image/png", 400),
        (media.pdf("not a picture"), "image/png", 400),
        (media.random_bytes(), "application/octet-stream", 400),
    ],
)
def test_a_refused_upload_leaves_nothing_on_disk(
    files: AttachmentFiles, data: bytes, claimed: str, status: int
) -> None:
    meta = files.create("file.png" if claimed == "image/png" else "file.txt", max(len(data), 1), claimed)
    with pytest.raises(AttachmentError) as refused:
        files.upload(meta.id, data)
    assert refused.value.status == status
    assert str(refused.value).endswith(".")
    assert not (files.root / meta.id).exists()


def test_a_file_over_the_limit_is_refused_before_any_byte_is_sent(files: AttachmentFiles) -> None:
    with pytest.raises(AttachmentError, match="larger than 20 MB") as refused:
        files.create("huge.bin", MAX_BYTES + 1, "application/octet-stream")
    assert refused.value.status == 413
    assert not files.root.exists() or not any(files.root.iterdir())


def test_names_windows_refuses_are_stored_under_a_usable_name_and_shown_as_written(files: AttachmentFiles) -> None:
    data = b"question?"
    meta = files.create('what? "this" <that>.txt', len(data), "text/plain")
    uploaded = files.upload(meta.id, data)
    assert files.path(uploaded).name == "what_ _this_ _that_.txt"
    assert files.to_chatkit(uploaded).name == 'what? "this" <that>.txt'


def test_attachments_never_sent_are_swept_after_a_day_and_sent_ones_stay(files: AttachmentFiles) -> None:
    sent = files.create("sent.txt", 2, "text/plain")
    files.upload(sent.id, b"hi")
    files.claim(sent.id, "thr_one")
    unsent = files.create("unsent.txt", 2, "text/plain")
    files.upload(unsent.id, b"hi")
    fresh = files.create("fresh.txt", 2, "text/plain")
    assert files.sweep(now=time.time() + 3600) == 0
    assert files.sweep(now=time.time() + 25 * 3600) == 2
    assert (files.root / sent.id).exists()
    assert not (files.root / unsent.id).exists() and not (files.root / fresh.id).exists()


def test_preview_and_file_urls_are_signed_for_this_launch_and_this_attachment(tmp_path: Path) -> None:
    one = AttachmentFiles(AppConfig(tmp_path, token="launch-one", port=4321))
    two = AttachmentFiles(AppConfig(tmp_path, token="launch-two", port=4321))
    assert one.url("atc_a", "preview") != two.url("atc_a", "preview")
    assert one.url("atc_a", "preview").split("sig=")[1] != one.url("atc_b", "preview").split("sig=")[1]
    assert one.url("atc_a", "preview").split("sig=")[1] != capability("launch-one", "upload", "atc_a")
    assert "launch-one" not in one.url("atc_a", "preview")


# ---- what the model gets -------------------------------------------------------------------------------

SEES_AND_READS = Reader(images=True, pdf_documents=True, image_tokens=lambda url: 765)
TEXT_ONLY = Reader(images=False, pdf_documents=False, image_tokens=lambda url: 765)


def part_for(files: AttachmentFiles, name: str, data: bytes, reader: Reader) -> tuple[dict[str, object], int]:
    meta = files.create(name, len(data), "application/octet-stream")
    uploaded = files.upload(meta.id, data)
    return content_part(uploaded, files.path(uploaded), reader)


def test_an_image_goes_to_a_model_that_sees_as_its_exact_bytes_with_its_cost(files: AttachmentFiles) -> None:
    part, cost = part_for(files, "shot.png", media.png(), SEES_AND_READS)
    assert part["type"] == "input_image"
    assert part["image_url"] == "data:image/png;base64," + base64.b64encode(media.png()).decode()
    assert cost == 765


def test_a_model_that_cannot_see_gets_the_images_name_instead(files: AttachmentFiles) -> None:
    part, cost = part_for(files, "shot.png", media.png(color=media.BLUE), TEXT_ONLY)
    assert part == {
        "type": "input_text",
        "text": "[shot.png: an image, not shown to this model because it cannot read images]",
    }
    assert cost == 0


def test_a_pdf_goes_as_a_document_or_as_its_text(files: AttachmentFiles) -> None:
    document, cost = part_for(files, "q3.pdf", media.pdf("Revenue grew", pages=3), SEES_AND_READS)
    assert document["type"] == "input_file" and document["filename"] == "q3.pdf"
    assert str(document["file_data"]).startswith("data:application/pdf;base64,")
    assert cost == 3 * 800
    text, _ = part_for(files, "q3.pdf", media.pdf("Revenue grew", pages=3), TEXT_ONLY)
    assert text["type"] == "input_text" and "Attached file q3.pdf:" in str(text["text"])
    assert "Revenue grew" in str(text["text"])


def test_a_text_file_goes_under_its_name_in_a_fence_it_cannot_close(files: AttachmentFiles) -> None:
    source = b"Some text\n```\nnot the end\n```\n"
    part, _ = part_for(files, "notes.md", source, TEXT_ONLY)
    assert part == {
        "type": "input_text",
        "text": "Attached file notes.md:\n````\nSome text\n```\nnot the end\n```\n````",
    }
