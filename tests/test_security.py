"""The local server obeys only its own page: token, Host and Origin, no CORS, loopback only."""

from __future__ import annotations

import socket
import time

import httpx
import pytest

from tests.conftest import GEMINI_KEY
from tests.harness import RunningApp

LIST = {"type": "threads.list", "params": {}}


def raw(app: RunningApp, method: str, path: str, headers: dict[str, str], json: object = None) -> httpx.Response:
    """A request with exactly these headers (no token unless given)."""
    with httpx.Client(base_url=app.base, timeout=30) as client:
        return client.request(method, path, headers=headers, json=json)


def bearer(app: RunningApp) -> dict[str, str]:
    return {"Authorization": f"Bearer {app.token}"}


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/chatkit", LIST),
        ("GET", "/api/settings", None),
        ("GET", "/api/models", None),
        ("PUT", "/api/settings", {"system_prompt": "pwned"}),
    ],
)
def test_protected_routes_need_the_token(app: RunningApp, method: str, path: str, body: object) -> None:
    assert raw(app, method, path, {}, body).status_code == 401
    assert raw(app, method, path, {"Authorization": "Bearer wrong-token"}, body).status_code == 401
    assert raw(app, method, path, {"Authorization": app.token}, body).status_code == 401, "scheme is required"
    assert app.settings()["settings"]["system_prompt"] != "pwned"


def test_the_pages_own_files_are_open_but_look_alike_api_paths_are_not(app: RunningApp) -> None:
    assert raw(app, "GET", "/api.js", {}).status_code == 404, "a static file name, not the API: no token needed"
    assert raw(app, "GET", "/chatkit-face.js", {}).status_code == 404
    assert raw(app, "GET", "/api/anything", {}).status_code == 401
    assert raw(app, "POST", "/chatkit/", {}).status_code == 401


def test_the_right_token_opens_them(app: RunningApp) -> None:
    assert raw(app, "POST", "/chatkit", bearer(app), LIST).status_code == 200
    assert raw(app, "GET", "/api/settings", bearer(app)).status_code == 200


def test_health_and_page_need_no_token(app: RunningApp) -> None:
    assert raw(app, "GET", "/health", {}).json()["status"] == "ok"
    page = raw(app, "GET", "/", {})
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]


@pytest.mark.parametrize("host", ["evil.example:{port}", "127.0.0.1.nip.io:{port}", "127.0.0.1:1", "localhost"])
def test_foreign_host_is_refused_even_with_the_token(app: RunningApp, host: str) -> None:
    headers = bearer(app) | {"Host": host.format(port=app.port)}
    assert raw(app, "POST", "/chatkit", headers, LIST).status_code == 403
    assert raw(app, "GET", "/", {"Host": host.format(port=app.port)}).status_code == 403


def test_localhost_name_is_accepted(app: RunningApp) -> None:
    assert raw(app, "POST", "/chatkit", bearer(app) | {"Host": f"localhost:{app.port}"}, LIST).status_code == 200


@pytest.mark.parametrize("origin", ["https://evil.example", "null", "http://127.0.0.1:1", "http://localhost"])
def test_foreign_origin_is_refused_even_with_the_token(app: RunningApp, origin: str) -> None:
    assert raw(app, "POST", "/chatkit", bearer(app) | {"Origin": origin}, LIST).status_code == 403


def test_own_origin_is_accepted(app: RunningApp) -> None:
    headers = bearer(app) | {"Origin": f"http://127.0.0.1:{app.port}"}
    assert raw(app, "POST", "/chatkit", headers, LIST).status_code == 200


def test_no_cors_grants(app: RunningApp) -> None:
    preflight = raw(
        app,
        "OPTIONS",
        "/chatkit",
        {
            "Origin": "https://evil.example",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization",
        },
    )
    assert preflight.status_code >= 400
    assert not any(h.lower().startswith("access-control-") for h in preflight.headers)
    ok = raw(app, "POST", "/chatkit", bearer(app), LIST)
    assert not any(h.lower().startswith("access-control-") for h in ok.headers)


def test_page_has_a_content_security_policy(app: RunningApp) -> None:
    csp = raw(app, "GET", "/", {}).headers["content-security-policy"]
    assert "default-src 'self'" in csp
    assert "'unsafe-eval'" not in csp
    assert "script-src 'self' https://cdn.platform.openai.com" in csp


def test_listens_on_loopback_only(app: RunningApp) -> None:
    addresses: set[str] = set()
    for info in socket.getaddrinfo(socket.gethostname(), None, socket.AF_INET):
        addresses.add(str(info[4][0]))  # a dotted IPv4 string already (AF_INET); the type allows other families
    outside = [a for a in addresses if not a.startswith("127.")]
    if not outside:
        pytest.skip("this machine has no non-loopback IPv4 address to try")
    for address in outside:
        with pytest.raises(OSError), socket.create_connection((address, app.port), timeout=2):
            pass


def test_token_is_not_written_to_the_log(app: RunningApp) -> None:
    raw(app, "GET", f"/?token={app.token}", {})
    assert app.token not in app.stderr


def test_nothing_logged_names_a_key_a_message_or_a_provider_url(gemini_app: RunningApp) -> None:
    gemini_app.send("A private message about my health")
    log = gemini_app.stderr
    assert GEMINI_KEY not in log
    assert "private message" not in log
    assert "/v1beta/models" not in log, "no request URLs (a provider URL can carry the key)"


@pytest.mark.parametrize(
    ("headers", "status", "reason"),
    [
        ({"Origin": "https://evil.example"}, 403, "Requests from other web pages are not allowed"),
        ({"Host": "evil.example"}, 403, "This server only answers requests addressed to 127.0.0.1"),
        ({"Authorization": "Bearer a-guessed-token"}, 401, "missing or wrong token"),
    ],
)
def test_each_refusal_is_one_log_line_without_the_token_or_the_body(
    app: RunningApp, headers: dict[str, str], status: int, reason: str
) -> None:
    secret = "a private message in a refused request"
    before = len(app.stderr_lines)
    body = {"type": "threads.list", "params": {}, "x": secret}
    response = raw(app, "POST", f"/chatkit?token={app.token}", headers, body)
    assert response.status_code == status
    deadline = time.monotonic() + 5
    while len(app.stderr_lines) == before and time.monotonic() < deadline:
        time.sleep(0.02)
    logged = app.stderr_lines[before:]
    assert logged == [f"WARNING backend.security: refused POST /chatkit: {reason}\n"]
    assert app.token not in "".join(logged) and secret not in "".join(logged)
