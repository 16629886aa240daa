"""`chatkit-desktop`: open the window, or `serve` the app without one."""

from __future__ import annotations

import argparse
import contextlib
import logging
import sys
import time
import webbrowser
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from backend import config
from backend.providers import KEYED, PROVIDERS

_KEY_VARIABLES = ", ".join(str(PROVIDERS[p].env_key) for p in KEYED)
_PREFIXES = ", ".join(f"{p}/…" for p in KEYED)

EPILOG = f"""\
environment:
  {config.ENV_DATA_DIR}   folder for threads, settings and keys (default: your user data folder)
  {config.ENV_TOKEN}      access token instead of a random one per launch
  {config.ENV_MODEL}      default model, a LiteLLM id ({_PREFIXES})
  {config.ENV_API_BASE}   base URL of the default model's provider (Ollama, LM Studio, a proxy)
  {_KEY_VARIABLES}   provider keys (override those saved in Settings)

examples:
  chatkit-desktop                      open the window
  chatkit-desktop --browser            use your web browser instead of a window
  chatkit-desktop serve --port 8765    run headless and print the address to open
  chatkit-desktop export --output ~/Backups   back up every conversation to one zip
  chatkit-desktop --self-test http://localhost:11434/v1   check server, page and a chat with a local model
  CHATKIT_DESKTOP_MODEL=openai/llama3.2 CHATKIT_DESKTOP_API_BASE=http://localhost:11434/v1 chatkit-desktop
"""


def build_parser() -> argparse.ArgumentParser:
    """The command line: no command opens the window; `serve` runs without one."""
    parser = argparse.ArgumentParser(
        prog="chatkit-desktop",
        description="A desktop chat app on OpenAI's ChatKit UI, with your own model and API key. "
        "Conversations are plain JSON files on your disk.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--browser", action="store_true", help="open the chat in your default web browser")
    parser.add_argument(
        "--self-test",
        metavar="URL",
        help="start the server in a temporary data folder, check its health, page and one chat answered by "
        "the OpenAI-compatible endpoint URL (e.g. http://localhost:11434/v1), print one verdict line, exit 0/1",
    )
    parser.add_argument(
        "--self-test-model",
        metavar="NAME",
        help="the model --self-test asks (default: the first one URL/models lists); sent as openai/NAME",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    serve = commands.add_parser(
        "serve",
        help="run the local server without a window and print its address",
        description="Run the local server without a window. Prints one line, "
        "'ChatKit Desktop ready: http://127.0.0.1:PORT/?token=TOKEN', once it answers; Ctrl-C stops it.",
    )
    serve.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (default: any free port)")
    backup = commands.add_parser(
        "export",
        help="back up every conversation, attachment and setting (never keys) to one zip",
        description="Back up the data folder to one zip: every conversation, attachment and setting, never API "
        "keys, with a manifest of SHA-256 hashes. Unzipped into an empty data folder, it restores everything. "
        "While the app runs on the same folder, the running app writes it; otherwise this command does, and no "
        "app can start on the folder meanwhile. Progress goes to stderr; exit code 0 when the zip is complete.",
    )
    backup.add_argument(
        "--output",
        metavar="PATH",
        type=Path,
        help="the zip to write (a path ending in .zip), or an existing folder to write "
        "chatkit-desktop-backup-YYYY-MM-DD.zip in "
        "(default: the current folder)",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `chatkit-desktop` command."""
    launched = time.perf_counter()
    args = build_parser().parse_args(argv)
    if args.self_test is not None:
        # Only the verdict line on stdout; warnings and errors still reach stderr.
        logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)
        from desktop.selftest import run

        return run(args.self_test, args.self_test_model)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    # HTTP clients log every URL they fetch at INFO; a provider URL can carry a key, and none is worth a line.
    for noisy in ("httpx", "httpcore"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    if args.command == "serve":
        return serve(args.port)
    if args.command == "export":
        return export_backup(config.data_dir(), args.output)
    if args.browser:
        return serve(0, open_browser=True)
    from desktop.window import run_window

    return run_window(launched)


def serve(port: int, *, open_browser: bool = False) -> int:
    """Headless mode: serve until SIGINT/SIGTERM, announcing the address on stdout."""
    from desktop.launch import launch
    from desktop.server import READY_PREFIX

    folder = config.data_dir()
    with launch(folder) as ours:
        if ours is None:
            return _running_elsewhere(folder, open_browser)
        try:
            ours.bind(port)
        except OSError as error:
            print(f"Cannot listen on 127.0.0.1:{port}: {error.strerror}. Pick another --port.", file=sys.stderr)
            return 1

        def ready(url: str) -> None:
            print(f"{READY_PREFIX} {url}", flush=True)
            if open_browser:
                webbrowser.open(url)

        ours.serve_forever(ready)
        return 0


def _running_elsewhere(folder: Path, open_browser: bool) -> int:
    """Another app holds `folder`: open the browser on it, or say where it is."""
    from desktop.instance import origin, running_url

    url = running_url(folder)
    if url is not None and open_browser:
        webbrowser.open(url)
        return 0
    where = f" at {origin(url)}" if url else ""
    print(
        f"ChatKit Desktop is already running on {folder}{where}. Use that one, or set "
        f"{config.ENV_DATA_DIR} to another folder.",
        file=sys.stderr,
    )
    return 1


def export_backup(folder: Path, output: Path | None) -> int:
    """`export`: the backup zip at `output`, written by the app running on `folder` if there is one, else here
    while holding the folder's lock."""
    from backend.export import backup_name
    from desktop.instance import InstanceLock, running_url

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
    url = running_url(folder)
    if url is not None:
        return _export_through(url, target)
    lock = InstanceLock.acquire(folder)
    if lock is None:
        # An app took the folder between the two looks: ask it, once it answers.
        url = running_url(folder, timeout=10)
        if url is None:
            print(f"Another ChatKit Desktop holds {folder} but does not answer; try again.", file=sys.stderr)
            return 1
        return _export_through(url, target)
    try:
        return _export_here(folder, target)
    finally:
        lock.release()


def _export_here(folder: Path, target: Path) -> int:
    from backend.export import write_backup

    try:
        size = write_backup(folder, target, progress=_show_progress)
    except OSError as error:
        print(f"\nCould not write the backup ({error.strerror or type(error).__name__}).", file=sys.stderr)
        return 1
    print(f"\nBacked up {folder} to {target} ({size:,} bytes).", file=sys.stderr)
    return 0


def _export_through(url: str, target: Path) -> int:
    """Ask the running app for the backup (start, follow, download), as its Backup button does."""
    import httpx

    from desktop.instance import origin

    token = parse_qs(urlsplit(url).query).get("token", [""])[0]
    temporary = target.with_name(f".{target.name}.download")
    try:
        with httpx.Client(base_url=origin(url), headers={"Authorization": f"Bearer {token}"}, timeout=60) as client:
            started = client.post("/api/backup")
            if started.status_code != 200:
                print(started.json().get("error", "The running app refused to make a backup."), file=sys.stderr)
                return 1
            state = started.json()
            while state["state"] == "running":
                _show_progress(state["done"], state["total"])
                time.sleep(0.2)
                state = client.get("/api/backup").json()
            if state["state"] != "ready":
                print(state.get("error") or "The backup was cancelled in the app.", file=sys.stderr)
                return 1
            _show_progress(state["total"], state["total"])
            with client.stream("GET", "/api/backup/file") as answer, open(temporary, "wb") as handle:
                answer.raise_for_status()
                for chunk in answer.iter_bytes():
                    handle.write(chunk)
            temporary.replace(target)
            # The app's copy is not needed any more.
            client.delete("/api/backup")
    except (httpx.HTTPError, OSError) as error:
        print(f"\nCould not get the backup from the running app ({type(error).__name__}).", file=sys.stderr)
        with contextlib.suppress(OSError):
            temporary.unlink()
        return 1
    print(f"\nBacked up through the running app to {target} ({target.stat().st_size:,} bytes).", file=sys.stderr)
    return 0


def _show_progress(done: int, total: int) -> None:
    print(f"\rBacking up: {done} of {total} files", end="", file=sys.stderr, flush=True)


if __name__ == "__main__":
    sys.exit(main())
