"""A confirmed alarm's case after the dispatch, over HTTP on both stores: it appears on its unit's officer page, the
officer reports it handled with a photo, the object's clear event verifies it, a dispatcher closes it; officers of
another unit are refused (403) on every route; photos are checked by their content and size; the deadline marks
overdue cases by an injected clock; every step has its audit line."""

from __future__ import annotations

import io
from datetime import timedelta
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient
from PIL import Image

from events import database as events_database
from events.database import IntegrityError
from events.store import EventStore, event_from_row
from review.accounts import AccountError, Accounts
from review.app import create_app
from review.db import Database, utc_now
from review.uploads import MAX_UPLOAD_BYTES
from review.verdicts import Verdicts
from tests.review.conftest import PASSWORDS, csrf_of, log_in
from zones.config_sinks import DispatchSettings

LUCHENG = {"district": "Lucheng", "grid": "LC-0412", "road": "Binhai Rd"}
OUHAI = {"district": "Ouhai", "grid": "OH-0101", "road": None}
STAFF = {"olga": ("officer", "Lucheng", "LC-0412"), "otto": ("officer", "Ouhai", None),
         "dora": ("dispatcher", None, None)}
OURS, THEIRS = "cam-a/walk/21/warn", "cam-a/walk/22/warn"


class Clock:
    def __init__(self):
        self.now = utc_now()

    def __call__(self):
        return self.now


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def app(site, clock):
    """The site with two warns of two units (real evidence photos), two officers and a dispatcher."""
    db = site.database()
    base = event_from_row(db.execute("SELECT * FROM events WHERE event_id = 'cam-a/walk/5/warn'").fetchone())
    store = EventStore(site.db_path)
    for event_id, unit in ((OURS, LUCHENG), (THEIRS, OUHAI)):
        store.add(base.model_copy(update={"event_id": event_id, "object_id": event_id.split("/")[2], "unit": unit,
                                          "lon": 120.6712, "lat": 28.0011}))
    store.close()
    accounts = Accounts(db)
    for name, (role, district, grid) in STAFF.items():
        accounts.add_user(name, role, f"{name}-password-long", district=district, grid=grid)
    settings = DispatchSettings.model_validate({"deadlines": {"sidewalk_parking": "20m"}})
    app = create_app(site.db_path, deadline=settings.deadline, clock=clock)
    yield app
    app.state.services.db.close()


@pytest.fixture
def client(app):
    clients = []

    def make(name: str) -> TestClient:
        made = TestClient(app, follow_redirects=False)
        clients.append(made)
        log_in(made, name, PASSWORDS.get(name, f"{name}-password-long"))
        return made

    yield make
    for made in clients:
        made.close()


def confirm(client, event_id: str) -> None:
    reviewer = client("rita")
    answer = reviewer.post("/api/verdicts", json={"event_id": event_id, "verdict": "confirm"},
                           headers={"X-CSRF-Token": csrf_of(reviewer)})
    assert answer.json()["status"] == "confirmed", answer.text


def handled(officer, event_id: str, photo: bytes | None, filename: str = "IMG_0001.jpg", api: bool = False):
    files = {"photo": (filename, photo, "image/jpeg")} if photo is not None else None
    if api:
        return officer.post("/api/cases/handled", data={"case": event_id, "note": "driver moved the car"},
                            files=files, headers={"X-CSRF-Token": csrf_of(officer, "/officer")})
    return officer.post("/officer/handled", files=files, data={"case": event_id, "note": "driver moved the car",
                                                                "csrf": csrf_of(officer, "/officer")})


def phone_photo(site) -> bytes:
    """A real JPEG: the site's evidence close-up, as an officer's phone would send a photo."""
    return next((site.out / "evidence").rglob("*.jpg")).read_bytes()


def state(client, name: str, event_id: str) -> dict:
    answer = client(name).get(f"/api/cases/{quote(event_id, safe='/')}")
    assert answer.status_code == 200, answer.text
    return answer.json()


def uploads(site) -> list:
    folder = site.out / "handled"
    return sorted(folder.iterdir()) if folder.is_dir() else []


def test_confirm_dispatch_handle_verify_close_with_every_step_audited(client, site):
    confirm(client, OURS)
    confirm(client, THEIRS)
    olga = client("olga")
    assert olga.get("/").headers["location"] == "/officer"
    page = olga.get("/officer")
    assert page.status_code == 200 and OURS in page.text and THEIRS not in page.text
    assert "Lucheng · LC-0412" in page.text and "Main St pole" in page.text and "120.67" in page.text
    evidence = olga.get(f"/officer/photo?case={quote(OURS)}&key=crop")
    assert evidence.status_code == 200 and evidence.headers["content-type"] == "image/jpeg"
    assert state(client, "olga", OURS)["state"] == "dispatched"

    photo = phone_photo(site)
    assert handled(olga, OURS, photo, filename="../../events.db.jpg").status_code == 303
    case = state(client, "olga", OURS)
    assert case["state"] == "handled" and case["handled_by"] == "olga"
    assert case["handled_note"] == "driver moved the car"
    [stored] = uploads(site)
    assert case["handled_photo"] == f"handled/{stored.name}" and stored.read_bytes() == photo
    assert "events.db" not in stored.name and len(stored.stem) == 32
    assert olga.get(f"/officer/photo?case={quote(OURS)}&key=handled").content == photo

    store = EventStore(site.db_path)  # the car leaves: the pipeline records the object's clear
    warn = event_from_row(site.database().execute("SELECT * FROM events WHERE event_id = ?", (OURS,)).fetchone())
    store.add(warn.model_copy(update={"event_id": "cam-a/walk/21/clear", "type": "clear", "t": warn.t + 60}))
    store.close()
    case = state(client, "olga", OURS)
    assert case["state"] == "verified" and case["verified_by"] == "streetorder"

    refused = olga.post("/officer/close", data={"case": OURS, "csrf": csrf_of(olga, "/officer")})
    assert refused.status_code == 403 and "may not close" in refused.text
    dora = client("dora")
    assert dora.post("/officer/close", data={"case": OURS, "csrf": csrf_of(dora, "/officer")}).status_code == 303
    assert state(client, "dora", OURS)["state"] == "closed"
    assert OURS not in olga.get("/officer").text
    again = dora.post("/officer/close", data={"case": OURS, "csrf": csrf_of(dora, "/officer")})
    assert again.status_code == 409 and "is closed" in again.text

    trail = sorted(Verdicts(site.database()).audit(event_id=OURS), key=lambda line: line.audit_id)
    assert [(line.action, line.user_name) for line in trail] == [
        ("verdict", "rita"), ("case_dispatched", "rita"), ("case_handled", "olga"),
        ("case_verified", "streetorder"), ("case_closed", "dora")]
    assert all(line.at for line in trail)
    assert trail[1].detail.startswith("unit Lucheng · LC-0412; due ")
    assert trail[2].detail == f"photo handled/{stored.name}" and trail[2].note == "driver moved the car"
    assert trail[3].detail == "clear event cam-a/walk/21/clear"


def test_an_officer_of_another_unit_gets_403_on_every_view_and_action(client, site):
    confirm(client, OURS)
    confirm(client, THEIRS)
    otto = client("otto")
    assert OURS not in otto.get("/officer").text and THEIRS in otto.get("/officer").text
    assert [c["event_id"] for c in otto.get("/api/cases").json()["cases"]] == [THEIRS]
    token = csrf_of(otto, "/officer")
    answers = {
        "page photo": otto.get(f"/officer/photo?case={quote(OURS)}&key=crop"),
        "api case": otto.get(f"/api/cases/{OURS}"),
        "unknown case": otto.get("/api/cases/cam-z/none/1/warn"),
        "form handled": handled(otto, OURS, phone_photo(site)),
        "api handled": handled(otto, OURS, phone_photo(site), api=True),
        "form verify": otto.post("/officer/verify", data={"case": OURS, "csrf": token}),
        "api close": otto.post("/api/cases/close", json={"case": OURS}, headers={"X-CSRF-Token": token}),
        "queue": otto.get("/queue"),
        "event page": otto.get(f"/events/{OURS}"),
        "api events": otto.get("/api/events"),
        "api event": otto.get(f"/api/events/{OURS}"),
        "evidence": otto.get("/evidence/cam-a/" + site.database().execute(
            "SELECT evidence FROM events WHERE event_id = ?", (OURS,)).fetchone()[0].split('"')[3]),
        "verdict": otto.post("/api/verdicts", json={"event_id": OURS, "verdict": "reject", "reason": "other"},
                             headers={"X-CSRF-Token": token}),
        "admin": otto.get("/admin/audit"),
    }
    assert {name: answer.status_code for name, answer in answers.items()} == {name: 403 for name in answers}
    assert answers["api case"].json()["detail"].startswith("This case is not one of your unit's")
    assert state(client, "olga", OURS)["state"] == "dispatched" and uploads(site) == []
    assert handled(otto, THEIRS, None, api=True).json()["state"] == "handled"  # their own case: allowed


def test_a_photo_that_is_not_an_image_or_too_large_is_refused_in_a_sentence(client, site):
    confirm(client, OURS)
    olga = client("olga")
    photo = phone_photo(site)
    refusals = [
        (handled(olga, OURS, b"%PDF-1.7 not a photo", filename="report.jpg"), 400, "not a JPEG or PNG picture"),
        (handled(olga, OURS, photo[:3] + b"\x00" * 2000, api=True), 400, "not a JPEG or PNG picture"),
        (handled(olga, OURS, photo[: len(photo) // 2]), 400, "not a JPEG or PNG picture"),  # truncated
        (handled(olga, OURS, photo + b"\x00" * (MAX_UPLOAD_BYTES + 1 - len(photo))), 413, "larger than 8 MB"),
    ]
    for answer, status, sentence in refusals:
        assert answer.status_code == status and sentence in answer.text, answer.text[:300]
    assert state(client, "olga", OURS)["state"] == "dispatched" and uploads(site) == []
    png = io.BytesIO()
    Image.open(io.BytesIO(photo)).save(png, format="PNG")
    assert handled(olga, OURS, png.getvalue(), filename="x.png", api=True).json()["state"] == "handled"
    [stored] = uploads(site)
    assert stored.suffix == ".png"


def test_a_case_not_handled_by_its_deadline_is_overdue(client, clock):
    start = clock.now
    confirm(client, OURS)
    olga = client("olga")
    case = state(client, "olga", OURS)
    assert case["due_at"].startswith((start + timedelta(minutes=20)).isoformat()[:16])  # the config's, not 30 min
    clock.now = start + timedelta(minutes=19)
    assert not state(client, "olga", OURS)["overdue"] and "overdue-badge" not in olga.get("/officer").text
    clock.now = start + timedelta(minutes=21)
    assert state(client, "olga", OURS)["overdue"]
    page = olga.get("/officer").text
    assert 'class="officer-case overdue"' in page and "1 overdue" in page
    assert handled(olga, OURS, None).status_code == 303
    assert not state(client, "olga", OURS)["overdue"]  # handled, late: no longer waiting on anyone


def test_an_officer_needs_a_unit_and_other_roles_take_none(site):
    accounts = Accounts(site.database())
    with pytest.raises(AccountError, match="needs a unit"):
        accounts.add_user("ivan", "officer", "ivan-password-long")
    with pytest.raises(AccountError, match="only an officer is bound to a unit"):
        accounts.add_user("ivan", "reviewer", "ivan-password-long", district="Lucheng")
    assert accounts.add_user("ivan", "officer", "ivan-password-long", grid="LC-0412").unit_label == "LC-0412"


OLDER_USERS = """CREATE TABLE review_users (
    user_id       INTEGER PRIMARY KEY,
    name          TEXT NOT NULL UNIQUE COLLATE NOCASE,
    role          TEXT NOT NULL CHECK (role IN ('reviewer', 'admin')),
    password_hash TEXT NOT NULL,
    created_at    TEXT NOT NULL
);
"""


def test_a_store_from_before_the_new_roles_takes_them_and_keeps_its_accounts(store_target):
    older = events_database.Database(store_target, OLDER_USERS)
    with older.transaction() as tx:
        tx.execute("INSERT INTO review_users VALUES (7, 'Ana', 'admin', 'x', '2026-01-01T00:00:00+00:00')")
    with pytest.raises(IntegrityError), older.transaction() as tx:  # what the older table refuses
        tx.execute("INSERT INTO review_users VALUES (8, 'o', 'officer', 'x', 'now')")
    older.close()
    db = Database(store_target)
    accounts = Accounts(db)
    officer = accounts.add_user("olga", "officer", "olga-password-long", district="Lucheng")
    assert [(u.user_id, u.name, u.role) for u in accounts.users()] == [(7, "Ana", "admin"),
                                                                       (officer.user_id, "olga", "officer")]
    assert accounts.user_named("OLGA").district == "Lucheng"
    with pytest.raises(AccountError, match="already exists"):  # names stay case-insensitive
        accounts.add_user("ana", "reviewer", "another-password")
    db.close()
    Database(store_target).close()  # a second start finds nothing to upgrade


def test_a_reviewer_verifies_by_hand_and_only_a_dispatcher_or_admin_closes(client):
    confirm(client, OURS)
    rita = client("rita")
    assert rita.post("/api/cases/verify", json={"case": OURS},
                     headers={"X-CSRF-Token": csrf_of(rita)}).json()["verified_by"] == "rita"
    late = handled(client("olga"), OURS, None, api=True)
    assert late.status_code == 409 and "is verified, so it cannot be handled" in late.json()["detail"]
    assert rita.post("/api/cases/close", json={"case": OURS},
                     headers={"X-CSRF-Token": csrf_of(rita)}).status_code == 403
    ada = client("ada")
    assert ada.post("/api/cases/close", json={"case": OURS},
                    headers={"X-CSRF-Token": csrf_of(ada)}).json()["closed_by"] == "ada"
