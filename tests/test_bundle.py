"""The PyInstaller bundle, built from a clean copy of the tree and run like a user would run it.

One build per test session (a few minutes): `build.spec` over the tracked and untracked-but-not-ignored files,
so a file the app needs but git does not know about fails here, not on a user's machine. Then the frozen
executable's `--self-test` against the fake provider, its `serve` mode, and its window under Xvfb. Nothing it
does may write inside the bundle: the bundle's file list is compared after every run.
"""

from __future__ import annotations

import re
import shutil
import signal
import socket
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.bundling import NAME, build, clean_copy, executable, list_files
from tests.conftest import OPENAI_KEY
from tests.fake_provider import MODELS, FakeProvider
from tests.harness import READY, RunningApp, answer_text, app_env, thread_id_of
from tests.xdisplay import is_blank, launch_windowed, read_log_until, start_xvfb

PASSED = re.compile(r"^Self-test passed: server, page and chat work \(answer in \d+\.\d s.*\)\.$")
FAILED = re.compile(r"^Self-test failed: [a-z ]+ — .+\.$")
LOADED = re.compile(r"window page loaded (\d+\.\d+) s after launch")


@dataclass
class Bundle:
    """A built one-folder bundle."""

    folder: Path
    """`dist/ChatKit Desktop/`."""
    exe: Path
    """The executable that takes the CLI's arguments."""
    files: list[str]
    """Every path in the folder right after the build, relative to it."""

    def listing(self) -> list[str]:
        """Every path in the folder now."""
        return list_files(self.folder)

    def assert_unchanged(self) -> None:
        """Nothing was written inside the bundle (data belongs in CHATKIT_DESKTOP_DATA_DIR)."""
        now = self.listing()
        added = sorted(set(now) - set(self.files))
        removed = sorted(set(self.files) - set(now))
        assert not added and not removed, f"the bundle changed: added {added[:20]}, removed {removed[:20]}"


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Bundle:
    """The bundle, built once for this module from a clean copy of the tree."""
    work = tmp_path_factory.mktemp("bundle")
    folder = build(clean_copy(work / "src"), work)
    for scratch in ("src", "work"):  # half a gigabyte that pytest would otherwise keep for three sessions
        shutil.rmtree(work / scratch, ignore_errors=True)
    exe = executable(folder)
    assert exe.is_file(), f"no executable at {exe}"
    assert any(folder.rglob("web/index.html")), "the web folder is missing from the bundle"
    return Bundle(folder, exe, list_files(folder))


def model_env(fake: FakeProvider) -> dict[str, str]:
    """The app's default model: the fake's OpenAI-compatible one (like Ollama or LM Studio)."""
    return {
        "CHATKIT_DESKTOP_MODEL": f"openai/{MODELS[0]}",
        "CHATKIT_DESKTOP_API_BASE": fake.openai_base,
        "OPENAI_API_KEY": OPENAI_KEY,
    }


def test_self_test_passes_against_the_fake_provider(bundle: Bundle, fake: FakeProvider, tmp_path: Path) -> None:
    fake.clear()
    data = tmp_path / "data"
    started = time.perf_counter()
    done = subprocess.run(
        [str(bundle.exe), "--self-test", fake.openai_base],
        env=app_env(data),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=300,
    )
    seconds = time.perf_counter() - started
    lines = done.stdout.splitlines()
    assert done.returncode == 0, done.stdout + done.stderr
    assert len(lines) == 1 and PASSED.match(lines[0]), done.stdout
    assert "Traceback" not in done.stderr, done.stderr
    chats = [r for r in fake.requests if r.path.endswith("/chat/completions")]
    assert chats and chats[0].model == MODELS[0], "answered by the first model the URL lists"
    assert list((data / "threads").glob("*.json")), "its thread went to CHATKIT_DESKTOP_DATA_DIR"
    bundle.assert_unchanged()
    print(f"\nfrozen --self-test: {seconds:.1f} s wall; {lines[0]}")


def test_self_test_without_a_data_folder_leaves_nothing_behind(
    bundle: Bundle, fake: FakeProvider, tmp_path: Path
) -> None:
    home, temp = tmp_path / "home", tmp_path / "tmp"
    temp.mkdir()
    env = app_env(
        tmp_path, HOME=str(home), XDG_DATA_HOME=str(home / "data"), TMPDIR=str(temp), CHATKIT_DESKTOP_DATA_DIR=None
    )
    done = subprocess.run(
        [str(bundle.exe), "--self-test", fake.openai_base, "--self-test-model", MODELS[1]],
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0 and PASSED.match(done.stdout.strip()), done.stdout + done.stderr
    assert not (home / "data" / NAME).exists(), "the self-test must not touch the user's data folder"
    assert list(temp.iterdir()) == [], "its temporary data folder is removed"
    bundle.assert_unchanged()


def test_self_test_failure_is_one_line(bundle: Bundle, tmp_path: Path) -> None:
    done = subprocess.run(
        [str(bundle.exe), "--self-test", f"http://127.0.0.1:{unused_port()}/v1"],
        env=app_env(tmp_path),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1
    assert len(done.stdout.splitlines()) == 1 and FAILED.match(done.stdout.strip()), done.stdout
    assert done.stdout.startswith("Self-test failed: model list — ")


def test_serve_prints_its_ready_line_and_chats(bundle: Bundle, fake: FakeProvider, tmp_path: Path) -> None:
    started = time.perf_counter()
    app = start_serve(bundle.exe, tmp_path, model_env(fake))
    ready = time.perf_counter() - started
    try:
        assert httpx.get(f"{app.base}/health").json()["status"] == "ok"
        page = httpx.get(f"{app.base}/")
        assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
        events = app.send("Hello from the bundle")
        assert answer_text(events).startswith("You said: Hello from the bundle.")
        assert (tmp_path / "threads" / f"{thread_id_of(events)}.json").is_file()
    finally:
        code = app.stop()
    assert code == 0, app.stderr
    assert "Traceback" not in app.stderr, app.stderr
    bundle.assert_unchanged()
    print(f"\nfrozen serve → ready line: {ready:.2f} s")


def test_window_opens_paints_and_closes(bundle: Bundle, fake: FakeProvider, tmp_path: Path) -> None:
    screen = start_xvfb()
    env = app_env(tmp_path, DISPLAY=screen.name, **model_env(fake))
    started = time.perf_counter()
    proc = launch_windowed([str(bundle.exe)], env)
    try:
        stderr = read_log_until(proc, "window page loaded", timeout=90)
        loaded = time.perf_counter() - started
        [window] = screen.wait_for_windows(NAME)
        assert screen.icon_sizes(window), "the bundled window has no icon for the task bar"
        time.sleep(6)  # the page picks its face (the ChatKit CDN is unreachable here) and paints
        shot = screen.screenshot("bundle-window")
        region = (window.x, window.y, window.x + window.width, window.y + window.height)
        assert not is_blank(shot, region), f"the window shows nothing: {shot}"
        screen.close(window)
        code = proc.wait(30)
        assert proc.stderr is not None
        stderr += proc.stderr.read()
    finally:
        if proc.poll() is None:
            proc.kill()
        screen.proc.terminate()
        screen.proc.wait(10)
    assert code == 0, stderr
    assert "Traceback" not in stderr, stderr
    assert not (tmp_path / "instance.json").exists()
    bundle.assert_unchanged()
    match = LOADED.search(stderr)
    assert match, stderr
    print(f"\nfrozen window: page loaded {match.group(1)} s after launch (app), {loaded:.2f} s (wall)")


def test_nothing_reaches_the_network(bundle: Bundle, fake: FakeProvider, tmp_path: Path) -> None:
    """Every connection the app opens during start, model layer load and a chat goes to 127.0.0.1."""
    strace = shutil.which("strace")
    if strace is None:
        pytest.skip("strace is not installed")
    log = tmp_path / "connect.log"
    done = subprocess.run(
        [strace, "-f", "-qq", "-e", "trace=connect", "-o", str(log), str(bundle.exe), "--self-test", fake.openai_base],
        env=app_env(tmp_path / "data"),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=300,
    )
    if "ptrace" in done.stderr and done.returncode != 0:
        pytest.skip(f"strace cannot trace here: {done.stderr.strip()[:200]}")
    assert done.returncode == 0, done.stdout + done.stderr
    calls = [line for line in log.read_text().splitlines() if "connect(" in line]
    assert calls, "strace saw no connection at all: the check itself is broken"
    outside = [line for line in calls if "AF_INET" in line and "127.0.0.1" not in line and '"::1"' not in line]
    assert not outside, "the app reached for the network:\n" + "\n".join(outside)
    bundle.assert_unchanged()


# ---- helpers --------------------------------------------------------------------------------------------


def unused_port() -> int:
    """A port on 127.0.0.1 that nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def start_serve(exe: Path, data_dir: Path, env: dict[str, str], timeout: float = 120) -> RunningApp:
    """`<bundle> serve`, waited for until its ready line, as tests.harness.start_app does for the CLI."""
    proc = subprocess.Popen(
        [str(exe), "serve"],
        env=app_env(data_dir, **env),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    stderr_lines: list[str] = []

    def pump_stderr() -> None:
        assert proc.stderr is not None
        stderr_lines.extend(proc.stderr)

    threading.Thread(target=pump_stderr, daemon=True).start()
    assert proc.stdout is not None
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        match = READY.match(line.strip())
        if match:
            return RunningApp(proc, int(match.group(1)), match.group(2), data_dir, stderr_lines)
    proc.send_signal(signal.SIGKILL)
    raise AssertionError(f"no ready line; stderr:\n{''.join(stderr_lines)}")
