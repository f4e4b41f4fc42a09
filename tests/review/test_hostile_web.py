"""The reviewers' app against hostile requests: evidence links planted to reach the store, ids that are path
parts, a burst of simultaneous password guesses, and fuzzed query, form and JSON parameters (never a 500)."""

from __future__ import annotations

import json
import math
import re
import shutil
import threading
from urllib.parse import quote

import argon2
import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import review.accounts as accounts_module
from review.accounts import MAX_CONCURRENT_HASHES, MAX_FAILURES_PER_USER
from review.zone_editor import ZoneFile
from streams.config_rules import PipelineConfigRules
from tests.review.conftest import csrf_of, log_in, sqlite_only
from tests.review.site import PASSWORDS

CROP = "evidence/cam-a/walk/1-warn-crop.jpg"
FUZZ = settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@pytest.fixture
def ada(app):
    """The admin, logged in."""
    with TestClient(app, follow_redirects=False) as client:
        log_in(client, "ada", PASSWORDS["ada"])
        yield client


# --- evidence: only regular photos inside the evidence folder, never the store -------------------------------


@sqlite_only
def test_planted_links_and_disguised_files_in_the_evidence_folder_are_never_served(ada, site, tmp_path):
    folder = site.out / "evidence" / "cam-a"
    database = site.db_path.read_bytes()
    outside = tmp_path / "secret.txt"
    outside.write_text("secret outside the evidence folder")
    (folder / "store.jpg").symlink_to("../../events.db")  # the red team's link
    (folder / "store-abs.jpg").symlink_to(site.db_path)
    (folder / "wal.jpg").symlink_to(site.out / "events.db-wal")
    (folder / "outside.jpg").symlink_to(outside)
    shutil.copyfile(site.db_path, folder / "renamed.jpg")  # a database renamed to look like a photo
    (folder / "text.png").write_text("not a photo at all")
    (folder / "folder.jpg").mkdir()
    (folder / "empty.jpg").touch()
    for name in ("store.jpg", "store-abs.jpg", "wal.jpg", "outside.jpg", "renamed.jpg", "text.png", "folder.jpg",
                 "empty.jpg"):
        response = ada.get(f"/evidence/cam-a/evidence/cam-a/{name}")
        assert response.status_code in (400, 403, 404), name
        assert b"SQLite format" not in response.content and database[:100] not in response.content, name
        assert b"secret outside" not in response.content and "Traceback" not in response.text, name
    good = ada.get(f"/evidence/cam-a/{CROP}")
    assert good.status_code == 200 and good.headers["content-type"] == "image/jpeg"
    assert good.content == (site.out / CROP).read_bytes()


# --- ids are path parts --------------------------------------------------------------------------------------


@pytest.mark.parametrize("bad", [".", ".."])
def test_the_zone_editor_refuses_zone_ids_made_of_dots(ada, site, bad):
    before = site.config_path.read_text()
    version = ZoneFile(site.config_path, PipelineConfigRules()).version()
    body = {"version": version, "zones": [{"id": bad, "type": "sidewalk",
                                           "polygon": [[540, 140], [640, 140], [640, 200], [540, 200]]}]}
    refused = ada.post("/api/admin/zones/cam-a", json=body, headers={"X-CSRF-Token": csrf_of(ada)})
    assert refused.status_code == 422
    assert "ids may use only letters, digits, '.', '_' and '-', and cannot be '.' or '..'" in refused.json()["error"]
    assert site.config_path.read_text() == before


# --- a burst of simultaneous wrong passwords -----------------------------------------------------------------


class CountingHasher:
    """Stands in for the Argon2 hasher: counts password checks and how many run at once (each takes a moment, so
    a race in the throttle shows as more checks than the limit)."""

    def __init__(self):
        self.checks = 0
        self.running = 0
        self.most_at_once = 0
        self._lock = threading.Lock()
        self._release = threading.Event()

    def verify(self, _hash: str, _password: str) -> bool:
        with self._lock:
            self.checks += 1
            self.running += 1
            self.most_at_once = max(self.most_at_once, self.running)
        self._release.wait(0.2)  # let every other request that got in arrive meanwhile
        with self._lock:
            self.running -= 1
        raise argon2.exceptions.VerifyMismatchError

    def check_needs_rehash(self, _hash: str) -> bool:
        return False


def test_forty_simultaneous_wrong_passwords_check_at_most_the_limit(app, monkeypatch):
    hasher = CountingHasher()
    monkeypatch.setattr(accounts_module, "HASHER", hasher)
    attempts = 40
    clients = [TestClient(app, follow_redirects=False) for _ in range(attempts)]
    tokens = [re.search(r'name="csrf" value="([^"]+)"', c.get("/login").text)[1] for c in clients]
    start = threading.Barrier(attempts)
    statuses: list[int] = []

    def guess(client: TestClient, token: str) -> None:
        start.wait()
        response = client.post("/login", data={"name": "rita", "password": "wrong guess!", "csrf": token})
        statuses.append(response.status_code)

    threads = [threading.Thread(target=guess, args=pair) for pair in zip(clients, tokens, strict=True)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for client in clients:
        client.close()
    assert hasher.checks <= MAX_FAILURES_PER_USER
    assert hasher.most_at_once <= MAX_CONCURRENT_HASHES
    assert sorted(statuses) == [401] * hasher.checks + [429] * (attempts - hasher.checks)


# --- numbers in query parameters -----------------------------------------------------------------------------


@pytest.mark.parametrize("before", [str(2**63), str(10**40), "-" + str(10**40), "nan", "inf", "1e309", "1.5", "x",
                                    "²", " 1", "+1"])
def test_an_audit_page_number_out_of_range_is_refused_with_a_sentence(ada, before):
    response = ada.get(f"/admin/audit?before={quote(before)}")
    assert response.status_code == 400 and "is not an audit line number" in response.text
    assert "Traceback" not in response.text


def test_the_audit_pages_back_from_a_number(ada):
    newest = ada.get("/admin/audit").text
    first_id = ada.app.state.services.verdicts.audit()[-1].audit_id
    assert ada.get(f"/admin/audit?before={first_id + 1}").status_code == 200
    assert ada.get(f"/admin/audit?before={2**63 - 1}").text.count("<tr") == newest.count("<tr")


@pytest.mark.parametrize("page", [str(2**63), str(10**40), "-" + str(10**40), "0", "nan", "1e309"])
def test_any_queue_page_number_is_clamped_or_refused(ada, page):
    for route in ("/queue", "/api/events"):
        response = ada.get(f"{route}?page={quote(page)}")
        assert response.status_code in (200, 422) and "Traceback" not in response.text


# --- fuzzing: never a 500, never a traceback -----------------------------------------------------------------

HOSTILE = st.one_of(
    st.text(max_size=40),
    st.integers(min_value=-(10**40), max_value=10**40).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.sampled_from(["nan", "NaN", "inf", "-inf", "1e309", "..", ".", "../../events.db", "%2e%2e", "/etc/passwd",
                     "\u202e", "😀", "9" * 400, "", " ", "0", "-1", str(2**63), str(2**64), "cam-a", "walk",
                     "confirm", "reject:permitted", "pending", "all", "oldest", "2026-02-30", "sidewalk_parking"]),
)
QUEUE_KEYS = ("camera", "zone", "rule", "type", "status", "day_from", "day_to", "order", "page", "done", "saved")


def assert_answered(response) -> None:
    assert response.status_code < 500, (response.request.url, response.text[:300])
    assert "Traceback" not in response.text and 'File "' not in response.text


@FUZZ
@given(st.dictionaries(st.sampled_from(QUEUE_KEYS), HOSTILE, max_size=6))
def test_fuzz_the_queue_parameters(ada, params):
    assert_answered(ada.get("/queue", params=params))
    assert_answered(ada.get("/api/events", params=params))


@FUZZ
@given(user=HOSTILE, event=HOSTILE, before=HOSTILE)
def test_fuzz_the_audit_parameters(ada, user, event, before):
    assert_answered(ada.get("/admin/audit", params={"user": user, "event": event, "before": before}))


@FUZZ
@given(event_id=HOSTILE, params=st.dictionaries(st.sampled_from((*QUEUE_KEYS, "choice")), HOSTILE, max_size=4))
def test_fuzz_the_event_pages(ada, event_id, params):
    path = quote(event_id, safe="")
    assert_answered(ada.get(f"/events/{path}", params=params))
    assert_answered(ada.get(f"/api/events/{path}"))


@FUZZ
@given(camera=HOSTILE, path=HOSTILE)
def test_fuzz_the_evidence_and_zone_editor_paths(ada, camera, path):
    camera_part = quote(camera, safe="") or "cam-a"
    assert_answered(ada.get(f"/evidence/{camera_part}/{quote(path, safe='/')}"))
    assert_answered(ada.get(f"/admin/zones/{camera_part}"))
    assert_answered(ada.get(f"/admin/zones/{camera_part}/picture"))
    assert_answered(ada.get("/login", params={"next": path}))


@FUZZ
@given(event_id=HOSTILE, choice=HOSTILE, note=HOSTILE, filters=HOSTILE)
def test_fuzz_the_verdict_form_and_json(ada, site, event_id, choice, note, filters):
    token = csrf_of(ada)
    form = {"event_id": event_id, "choice": choice, "note": note, "filters": filters, "csrf": token}
    assert_answered(ada.post("/verdicts", data=form))
    body = {"event_id": event_id, "verdict": choice, "reason": note[:40], "note": note, "filters": filters}
    assert_answered(ada.post("/api/verdicts", json=body, headers={"X-CSRF-Token": token}))


def _number(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        return math.nan


@FUZZ
@given(zone_id=HOSTILE, zone_type=HOSTILE, warn_after=HOSTILE, x=HOSTILE, y=HOSTILE)
def test_fuzz_the_zone_editor_save(ada, site, zone_id, zone_type, warn_after, x, y):
    """Numbers (NaN and infinities included) are sent as JSON numbers where the editor sends numbers."""
    version = ZoneFile(site.config_path, PipelineConfigRules()).version()
    point = [_number(x), _number(y)]
    body = {"version": version, "zones": [{"id": zone_id[:100], "type": zone_type[:40], "warn_after": warn_after[:40],
                                           "polygon": [point, [640, 140], [640, 200], [540, 200]]}]}
    response = ada.post("/api/admin/zones/cam-a", content=_json(body),
                        headers={"X-CSRF-Token": csrf_of(ada), "Content-Type": "application/json"})
    assert_answered(response)


@FUZZ
@given(plate=HOSTILE, event_id=HOSTILE)
def test_fuzz_the_plate_pages_and_corrections(ada, plate, event_id):
    assert_answered(ada.get("/plates", params={"q": plate}))
    assert_answered(ada.get(f"/plates/{quote(plate, safe='') or 'x'}"))
    token = csrf_of(ada)
    assert_answered(ada.post("/plates/corrections", data={"event_id": event_id, "plate": plate, "csrf": token}))
    assert_answered(ada.post("/api/plates/corrections", json={"event_id": event_id, "plate": plate},
                             headers={"X-CSRF-Token": token}))


@FUZZ
@given(name=HOSTILE, password=HOSTILE, next_path=HOSTILE)
def test_fuzz_the_login_form(app, name, password, next_path):
    with TestClient(app, follow_redirects=False) as client:
        token = re.search(r'name="csrf" value="([^"]+)"', client.get("/login").text)[1]
        assert_answered(client.post("/login", data={"name": name, "password": password, "csrf": token,
                                                     "next": next_path}))


def _json(body: dict) -> str:
    """JSON as a browser's JSON.stringify would not write it but a hostile client can: NaN and Infinity kept."""
    return json.dumps(body, allow_nan=True)
