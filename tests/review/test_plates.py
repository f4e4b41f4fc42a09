"""Plates in the reviewers' app: the read beside the evidence, a reviewer's correction (validated, audited,
re-counted), a plate's page, the repeat offenders (admins only) and the audited plate search.

The store is the review test site (tests/review/site.py) plus warns of read plates added through
``EventStore.add``, each graded by the pipeline's own ``events.ladder.Ladder`` as the pipeline writes them.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from datetime import UTC, datetime, timedelta

import cv2
import numpy as np
import pytest
from fastapi.testclient import TestClient

from events.ladder import Ladder
from events.record import Event, event_id
from events.store import EventStore
from review.app import create_app
from streetorder.review_cmd import plate_rules
from tests.review.conftest import csrf_of, log_in
from tests.review.site import PASSWORDS
from zones.config_enforcement import EnforcementSettings

PLATE = "京E·MC139"
OTHER = "粤B·D12345"
MISREAD = "京E·MC138"  # the camera's read of PLATE's 4th warn: 9 seen as 8
NOW = datetime.now(UTC).replace(microsecond=0)
CROP = "evidence/cam-b/kerb/plate-24.jpg"

# (camera, zone, object, days ago, plate): the warns added to the site, in the order they are recorded
PLATE_WARNS = [
    ("cam-a", "walk", "20", 400, PLATE),  # outside the lookback (365 days): counts for nothing
    ("cam-a", "walk", "21", 30, PLATE),
    ("cam-b", "kerb", "22", 20, PLATE),
    ("cam-a", "far-kerb", "23", 10, PLATE),
    ("cam-b", "kerb", "24", 5, MISREAD),
    ("cam-b", "kerb", "25", 3, OTHER),
]


def warn_id(obj: str) -> str:
    camera, zone = next((c, z) for c, z, o, *_ in PLATE_WARNS if o == obj)
    return event_id(camera, zone, obj, "warn")


def plate_warn(camera: str, zone: str, obj: str, days_ago: float, plate: str) -> Event:
    evidence = {"plate_crop": CROP} if obj == "24" else {}
    return Event(event_id=event_id(camera, zone, obj, "warn"), type="warn", rule="sidewalk_parking",
                 camera_id=camera, zone_id=zone, object_id=obj, class_name="car", t=600.0,
                 ts=(NOW - timedelta(days=days_ago)).isoformat(), since_t=0.0, dwell_s=600.0,
                 bbox=[350.0, 133.0, 415.0, 164.0], score=0.9, evidence=evidence, plate=plate, plate_score=0.91)


@pytest.fixture
def app(site):
    """The site's app with the plate grammar and ladder ``streetorder review serve`` composes, over a store
    holding the plate warns."""
    add_plate_warns(site)
    app = create_app(site.db_path, plate_rules=plate_rules(site.config_path))
    yield app
    app.state.services.db.close()


def add_plate_warns(site) -> None:
    """The warns of ``PLATE_WARNS``, graded by the pipeline's ladder, and the misread's plate crop."""
    store = EventStore(site.db_path)
    ladder = Ladder(EnforcementSettings(), store)
    for warn in PLATE_WARNS:
        store.add(ladder.grade(plate_warn(*warn)))
    store.close()
    crop = np.full((24, 80, 3), (160, 60, 20), np.uint8)  # a blue plate's size and colour
    (site.out / CROP).parent.mkdir(parents=True, exist_ok=True)
    (site.out / CROP).write_bytes(cv2.imencode(".jpg", crop)[1].tobytes())


def token(site, plate: str) -> str:
    """The audit's token of ``plate``, computed here from the store's key as an auditor would: HMAC-SHA256 of the
    plate without separators, upper case."""
    key = site.database().execute("SELECT value FROM review_meta WHERE key = 'audit_plate_key'").fetchone()[0]
    compact = re.sub(r"[\s·]", "", plate).upper()
    return "plate#" + hmac.new(bytes.fromhex(key), compact.encode(), hashlib.sha256).hexdigest()[:16]


def correct(client, obj: str, plate: str, token: str | None = "page"):
    form = {"event_id": warn_id(obj), "plate": plate}
    if token is not None:
        form["csrf"] = csrf_of(client) if token == "page" else token
    return client.post("/plates/corrections", data=form)


def audit(site, action: str) -> list[tuple]:
    rows = site.database().execute(
        "SELECT user_name, event_id, detail, at FROM review_audit WHERE action = ? ORDER BY audit_id",
        (action,)).fetchall()
    return [tuple(r) for r in rows]


def offences(page: str) -> list[str]:
    return re.findall(r'<td class="offence">(\d*)</td>', page)


def test_the_event_page_shows_the_plate_crop_and_read_beside_the_evidence(as_user):
    page = as_user("rita").get(f"/events/{warn_id('23')}").text
    assert f'<a href="/plates/{PLATE.replace("·", "%C2%B7").replace("京", "%E4%BA%AC")}">{PLATE}</a>' in page
    assert '<dd class="offence">3</dd>' in page and '<dd class="action">enforce</dd>' in page
    assert "0.91" in page
    misread = as_user("rob").get(f"/events/{warn_id('24')}")
    assert "/evidence/cam-b/evidence/cam-b/kerb/plate-24.jpg" in misread.text
    assert as_user("rob").get("/evidence/cam-b/" + CROP).headers["content-type"] == "image/jpeg"


def test_a_reviewer_corrects_a_misread_and_the_plate_is_re_counted(as_user, site):
    rita = as_user("rita")
    assert offences(rita.get(f"/plates/{PLATE}").text) == ["1", "1", "2", "3"]
    response = correct(rita, "24", " 京e mc139 ")  # as typed: lower case, spaces, no separator
    assert response.status_code == 303
    assert response.headers["location"].startswith(f"/events/{warn_id('24')}?")
    page = rita.get(response.headers["location"]).text
    assert "Plate saved as 京E·MC139" in page and "the camera read 京E·MC138" in page
    assert '<dd class="offence">4</dd>' in page  # the 4th warn of PLATE within the lookback, not MISREAD's 1st
    assert offences(rita.get(f"/plates/{PLATE}").text) == ["1", "1", "2", "3", "4"]
    assert rita.get(f"/plates/{MISREAD}").status_code == 404  # no event carries the misread any more
    stored = site.database().execute("SELECT plate FROM events WHERE event_id = ?",
                                     (warn_id("24"),)).fetchone()[0]
    assert stored == MISREAD  # the event row is the camera's evidence, unchanged
    [(who, event, detail, _at)] = audit(site, "plate_correction")
    assert (who, event, detail) == ("rita", warn_id("24"), f"{token(site, MISREAD)} -> {token(site, PLATE)}")


def test_the_ladder_counts_the_corrected_plate(as_user, site):
    correct(as_user("rob"), "24", PLATE)
    store = EventStore(site.db_path)
    try:
        later = Ladder(EnforcementSettings(), store).grade(plate_warn("cam-a", "walk", "26", 1, PLATE))
        assert (later.offence, later.action) == (5, "enforce")
        assert Ladder(EnforcementSettings(), store).grade(plate_warn("cam-a", "walk", "27", 1, MISREAD)).offence == 1
    finally:
        store.close()


def test_a_rejected_warn_stops_counting(as_user, site):
    rita = as_user("rita")
    token = csrf_of(rita)
    rita.post("/verdicts", data={"event_id": warn_id("21"), "choice": "reject:wrong_object", "csrf": token})
    assert offences(rita.get(f"/plates/{PLATE}").text) == ["1", "1", "1", "2"]


@pytest.mark.parametrize("plate", ["CKR023", "京E·MC13", "../..", "x" * 10_000, "'; DROP TABLE events; --", ""])
def test_a_plate_outside_the_grammar_is_refused_in_one_sentence(as_user, site, plate):
    response = correct(as_user("rita"), "24", plate)
    assert response.status_code == 400
    message = re.search(r'<p class="error">(.*?)</p>', response.text, re.S)
    assert "is not a licence plate of the plate grammar" in message[1] and len(message[1]) < 400
    assert audit(site, "plate_correction") == []
    assert site.database().execute("SELECT count(*) FROM review_plate_corrections").fetchone()[0] == 0


def test_a_correction_needs_the_csrf_token_and_a_session(as_user, anonymous, site):
    rita, rob = as_user("rita"), as_user("rob")
    for token in (None, "forged", csrf_of(rob)):
        assert correct(rita, "24", PLATE, token=token).status_code == 403
    assert anonymous.post("/plates/corrections", data={"event_id": warn_id("24"), "plate": PLATE}
                          ).headers["location"].startswith("/login")
    assert audit(site, "plate_correction") == []
    assert correct(rita, "24", PLATE).status_code == 303  # a reviewer may correct


def test_the_json_correction_needs_the_csrf_header_and_answers_the_new_count(as_user, site):
    rita = as_user("rita")
    body = {"event_id": warn_id("24"), "plate": PLATE}
    assert rita.post("/api/plates/corrections", json=body).status_code == 403
    assert rita.post("/api/plates/corrections", json=body, headers={"X-CSRF-Token": "forged"}).status_code == 403
    assert audit(site, "plate_correction") == []
    answer = rita.post("/api/plates/corrections", json=body, headers={"X-CSRF-Token": csrf_of(rita)})
    assert answer.status_code == 200
    assert answer.json() == {"event_id": warn_id("24"), "plate": PLATE, "offence": 4, "action": "enforce"}
    refused = rita.post("/api/plates/corrections", json={**body, "plate": "../.."},
                        headers={"X-CSRF-Token": csrf_of(rita)})
    assert refused.status_code == 400 and "not a licence plate" in refused.json()["detail"]


def test_a_correction_of_an_unknown_event_is_404(as_user):
    rita = as_user("rita")
    response = rita.post("/plates/corrections", data={"event_id": "cam-x/none/1/warn", "plate": PLATE,
                                                      "csrf": csrf_of(rita)})
    assert response.status_code == 404 and "no event" in response.text


def test_the_plate_page_shows_the_history_across_cameras(as_user):
    page = as_user("rob").get(f"/plates/{PLATE}").text
    assert "on 2 camera(s): cam-a, cam-b" in page
    for obj in ("20", "21", "22", "23"):
        assert f"{warn_id(obj)}?status=all" in page
    assert warn_id("24") not in page and warn_id("25") not in page


@pytest.mark.parametrize("path", ["/plates/..%2F..", "/plates/" + "x" * 10_000, "/plates/%27%20OR%20%271%27%3D%271",
                                  "/plates/%00"])
def test_a_hostile_plate_address_is_a_4xx(as_user, path):
    response = as_user("rita").get(path)
    assert 400 <= response.status_code < 500


def test_repeat_offenders_are_for_admins_only(as_user):
    assert as_user("rita").get("/admin/plates").status_code == 403
    page = as_user("ada").get("/admin/plates").text
    rows = re.findall(r'class="plate-text">([^<]+)</a></td><td class="warns">(\d+)</td><td>(\d+)</td>', page)
    assert rows == [(PLATE, "3", "2"), (MISREAD, "1", "1"), (OTHER, "1", "1")]  # the 400-day-old warn is out


def test_repeat_offenders_follow_corrections_and_rejections(as_user):
    rita, ada = as_user("rita"), as_user("ada")
    correct(rita, "24", PLATE)
    rita.post("/verdicts", data={"event_id": warn_id("25"), "choice": "reject:permitted", "csrf": csrf_of(rita)})
    rows = re.findall(r'class="plate-text">([^<]+)</a></td><td class="warns">(\d+)</td>', ada.get("/admin/plates").text)
    assert rows == [(PLATE, "4")]


def test_every_plate_search_is_audited_with_who_and_when(as_user, site):
    rob = as_user("rob")
    found = rob.get("/plates", params={"q": "mc 139"}).text
    assert PLATE in found and OTHER not in found
    assert "No plate contains" in rob.get("/plates", params={"q": "ZZZ"}).text
    assert rob.get("/plates").status_code == 200  # the form alone is no search
    lines = audit(site, "plate_search")
    assert [(who, detail) for who, _e, detail, _at in lines] == [
        ("rob", f"{token(site, 'MC139')}; found 1: {token(site, PLATE)}"), ("rob", f"{token(site, 'ZZZ')}; found 0")]
    assert all(abs(datetime.fromisoformat(at) - datetime.now(UTC)) < timedelta(minutes=5) for *_, at in lines)


@pytest.mark.parametrize("query", ["../..", "'", "%' OR '1'='1", "';DROP TABLE events"])
def test_a_hostile_search_finds_nothing(as_user, site, query):
    response = as_user("rita").get("/plates", params={"q": query})
    assert response.status_code == 200 and "No plate contains" in response.text
    assert site.database().execute("SELECT count(*) FROM events").fetchone()[0] > 0


def test_an_overlong_search_is_refused_and_still_audited(as_user, site):
    response = as_user("rita").get("/plates", params={"q": "x" * 10_000})
    assert response.status_code == 400 and "at most 20 characters" in response.text
    assert [(who, detail) for who, _e, detail, _at in audit(site, "plate_search")] == [
        ("rita", f"{token(site, 'x' * 20)}; refused: too long")]


def test_without_the_plate_grammar_the_page_shows_the_stored_read_and_corrections_are_refused(site, app):
    bare = create_app(site.db_path)
    with TestClient(bare, follow_redirects=False) as rita:
        log_in(rita, "rita", PASSWORDS["rita"])
        page = rita.get(f"/events/{warn_id('23')}").text
        assert '<dd class="offence">3</dd>' in page  # as the pipeline's ladder wrote it
        response = correct(rita, "24", PLATE)
        assert response.status_code == 400 and "need the plate grammar" in response.text
    bare.state.services.db.close()
    assert audit(site, "plate_correction") == []
