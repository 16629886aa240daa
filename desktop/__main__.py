"""`python -m desktop`, and the PyInstaller bundle's entry point: the `chatkit-desktop` command."""

import os
import sys

# A windowed executable (Windows' .exe without a console) has no stdout/stderr: give them somewhere to go,
# since uvicorn's and logging's set-up touch them.
for _name in ("stdout", "stderr"):
    if getattr(sys, _name) is None:
        setattr(sys, _name, open(os.devnull, "w", encoding="utf-8"))  # noqa: SIM115 - lives as long as the app

from desktop.cli import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
