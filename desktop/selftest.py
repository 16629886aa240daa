"""`chatkit-desktop --self-test URL`: start the real server and prove that it, its page and a chat work.

Meant for a freshly built bundle (and CI): it runs the same server the window uses, in a temporary data folder
unless `CHATKIT_DESKTOP_DATA_DIR` is set (so it never touches the user's conversations), and talks to it over
HTTP like the page does. The chat is answered by `openai/<model>` at the OpenAI-compatible URL given (Ollama,
LM Studio, a proxy, the test suite's fake provider), with `OPENAI_API_KEY` if set: the OS keyring is not read,
so no saved key is sent to that URL. It prints exactly one line, the verdict, and returns 0 or 1.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx

from backend import config
from desktop.instance import origin

if TYPE_CHECKING:
    from desktop.server import LocalServer

CHAT_TIMEOUT = 180.0
"""Seconds the chat step may take: the model layer's first import plus the model's answer."""
MESSAGE = "Hello from the ChatKit Desktop self-test. Please answer with one short sentence."


class StepFailed(Exception):
    """A self-test step went wrong; `step` names it and the message says why in one sentence."""

    def __init__(self, step: str, why: str) -> None:
        super().__init__(why)
        self.step = step
        self.why = why


def run(url: str, model: str | None = None) -> int:
    """Run the self-test against the OpenAI-compatible endpoint `url`; prints the verdict, returns 0 or 1."""
    try:
        loading, answering = _self_test(url.rstrip("/"), model)
    except StepFailed as failure:
        print(f"Self-test failed: {failure.step} — {_sentence(failure.why)}", flush=True)
        return 1
    print(
        f"Self-test passed: server, page and chat work (answer in {answering:.1f} s, "
        f"model layer loaded in {loading:.1f} s).",
        flush=True,
    )
    return 0


def _self_test(url: str, model: str | None) -> tuple[float, float]:
    """Returns the seconds the model layer took to load after the server answered, and the answer's seconds."""
    if not url.startswith(("http://", "https://")):
        raise StepFailed("arguments", f"the URL must start with http:// or https://, not {url!r}")
    model = model or _first_model(url)
    model = model if model.startswith("openai/") else f"openai/{model}"
    # The server reads these as it would in a normal launch: the chosen model, at the URL given.
    os.environ[config.ENV_MODEL] = model
    os.environ[config.ENV_API_BASE] = url
    os.environ["PYTHON_KEYRING_BACKEND"] = "keyring.backends.fail.Keyring"
    with _data_folder() as folder, _running_server(folder) as server:
        headers = {"Authorization": f"Bearer {server.config.token}"}
        with httpx.Client(base_url=origin(server.url), timeout=30, trust_env=False) as client:
            _check_health(client)
            _check_page(client)
            loading = _wait_for_chat_ready(client)
            client.headers.update(headers)
            thread_id, answering = _check_chat(client, model)
            _check_history(client, thread_id)
    return loading, answering


def _first_model(url: str) -> str:
    key = os.environ.get("OPENAI_API_KEY") or "local"
    try:
        response = httpx.get(f"{url}/models", headers={"Authorization": f"Bearer {key}"}, timeout=15, trust_env=False)
    except httpx.HTTPError as error:
        raise StepFailed("model list", f"{url}/models could not be reached ({_describe(error)})") from error
    if response.status_code != 200:
        raise StepFailed("model list", f"{url}/models answered HTTP {response.status_code}")
    try:
        models = [str(entry["id"]) for entry in response.json()["data"]]
    except (ValueError, KeyError, TypeError) as error:
        raise StepFailed("model list", f"{url}/models did not answer an OpenAI-style model list") from error
    if not models:
        raise StepFailed("model list", f"{url}/models lists no model; pass one with --self-test-model")
    return models[0]


@contextlib.contextmanager
def _data_folder() -> Iterator[Path]:
    """CHATKIT_DESKTOP_DATA_DIR when set, else a temporary folder removed afterwards."""
    if os.environ.get(config.ENV_DATA_DIR):
        yield config.data_dir()
        return
    with tempfile.TemporaryDirectory(prefix="chatkit-selftest-") as folder:
        os.environ[config.ENV_DATA_DIR] = folder
        try:
            yield Path(folder)
        finally:
            del os.environ[config.ENV_DATA_DIR]


@contextlib.contextmanager
def _running_server(folder: Path) -> Iterator[LocalServer]:
    """The app's server on `folder`, started the way every launch starts it; failures are the start step's."""
    from desktop.launch import launch

    # Entered on its own so that only taking the folder, not a check run inside the block, reads "cannot be used".
    with contextlib.ExitStack() as stack:
        try:
            ours = stack.enter_context(launch(folder))
        except OSError as error:
            raise StepFailed("start", f"the data folder {folder} cannot be used ({error.strerror})") from error
        if ours is None:
            raise StepFailed(
                "start", f"ChatKit Desktop is already running on {folder}; set {config.ENV_DATA_DIR} to another folder"
            )
        try:
            server = ours.start_in_thread()
        except Exception as error:
            raise StepFailed("start", f"the local server did not start ({_describe(error)})") from error
        yield server


def _check_health(client: httpx.Client) -> None:
    try:
        response = client.get("/health")
    except httpx.HTTPError as error:
        raise StepFailed("health", f"GET /health failed ({_describe(error)})") from error
    if response.status_code != 200 or response.json().get("status") != "ok":
        raise StepFailed("health", f"GET /health answered HTTP {response.status_code}: {response.text[:200]}")


def _check_page(client: httpx.Client) -> None:
    try:
        response = client.get("/")
    except httpx.HTTPError as error:
        raise StepFailed("page", f"GET / failed ({_describe(error)})") from error
    if response.status_code != 200:
        raise StepFailed("page", f"GET / answered HTTP {response.status_code}")
    if not response.headers.get("content-type", "").startswith("text/html") or "<html" not in response.text.lower():
        raise StepFailed("page", "GET / did not answer an HTML page (is the web folder missing from the bundle?)")


def _wait_for_chat_ready(client: httpx.Client) -> float:
    """Seconds until /health says the model layer is loaded (the chat step reports it if it never is)."""
    started = time.perf_counter()
    deadline = started + CHAT_TIMEOUT / 2
    while time.perf_counter() < deadline:
        with contextlib.suppress(httpx.HTTPError, ValueError):
            if client.get("/health").json().get("chat_ready"):
                break
        time.sleep(0.05)
    return time.perf_counter() - started


def _check_chat(client: httpx.Client, model: str) -> tuple[str, float]:
    message = {"content": [{"type": "input_text", "text": MESSAGE}], "attachments": [], "inference_options": {}}
    body = {"type": "threads.create", "params": {"input": message}}
    events: list[dict[str, Any]] = []
    started = time.perf_counter()
    try:
        with client.stream("POST", "/chatkit", json=body, timeout=CHAT_TIMEOUT) as response:
            if response.status_code != 200:
                raise StepFailed(
                    "chat",
                    f"POST /chatkit answered HTTP {response.status_code}: "
                    f"{response.read().decode(errors='replace')[:200]}",
                )
            for line in response.iter_lines():
                if line.startswith("data: "):
                    events.append(json.loads(line[6:]))
    except httpx.HTTPError as error:
        raise StepFailed("chat", f"the stream from POST /chatkit broke ({_describe(error)})") from error
    except ValueError as error:
        raise StepFailed("chat", "POST /chatkit streamed an event that is not JSON") from error
    seconds = time.perf_counter() - started
    created = [e for e in events if e.get("type") == "thread.created"]
    if not created:
        raise StepFailed("chat", f"threads.create created no thread (events: {_types(events)})")
    errors = [e for e in events if e.get("type") == "error"]
    if errors:
        raise StepFailed("chat", f"{model} at the given URL did not answer: {_error_text(errors[0])}")
    answers = [
        e["item"]
        for e in events
        if e.get("type") == "thread.item.done" and e.get("item", {}).get("type") == "assistant_message"
    ]
    text = "".join(part.get("text", "") for part in answers[-1]["content"]) if answers else ""
    if not text.strip():
        raise StepFailed("chat", f"{model} gave no answer text (events: {_types(events)})")
    return str(created[0]["thread"]["id"]), seconds


def _check_history(client: httpx.Client, thread_id: str) -> None:
    body = {"type": "threads.list", "params": {"limit": 20, "order": "desc"}}
    try:
        response = client.post("/chatkit", json=body)
    except httpx.HTTPError as error:
        raise StepFailed("history", f"threads.list failed ({_describe(error)})") from error
    if response.status_code != 200:
        raise StepFailed("history", f"threads.list answered HTTP {response.status_code}")
    ids = [thread.get("id") for thread in response.json().get("data", [])]
    if thread_id not in ids:
        raise StepFailed("history", "threads.list does not list the thread just created")


def _types(events: list[dict[str, Any]]) -> str:
    return ", ".join(dict.fromkeys(str(e.get("type")) for e in events)) or "none"


def _error_text(event: dict[str, Any]) -> str:
    for key in ("message", "error", "code"):
        value = event.get(key)
        if value:
            return str(value)
    return json.dumps(event)[:200]


def _describe(error: BaseException) -> str:
    text = str(error).strip().splitlines()[0] if str(error).strip() else ""
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


def _sentence(text: str) -> str:
    text = " ".join(text.split())
    return text if text.endswith((".", "!", "?")) else f"{text}."
