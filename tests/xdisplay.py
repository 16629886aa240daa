"""A virtual X display for window tests: Xvfb started by the test, windows found, closed and photographed."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.harness import ROOT

if TYPE_CHECKING:
    from Xlib.xobject.drawable import Window as XWindow

SCREENSHOTS = Path(__file__).resolve().parent.parent / "test-output" / "screenshots"


def need(program: str) -> str:
    """The path of a program the test needs; missing fails in CI (it must be installed) and skips elsewhere."""
    path = shutil.which(program)
    if path is None:
        message = f"{program} is not installed (.ci/run installs it with apt-get)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return path


@dataclass
class Window:
    """A top-level X window."""

    id: int
    title: str
    x: int
    y: int
    width: int
    height: int


@dataclass
class XDisplay:
    """An Xvfb server this test started."""

    name: str
    proc: subprocess.Popen[bytes]

    def windows(self, title: str) -> list[Window]:
        """The mapped windows with this exact title."""
        from Xlib import X, display, error

        d = display.Display(self.name)
        try:
            found = []
            for child in _walk(d.screen().root):
                # A web engine makes and drops short-lived windows: one may be gone by the time it is asked.
                try:
                    if child.get_wm_name() != title or child.get_attributes().map_state != X.IsViewable:
                        continue
                    geometry = child.get_geometry()
                    origin = child.translate_coords(d.screen().root, 0, 0)
                except (error.BadWindow, error.BadDrawable):
                    continue
                found.append(Window(child.id, title, -origin.x, -origin.y, geometry.width, geometry.height))
            return found
        finally:
            d.close()

    def wait_for_windows(self, title: str, count: int = 1, timeout: float = 60) -> list[Window]:
        """Wait until `count` windows with this title are on screen."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = self.windows(title)
            if len(found) >= count:
                return found
            time.sleep(0.2)
        raise AssertionError(f"{count} window(s) titled {title!r} did not appear within {timeout} s")

    def close(self, window: Window) -> None:
        """What a window manager's close button does: send WM_DELETE_WINDOW."""
        from Xlib import X, display, protocol

        d = display.Display(self.name)
        try:
            target = d.create_resource_object("window", window.id)
            message = protocol.event.ClientMessage(
                window=target,
                client_type=d.intern_atom("WM_PROTOCOLS"),
                data=(32, [d.intern_atom("WM_DELETE_WINDOW"), X.CurrentTime, 0, 0, 0]),
            )
            target.send_event(message)
            # A round trip, not just a flush: closing the connection right after a flush can lose the request.
            d.sync()
        finally:
            d.close()

    def resize(self, window: Window, width: int, height: int) -> None:
        """Resize a window as a person dragging its corner would."""
        from Xlib import display

        d = display.Display(self.name)
        try:
            d.create_resource_object("window", window.id).configure(width=width, height=height)
            d.sync()
        finally:
            d.close()

    def icon_sizes(self, window: Window) -> list[tuple[int, int]]:
        """The sizes of the icons a window offers the desktop (its _NET_WM_ICON property), empty if none."""
        from Xlib import Xatom, display

        d = display.Display(self.name)
        try:
            target = d.create_resource_object("window", window.id)
            prop = target.get_full_property(d.intern_atom("_NET_WM_ICON"), Xatom.CARDINAL)
        finally:
            d.close()
        values = list(prop.value) if prop else []
        sizes = []
        while len(values) >= 2:
            width, height = values[0], values[1]
            sizes.append((width, height))
            values = values[2 + width * height :]
        return sizes

    def screenshot(self, name: str) -> Path:
        """Save the whole screen as test-output/screenshots/<name>.png."""
        from PIL import ImageGrab

        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / f"{name}.png"
        ImageGrab.grab(xdisplay=self.name).save(path)
        return path


def _walk(window: XWindow) -> Iterator[XWindow]:
    from Xlib import error

    try:
        children: list[XWindow] = window.query_tree().children  # the stubs type a reply's fields as Any
    except error.BadWindow:  # gone since its parent was listed
        return
    for child in children:
        yield child
        yield from _walk(child)


def start_xvfb(width: int = 1280, height: int = 900) -> XDisplay:
    """Start Xvfb on a free display number (Xvfb picks it and tells us through -displayfd)."""
    xvfb = need("Xvfb")
    read_end, write_end = os.pipe()
    proc = subprocess.Popen(
        [xvfb, "-displayfd", str(write_end), "-screen", "0", f"{width}x{height}x24", "-nolisten", "tcp"],
        pass_fds=[write_end],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    os.close(write_end)
    with os.fdopen(read_end) as pipe:
        number = pipe.readline().strip()
    if not number:
        proc.kill()
        raise AssertionError("Xvfb did not start")
    return XDisplay(f":{number}", proc)


def is_blank(path: Path, region: tuple[int, int, int, int]) -> bool:
    """Whether a region of a screenshot is (nearly) one colour: nothing was painted there."""
    from PIL import Image

    with Image.open(path) as image:
        colours = image.convert("RGB").crop(region).getcolors(maxcolors=1 << 20) or []
    return len(colours) < 8


def launch_windowed(command: list[str], env: dict[str, str]) -> subprocess.Popen[str]:
    """Start the app (or the bundle) as a person would, with no terminal: its log, stderr, is kept to read."""
    return subprocess.Popen(
        command,
        cwd=ROOT,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )


def read_log_until(proc: subprocess.Popen[str], words: str, timeout: float = 60, seen: str = "") -> str:
    """Read the process's stderr (one line per event) until a line containing `words`; returns `seen` plus
    what was read, so the last line is the one with `words`."""
    assert proc.stderr is not None
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = proc.stderr.readline()
        if not line:
            break
        seen += line
        if words in line:
            return seen
    raise AssertionError(f"never logged {words!r}; stderr:\n{seen}")
