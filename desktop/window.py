"""The window: a pywebview window on the local server's page; closing it stops the server.

The server starts first, in a background thread, and answers the page at once; the model layer keeps
importing behind it, so the window paints before LiteLLM and the Agents SDK are loaded.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import signal
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

from backend.config import APP_NAME, data_dir
from backend.settings import SettingsFile

from .dialogs import show_error
from .instance import running_url
from .launch import launch

if TYPE_CHECKING:
    from webview import Window
    from webview.guilib import GUIType

log = logging.getLogger(__name__)

# Shown in the task bar and the window switcher (the bundle ships it at the same place, see build.spec).
ICON = Path(__file__).parent / "assets" / "icon.png"
DEFAULT_SIZE = (1100, 760)
MIN_SIZE = (400, 480)
NO_ENGINE = (
    "ChatKit Desktop cannot open its window because no web engine is installed. "
    "Install the Qt engine with: pip install 'chatkit-desktop[qt]' "
    "(or GTK's: sudo apt install python3-gi gir1.2-webkit2-4.1), "
    "or run 'chatkit-desktop --browser' to use your web browser instead."
)
ALREADY_RUNNING_SILENT = (
    "ChatKit Desktop is already running on this data folder but does not answer. "
    "Close it (or end its process), then start ChatKit Desktop again."
)


def run_window(launched: float) -> int:
    """Open the app's window (on the running instance if there is one); returns the exit code."""
    folder = data_dir()
    with launch(folder) as ours:
        if ours is None:
            url = running_url(folder)
            if url is None:
                show_error(ALREADY_RUNNING_SILENT)
                return 1
            log.info("ChatKit Desktop is already running; opening a window on it")
            return _show(url, launched, settings=None)
        server = ours.start_in_thread()
        return _show(server.url, launched, settings=SettingsFile(folder / "settings.json"))


def _show(url: str, launched: float, settings: SettingsFile | None) -> int:
    """Run the window until it is closed. `settings` is None for a window on another instance's server."""
    _prepare_qt()
    try:
        import webview
        from webview.errors import WebViewException
    except ImportError:
        show_error(NO_ENGINE)
        return 1
    logging.getLogger("pywebview").addFilter(_quiet_engine_probing)

    geometry = _saved_geometry(settings)
    window = webview.create_window(
        APP_NAME,
        url,
        width=geometry.get("width", DEFAULT_SIZE[0]),
        height=geometry.get("height", DEFAULT_SIZE[1]),
        x=geometry.get("x"),
        y=geometry.get("y"),
        min_size=MIN_SIZE,
        text_select=True,
        background_color="#FFFFFF",
    )
    # None only for a window made after `webview.start` whose creation a handler cancelled: not this one.
    assert window is not None
    tracker = _GeometryTracker(geometry)
    window.events.resized += tracker.resized
    window.events.moved += tracker.moved
    first_load: list[float] = []

    def loaded() -> None:
        if not first_load:
            first_load.append(time.perf_counter() - launched)
            log.info("window page loaded %.2f s after launch (engine: %s)", first_load[0], webview.renderer)

    window.events.loaded += loaded
    _close_on_signals(window)
    # Saving an attachment is a download; engines refuse downloads unless this is on.
    webview.settings["ALLOW_DOWNLOADS"] = True
    try:
        webview.start(gui=_preferred_gui(), private_mode=True, icon=str(ICON))
    except WebViewException:
        show_error(NO_ENGINE)
        return 1
    if settings is not None and tracker.changed:
        _save_geometry(settings, tracker.geometry)
    return 0


class _GeometryTracker:
    """Follows the window's size and position so they can be restored next launch."""

    def __init__(self, initial: dict[str, int]) -> None:
        self.geometry = dict(initial)
        self.changed = False

    def resized(self, width: int, height: int) -> None:
        self.geometry.update(width=int(width), height=int(height))
        self.changed = True

    def moved(self, x: int, y: int) -> None:
        self.geometry.update(x=int(x), y=int(y))
        self.changed = True


def _saved_geometry(settings: SettingsFile | None) -> dict[str, int]:
    """The last window size and position, if they still make sense (a monitor may have been unplugged)."""
    saved = (settings.load().window if settings else None) or {}
    geometry = {k: v for k, v in saved.items() if k in {"width", "height", "x", "y"} and isinstance(v, int)}
    if geometry.get("width", MIN_SIZE[0]) < MIN_SIZE[0] or geometry.get("height", MIN_SIZE[1]) < MIN_SIZE[1]:
        geometry.pop("width", None)
        geometry.pop("height", None)
    if not (0 <= geometry.get("x", 0) < 16384 and 0 <= geometry.get("y", 0) < 16384):
        geometry.pop("x", None)
        geometry.pop("y", None)
    return geometry


def _save_geometry(settings: SettingsFile, geometry: dict[str, int]) -> None:
    try:
        current = settings.load()
        settings.save(current.model_copy(update={"window": geometry}))
    except OSError as error:
        log.warning("could not remember the window's size and position: %s", error.strerror)


def _close_on_signals(window: Window) -> None:
    """Ctrl-C in a terminal or a session logout (SIGTERM) closes the window the normal way."""

    def close(_signum: int, _frame: object) -> None:
        window.destroy()

    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, close)


def _prepare_qt() -> None:
    # QtWebEngine refuses to start its sandbox as root (containers, some live systems); it needs this then.
    if sys.platform.startswith("linux") and hasattr(os, "geteuid") and os.geteuid() == 0:
        os.environ.setdefault("QTWEBENGINE_DISABLE_SANDBOX", "1")


def _preferred_gui() -> GUIType | None:
    """On Linux, Qt when its bindings are installed (pywebview would try GTK first and log a traceback)."""
    if os.environ.get("PYWEBVIEW_GUI") or not sys.platform.startswith("linux"):
        return None
    for binding in ("PyQt6", "PySide6", "PyQt5", "PySide2"):
        if importlib.util.find_spec(binding) is not None:
            return "qt"
    return None


def _quiet_engine_probing(record: logging.LogRecord) -> bool:
    # pywebview logs a traceback for every engine it probes and cannot load; NO_ENGINE says it once, plainly.
    return "cannot be loaded" not in record.getMessage()
