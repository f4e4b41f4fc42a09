"""Reports on the cases after dispatch, over HTTP on both stores: three cases whose warn, dispatch, handling and close
times are set by an injected clock give exact medians, overdue shares, cases per day and a repeat spot, on the page
(tables and the SVG chart), as JSON and as CSV; a date range chooses the cases; hostile dates are a 400 sentence;
reviewers and officers get 403."""

from __future__ import annotations

import csv
import html
import io
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from events.store import EventStore, event_from_row
from review.accounts import Accounts
from review.app import create_app
from tests.review.conftest import PASSWORDS, log_in
from zones.config_sinks import DispatchSettings

T0 = datetime(2026, 10, 5, 8, 0, tzinfo=UTC)
LUCHENG = {"district": "Lucheng", "grid": "LC-0412", "road": "Binhai Rd"}
HOSTILE = {"district": "Ouhai", "grid": "=HYPERLINK(\"http://evil\")", "road": None}
# event id, unit, rule, the warn's wall time, dispatched at
CASES = [
    ("cam-a/walk/31/warn", LUCHENG, "sidewalk_parking", T0 - timedelta(minutes=10), T0),
    ("cam-a/walk/32/warn", LUCHENG, "sidewalk_parking", T0 + timedelta(days=1, minutes=-20), T0 + timedelta(days=1)),
    ("cam-b/bikes/33/warn", HOSTILE, "misparked_bike", T0 + timedelta(days=1, minutes=-5),
     T0 + timedelta(days=1, hours=2)),
]
STAFF = {"olga": ("officer", "Lucheng", "LC-0412"), "dora": ("dispatcher", None, None)}


class Clock:
    def __init__(self, now: datetime):
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def app(site):
    """Case 31 handled in 5 minutes and closed an hour after its dispatch; 32 at the same spot never handled (its
    20-minute deadline passed); 33 handled in time, not closed."""
    db = site.database()
    base = event_from_row(db.execute("SELECT * FROM events WHERE event_id = 'cam-a/walk/5/warn'").fetchone())
    store = EventStore(site.db_path)
    for event_id, unit, rule, warned, _ in CASES:
        camera, zone, obj, _ = event_id.split("/")
        store.add(base.model_copy(update={"event_id": event_id, "camera_id": camera, "zone_id": zone,
                                          "object_id": obj, "rule": rule, "unit": unit, "ts": warned.isoformat()}))
    store.close()
    accounts = Accounts(db)
    users = {name: accounts.add_user(name, role, f"{name}-password-long", district=district, grid=grid)
             for name, (role, district, grid) in STAFF.items()}
    clock = Clock(T0)
    app = create_app(site.db_path, deadline=DispatchSettings.model_validate(
        {"default_deadline": "20m"}).deadline, clock=clock)
    app_services = app.state.services
    rita = accounts.user_named("rita")
    for event_id, *_, dispatched in CASES:
        clock.now = dispatched
        app_services.verdicts.record(event_id, rita, "confirm")
    clock.now = T0 + timedelta(minutes=5)
    app_services.lifecycle.handled(CASES[0][0], users["olga"], "driver moved the car")
    app_services.lifecycle.verify(CASES[0][0], users["dora"])
    clock.now = T0 + timedelta(hours=1)
    app_services.lifecycle.close(CASES[0][0], users["dora"])
    clock.now = T0 + timedelta(days=1, hours=2, minutes=10)
    app_services.lifecycle.handled(CASES[2][0], users["dora"], "bike moved into the fence")
    clock.now = T0 + timedelta(days=3)
    yield app
    app_services.db.close()


@pytest.fixture
def client(app):
    made = []

    def make(name: str) -> TestClient:
        one = TestClient(app, follow_redirects=False)
        made.append(one)
        log_in(one, name, PASSWORDS.get(name, f"{name}-password-long"))
        return one

    yield make
    for one in made:
        one.close()


RANGE = "from=2026-10-01&to=2026-10-07"


def test_the_report_gives_exact_medians_overdue_shares_days_and_repeat_spots(client):
    report = client("dora").get(f"/api/admin/reports?{RANGE}").json()
    assert (report["from"], report["to"]) == ("2026-10-01", "2026-10-07")
    assert [n for _, n in report["per_day"]] == [0, 0, 0, 0, 1, 2, 0]
    units = {g["key"]: g for g in report["by_unit"]}
    lucheng = units["Lucheng · LC-0412"]
    assert (lucheng["cases"], lucheng["median_to_dispatch_s"], lucheng["closed"], lucheng["median_to_close_s"],
            lucheng["overdue"], lucheng["overdue_share"]) == (2, 900.0, 1, 3600.0, 1, 0.5)
    ouhai = units['Ouhai · =HYPERLINK("http://evil")']
    assert (ouhai["cases"], ouhai["median_to_dispatch_s"], ouhai["overdue"], ouhai["median_to_close_s"]) == (
        1, 7500.0, 0, None)
    rules = {g["key"]: (g["cases"], g["overdue"]) for g in report["by_rule"]}
    assert rules == {"sidewalk_parking": (2, 1), "misparked_bike": (1, 0)}
    assert report["total"]["cases"] == 3 and report["total"]["median_to_dispatch_s"] == 1200.0
    assert report["repeat_spots"] == [{"label": "cam-a · walk", "unit": "Lucheng · LC-0412",
                                       "rules": ["sidewalk_parking"], "cases": 2, "last_event_id": CASES[1][0]}]


def test_the_page_draws_a_bar_per_day_and_the_tables(client):
    page = client("ada").get(f"/admin/reports?{RANGE}")
    assert page.status_code == 200
    text = html.unescape(page.text)
    assert text.count('<rect class="bar"') == 7
    assert 'data-day="2026-10-06" data-count="2"' in text and 'data-day="2026-10-05" data-count="1"' in text
    assert "<script" not in text.split("<main>")[1]  # the chart is plain SVG, drawn by the server
    assert "15m 00s" in text and "1h 00m" in text and "50%" in text  # Lucheng's medians and overdue share
    assert "cam-a · walk" in text and f"/admin/reports.csv?{RANGE}" in text


def test_the_csv_has_a_row_per_day_unit_and_rule_and_no_formula(client):
    answer = client("dora").get(f"/admin/reports.csv?{RANGE}")
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/csv")
    assert "streetorder-cases-2026-10-01-2026-10-07.csv" in answer.headers["content-disposition"]
    rows = list(csv.reader(io.StringIO(answer.text)))
    assert rows == [
        ["day", "district", "grid", "rule", "cases", "overdue", "closed", "median_to_dispatch_s",
         "median_to_close_s"],
        ["2026-10-05", "Lucheng", "LC-0412", "sidewalk_parking", "1", "0", "1", "600", "3600"],
        ["2026-10-06", "Lucheng", "LC-0412", "sidewalk_parking", "1", "1", "0", "1200", ""],
        ["2026-10-06", "Ouhai", "'=HYPERLINK(\"http://evil\")", "misparked_bike", "1", "0", "0", "7500", ""],
    ]


def test_a_date_range_chooses_the_cases(client):
    dora = client("dora")
    one_day = dora.get("/api/admin/reports?from=2026-10-06&to=2026-10-06").json()
    assert one_day["total"]["cases"] == 2 and one_day["repeat_spots"] == []
    assert len(dora.get("/admin/reports.csv?from=2026-10-05&to=2026-10-05").text.splitlines()) == 2
    default = dora.get("/api/admin/reports").json()  # the 30 days up to the clock's today
    assert (default["from"], default["to"]) == ("2026-09-09", "2026-10-08") and default["total"]["cases"] == 3


@pytest.mark.parametrize("query, sentence", [
    ("from=2026-13-01", "from='2026-13-01' is not a date; write it as YYYY-MM-DD"),
    ("to=2026-10-06T00:00", "to='2026-10-06T00:00' is not a date"),
    ("from=%27%20OR%201%3D1%20--", "from=\"' OR 1=1 --\" is not a date"),
    ("from=2026-10-07&to=2026-10-01", "from=2026-10-07 is after to=2026-10-01"),
    ("from=2020-01-01&to=2026-10-01", "report at most 366 days"),
    ("from=" + "9" * 5000, "is not a date"),
    ("to=2026-10-0%00", "is not a date"),
])
def test_a_hostile_date_is_a_400_sentence_on_every_route(client, query, sentence):
    dora = client("dora")
    for path in ("/admin/reports", "/api/admin/reports", "/admin/reports.csv"):
        answer = dora.get(f"{path}?{query}")
        assert answer.status_code == 400, (path, answer.status_code)
        assert sentence in (answer.json()["detail"] if path.startswith("/api/") else html.unescape(answer.text))


def test_reviewers_and_officers_may_not_read_the_reports(client):
    for name in ("rita", "olga"):
        one = client(name)
        for path in ("/admin/reports", "/api/admin/reports", "/admin/reports.csv"):
            assert one.get(path).status_code == 403, (name, path)
    assert "/admin/reports" not in client("rita").get("/queue").text
    assert 'href="/admin/reports"' in client("dora").get("/officer").text

