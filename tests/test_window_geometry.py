"""The window reopens where it was closed, if that still makes sense (`desktop.window._saved_geometry`).

The size and position saved in `settings.json` come back on the next launch; a size below the window's
minimum or a position off any plausible screen (a monitor was unplugged, the file was edited) is dropped,
so the window opens at its default size or lets the desktop place it. With no settings file, or no saved
geometry, nothing is imposed.

`_saved_geometry` is private; it is tested directly because desktop/window.py is not to be changed here.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from backend.settings import Settings, SettingsFile
from desktop.window import _saved_geometry


@pytest.fixture
def settings(tmp_path: Path) -> SettingsFile:
    return SettingsFile(tmp_path / "settings.json")


def saved(settings: SettingsFile, **window: int) -> SettingsFile:
    """The settings file as the app leaves it after the window was closed at `window`."""
    settings.save(Settings(window=window))
    return settings


def test_a_saved_size_and_position_come_back(settings: SettingsFile) -> None:
    saved(settings, width=900, height=700, x=120, y=80)
    assert _saved_geometry(settings) == {"width": 900, "height": 700, "x": 120, "y": 80}


def test_a_saved_size_alone_comes_back(settings: SettingsFile) -> None:
    saved(settings, width=1280, height=800)
    assert _saved_geometry(settings) == {"width": 1280, "height": 800}


def test_the_smallest_allowed_size_and_the_screens_corner_come_back(settings: SettingsFile) -> None:
    saved(settings, width=400, height=480, x=0, y=0)
    assert _saved_geometry(settings) == {"width": 400, "height": 480, "x": 0, "y": 0}


@pytest.mark.parametrize(("width", "height"), [(399, 700), (900, 479), (10, 10), (0, 0), (-900, 700)])
def test_a_size_below_the_minimum_is_dropped_and_the_position_kept(
    settings: SettingsFile, width: int, height: int
) -> None:
    saved(settings, width=width, height=height, x=120, y=80)
    assert _saved_geometry(settings) == {"x": 120, "y": 80}


@pytest.mark.parametrize(("x", "y"), [(-1, 80), (120, -1), (-3000, -3000), (16384, 80), (120, 16384), (99999, 99999)])
def test_an_off_screen_position_is_dropped_and_the_size_kept(settings: SettingsFile, x: int, y: int) -> None:
    saved(settings, width=900, height=700, x=x, y=y)
    assert _saved_geometry(settings) == {"width": 900, "height": 700}


def test_no_settings_file_means_the_default_size_and_placement(settings: SettingsFile) -> None:
    assert not settings.path.exists()
    assert _saved_geometry(settings) == {}


def test_settings_without_a_saved_window_mean_the_default_size_and_placement(settings: SettingsFile) -> None:
    settings.save(Settings(system_prompt="Be brief."))
    assert _saved_geometry(settings) == {}


def test_a_window_on_another_instances_server_uses_the_defaults() -> None:
    assert _saved_geometry(None) == {}


def test_unknown_entries_in_the_saved_window_are_ignored(settings: SettingsFile) -> None:
    saved(settings, width=900, height=700, maximized=1, zoom=2)
    assert _saved_geometry(settings) == {"width": 900, "height": 700}


def test_a_settings_file_edited_by_hand_is_read_like_the_app_wrote_it(settings: SettingsFile) -> None:
    settings.path.write_text(json.dumps({"window": {"width": 1000, "height": 640, "x": 5, "y": 6}}), "utf-8")
    assert _saved_geometry(settings) == {"width": 1000, "height": 640, "x": 5, "y": 6}


def test_a_broken_settings_file_means_the_defaults_and_is_kept_aside(settings: SettingsFile) -> None:
    settings.path.write_text('{"window": {"width": ', "utf-8")
    assert _saved_geometry(settings) == {}
    assert settings.path.with_suffix(".json.broken").read_text("utf-8") == '{"window": {"width": '
