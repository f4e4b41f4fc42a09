"""Plates as personal data in the reviewers' app: the JSON API masks them unless asked (and audits the asking), a
correction is checked against the grammar of the event's own camera, and the append-only audit trail holds keyed
hashes of plates (tokens), never their text, so that nothing readable is left of a plate after the retention purge
while an admin can still find a plate's lines by typing it.

The store is the review test site with the plate warns of tests/review/test_plates.py, on both stores.
"""

from __future__ import annotations

import html
import re
from datetime import timedelta

import pytest

from events.purge import Purge
from review.app import create_app
from review.db import IntegrityError
from streetorder.review_cmd import plate_rules
from tests.review.conftest import csrf_of
from tests.review.test_plates import (
    CROP,
    MISREAD,
    NOW,
    OTHER,
    PLATE,
    add_plate_warns,
    audit,
    correct,
    token,
    warn_id,
)

UK_PATTERN = "[A-Z]{2}[0-9]{2}[A-Z]{3}"
PLATE_TEXTS = (PLATE, MISREAD, OTHER, "京EMC139", "京EMC138", "粤BD12345", "MC139")


@pytest.fixture
def app(site):
    """As ``streetorder review serve --config`` composes it, cam-b reading plates of its own pattern (a UK one)."""
    config = site.config_path.read_text(encoding="utf-8")
    site.config_path.write_text(config.replace("  - id: cam-b\n", f"  - id: cam-b\n    plates:\n"
                                               f"      pattern: '{UK_PATTERN}'\n"), encoding="utf-8")
    add_plate_warns(site)
    app = create_app(site.db_path, plate_rules=plate_rules(site.config_path))
    yield app
    app.state.services.db.close()


def api_cases(client, **params) -> dict[str, dict]:
    answer = client.get("/api/events", params={"status": "all", "type": "all", **params})
    assert answer.status_code == 200
    return {case["event"]["event_id"]: case for case in answer.json()["events"]}


def test_the_api_masks_plates_by_default_and_audits_nothing(as_user, site):
    rita = as_user("rita")
    answer = rita.get("/api/events", params={"status": "all", "type": "all"})
    assert not any(text in answer.text for text in PLATE_TEXTS) and CROP not in answer.text
    case = {c["event"]["event_id"]: c for c in answer.json()["events"]}[warn_id("23")]
    assert case["event"]["plate"] is None and "plate_crop" not in case["event"]["evidence"]
    assert case["plate"] == {"masked": True, "known": True, "plate": None, "read": None, "score": 0.91,
                             "offence": 3, "action": "enforce", "corrected": False, "corrected_by": None,
                             "corrected_at": None, "crop_url": None}
    single = rita.get(f"/api/events/{warn_id('24')}")
    assert not any(text in single.text for text in PLATE_TEXTS) and single.json()["plate"]["masked"]
    assert audit(site, "plate_view") == []


def test_plates_1_shows_the_corrected_plate_and_counts_and_is_audited_by_token(as_user, site):
    rita = as_user("rita")
    assert correct(rita, "22", "粤B·D12345").status_code == 400  # cam-b reads UK plates: see the next test
    correct(as_user("rob"), "23", OTHER)  # cam-a: China's grammar
    shown = api_cases(rita, plates=1)
    corrected = shown[warn_id("23")]
    assert corrected["event"]["plate"] == PLATE  # the event line stays as the camera read it
    assert {k: corrected["plate"][k] for k in ("masked", "plate", "read", "corrected", "corrected_by", "offence")} \
        == {"masked": False, "plate": OTHER, "read": PLATE, "corrected": True, "corrected_by": "rob", "offence": 1}
    assert shown[warn_id("24")]["plate"]["crop_url"] == f"/evidence/cam-b/{CROP}"
    assert shown[warn_id("24")]["event"]["evidence"]["plate_crop"] == CROP
    assert shown[warn_id("25")]["plate"]["offence"] == 2  # OTHER's 2nd warn now: 23, earlier, is OTHER's too
    [(who, event, detail, _at)] = audit(site, "plate_view")
    assert (who, event) == ("rita", None)
    assert set(detail.split(": ")[1].split()) == {token(site, p) for p in (PLATE, MISREAD, OTHER)}
    assert not any(text in detail for text in PLATE_TEXTS)
    single = rita.get(f"/api/events/{warn_id('24')}", params={"plates": "1"}).json()
    assert single["plate"]["plate"] == MISREAD and single["event"]["plate"] == MISREAD
    assert audit(site, "plate_view")[1][:3] == ("rita", warn_id("24"), f"1 plate(s): {token(site, MISREAD)}")


def test_a_correction_follows_the_plate_pattern_of_the_events_camera(as_user, site):
    rita = as_user("rita")
    refused = correct(rita, "24", PLATE)  # cam-b: plates.pattern is a UK pattern there
    assert refused.status_code == 400
    message = html.unescape(re.search(r'<p class="error">(.*?)</p>', refused.text, re.S)[1])
    assert "is not a licence plate of the plate grammar of camera 'cam-b'" in message
    assert "e.g." not in message  # the Chinese example would be wrong on this camera
    saved = correct(rita, "24", "ab12 cde")
    assert saved.status_code == 303 and "plate_saved=AB12CDE" in saved.headers["location"]
    assert correct(rita, "23", "AB12CDE").status_code == 400  # cam-a keeps China's grammar
    assert correct(rita, "23", "京e mc138").status_code == 303
    stored = site.database().execute("SELECT event_id, plate FROM review_plate_corrections ORDER BY 1").fetchall()
    assert sorted(map(tuple, stored)) == sorted([(warn_id("24"), "AB12CDE"), (warn_id("23"), MISREAD)])
    api = rita.post("/api/plates/corrections", json={"event_id": warn_id("22"), "plate": OTHER},
                    headers={"X-CSRF-Token": csrf_of(rita)})
    assert api.status_code == 400 and "camera 'cam-b'" in api.json()["detail"]


def test_after_the_purge_no_plate_is_readable_and_the_audit_still_finds_it_by_token(as_user, site):
    rita, ada = as_user("rita"), as_user("ada")
    correct(rita, "23", "京E·MC138")
    rita.get("/plates", params={"q": "mc 13"})
    api_cases(rita, plates=1)
    job = Purge(site.db_path, retention=30 * 86400.0)
    try:
        job.run(now=NOW + timedelta(days=800))  # every event old, none confirmed
    finally:
        job.close()
    db = site.database()
    for table in sorted(db.tables()):
        text = " ".join(str(value) for row in db.execute(f"SELECT * FROM {table}").fetchall() for value in row)
        assert not [plate for plate in PLATE_TEXTS if plate in text], table
    page = ada.get("/admin/audit", params={"plate": "京e mc138"}).text  # as an auditor types it
    assert token(site, MISREAD) in page
    found = sorted(set(re.findall(r"<td>(plate [a-z ]+)</td>", page)))
    # the correction, the search that found it, the API that showed it, and this look-up itself
    assert found == ["plate audit search", "plate correction", "plate search", "plate view"]
    [(who, _event, detail, _at)] = audit(site, "plate_audit_search")
    assert (who, detail) == ("ada", token(site, MISREAD))
    never = ada.get("/admin/audit", params={"plate": "粤B·D99999"}).text
    assert re.findall(r"<td>(plate [a-z ]+)</td>", never) == ["plate audit search"]  # only its own look-up


def test_older_lines_with_plate_text_are_found_by_their_text_and_stay_append_only(as_user, site):
    with site.database().transaction() as tx:  # as a store written before plates were tokens holds them
        tx.execute("INSERT INTO review_audit (at, user_name, action, event_id, detail) VALUES "
                   "('2026-01-01T00:00:00.000000+00:00', 'rob', 'plate_correction', ?, ?)",
                   (warn_id("24"), f"{MISREAD} -> {PLATE}"))
    page = as_user("ada").get("/admin/audit", params={"plate": PLATE}).text
    assert f"{MISREAD} -&gt; {PLATE}" in page
    with pytest.raises(IntegrityError, match="the audit trail is append-only"), site.database().transaction() as tx:
        tx.execute("UPDATE review_audit SET detail = 'x' WHERE action = 'plate_correction'")


def test_the_key_is_the_stores_so_another_app_over_it_hashes_alike(as_user, site):
    as_user("rita").get("/plates", params={"q": "MC139"})
    [(_who, _event, detail, _at)] = audit(site, "plate_search")
    later = create_app(site.db_path)  # a restart, or a second app over the same store
    try:
        assert detail.startswith(later.state.plates.tokens.token("mc139") + ";")
    finally:
        later.state.services.db.close()


def test_a_plates_page_is_a_look_up_by_plate_and_is_audited_by_token(as_user, site):
    rob = as_user("rob")
    assert rob.get(f"/plates/{PLATE}").status_code == 200
    assert rob.get("/plates/粤B·D99999").status_code == 404  # nothing found: still someone looked for it
    lines = [(who, detail) for who, _event, detail, _at in audit(site, "plate_history")]
    assert lines == [("rob", f"1 plate(s): {token(site, PLATE)}"), ("rob", f"1 plate(s): {token(site, '粤BD99999')}")]
