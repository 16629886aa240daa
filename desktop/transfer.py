"""`chatkit-desktop export` and `chatkit-desktop import PATH`: conversations out (a backup zip) and in (a data
export or a backup) from the command line. Never two writers on one data folder: while the app runs on it, the
command asks the running app through its API (as the page's buttons do); otherwise it does the work itself, holding
the folder's instance lock so that no app starts meanwhile.
"""

from __future__ import annotations

import contextlib
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx

from desktop.instance import InstanceLock, origin, running_url

POLL_S = 0.2


def with_folder(folder: Path, through_app: Callable[[httpx.Client], int], here: Callable[[], int]) -> int:
    """Run `through_app` with a client of the app running on `folder`, or `here` while holding its lock."""
    url = running_url(folder)
    if url is None:
        lock = InstanceLock.acquire(folder)
        if lock is not None:
            try:
                return here()
            finally:
                lock.release()
        # An app took the folder between the two looks: ask it, once it answers.
        url = running_url(folder, timeout=10)
        if url is None:
            print(f"Another ChatKit Desktop holds {folder} but does not answer; try again.", file=sys.stderr)
            return 1
    token = parse_qs(urlsplit(url).query).get("token", [""])[0]
    headers = {"Authorization": f"Bearer {token}"}
    try:
        with httpx.Client(base_url=origin(url), headers=headers, timeout=60) as client:
            return through_app(client)
    except httpx.HTTPError as error:
        print(f"\nThe running app stopped answering ({type(error).__name__}); try again.", file=sys.stderr)
        return 1


def export_backup(folder: Path, output: Path | None) -> int:
    """`export`: the backup zip at `output`, written by the app running on `folder` if there is one, else here."""
    from backend.export import backup_name

    target = (output or Path.cwd()).expanduser()
    # A path that is not a .zip names a folder (one that is missing is an error, not a file called "Backups").
    if target.is_dir() or target.suffix.lower() != ".zip":
        target = target / backup_name()
    if not target.parent.is_dir():
        print(f"There is no folder {target.parent} to write the backup in; create it first.", file=sys.stderr)
        return 1
    if not (folder / "threads").is_dir():
        print(f"There is nothing to back up: no conversations in {folder}.", file=sys.stderr)
        return 1
    return with_folder(folder, lambda client: _export_through(client, target), lambda: _export_here(folder, target))


def _export_here(folder: Path, target: Path) -> int:
    from backend.export import write_backup

    try:
        size = write_backup(folder, target, progress=_backup_progress)
    except OSError as error:
        print(f"\nCould not write the backup ({error.strerror or type(error).__name__}).", file=sys.stderr)
        return 1
    print(f"\nBacked up {folder} to {target} ({size:,} bytes).", file=sys.stderr)
    return 0


def _export_through(client: httpx.Client, target: Path) -> int:
    """Ask the running app for the backup (start, follow, download), as its Backup button does."""
    state = _follow(client, client.post("/api/backup"), _backup_progress, "The running app refused to make a backup.")
    if state is None:
        return 1
    if state["state"] != "ready":
        print(state.get("error") or "The backup was cancelled in the app.", file=sys.stderr)
        return 1
    _backup_progress(state["total"], state["total"])
    temporary = target.with_name(f".{target.name}.download")
    try:
        with client.stream("GET", "/api/backup/file") as answer, open(temporary, "wb") as handle:
            answer.raise_for_status()
            for chunk in answer.iter_bytes():
                handle.write(chunk)
        temporary.replace(target)
    except (httpx.HTTPError, OSError) as error:
        print(f"\nCould not get the backup from the running app ({type(error).__name__}).", file=sys.stderr)
        with contextlib.suppress(OSError):
            temporary.unlink()
        return 1
    # The app's copy is not needed any more.
    client.delete("/api/backup")
    print(f"\nBacked up through the running app to {target} ({target.stat().st_size:,} bytes).", file=sys.stderr)
    return 0


def _backup_progress(done: int, total: int) -> None:
    print(f"\rBacking up: {done} of {total} files", end="", file=sys.stderr, flush=True)


def import_file(folder: Path, source: Path) -> int:
    """`import PATH`: the file's conversations added to `folder`, by the app running on it if there is one."""
    source = source.expanduser()
    if not source.is_file():
        print(f"There is no file {source} to import.", file=sys.stderr)
        return 1
    folder.mkdir(parents=True, exist_ok=True)
    return with_folder(folder, lambda client: _import_through(client, source), lambda: _import_here(folder, source))


def _import_here(folder: Path, source: Path) -> int:
    from backend.attachments import AttachmentFiles
    from backend.config import AppConfig
    from backend.import_reading import ImportRefused, open_import
    from backend.import_writing import Target
    from backend.importing import run_import
    from backend.store import JsonFileStore
    from backend.store_errors import StoreWriteError

    try:
        opened = open_import(source, source.name)
    except ImportRefused as refused:
        print(refused, file=sys.stderr)
        return 1
    files = AttachmentFiles(AppConfig(folder, token="", port=0))
    store = JsonFileStore(folder, files)
    store.open()
    try:
        summary = run_import(opened, Target(store, files), folder, progress=_import_progress)
    except StoreWriteError as error:
        print(f"\n{error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\nStopped; the conversations added so far are kept. Import the same file again to add the rest.")
        return 130
    finally:
        opened.close()
        # The search index takes in what was added before the command ends (else the app does it at its start).
        store.close()
    _print_summary(summary.view())
    return 0


def _import_through(client: httpx.Client, source: Path) -> int:
    """Send the file to the running app and follow its import, as the page's Import button does."""
    with open(source, "rb") as handle:
        started = client.post(
            "/api/import",
            params={"name": source.name},
            content=handle,
            headers={"content-type": "application/octet-stream", "content-length": str(source.stat().st_size)},
            timeout=httpx.Timeout(60, read=600),
        )
    state = _follow(client, started, _import_progress, "The running app refused the file.")
    if state is None:
        return 1
    if state["state"] != "done" or not state.get("summary"):
        print(f"\n{state.get('error') or 'The import was stopped in the app.'}", file=sys.stderr)
        return 1
    _print_summary(state["summary"])
    return 0


def _follow(
    client: httpx.Client, started: httpx.Response, progress: Callable[[int, int], None], refused: str
) -> dict[str, Any] | None:
    """A job the running app started (a backup, an import), followed until it ends: its last state; None, with
    the app's sentence printed, when it refused to start it."""
    if started.status_code != 200:
        print(started.json().get("error", refused), file=sys.stderr)
        return None
    state: dict[str, Any] = started.json()
    while state["state"] == "running":
        progress(state["done"], state["total"])
        time.sleep(POLL_S)
        state = client.get(started.request.url.path).json()
    return state


def _import_progress(done: int, total: int) -> None:
    print(f"\rImporting: {done:,} of {total:,} conversations", end="", file=sys.stderr, flush=True)


def _print_summary(summary: dict[str, Any]) -> None:
    print(file=sys.stderr)
    print(summary["sentence"])
    for note in summary["notes"]:
        print(f"  {note}")
    for example in summary["failed"]["examples"]:
        print(f"  Not imported: {example['title']} — {example['reason']}.")
