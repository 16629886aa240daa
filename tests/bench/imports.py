"""Import figures on the user's path, as one table: a large ChatGPT export (by default 2,000 conversations × 30
messages, tests/export_formats.py) imported into an empty app, then again, then backed up, then imported by the
command line with no app running.

Run: `uv run python tests/bench/imports.py [--conversations 2000] [--messages 30] [--images 0]` (a minute or
two; `--conversations 200` for a smoke run). It prints figures and asserts nothing; it stops if the import fails
or adds other than what the export holds. Progress goes to stderr, the table to stdout.

Everything runs on 127.0.0.1: `chatkit-desktop serve` (tests/harness.py, with the test suite's fake provider as its
model, which the import never asks) on an empty temporary data folder. The export is generated in a temporary
folder and streamed from disk as the POST's body. Times run from the start of the POST: the upload alone until
its answer, the import until `GET /api/import` (polled every 50 ms) says `done`. While it runs another connection
asks `threads.list` (20, newest first) every 100 ms, as the page would, to see that the app stays usable. Memory
is the server's: its RSS once the model layer has loaded (so that loading is not counted), and its peak from
then on (`VmHWM` in /proc/<pid>/status, reset through /proc/<pid>/clear_refs before the POST). The command
line's peak is its `ru_maxrss`, read for that child alone (`os.wait4`; `RUSAGE_CHILDREN` would report the
largest child so far, which may be the server).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
os.environ.setdefault("LITELLM_MODE", "PRODUCTION")

from tests.bench.backend import (  # noqa: E402
    Row,
    code_version,
    launch,
    list_threads,
    ms,
    note,
    print_table,
    sec,
    wait_chat_ready,
)
from tests.export_formats import write_chatgpt_export  # noqa: E402
from tests.fake_provider import FakeProvider  # noqa: E402
from tests.harness import RunningApp, app_env  # noqa: E402

MB = 1024 * 1024
TIMEOUT = 600


def memory(pid: int, field: str) -> int:
    """A process's `VmRSS` or `VmHWM` (peak RSS), in bytes."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) * 1024
    raise SystemExit(f"no {field} in /proc/{pid}/status")


def mb(size: int) -> str:
    return f"{size / MB:,.1f} MB"


class ListSampler(threading.Thread):
    """Asks `threads.list` every 100 ms on its own kept-alive connection until stopped; keeps each latency."""

    def __init__(self, app: RunningApp) -> None:
        super().__init__(daemon=True)
        self.app, self.stop = app, threading.Event()
        self.times: list[float] = []

    def run(self) -> None:
        with self.app.client(timeout=TIMEOUT) as client:
            list_threads(client)  # opens the connection the timed ones reuse
            while not self.stop.wait(0.1):
                started = time.perf_counter()
                list_threads(client)
                self.times.append(time.perf_counter() - started)

    def figure(self) -> str:
        times = sorted(self.times)
        if not times:
            return "no sample"
        p90 = times[int(len(times) * 0.9)]
        return f"p50 {ms(statistics.median(times))}, p90 {ms(p90)}, max {ms(times[-1])} (n={len(times)})"


def import_file(client: httpx.Client, export: Path) -> tuple[dict[str, Any], float, float]:
    """POST the file (streamed from disk), then poll until done; the final state, the upload's and the whole
    import's seconds, both from the start of the POST."""
    started = time.perf_counter()
    with export.open("rb") as body:
        answer = client.post(
            f"/api/import?name={quote(export.name)}",
            content=body,
            headers={"Content-Type": "application/octet-stream"},
        )
    uploaded = time.perf_counter() - started
    if answer.status_code != 200:
        raise SystemExit(f"the import was refused ({answer.status_code}): {answer.text}")
    state: dict[str, Any] = answer.json()
    while state["state"] == "running":
        time.sleep(0.05)
        state = client.get("/api/import").json()
    if state["state"] != "done":
        raise SystemExit(f"the import ended {state['state']}: {state.get('error')}")
    return state, uploaded, time.perf_counter() - started


def check_added(summary: dict[str, Any], conversations: int, messages: int) -> str:
    """Stop unless the import added every conversation and message of the export; the figure."""
    added = summary["added"]
    if (added["conversations"], added["messages"]) != (conversations, conversations * messages):
        raise SystemExit(f"expected {conversations:,} conversations, {conversations * messages:,} messages: {summary}")
    return f"{added['conversations']:,} conversations, {added['messages']:,} messages (all)"


def through_app(export: Path, data: Path, fake: FakeProvider, conversations: int, messages: int) -> list[Row]:
    """Import into a running app with an empty data folder, then the same file again, then a backup."""
    app, _ = launch(data, fake)
    pid = app.proc.pid
    with app.client(timeout=TIMEOUT) as client:
        wait_chat_ready(client)
        before = memory(pid, "VmRSS")
        Path(f"/proc/{pid}/clear_refs").write_text("5")  # resets VmHWM: the peak read below is the import's
        note("importing through the app")
        sampler = ListSampler(app)
        sampler.start()
        state, uploaded, finished = import_file(client, export)
        sampler.stop.set()
        sampler.join()
        peak = memory(pid, "VmHWM")
        added = check_added(state["summary"], conversations, messages)
        note("importing the same file again")
        again, _, again_time = import_file(client, export)
        note("backing up")
        started = time.perf_counter()
        backup = client.post("/api/backup").json()
        while backup["state"] == "running":
            time.sleep(0.05)
            backup = client.get("/api/backup").json()
        backup_time = time.perf_counter() - started
        if backup["state"] != "ready":
            raise SystemExit(f"the backup ended {backup['state']}: {backup.get('error')}")
        client.delete("/api/backup")
    app.stop()
    threads = len(list((data / "threads").glob("*.json")))
    return [
        Row("import through the app: start of the POST → done", sec(finished), "< 30 s"),
        Row("  the upload alone (POST → its answer)", sec(uploaded)),
        Row("  added", added),
        Row("  summary", state["summary"]["sentence"]),
        Row("  server RSS before (model layer loaded) → peak while importing", f"{mb(before)} → {mb(peak)}"),
        Row("  server memory growth (peak − before)", mb(peak - before)),
        Row("  threads.list(20) while importing, every 100 ms", sampler.figure()),
        Row(f"same file again ({threads:,} thread files present): POST → done", sec(again_time)),
        Row("  summary", again["summary"]["sentence"]),
        Row("backup of the imported data: POST → ready", sec(backup_time)),
        Row("  backup zip", mb(backup["size"])),
    ]


def through_cli(export: Path, data: Path, conversations: int, messages: int) -> list[Row]:
    """`chatkit-desktop import PATH` on a fresh data folder, no app running: wall time and peak memory."""
    note("importing through the command line")
    out, err = data.with_suffix(".stdout"), data.with_suffix(".stderr")
    with out.open("w") as stdout, err.open("w") as stderr:
        started = time.perf_counter()
        child = subprocess.Popen(
            [sys.executable, "-m", "desktop.cli", "import", str(export)],
            cwd=ROOT,
            env=app_env(data),
            stdout=stdout,
            stderr=stderr,
        )
        _, status, usage = os.wait4(child.pid, 0)
        elapsed = time.perf_counter() - started
    child.returncode = os.waitstatus_to_exitcode(status)
    sentence = out.read_text("utf-8").strip()
    if child.returncode != 0:
        raise SystemExit(f"`chatkit-desktop import` exited {child.returncode}:\n{err.read_text('utf-8')}")
    threads = len(list((data / "threads").glob("*.json")))
    if threads != conversations:
        raise SystemExit(f"`chatkit-desktop import` wrote {threads:,} thread files, not {conversations:,}: {sentence}")
    return [
        Row("chatkit-desktop import PATH, no app running (from spawn to exit)", sec(elapsed)),
        Row("  its peak memory (ru_maxrss)", mb(usage.ru_maxrss * 1024)),
        Row("  its sentence", sentence),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--conversations", type=int, default=2_000, help="conversations in the export (2,000)")
    parser.add_argument("--messages", type=int, default=30, help="messages per conversation (30)")
    parser.add_argument("--images", type=int, default=0, help="pictures in the export's zip (0)")
    args = parser.parse_args()

    began, load_before = time.perf_counter(), os.getloadavg()[0]
    with FakeProvider().start() as fake, tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        export = tmp / "chatgpt-export.zip"
        note(f"writing an export of {args.conversations:,} × {args.messages} messages")
        started = time.perf_counter()
        size = write_chatgpt_export(export, args.conversations, args.messages, images=args.images)
        made = time.perf_counter() - started
        pictures = f", {args.images:,} pictures" if args.images else ""
        what = f"{args.conversations:,} conversations × {args.messages} messages{pictures}"
        rows = [Row(f"ChatGPT export: {what}", f"{mb(size)} zip (generated in {sec(made)})")]
        rows += through_app(export, tmp / "app", fake, args.conversations, args.messages)
        rows += through_cli(export, tmp / "cli", args.conversations, args.messages)
    header = (
        f"ChatKit Desktop import bench — code {code_version()}, {os.cpu_count()} CPUs, load {load_before:.1f} "
        f"→ {os.getloadavg()[0]:.1f}, {time.perf_counter() - began:.0f} s"
    )
    print_table(rows, header)


if __name__ == "__main__":
    main()
