"""`chatkit-desktop`: open the window, or `serve` the app without one."""

from __future__ import annotations

import argparse
import logging
import sys

from backend import config

EPILOG = f"""\
environment:
  {config.ENV_DATA_DIR}   folder for threads, settings and logs
  {config.ENV_TOKEN}      access token instead of a random one per launch
  {config.ENV_MODEL}      default model, a LiteLLM id (gemini/…, openai/…, anthropic/…)
  {config.ENV_API_BASE}   base URL of the default model's provider (Ollama, LM Studio, a proxy)
  GEMINI_API_KEY, OPENAI_API_KEY, ANTHROPIC_API_KEY   provider keys (override those saved in Settings)
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
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    serve = commands.add_parser(
        "serve",
        help="run the local server without a window and print its address",
        description="Run the local server without a window. Prints one line, "
        "'ChatKit Desktop ready: http://127.0.0.1:PORT/?token=TOKEN', once it answers; Ctrl-C stops it.",
    )
    serve.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (default: any free port)")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `chatkit-desktop` command."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    if args.command == "serve":
        return serve(args.port)
    from desktop.window import run_window

    return run_window(browser=args.browser)


def serve(port: int) -> int:
    """Headless mode: serve until SIGINT/SIGTERM, announcing the address on stdout."""
    from desktop.server import READY_PREFIX, LocalServer

    try:
        server = LocalServer.create(port)
    except OSError as error:
        print(f"Cannot listen on 127.0.0.1:{port}: {error.strerror}. Pick another --port.", file=sys.stderr)
        return 1
    server.serve_forever(lambda: print(f"{READY_PREFIX} {server.url}", flush=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
