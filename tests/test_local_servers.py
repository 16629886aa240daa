"""Local model servers and proxies end to end: Ollama and LM Studio found by themselves when they start, gone when
they stop (a message to one then gets a sentence), their context windows asked of them, detection off the start
path; a system proxy used for remote providers and never for 127.0.0.1 or localhost."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, cast

import httpx
import pytest

from tests.fake_local import FakeGateway, FakeLMStudio, FakeLocalServer, FakeOllama
from tests.fake_provider import FakeProvider
from tests.harness import RunningApp, answer_text, events_of, start_app, thread_id_of
from tests.recording_proxy import RecordingProxy

CACHE_S = 5.0
"""How long the app may keep an old look at a local server ("cached a few seconds")."""
PROXY_KEY = "sk-behind-the-proxy-0123-SECRET"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def model_ids(app: RunningApp, refresh: bool = False) -> list[str]:
    with app.client() as client:
        response = client.get("/api/models", params={"refresh": "1"} if refresh else None)
    assert response.status_code == 200, response.text
    return [m["id"] for m in response.json()["models"]]


def within(seconds: float, condition: Callable[[], bool], what: str) -> float:
    """Poll `condition` every 0.2 s; return how long it took to hold, or fail after `seconds`."""
    start = time.monotonic()
    while not condition():
        if time.monotonic() - start > seconds:
            raise AssertionError(f"{what}: not within {seconds} s")
        time.sleep(0.2)
    return time.monotonic() - start


def error_sentence(events: list[dict[str, Any]]) -> str:
    errors = events_of(events, "error")
    assert len(errors) == 1, [e["type"] for e in events]
    sentence: str = errors[0]["message"]
    return sentence


def point_at(app: RunningApp, server: FakeLocalServer) -> None:
    """Tell the app where an LM Studio answers (an Ollama is pointed at with `OLLAMA_HOST` at start)."""
    if isinstance(server, FakeLMStudio):
        with app.client() as client:
            response = client.put("/api/providers/lm_studio", json={"base_url": server.url})
        assert response.status_code == 200, response.text
        assert response.json()["base_url"].startswith(server.url)


def start_for(tmp_path: Path, server: FakeLocalServer) -> RunningApp:
    """The app, told where `server` answers (it need not be running)."""
    app = start_app(tmp_path, OLLAMA_HOST=server.host if isinstance(server, FakeOllama) else None)
    point_at(app, server)
    return app


@pytest.mark.parametrize(
    ("kind", "provider", "model"),
    [(FakeOllama, "ollama", "llama3.2:latest"), (FakeLMStudio, "lm_studio", "qwen2.5-7b-instruct")],
)
def test_a_local_server_started_after_the_app_appears_and_disappears_when_it_stops(
    tmp_path: Path, kind: type[FakeLocalServer], provider: str, model: str
) -> None:
    server = kind(port=free_port())
    model_id = f"{provider}/{model}"
    app = start_for(tmp_path, server)
    try:
        assert model_id not in model_ids(app), "not running yet"
        server.start()
        appeared = within(CACHE_S + 3, lambda: model_id in model_ids(app), f"{server.name} appearing")
        events = app.send("Who answers?", model=model_id)
        assert answer_text(events).startswith(f"You said: [{server.name} {model}] Who answers?")

        server.stop()
        gone = within(CACHE_S + 3, lambda: model_id not in model_ids(app), f"{server.name} disappearing")
        events = app.send("Still there?", model=model_id)
        sentence = error_sentence(events)
        assert f"{server.name} is not running" in sentence and server.host in sentence, sentence
        assert sentence.count(". ") == 0 and "Traceback" not in sentence, "one sentence"
        thread_id = thread_id_of(events)
        assert app.items(thread_id)[0]["content"][0]["text"] == "Still there?", "the message is kept"

        server.start()
        within(CACHE_S + 3, lambda: model_id in model_ids(app), f"{server.name} coming back")
        assert answer_text(app.send("Back?", thread_id, model=model_id)).startswith(f"You said: [{server.name}")
        print(f"{server.name}: appeared after {appeared:.1f} s, gone after {gone:.1f} s")
    finally:
        app.stop()
        server.stop()


@pytest.mark.parametrize(
    ("kind", "provider", "tiny", "roomy"),
    [(FakeOllama, "ollama", "tiny:latest", "roomy:latest"), (FakeLMStudio, "lm_studio", "tiny", "roomy")],
)
def test_a_local_models_context_window_is_the_one_its_server_states_and_the_setting_overrides_it(
    tmp_path: Path, kind: type[FakeLocalServer], provider: str, tiny: str, roomy: str
) -> None:
    with kind(models={tiny: 1024, roomy: 131072}) as server:
        app = start_for(tmp_path, server)
        try:
            big, small = f"{provider}/{roomy}", f"{provider}/{tiny}"
            thread_id = thread_id_of(app.send("Opening message " + "alpha " * 150, model=big))
            for n in range(5):
                app.send(f"Message {n} " + "beta " * 150, thread_id, model=big)
            whole = 1 + 2 * 6 + 1  # the system prompt, six turns, the new message

            app.send("To the small window", thread_id, model=small)
            trimmed = len(server.last_stream().messages)
            app.send("To the large window", thread_id, model=big)
            assert len(server.last_stream().messages) == whole + 2, "131,072 tokens hold everything"
            assert 2 < trimmed < whole - 4, f"1,024 tokens hold a few turns, not {trimmed} messages"
            assert server.last_stream().messages[-1]["content"] == "To the large window"

            app.settings(context_window=100_000)
            app.send("The setting wins", thread_id, model=small)
            assert len(server.last_stream().messages) == whole + 4, "the setting's window holds everything"
            app.settings(context_window=1024)
            app.send("Both ways", thread_id, model=big)
            assert len(server.last_stream().messages) < whole, "the setting's small window cuts the large model"
        finally:
            app.stop()


class Silent:
    """A port on 127.0.0.1 that takes connections and never answers, noting when the first one came."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.sock.settimeout(0.05)
        self.port: int = self.sock.getsockname()[1]
        self.first: float | None = None
        self.held: list[socket.socket] = []
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self) -> None:
        while not self.stopping.is_set():
            try:
                connection, _ = self.sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.first = self.first or time.monotonic()
            self.held.append(connection)

    def close(self) -> None:
        self.stopping.set()
        self.thread.join(timeout=2)
        for connection in [*self.held, self.sock]:
            connection.close()


def test_detection_runs_off_the_start_path(tmp_path: Path) -> None:
    silent = Silent()
    try:
        address = f"127.0.0.1:{silent.port}"
        first = start_app(tmp_path, OLLAMA_HOST=address)
        with first.client() as client:
            client.put("/api/providers/lm_studio", json={"base_url": f"http://{address}"}).raise_for_status()
        first.stop()
        gaps: list[float] = []
        for _ in range(3):
            silent.first = None
            app = start_app(tmp_path, OLLAMA_HOST=address)
            ready = time.monotonic()
            try:
                within(5, lambda: silent.first is not None, "detection looking at the silent servers")
            finally:
                app.stop()
            assert silent.first is not None
            gaps.append(ready - silent.first)
    finally:
        silent.close()
    print("ready line after the first look began: " + ", ".join(f"{gap:+.2f} s" for gap in gaps))
    # Waiting for detection before the ready line would put at least its timeout (half a second) between them.
    assert min(gaps) < 0.4, gaps


def test_the_recording_proxy_relays_and_records_requests_and_tunnels() -> None:
    with FakeProvider() as target, RecordingProxy({"gateway.test": "127.0.0.1"}) as proxy:
        with httpx.Client(proxy=proxy.url) as client:
            listed = client.get(f"http://gateway.test:{target.port}/v1/models")
            unreachable = client.get("http://nowhere.test:9/")
        assert listed.json()["data"][0]["id"] == "fake-local-1"
        assert unreachable.status_code == 502
        with socket.create_connection(("127.0.0.1", httpx.URL(proxy.url).port or 0), timeout=5) as tunnel:
            tunnel.sendall(f"CONNECT gateway.test:{target.port} HTTP/1.1\r\n\r\n".encode())
            assert tunnel.recv(4096).startswith(b"HTTP/1.1 200")
            tunnel.sendall(b"GET /v1/models HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            received = b""
            while chunk := tunnel.recv(65536):
                received += chunk
        assert received.startswith(b"HTTP/1.1 200") and b"fake-local-2" in received
        assert [(r.method, r.target) for r in proxy.requests] == [
            ("GET", f"http://gateway.test:{target.port}/v1/models"),
            ("GET", "http://nowhere.test:9/"),
            ("CONNECT", f"gateway.test:{target.port}"),
        ]


def test_the_system_proxy_carries_remote_providers_and_never_local_ones(tmp_path: Path) -> None:
    with (
        FakeProvider() as remote_server,
        FakeOllama() as ollama,
        RecordingProxy({"gateway.test": "127.0.0.1"}) as proxy,
    ):
        proxies: dict[str, str | None] = {
            name: proxy.url for name in ("HTTPS_PROXY", "HTTP_PROXY", "https_proxy", "http_proxy")
        }
        proxies |= {name: None for name in ("NO_PROXY", "no_proxy", "ALL_PROXY", "all_proxy")}
        app = start_app(tmp_path, OLLAMA_HOST=ollama.host, **cast("dict[str, Any]", proxies))
        try:
            with app.client() as client:
                added = [
                    client.post("/api/providers", json=body).json()
                    for body in (
                        # gateway.test resolves nowhere: only the proxy (and its host map) can reach it.
                        {
                            "name": "Far",
                            "base_url": f"http://gateway.test:{remote_server.port}/v1",
                            "api_key": PROXY_KEY,
                        },
                        {"name": "Near", "base_url": f"http://localhost:{remote_server.port}/v1", "api_key": PROXY_KEY},
                        {"name": "Loop", "base_url": f"{remote_server.openai_base}", "api_key": PROXY_KEY},
                        {"name": "Secure", "base_url": "https://secure.test/v1", "api_key": PROXY_KEY},
                    )
                ]
            far, near, loop, secure = (entry["id"] for entry in added)

            answer = app.send("Over the proxy", model=f"{far}/fake-local-1")
            assert answer_text(answer).startswith("You said: Over the proxy.")
            assert remote_server.last_stream().api_key == PROXY_KEY
            assert ("POST", f"http://gateway.test:{remote_server.port}/v1/chat/completions") in [
                (r.method, r.target) for r in proxy.requests
            ]

            for provider_id in (near, loop):
                assert answer_text(app.send("Straight", model=f"{provider_id}/fake-local-1")).startswith("You said:")
            assert answer_text(app.send("Local", model="ollama/llama3.2:latest")).startswith("You said: [Ollama")
            model_ids(app, refresh=True)

            with app.client() as client:
                client.post(f"/api/providers/{secure}/check")
            assert ("CONNECT", "secure.test:443") in [(r.method, r.target) for r in proxy.requests], (
                "an https provider is reached through a CONNECT tunnel"
            )
            assert proxy.hosts_seen() <= {"gateway.test", "secure.test"}, (
                f"127.0.0.1 and localhost never go through the proxy: {proxy.requests}"
            )
        finally:
            app.stop()


NO_SYSTEM_PROXY: dict[str, Any] = {
    name: None for base in ("HTTPS_PROXY", "HTTP_PROXY", "NO_PROXY", "ALL_PROXY") for name in (base, base.lower())
}


def add_far(app: RunningApp, name: str, base_url: str) -> str:
    with app.client() as client:
        response = client.post("/api/providers", json={"name": name, "base_url": base_url, "api_key": PROXY_KEY})
    assert response.status_code == 201, response.text
    provider_id: str = response.json()["id"]
    return provider_id


@pytest.mark.parametrize("spelling", ["NO_PROXY", "no_proxy"])
def test_no_proxy_keeps_the_hosts_it_lists_direct(tmp_path: Path, spelling: str) -> None:
    with (
        FakeGateway() as gateway,
        FakeProvider() as remote_server,
        RecordingProxy({"gateway.test": "127.0.0.1"}) as proxy,
    ):
        env = NO_SYSTEM_PROXY | {"HTTPS_PROXY": proxy.url, "HTTP_PROXY": proxy.url, spelling: gateway.address}
        app = start_app(tmp_path, **env)
        try:
            listed = add_far(app, "Listed", f"{gateway.url}/v1")
            far = add_far(app, "Far", f"http://gateway.test:{remote_server.port}/v1")
            events = app.send("Direct, as NO_PROXY says", model=f"{listed}/gpt-4o-mini")
            assert answer_text(events).startswith("You said: [Gateway gpt-4o-mini] Direct")
            assert gateway.last_stream().api_key == PROXY_KEY
            assert answer_text(app.send("Proxied", model=f"{far}/fake-local-1")).startswith("You said: Proxied.")
            assert proxy.hosts_seen() == {"gateway.test"}, proxy.requests
        finally:
            app.stop()


def test_the_proxy_set_in_settings_is_used_when_the_system_sets_none(tmp_path: Path) -> None:
    with (
        FakeProvider() as remote_server,
        FakeOllama() as ollama,
        RecordingProxy({"gateway.test": "127.0.0.1"}) as proxy,
    ):
        app = start_app(tmp_path, OLLAMA_HOST=ollama.host, **NO_SYSTEM_PROXY)
        try:
            far = add_far(app, "Far", f"http://gateway.test:{remote_server.port}/v1")
            app.settings(proxy=proxy.url)
            assert answer_text(app.send("Via Settings", model=f"{far}/fake-local-1")).startswith("You said: Via")
            assert ("POST", f"http://gateway.test:{remote_server.port}/v1/chat/completions") in [
                (r.method, r.target) for r in proxy.requests
            ]
            assert answer_text(app.send("Local", model="ollama/llama3.2:latest")).startswith("You said: [Ollama")
            assert proxy.hosts_seen() == {"gateway.test"}, "this computer is never proxied"

            app.settings(proxy="")
            proxy.clear()
            events = app.send("No proxy now", model=f"{far}/fake-local-1")
            assert events_of(events, "error"), "gateway.test is reachable only through the proxy"
            assert proxy.requests == [], "a proxy taken out of Settings is no longer used"
        finally:
            app.stop()
