"""Security of the reviewers' app: sign-in on every route, roles, CSRF, evidence paths, password guessing, secrets."""

from __future__ import annotations

import os
import re

import pytest
from fastapi.routing import APIRoute

from events.camera_status import CameraStatuses, CameraStatusRow
from review.accounts import MAX_FAILURES_PER_IP, MAX_FAILURES_PER_USER
from review.app import ROUTERS
from review.evidence import EvidenceRefused, resolve_evidence
from tests.review.conftest import csrf_of, log_in
from tests.review.site import CAMERA_PASSWORD, PASSWORDS

OPEN_ROUTES = {("GET", "/login"), ("POST", "/login")}


def routes(app):
    """(method, path template) of every route the app serves, static files aside."""
    found = []
    for router in ROUTERS:  # what create_app includes
        for route in router.routes:
            if isinstance(route, APIRoute):
                found.extend((method, route.path) for method in sorted(route.methods))
    return found


def concrete(path: str, site) -> str:
    crop = "evidence/cam-a/walk/1-warn-crop.jpg"
    return (path.replace("{event_id:path}", site.event_ids[0]).replace("{camera_id}", "cam-a")
            .replace("{path:path}", crop))


def verdict_count(site) -> int:
    return site.database().execute("SELECT count(*) FROM review_verdicts").fetchone()[0]


def test_every_page_and_api_route_refuses_an_anonymous_request(app, anonymous, site):
    served = routes(app)
    assert len(served) >= 18  # the test must cover the real route table, not an empty one
    for method, template in served:
        if (method, template) in OPEN_ROUTES:
            continue
        path = concrete(template, site)
        response = anonymous.request(method, path, data={"event_id": site.event_ids[0], "choice": "confirm"})
        if template.startswith(("/api/", "/evidence/")):
            assert response.status_code == 401, (method, path)
            assert response.json() == {"detail": "log in first"}
        else:
            assert response.status_code == 303, (method, path)
            assert response.headers["location"].startswith("/login?next=")
        assert "cam-a/walk" not in response.text and "JFIF" not in response.text
    assert verdict_count(site) == 0


def test_the_login_page_sends_you_back_where_you_were_going(anonymous, site):
    target = "/events/" + site.event_ids[2]
    bounced = anonymous.get(target)
    assert bounced.headers["location"] == "/login?next=%2Fevents%2Fcam-a%2Ffar-kerb%2F2%2Fwarn"
    response = log_in(anonymous, "rita", PASSWORDS["rita"], next_path=target)
    assert response.headers["location"] == target
    assert anonymous.get(target).status_code == 200


@pytest.mark.parametrize("next_path", ["//evil.example/x", "https://evil.example/", "/\\evil.example"])
def test_login_never_redirects_off_site(anonymous, next_path):
    response = log_in(anonymous, "rita", PASSWORDS["rita"], next_path=next_path)
    assert response.status_code == 303 and response.headers["location"] == "/queue"


def test_a_reviewer_cannot_reach_admin_pages(app, as_user, site):
    rita = as_user("rita")
    token = csrf_of(rita)
    config_before = site.config_path.read_text()
    admin_routes = [(m, p) for m, p in routes(app) if p.startswith(("/admin", "/api/admin"))]
    assert len(admin_routes) >= 8
    for method, template in admin_routes:
        response = rita.request(method, concrete(template, site), data={"csrf": token},
                                headers={"X-CSRF-Token": token})
        assert response.status_code == 403, (method, template)
        assert "Only an admin" in response.text
    assert site.config_path.read_text() == config_before
    assert as_user("ada").get("/admin").status_code == 200


def test_a_form_without_a_valid_csrf_token_is_refused(as_user, site):
    rita, rob = as_user("rita"), as_user("rob")
    event = site.event_ids[0]
    for token in (None, "", "forged", csrf_of(rob)):  # missing, empty, made up, another session's
        form = {"event_id": event, "choice": "confirm"} | ({"csrf": token} if token is not None else {})
        response = rita.post("/verdicts", data=form)
        assert response.status_code == 403 and "out of date" in response.text
    assert verdict_count(site) == 0
    response = rita.post("/verdicts", data={"event_id": event, "choice": "confirm", "csrf": csrf_of(rita)})
    assert response.status_code == 303
    assert verdict_count(site) == 1


def test_state_changing_api_calls_need_the_csrf_header(as_user, site):
    rita, ada = as_user("rita"), as_user("ada")
    body = {"event_id": site.event_ids[0], "verdict": "reject", "reason": "permitted"}
    assert rita.post("/api/verdicts", json=body).status_code == 403
    assert rita.post("/api/verdicts", json=body, headers={"X-CSRF-Token": "forged"}).status_code == 403
    assert verdict_count(site) == 0
    answer = rita.post("/api/verdicts", json=body, headers={"X-CSRF-Token": csrf_of(rita)})
    assert answer.status_code == 200 and answer.json()["status"] == "rejected"
    zones = {"version": "x", "zones": []}
    assert ada.post("/api/admin/zones/cam-a", json=zones).status_code == 403
    assert ada.post("/admin/export", data={}).status_code == 403
    assert "walk" in site.config_path.read_text()


def test_logout_and_login_need_their_csrf_tokens_too(as_user, anonymous):
    rita = as_user("rita")
    assert rita.post("/logout", data={}).status_code == 403
    assert rita.get("/queue").status_code == 200  # the forged logout changed nothing
    assert rita.post("/logout", data={"csrf": csrf_of(rita)}).status_code == 303
    assert rita.get("/queue").status_code == 303  # the session is gone from the store, not only the cookie

    anonymous.get("/login")
    response = anonymous.post("/login", data={"name": "rita", "password": PASSWORDS["rita"], "csrf": "forged"})
    assert response.status_code == 403 and "streetorder_session" not in anonymous.cookies


def test_a_request_from_another_site_is_refused_even_with_the_token(as_user, site):
    rita = as_user("rita")
    form = {"event_id": site.event_ids[0], "choice": "confirm", "csrf": csrf_of(rita)}
    assert rita.post("/verdicts", data=form, headers={"Origin": "https://evil.example"}).status_code == 403
    assert rita.post("/verdicts", data=form, headers={"Sec-Fetch-Site": "cross-site"}).status_code == 403
    assert verdict_count(site) == 0


def test_evidence_is_served_only_from_inside_the_evidence_folder(as_user, site, tmp_path):
    rita = as_user("rita")
    good = rita.get("/evidence/cam-a/evidence/cam-a/walk/1-warn-crop.jpg")
    assert good.status_code == 200 and good.headers["content-type"] == "image/jpeg"
    assert good.content[:3] == b"\xff\xd8\xff"

    outside = tmp_path / "outside.jpg"
    outside.write_bytes(good.content)
    (site.out / "evidence" / "cam-a" / "escape.jpg").symlink_to(outside)
    (site.out / "evidence" / "cam-a" / "passwd.jpg").symlink_to("/etc/passwd")
    refused = {  # path: (status, why), the why checked so each is refused for its own reason
        "/evidence/cam-a/..%2Fevents.db": (400, "leaves the evidence folder"),
        "/evidence/cam-a/evidence%2F..%2F..%2Foutside.jpg": (400, "leaves the evidence folder"),
        "/evidence/cam-a/%2E%2E/%2E%2E/outside.jpg": (400, "leaves the evidence folder"),
        "/evidence/cam-a/%2Fetc%2Fpasswd": (400, "must be relative"),
        "/evidence/cam-a//etc/hostname": (400, "must be relative"),
        "/evidence/cam-a/" + str(outside).replace("/", "%2F"): (400, "must be relative"),
        "/evidence/cam-a/evidence/cam-a/escape.jpg": (400, "leaves the evidence folder"),  # symlink out
        "/evidence/cam-a/evidence/cam-a/passwd.jpg": (400, "leaves the evidence folder"),
        "/evidence/cam-a/events.db": (400, "is not a photo"),
        "/evidence/cam-a/evidence/cam-a/walk/none.jpg": (404, "is missing"),
        "/evidence/no-such-camera/evidence/cam-a/walk/1-warn-crop.jpg": (404, "no camera"),
    }
    for path, (status, why) in refused.items():
        response = rita.get(path)
        assert response.status_code == status and why in response.json()["detail"], path
        assert response.content[:3] != b"\xff\xd8\xff" and "root:" not in response.text


@pytest.mark.parametrize("relative", ["../events.db", "evidence/../../x.jpg", "/etc/passwd.jpg", "C:/x.jpg",
                                      "evidence\\..\\x.jpg", "a\x00.jpg", "", "evidence/cam-a/walk"])
def test_resolve_evidence_refuses_paths_out_of_the_folder(site, relative):
    with pytest.raises(EvidenceRefused):
        resolve_evidence(site.out, relative)


def test_wrong_passwords_are_throttled_per_account(anonymous, as_user):
    for _ in range(MAX_FAILURES_PER_USER):
        assert log_in(anonymous, "rita", "wrong password!").status_code == 401
    response = log_in(anonymous, "rita", PASSWORDS["rita"])  # the right password no longer helps
    assert response.status_code == 429 and "Too many wrong passwords for &#39;rita&#39;" in response.text
    assert "streetorder_session" not in anonymous.cookies
    assert log_in(anonymous, "rob", PASSWORDS["rob"]).status_code == 303  # other accounts are not locked out


def test_wrong_passwords_are_throttled_per_address(anonymous):
    for i in range(MAX_FAILURES_PER_IP):
        assert log_in(anonymous, f"guess-{i}", "password123").status_code == 401
    response = log_in(anonymous, "rob", PASSWORDS["rob"])
    assert response.status_code == 429 and "from this address" in response.text


def test_no_password_hash_camera_credential_or_session_token_appears_in_any_page(as_user, site, anonymous):
    ada, rita = as_user("ada"), as_user("rita")
    rita.post("/verdicts", data={"event_id": site.event_ids[3], "choice": "reject:permitted",
                                 "note": "a note", "csrf": csrf_of(rita)})
    source = f"rtsp://admin:{CAMERA_PASSWORD}@10.0.0.5:554/Streaming/101"  # as `streetorder run` gives it
    CameraStatuses(site.database()).write([CameraStatusRow("cam-b", "Market gate", source, "offline",
                                                           f"{source}: 401 Unauthorized", "ok", None, None,
                                                           "2026-11-22T08:00:00+00:00")])
    pages = ["/queue", "/queue?status=all&type=all", "/admin", "/admin/audit", "/admin/export", "/admin/zones",
             "/admin/zones/cam-a", "/admin/zones/cam-b", "/api/events?status=all&type=all", "/api/admin/stats",
             "/admin/cameras", "/api/admin/cameras"]
    pages += [f"/events/{e}" for e in site.event_ids] + [f"/api/events/{e}" for e in site.event_ids]
    secrets = [CAMERA_PASSWORD, "$argon2", *PASSWORDS.values(), ada.cookies["streetorder_session"],
               rita.cookies["streetorder_session"]]
    for page in pages:
        response = ada.get(page)
        assert response.status_code == 200, page
        for secret in secrets:
            assert secret not in response.text, (page, secret[:8])
    wrong = log_in(anonymous, "rita", "my-secret-guess")
    assert "my-secret-guess" not in wrong.text


def test_cookies_are_httponly_and_samesite_strict(anonymous):
    response = log_in(anonymous, "rita", PASSWORDS["rita"])
    cookie = response.headers["set-cookie"]
    assert re.search(r"streetorder_session=[\w-]{40,};", cookie)
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/" in cookie


def test_pages_forbid_framing_and_inline_scripts(as_user):
    headers = as_user("rita").get("/queue").headers
    assert "script-src 'self'" in headers["content-security-policy"]
    assert "frame-ancestors 'none'" in headers["content-security-policy"]
    assert headers["x-frame-options"] == "DENY" and headers["x-content-type-options"] == "nosniff"
    assert headers["cache-control"] == "no-store"


def test_the_store_keeps_only_a_digest_of_session_tokens(as_user, site):
    token = as_user("rita").cookies["streetorder_session"]
    stored = [r[0] for r in site.database().execute("SELECT token_hash FROM review_sessions")]
    assert stored and token not in stored and all(len(s) == 64 for s in stored)
    if site.on_sqlite:
        assert os.stat(site.db_path).st_size > 0
