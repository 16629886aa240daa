"""Window start: launch → the window's page loaded (pywebview's `loaded` event), cold and warm, under Xvfb.

Run: `uv run python tests/bench/window.py` for the app from source, or
`uv run python tests/bench/window.py --command "dist/ChatKit Desktop/chatkit-desktop"` for a built bundle.
"Cold" drops the OS page cache first (needs root; said so when it cannot), "warm" launches again at once.
It prints figures and asserts nothing.
"""

from __future__ import annotations

import argparse
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.harness import app_env  # noqa: E402
from tests.xdisplay import XDisplay, launch_windowed, read_log_until, start_xvfb  # noqa: E402

LOADED = "window page loaded"
TITLE = "ChatKit Desktop"


def drop_page_cache() -> bool:
    """Empty the OS file cache so the next launch reads everything from disk; False when not allowed."""
    subprocess.run(["sync"], check=False)
    try:
        Path("/proc/sys/vm/drop_caches").write_text("3\n")
    except OSError:
        return False
    return True


def time_to_loaded(command: list[str], display: XDisplay, data_dir: Path) -> tuple[float, float]:
    """Launch, wait for the page-loaded log line, close the window; returns (wall seconds, app-reported)."""
    env = app_env(data_dir, DISPLAY=display.name)
    started = time.perf_counter()
    proc = launch_windowed(command, env)
    last = read_log_until(proc, LOADED, timeout=120).splitlines()[-1]
    wall = time.perf_counter() - started
    reported = float(last.rsplit(LOADED, 1)[1].split()[0])
    for window in display.wait_for_windows(TITLE):
        display.close(window)
    proc.wait(30)
    return wall, reported


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--command", help="the program to launch (default: the app from source)")
    parser.add_argument("--runs", type=int, default=3, help="launches of each kind")
    args = parser.parse_args()
    command = shlex.split(args.command) if args.command else [sys.executable, "-m", "desktop.cli"]

    display = start_xvfb()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            cold, warm, dropped = [], [], True
            for run in range(args.runs):
                dropped = drop_page_cache() and dropped
                cold.append(time_to_loaded(command, display, Path(tmp) / f"cold{run}"))
                warm.append(time_to_loaded(command, display, Path(tmp) / f"warm{run}"))
    finally:
        display.proc.terminate()

    print(f"Launch → window page loaded: {' '.join(command)}  (median of {args.runs}; wall clock / as logged)")
    kind = "page cache dropped" if dropped else "page cache NOT dropped (not root)"
    for name, runs in ((f"cold ({kind})", cold), ("warm", warm)):
        wall = statistics.median(r[0] for r in runs)
        logged = statistics.median(r[1] for r in runs)
        print(f"  {name:<32} {wall:.2f} s / {logged:.2f} s")


if __name__ == "__main__":
    main()
