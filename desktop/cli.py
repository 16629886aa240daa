"""`chatkit-desktop`: open the window, or `serve` the app without one."""

from __future__ import annotations

import argparse
import logging
import sys
import time
import webbrowser
from pathlib import Path

from backend import collector, config
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
  chatkit-desktop import ~/Downloads/chatgpt-export.zip   bring your ChatGPT history along
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
    restore = commands.add_parser(
        "import",
        help="add conversations from a ChatGPT or Claude export, or restore a backup",
        description="Add the conversations of PATH to your data folder: a ChatGPT data export (the .zip or its "
        "conversations.json), a Claude data export (the same), a backup zip made by 'export', or one conversation's "
        ".json. Titles and dates are kept; the visible branch of an edited ChatGPT conversation is the one imported. "
        "Importing the same file twice adds nothing the second time, and an interrupted import completes when run "
        "again. While the app runs on the same folder, the running app does the import. Progress goes to stderr, "
        "the summary to stdout; exit code 0 when the import completed.",
    )
    restore.add_argument("path", metavar="PATH", type=Path, help="the file to import")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `chatkit-desktop` command."""
    launched = time.perf_counter()
    args = build_parser().parse_args(argv)
    if args.command not in ("export", "import"):
        # Every other command starts the app: Python's garbage collector is off until its model layer has loaded,
        # the imports included (`backend.collector`).
        collector.pause()
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
        from desktop.transfer import export_backup

        return export_backup(config.data_dir(), args.output)
    if args.command == "import":
        from desktop.transfer import import_file

        return import_file(config.data_dir(), args.path)
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


if __name__ == "__main__":
    sys.exit(main())
