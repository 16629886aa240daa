"""Who may reach attachments, and bad input, over HTTP against the real server: the preview, file and upload
routes guarded by the token or a capability (ChatKit's frame admitted on the upload route only); every bad file,
name and id refused with one sentence, leaving nothing on disk, the server still answering."""

from __future__ import annotations

import json
from urllib.parse import quote, urlsplit

import httpx
import pytest

from tests import media
from tests.attachment_helpers import (
    CDN,
    JPEG,
    MAX_BYTES,
    PDF,
    PNG,
    PY,
    create,
    created,
    folders,
    one_sentence,
    put,
    refused,
    send,
    send_request,
    still_answers,
    upload,
)
from tests.harness import (
    RunningApp,
    thread_id_of,
)

# ---- who may read and write them -----------------------------------------------------------------------------


def test_a_preview_url_serves_the_image_without_the_token_but_only_with_its_own_signature(app: RunningApp) -> None:
    image = upload(app, "cat.png", PNG, "image/png")
    other = upload(app, "dog.jpg", JPEG, "image/jpeg")
    shown = httpx.get(image["preview_url"])
    assert shown.status_code == 200 and shown.content == PNG
    assert shown.headers["content-type"] == "image/png"
    assert "sandbox" in shown.headers["content-security-policy"]

    url = f"{app.base}/api/attachments/{image['id']}/preview"
    own_sig = urlsplit(image["preview_url"]).query.removeprefix("sig=")
    other_sig = urlsplit(other["preview_url"]).query.removeprefix("sig=")
    flipped = ("0" if own_sig[0] != "0" else "1") + own_sig[1:]
    for wrong in (url, f"{url}?sig=", f"{url}?sig={other_sig}", f"{url}?sig={flipped}", f"{url}?sig={app.token}"):
        response = httpx.get(wrong)
        refused(response, 401)
        assert response.content != PNG
    assert httpx.get(f"{app.base}/api/attachments/{other['id']}/preview?sig={own_sig}").status_code == 401


def test_the_file_route_needs_the_token(app: RunningApp) -> None:
    name = "résumé (final) 1.pdf"
    pdf = upload(app, name, PDF, "application/pdf")
    path = f"/api/attachments/{pdf['id']}/file"
    refused(httpx.get(app.base + path), 401)
    refused(httpx.get(app.base + path, headers={"Authorization": "Bearer wrong"}), 401)
    refused(httpx.get(app.base + path + "?sig=0123456789abcdef0123456789abcdef"), 401)
    with app.client() as client:
        served = client.get(path)
    assert served.status_code == 200 and served.content == PDF
    assert served.headers["content-type"] == "application/pdf"
    assert served.headers["content-disposition"] == f"attachment; filename*=UTF-8''{quote(name, safe='')}"


def test_a_file_is_never_shown_as_a_page_of_the_app(app: RunningApp) -> None:
    page = upload(app, "page.html", b"<script>alert(1)</script>\n", "text/html")
    pdf = upload(app, "report.pdf", PDF, "application/pdf")
    with app.client() as client:
        served = client.get(f"/api/attachments/{page['id']}/file")
        assert served.headers["content-disposition"].startswith("attachment;")
        assert "sandbox" in served.headers["content-security-policy"]
        assert served.headers["x-content-type-options"] == "nosniff"
        for attachment in (page, pdf):
            assert client.get(f"/api/attachments/{attachment['id']}/preview").status_code == 404, "no preview"


def test_a_preview_signature_opens_the_preview_only_and_never_the_download(app: RunningApp) -> None:
    # A preview URL goes where the token must not (ChatKit's frame, an <img>): it grants the thumbnail and no more.
    image = upload(app, "cat.png", PNG, "image/png")
    sig = urlsplit(image["preview_url"]).query
    refused(httpx.get(f"{app.base}/api/attachments/{image['id']}/file?{sig}"), 401)
    with app.client() as client:
        served = client.get(f"/api/attachments/{image['id']}/file")
    assert served.status_code == 200 and served.content == PNG


def test_an_upload_needs_its_own_capability_or_the_token(app: RunningApp) -> None:
    target = created(app, "cat.png", PNG, "image/png")
    elsewhere = created(app, "dog.png", PNG, "image/png")
    url = target["upload_descriptor"]["url"]
    for headers in (
        {},
        {"Authorization": "Bearer wrong"},
        elsewhere["upload_descriptor"]["headers"],
        {"Authorization": target["upload_descriptor"]["headers"]["Authorization"].removeprefix("Bearer ")},
    ):
        refused(put(url, PNG, headers), 401)
    assert sorted(path.name for path in (app.data_dir / "attachments" / target["id"]).iterdir()) == ["meta.json"]

    # The capability opens that one upload and nothing else.
    capability = target["upload_descriptor"]["headers"]
    refused(app.post({"type": "threads.list", "params": {}}, headers=capability), 401)
    with httpx.Client(base_url=app.base, headers=capability) as client:
        refused(client.get("/api/settings"), 401)
        refused(client.get("/api/attachments/limits"), 401)
    sig = capability["Authorization"].removeprefix("Bearer ")
    assert httpx.get(f"{app.base}/api/attachments/{target['id']}/file?sig={sig}").status_code == 401

    with app.client() as client:
        assert client.put(url, content=PNG).status_code == 200, "the page's own token works too"
    assert put(url, PNG, capability).status_code == 400, "an attachment is uploaded once"
    assert (app.data_dir / "attachments" / target["id"] / "cat.png").read_bytes() == PNG


ROUTES = [
    ("POST", "/chatkit"),
    ("GET", "/api/attachments/limits"),
    ("PUT", "/api/attachments/{id}/upload"),
    ("GET", "/api/attachments/{id}/preview?sig={sig}"),
    ("GET", "/api/attachments/{id}/file"),
]


@pytest.mark.parametrize(
    "origin", ["https://evil.example", "null", CDN + ".evil.example", "http://cdn.platform.openai.com"]
)
def test_a_foreign_origin_is_refused_on_every_attachment_route(app: RunningApp, origin: str) -> None:
    target = created(app, "cat.png", PNG, "image/png")
    image = upload(app, "shown.png", PNG, "image/png")
    sig = urlsplit(image["preview_url"]).query.removeprefix("sig=")
    for method, path in ROUTES:
        attachment_id = target["id"] if "upload" in path else image["id"]
        url = app.base + path.format(id=attachment_id, sig=sig)
        headers = {"Origin": origin, "Authorization": f"Bearer {app.token}"}
        body = {"PUT": PNG, "POST": json.dumps({"type": "threads.list", "params": {}}).encode()}.get(method)
        response = httpx.request(method, url, headers=headers, content=body)
        refused(response, 403)
        assert "access-control-allow-origin" not in response.headers, (method, path)
        preflight = httpx.options(url, headers={"Origin": origin, "Access-Control-Request-Method": method})
        assert preflight.status_code == 403 and "access-control-allow-origin" not in preflight.headers
    assert sorted(path.name for path in (app.data_dir / "attachments" / target["id"]).iterdir()) == ["meta.json"]


def test_only_the_upload_route_lets_chatkits_frame_in(app: RunningApp) -> None:
    target = created(app, "cat.png", PNG, "image/png")
    image = upload(app, "shown.png", PNG, "image/png")
    sig = urlsplit(image["preview_url"]).query.removeprefix("sig=")
    url = target["upload_descriptor"]["url"]
    preflight = httpx.options(
        url,
        headers={
            "Origin": CDN,
            "Access-Control-Request-Method": "PUT",
            "Access-Control-Request-Headers": "authorization",
        },
    )
    assert preflight.status_code in (200, 204)
    assert preflight.headers["access-control-allow-origin"] == CDN
    assert "PUT" in preflight.headers["access-control-allow-methods"]
    assert "authorization" in preflight.headers["access-control-allow-headers"].lower()

    uploaded = put(url, PNG, {"Origin": CDN, **target["upload_descriptor"]["headers"]})
    assert uploaded.status_code == 200 and uploaded.json()["mime_type"] == "image/png"
    assert uploaded.headers["access-control-allow-origin"] == CDN
    refused(put(created(app, "x.png", PNG, "image/png")["upload_descriptor"]["url"], PNG, {"Origin": CDN}), 401)

    for method, path in ROUTES:
        if "upload" in path:
            continue
        other_url = app.base + path.format(id=image["id"], sig=sig)
        headers = {"Origin": CDN, "Authorization": f"Bearer {app.token}"}
        response = httpx.request(method, other_url, headers=headers)
        refused(response, 403)
        assert "access-control-allow-origin" not in response.headers, path
        asked = httpx.options(other_url, headers={"Origin": CDN, "Access-Control-Request-Method": method})
        assert asked.status_code == 403 and "access-control-allow-origin" not in asked.headers, path


def test_the_limits_are_the_servers_and_need_the_token(app: RunningApp) -> None:
    refused(httpx.get(f"{app.base}/api/attachments/limits"), 401)
    with app.client() as client:
        limits = client.get("/api/attachments/limits").json()
    assert (limits["max_bytes"], limits["max_count"]) == (MAX_BYTES, 10)
    assert {"image/png", "image/jpeg", "image/webp", "image/gif", "application/pdf", "text/plain"} <= set(
        limits["accept"]
    )
    assert ".py" in limits["accept"]["text/plain"] and limits["accept"]["application/pdf"] == [".pdf"]
    assert "20 MB" in limits["summary"] and "10" in limits["summary"]


# ---- bad input -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "size", "status"),
    [
        ("", 10, 400),
        ("../cat.png", 10, 400),
        ("..", 10, 400),
        ("a/b.png", 10, 400),
        ("a\\b.png", 10, 400),
        ("bell\x07.txt", 10, 400),
        ("two\nlines.txt", 10, 400),
        ("nul\x00.txt", 10, 400),
        ("bidi\u202egnp.exe", 10, 400),
        ("empty.txt", 0, 400),
        ("negative.txt", -1, 400),
        ("huge.pdf", MAX_BYTES + 1, 413),
    ],
)
def test_a_bad_name_or_size_is_refused_before_any_byte_is_sent(
    app: RunningApp, name: str, size: int, status: int
) -> None:
    before = folders(app)
    one_sentence(create(app, name, size, "text/plain"), status)
    assert folders(app) == before, "nothing on disk"
    still_answers(app)


@pytest.mark.parametrize(
    ("name", "mime_type", "data", "status"),
    [
        ("empty.txt", "text/plain", b"", 400),
        ("blob.bin", "application/octet-stream", media.random_bytes(), 400),
        ("blob.txt", "text/plain", media.random_bytes(), 400),
        ("broken.png", "image/png", media.corrupt_png(), 400),
        ("broken.pdf", "application/pdf", media.corrupt_pdf(), 400),
        ("cat.png", "image/png", PDF, 400),
        ("cat.jpg", "image/jpeg", media.python_source(), 400),
        ("huge.txt", "text/plain", b"a" * (MAX_BYTES + 1), 413),
        # Far over: refused by its Content-Length before the route reads it.
        ("huger.txt", "text/plain", b"a" * (MAX_BYTES + 2**20), 413),
    ],
)
def test_a_bad_file_is_refused_with_a_sentence_and_leaves_nothing_on_disk(
    app: RunningApp, name: str, mime_type: str, data: bytes, status: int
) -> None:
    before = folders(app)
    # The size claimed first is a small one that passes: the bytes are what is wrong.
    attachment = created(app, name, data if 0 < len(data) <= 4096 else b"x" * 10, mime_type)
    descriptor = attachment["upload_descriptor"]
    sentence = one_sentence(put(descriptor["url"], data, descriptor["headers"]), status)
    assert name.lower() in sentence.lower() or "20 MB" in sentence, sentence
    assert folders(app) == before, "nothing left on disk for that upload"
    one_sentence(send_request(app, "Send it anyway", [attachment["id"]]), 400)
    still_answers(app)


def test_a_refusal_names_the_file_exactly_as_the_user_named_it(app: RunningApp) -> None:
    attachment = created(app, "quarterly.pdf", media.corrupt_pdf(), "application/pdf")
    descriptor = attachment["upload_descriptor"]
    sentence = one_sentence(put(descriptor["url"], media.corrupt_pdf(), descriptor["headers"]), 400)
    assert "quarterly.pdf" in sentence, "not Quarterly.pdf: on most disks that is another file"


def test_a_file_of_another_conversation_or_one_never_uploaded_cannot_be_sent(app: RunningApp) -> None:
    theirs = upload(app, "theirs.png", PNG, "image/png")
    their_thread = thread_id_of(send(app, "Mine", [theirs["id"]]))
    mine = thread_id_of(send(app, "Another conversation", []))
    not_uploaded = created(app, "later.pdf", PDF, "application/pdf")
    threads_before = {t["id"] for t in app.call("threads.list", limit=100)["data"]}

    for ids in (
        [theirs["id"]],
        [not_uploaded["id"]],
        ["atc_neveruploaded0000"],
        [upload(app, "fine.png", PNG, "image/png")["id"], "atc_neveruploaded0000"],
        ["../../threads/index"],
        [upload(app, f"n{n}.py", PY, "")["id"] for n in range(11)],
    ):
        one_sentence(send_request(app, "With someone else's file", ids, mine), 400)
        one_sentence(send_request(app, "In a new conversation", ids), 400)
        still_answers(app)

    assert len(app.items(mine)) == 2, "nothing was added to the conversation"
    assert {t["id"] for t in app.call("threads.list", limit=100)["data"]} == threads_before, "no conversation made"
    assert len(app.items(their_thread)[0]["attachments"]) == 1
    assert json.loads((app.data_dir / "attachments" / theirs["id"] / "meta.json").read_text())["thread_id"] == (
        their_thread
    )
