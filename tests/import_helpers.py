"""What the import tests share: sending a file to a running app's `/api/import` and waiting for its summary, running
the `import` command, and finding an imported conversation by its title."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

from tests.harness import ROOT, RunningApp, app_env


def send_file(app: RunningApp, data: bytes, name: str) -> httpx.Response:
    """POST a file's bytes to `/api/import`, as the page does."""
    with app.client() as client:
        return client.post(
            "/api/import", params={"name": name}, content=data, headers={"content-type": "application/octet-stream"}
        )


def wait_finished(app: RunningApp, timeout: float = 120) -> dict[str, Any]:
    """The import's state once it is no longer running."""
    deadline = time.monotonic() + timeout
    with app.client() as client:
        while True:
            state: dict[str, Any] = client.get("/api/import").json()
            if state["state"] != "running":
                return state
            assert time.monotonic() < deadline, f"the import did not finish: {state}"
            time.sleep(0.05)


def import_file(app: RunningApp, data: bytes, name: str) -> dict[str, Any]:
    """Import a file through the app and return its summary; the import must complete."""
    response = send_file(app, data, name)
    assert response.status_code == 200, response.text
    state = wait_finished(app)
    assert state["state"] == "done", state
    summary: dict[str, Any] = state["summary"]
    return summary


def refusal(app: RunningApp, data: bytes, name: str) -> tuple[int, str]:
    """The status and sentence of a file the app refuses to import."""
    response = send_file(app, data, name)
    assert response.status_code != 200, response.text
    return response.status_code, str(response.json()["error"])


def threads_by_title(app: RunningApp) -> dict[str, dict[str, Any]]:
    """Every conversation in the app's list, by title."""
    page = app.call("threads.list", limit=1000, order="desc")
    return {thread["title"]: thread for thread in page["data"]}


def texts(app: RunningApp, thread_id: str) -> list[tuple[str, str]]:
    """A conversation's messages as the page shows them: (type, text), oldest first."""
    return [
        (item["type"], "".join(part.get("text", "") for part in item.get("content") or ()))
        for item in app.items(thread_id)
        if item["type"] in ("user_message", "assistant_message")
    ]


def run_import_command(data_dir: Path, path: Path) -> subprocess.CompletedProcess[str]:
    """`chatkit-desktop import PATH` on a data folder."""
    return subprocess.run(
        [sys.executable, "-m", "desktop.cli", "import", str(path)],
        cwd=ROOT,
        env=app_env(data_dir),
        capture_output=True,
        text=True,
        timeout=300,
    )
