"""A message a person will see when the window cannot open: a native dialog if possible, always stderr."""

from __future__ import annotations

import shutil
import subprocess
import sys

from backend.config import APP_NAME


def show_error(message: str) -> None:
    """Print `message` and show it in a dialog (Tk, else zenity or kdialog) when a display is there."""
    print(message, file=sys.stderr, flush=True)
    if not sys.stdin or sys.stdin.isatty():
        # Started from a terminal: the line above is where the person is looking.
        return
    if _tk_dialog(message):
        return
    for command in (["zenity", "--error", "--no-wrap", "--text", message], ["kdialog", "--error", message]):
        if shutil.which(command[0]):
            subprocess.run(command, check=False, timeout=600)
            return


def _tk_dialog(message: str) -> bool:
    try:
        import tkinter
        from tkinter import messagebox
    except ImportError:
        return False
    try:
        root = tkinter.Tk()
    except tkinter.TclError:  # no display
        return False
    root.withdraw()
    messagebox.showerror(APP_NAME, message, parent=root)
    root.destroy()
    return True
