"""Attachment figures on the user's path: uploading a 10 MB file, the first token with a 5 MB PDF in the thread
(against the same thread without it, and against a direct LiteLLM call with the same messages), and the size on
disk of a thread with 20 images.

Run: `uv run python tests/bench/attachments.py` (about a minute; `--runs N` per latency, default 10). It prints
figures and asserts nothing. Everything runs on 127.0.0.1: `chatkit-desktop serve` (tests/harness.py) answering
as OpenAI (`openai/gpt-4.1-mini`, reaching the test suite's fake provider through LiteLLM's `OPENAI_BASE_URL`),
which takes PDFs as documents (OpenAI's `file` part): the whole PDF travels base64-encoded with every message
of that thread.
"""

from __future__ import annotations

import argparse
import io
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests import media  # noqa: E402
from tests.bench.backend import (  # noqa: E402
    DirectLiteLLM,
    Row,
    chatkit,
    code_version,
    first_token,
    median_ms,
    note,
    print_table,
    wait_chat_ready,
)
from tests.fake_provider import FakeProvider  # noqa: E402
from tests.harness import RunningApp, start_app, user_input  # noqa: E402

MB = 1024 * 1024


def padded_pdf(text: str, size: int) -> bytes:
    """A real PDF of about `size` bytes: one page of text plus an embedded file of random bytes."""
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(media.pdf(text))))
    writer.add_attachment("padding.bin", random.Random(size).randbytes(size))
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def attach(client: httpx.Client, name: str, data: bytes, mime: str) -> str:
    """Both phases of an upload; the attachment's id."""
    created = chatkit(client, "attachments.create", name=name, size=len(data), mime_type=mime)
    descriptor = created["upload_descriptor"]
    response = client.request(descriptor["method"], descriptor["url"], content=data, headers=descriptor["headers"])
    response.raise_for_status()
    return str(created["id"])


def upload_times(client: httpx.Client, name: str, data: bytes, mime: str, runs: int) -> list[float]:
    attach(client, name, data, mime)  # the first upload imports pypdf or Pillow
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        attach(client, name, data, mime)
        times.append(time.perf_counter() - started)
    return times


def thread_with(client: httpx.Client, attachments: list[str]) -> str:
    body = user_input("Here is the file, summarise it.")
    body["attachments"] = attachments
    with client.stream("POST", "/chatkit", json={"type": "threads.create", "params": {"input": body}}) as response:
        lines = [line for line in response.iter_lines() if line.startswith("data: ")]
    created = next(line for line in lines if '"thread.created"' in line)
    return str(httpx.Response(200, content=created[6:]).json()["thread"]["id"])


def follow_up_times(
    client: httpx.Client, fake: FakeProvider, direct: DirectLiteLLM, thread_id: str, runs: int
) -> tuple[list[float], list[float], int]:
    """First token of follow-up messages, each followed by a direct LiteLLM call with the messages the app sent."""
    through_app, floor, request_bytes = [], [], 0
    for _ in range(runs):
        fake.clear()
        body = {"type": "threads.add_user_message", "params": {"thread_id": thread_id, "input": user_input("And?")}}
        through_app.append(first_token(client, body))
        sent = [request for request in fake.requests if request.stream][-1]
        request_bytes = len(str(sent.body))
        floor.append(direct.first_token(sent.body["messages"]))
    return through_app, floor, request_bytes


def figures(app: RunningApp, fake: FakeProvider, runs: int) -> list[Row]:
    rows: list[Row] = []
    with app.client() as client:
        wait_chat_ready(client)
        note("uploads …")
        pdf_10 = padded_pdf("Ten megabytes", 10 * MB)
        text_10 = ("All work and no play makes Jack a dull boy.\n" * (10 * MB // 44)).encode()
        rows.append(
            Row(
                "upload a 10 MB PDF (create + PUT)",
                median_ms(upload_times(client, "big.pdf", pdf_10, "application/pdf", runs)),
            )
        )
        rows.append(
            Row(
                "upload a 10 MB text file (create + PUT)",
                median_ms(upload_times(client, "big.txt", text_10, "text/plain", runs)),
            )
        )

        note("first token with and without a 5 MB PDF …")
        direct = DirectLiteLLM(fake)
        plain = thread_with(client, [])
        with_pdf = thread_with(
            client, [attach(client, "report.pdf", padded_pdf("Five megabytes", 5 * MB), "application/pdf")]
        )
        for label, thread_id in (("without attachments", plain), ("with a 5 MB PDF", with_pdf)):
            through_app, floor, size = follow_up_times(client, fake, direct, thread_id, runs)
            ratio = statistics.median(through_app) / statistics.median(floor)
            rows.append(Row(f"first token of a follow-up, thread {label}", median_ms(through_app)))
            rows.append(
                Row(
                    f"  direct LiteLLM, same messages ({size / MB:.1f} MB request)",
                    f"{median_ms(floor)}; app/direct {ratio:.2f}×",
                )
            )
        direct.close()

        note("a thread with 20 images …")
        images = [attach(client, f"screenshot-{n}.png", noisy_png(n), "image/png") for n in range(20)]
        # Ten per message, the limit.
        thread_id = thread_with(client, images[:10])
        more = user_input("And these.")
        more["attachments"] = images[10:]
        first_token(client, {"type": "threads.add_user_message", "params": {"thread_id": thread_id, "input": more}})
        thread_file = app.data_dir / "threads" / f"{thread_id}.json"
        folders = [app.data_dir / "attachments" / attachment_id for attachment_id in images]
        on_disk = sum(path.stat().st_size for folder in folders for path in folder.iterdir())
        rows.append(
            Row("thread with 20 images (1280×800 PNG): thread file", f"{thread_file.stat().st_size / 1024:.1f} KB")
        )
        rows.append(Row("  its 20 attachment folders (files + meta.json)", f"{on_disk / MB:.2f} MB"))
    return rows


def noisy_png(seed: int) -> bytes:
    """A 1280×800 screenshot-sized PNG that does not compress to nothing."""
    from PIL import Image

    rng = random.Random(seed)
    image = Image.frombytes("L", (320, 200), rng.randbytes(320 * 200)).resize((1280, 800)).convert("RGB")
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=10, help="runs per latency figure (default 10)")
    args = parser.parse_args()
    began, load_before = time.perf_counter(), os.getloadavg()[0]
    with FakeProvider().start() as fake, tempfile.TemporaryDirectory() as tmp:
        app = start_app(
            Path(tmp),
            CHATKIT_DESKTOP_MODEL="openai/gpt-4.1-mini",
            OPENAI_BASE_URL=fake.openai_base,
            OPENAI_API_KEY="sk-bench-0123456789",
        )
        try:
            rows: list[Any] = figures(app, fake, args.runs)
        finally:
            app.stop()
    header = (
        f"ChatKit Desktop attachments bench — code {code_version()}, {os.cpu_count()} CPUs, load {load_before:.1f} "
        f"→ {os.getloadavg()[0]:.1f}, {args.runs} runs per latency, {time.perf_counter() - began:.0f} s"
    )
    print_table(rows, header)


if __name__ == "__main__":
    main()
