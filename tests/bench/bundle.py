"""Bundle figures: size on disk and as .tar.gz, `serve` → ready line, launch → window page loaded (cold, warm).

Run: `uv run python tests/bench/bundle.py` (builds the bundle from a clean copy of the tree first) or
`uv run python tests/bench/bundle.py --dist "dist/ChatKit Desktop"` for a bundle already built. The window runs
under its own Xvfb. "Cold" empties the OS page cache first (needs root; it says so when it cannot), "warm" is
the launch right after. It prints figures and asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.bench.window import drop_page_cache, time_to_loaded  # noqa: E402
from tests.bundling import NAME, build, clean_copy, executable  # noqa: E402
from tests.fake_provider import MODELS, FakeProvider  # noqa: E402
from tests.harness import READY, app_env  # noqa: E402
from tests.xdisplay import start_xvfb  # noqa: E402


def size_on_disk(folder: Path) -> int:
    """Bytes, as `du -sb` counts them (apparent sizes of files, links and folders)."""
    if shutil.which("du") and sys.platform.startswith("linux"):
        return int(
            subprocess.run(["du", "-sb", str(folder)], capture_output=True, text=True, check=True).stdout.split()[0]
        )
    return sum(os.lstat(Path(root) / name).st_size for root, dirs, files in os.walk(folder) for name in dirs + files)


def size_tar_gz(folder: Path, scratch: Path) -> int:
    """Bytes of `tar czf` of the folder (what a download of the Linux bundle would be)."""
    archive = scratch / "bundle.tar.gz"
    subprocess.run(["tar", "czf", str(archive), "-C", str(folder.parent), folder.name], check=True)
    size = archive.stat().st_size
    archive.unlink()
    return size


def serve_to_ready(exe: Path, data_dir: Path) -> float:
    """Seconds from spawning `<bundle> serve` to its ready line; the server is stopped afterwards."""
    started = time.perf_counter()
    proc = subprocess.Popen(
        [str(exe), "serve"],
        env=app_env(data_dir),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert proc.stdout is not None
    try:
        for line in proc.stdout:
            if READY.match(line.strip()):
                return time.perf_counter() - started
        raise RuntimeError(f"serve exited ({proc.wait()}) without its ready line")
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)


def self_test(exe: Path, data_dir: Path) -> str:
    """The frozen `--self-test` verdict against the suite's fake provider."""
    with FakeProvider() as fake:
        done = subprocess.run(
            [str(exe), "--self-test", fake.openai_base],
            env=app_env(data_dir),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=300,
        )
    return done.stdout.strip() or done.stderr.strip()[-300:]


def figures(label: str, runs: list[float]) -> str:
    """`median (each run)`."""
    each = ", ".join(f"{r:.2f}" for r in runs)
    return f"  {label:<58} {statistics.median(runs):6.2f} s   ({each})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dist", type=Path, help=f"the bundle folder ('dist/{NAME}'); default: build one now")
    parser.add_argument("--runs", type=int, default=3, help="launches of each kind (default 3)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="chatkit-bench-") as tmp_name:
        tmp = Path(tmp_name)
        if args.dist is None:
            started = time.perf_counter()
            folder = build(clean_copy(tmp / "src"), tmp / "out")
            print(f"Built {folder} in {time.perf_counter() - started:.0f} s")
        else:
            folder = args.dist / NAME if (args.dist / NAME).is_dir() else args.dist
        exe = executable(folder)

        cold_kind = "page cache dropped" if drop_page_cache() else "page cache NOT dropped: not allowed here"
        display = start_xvfb()
        try:
            cold, warm = [], []
            for run in range(args.runs):
                if run:
                    drop_page_cache()
                cold.append(time_to_loaded([str(exe)], display, tmp / f"cold{run}"))
                warm.append(time_to_loaded([str(exe)], display, tmp / f"warm{run}"))
        finally:
            display.proc.terminate()
            display.proc.wait(10)
        ready = [serve_to_ready(exe, tmp / f"serve{run}") for run in range(args.runs)]
        verdict = self_test(exe, tmp / "selftest")
        disk, packed = size_on_disk(folder), size_tar_gz(folder, tmp)

    print(f"Bundle: {folder}")
    print(f"  size on disk (du -sb)                                      {disk / 1e6:8.1f} MB  ({disk} bytes)")
    print(f"  size as .tar.gz (tar czf)                                  {packed / 1e6:8.1f} MB  ({packed} bytes)")
    print(f"Start, median of {args.runs} (each run in brackets):")
    print(figures("serve → ready line", ready))
    print(figures(f"window page loaded, cold ({cold_kind}), wall", [c[0] for c in cold]))
    print(figures("  as the app logs it", [c[1] for c in cold]))
    print(figures("window page loaded, warm, wall", [w[0] for w in warm]))
    print(figures("  as the app logs it", [w[1] for w in warm]))
    print(f"Self-test against the fake provider ({MODELS[0]}): {verdict}")


if __name__ == "__main__":
    main()
