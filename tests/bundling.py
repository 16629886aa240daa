"""Builds the PyInstaller bundle from a clean copy of the work tree (shared by tests/test_bundle.py and
tests/bench/bundle.py)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from tests.harness import ROOT

NAME = "ChatKit Desktop"
BUILD_TIMEOUT = 1800


def list_files(folder: Path) -> list[str]:
    """Every file, folder and link under `folder`, relative to it, sorted."""
    found = []
    for root, dirs, files in os.walk(folder):
        for name in dirs + files:
            found.append(str((Path(root) / name).relative_to(folder)))
    return sorted(found)


def clean_copy(destination: Path) -> Path:
    """Copy what a fresh checkout of the work tree would have: tracked plus untracked-but-not-ignored files."""
    listed = (
        subprocess.run(
            ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
            cwd=ROOT,
            capture_output=True,
            check=True,
        )
        .stdout.decode()
        .split("\0")
    )
    for relative in filter(None, listed):
        source = ROOT / relative
        if not source.is_file():  # deleted in the work tree but still in the index
            continue
        target = destination / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, target)
    return destination


def build(source: Path, out: Path) -> Path:
    """Run `pyinstaller build.spec` in `source`; returns the bundle folder."""
    command = [
        sys.executable,
        "-m",
        "PyInstaller",
        "--noconfirm",
        "--distpath",
        str(out / "dist"),
        "--workpath",
        str(out / "work"),
        "build.spec",
    ]
    # The app's own settings must not leak into the build; CHATKIT_BUNDLE_FULL (the spec's switch) may.
    env = {k: v for k, v in os.environ.items() if not k.startswith("CHATKIT_DESKTOP_")}
    done = subprocess.run(command, cwd=source, env=env, capture_output=True, text=True, timeout=BUILD_TIMEOUT)
    if done.returncode != 0:
        raise RuntimeError(f"pyinstaller failed:\n{done.stderr[-6000:]}")
    return out / "dist" / NAME


def executable(folder: Path) -> Path:
    """The bundle's command-line executable on this platform."""
    if sys.platform == "win32":
        return folder / "chatkit-desktop.exe"
    if sys.platform == "darwin":
        return folder / NAME
    return folder / "chatkit-desktop"
