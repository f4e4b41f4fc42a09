"""Load test of the cases after dispatch: a store of 50,000 events and 5,000 cases, then every page and API route
timed over HTTP (the median and the worst of --runs requests each).

The events are review_load.py's (20 cameras, a fixed seed, the project's own writers), each camera in one of ten
grids of two districts. The cases are opened and moved on through the app's own code with an injected clock:
reviewers confirm warns a few minutes after they fired (review.verdicts.Verdicts), officers of the unit report
most of them handled, some late, dispatchers verify and close most (review.lifecycle.Lifecycle); the objects' clear
events verify others by themselves. The app runs as `streetorder review serve` in its own process; the map's
routes are timed when the app has them.

    .venv/bin/python scripts/case_load.py [--events 50000] [--cases 5000] [--runs 7] [--work DIR [--again]]
"""

from __future__ import annotations

import argparse
import contextlib
import random
import re
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

from review_load import (  # noqa: E402
    CAMERAS,
    PASSWORD,
    Timer,
    build_store,
    log_in,
    store_size,
    time_app,
    write_config,
)

from review.accounts import Accounts, User  # noqa: E402
from review.db import Database, utc_now  # noqa: E402
from review.lifecycle import Lifecycle, LifecycleError  # noqa: E402
from review.verdicts import Verdicts  # noqa: E402

DISTRICTS = (("Lucheng", "LC"), ("Ouhai", "OH"))
REPORT_RANGE = "from=2026-10-01&to=2026-10-31"  # the days review_load's events fall on


def unit_of(camera: int) -> dict:
    """Cameras 0-9 in Lucheng, 10-19 in Ouhai; two cameras per grid."""
    district, prefix = DISTRICTS[camera * len(DISTRICTS) // CAMERAS]
    return {"district": district, "grid": f"{prefix}-{camera % 10 // 2:02d}", "road": None}


class Clock:
    def __init__(self):
        self.now = utc_now()

    def __call__(self) -> datetime:
        return self.now


def open_cases(db: Database, cases: int, rng: random.Random) -> None:
    """Confirm ``cases`` random warns and move their cases on."""
    accounts = Accounts(db)
    rita = accounts.add_user("rita", "reviewer", PASSWORD)
    accounts.add_user("ada", "admin", PASSWORD)
    dora = accounts.add_user("dora", "dispatcher", PASSWORD)
    officers: dict[tuple[str, str], User] = {}
    for camera in range(CAMERAS):
        unit = unit_of(camera)
        key = (unit["district"], unit["grid"])
        if key not in officers:
            officers[key] = accounts.add_user(f"officer-{unit['grid'].lower()}", "officer", PASSWORD,
                                              district=unit["district"], grid=unit["grid"])
    clock = Clock()
    lifecycle = Lifecycle(db, clock=clock)
    verdicts = Verdicts(db, lifecycle=lifecycle)
    warns = db.execute("SELECT event_id, ts FROM events WHERE type = 'warn' ORDER BY rowid").fetchall()
    for row in sorted(rng.sample(list(warns), min(cases, len(warns))), key=lambda r: r["ts"]):
        event_id = row["event_id"]
        unit = unit_of(int(event_id.split("/")[0].removeprefix("cam-")))
        clock.now = datetime.fromisoformat(row["ts"]) + timedelta(seconds=rng.uniform(60, 1800))
        verdicts.record(event_id, rita, "confirm")
        if rng.random() < 0.15:
            continue  # never handled: overdue
        clock.now += timedelta(seconds=rng.uniform(120, 3000))  # some after the 30-minute deadline
        lifecycle.handled(event_id, officers[unit["district"], unit["grid"]], "moved on")
        for step, chance, most in ((lifecycle.verify, 0.8, 1200), (lifecycle.close, 0.9, 3600)):
            if rng.random() < chance:
                clock.now += timedelta(seconds=rng.uniform(60, most))
                with contextlib.suppress(LifecycleError):  # verified by its clear already; not verified: open
                    step(event_id, dora)
    clock.now = utc_now()
    lifecycle.verify_cleared()
    db.close()


def measure_routes(base: str, db_path: str, runs: int) -> Timer:
    db = Database(db_path)
    case = db.execute("SELECT event_id FROM review_dispatches WHERE district = 'Lucheng' AND grid = 'LC-01' "
                      "ORDER BY dispatched_at DESC LIMIT 1").fetchone()[0]
    warns = db.execute("SELECT count(*) FROM events WHERE type = 'warn'").fetchone()[0]
    event = db.execute("SELECT event_id FROM events WHERE type = 'warn' ORDER BY rowid LIMIT 1 OFFSET ?",
                       (warns // 2,)).fetchone()[0]
    waiting = [r[0] for r in db.execute(  # without a clear event, which would verify them once handled
        "SELECT d.event_id FROM review_dispatches d JOIN events e USING (event_id) WHERE d.state = 'dispatched' "
        "AND d.district = 'Lucheng' AND d.grid = 'LC-01' AND NOT EXISTS (SELECT 1 FROM events c WHERE c.camera_id "
        "= e.camera_id AND c.zone_id = e.zone_id AND c.object_id = e.object_id AND c.type = 'clear') "
        "ORDER BY d.dispatched_at DESC")]
    db.close()
    if len(waiting) < runs:
        raise SystemExit(f"only {len(waiting)} dispatched cases left in LC-01 for {runs} runs; build the store again")
    ada, dora, rita, olga = (log_in(base, name) for name in ("ada", "dora", "rita", "officer-lc-01"))
    timer = Timer()
    get = lambda client, path: lambda _i: client.get(path)  # noqa: E731
    quoted = quote(case, safe="")
    routes = [
        (rita, "GET  /queue (reviewer)", "/queue"),
        (rita, "GET  /events/<id> (reviewer)", f"/events/{event}"),
        (rita, "GET  /api/events", "/api/events"),
        (olga, "GET  /officer (officer: their unit's open cases)", "/officer"),
        (olga, "GET  /api/cases (officer)", "/api/cases"),
        (olga, "GET  /api/cases/<id> (officer)", f"/api/cases/{case}"),
        (olga, "GET  /officer/photo?case&key=snapshot (officer)", f"/officer/photo?case={quoted}&key=snapshot"),
        (dora, "GET  /officer (dispatcher: every unit, newest 200)", "/officer"),
        (dora, "GET  /api/cases (dispatcher)", "/api/cases"),
        (dora, "GET  /admin/reports (dispatcher, default: last 30 days)", "/admin/reports"),
        (dora, f"GET  /admin/reports?{REPORT_RANGE}", f"/admin/reports?{REPORT_RANGE}"),
        (dora, f"GET  /api/admin/reports?{REPORT_RANGE}", f"/api/admin/reports?{REPORT_RANGE}"),
        (dora, f"GET  /admin/reports.csv?{REPORT_RANGE}", f"/admin/reports.csv?{REPORT_RANGE}"),
        (ada, "GET  /admin (precision)", "/admin"),
        (ada, "GET  /api/admin/stats", "/api/admin/stats"),
        (ada, "GET  /admin/audit", "/admin/audit"),
        (ada, "GET  /admin/export (counts)", "/admin/export"),
        (ada, "GET  /admin/sinks", "/admin/sinks"),
        (ada, "GET  /admin/cameras", "/admin/cameras"),
        (ada, "GET  /admin/zones", "/admin/zones"),
        (ada, "GET  /admin/plates (repeat offenders)", "/admin/plates"),
    ]
    for client, label, path in routes:
        timer.measure(label, get(client, path), runs)
    officer_csrf = re.search(r'name="csrf" value="([^"]+)"', olga.get("/officer").text)[1]
    dispatcher_csrf = re.search(r'name="csrf" value="([^"]+)"', dora.get("/officer").text)[1]
    timer.measure("POST /api/cases/handled (officer, a note)", lambda i: olga.post(
        "/api/cases/handled", data={"case": waiting[i], "note": "moved on"},
        headers={"X-CSRF-Token": officer_csrf}), runs)
    for step in ("verify", "close"):
        timer.measure(f"POST /api/cases/{step} (dispatcher)", lambda i, step=step: dora.post(
            f"/api/cases/{step}", json={"case": waiting[i]}, headers={"X-CSRF-Token": dispatcher_csrf}), runs)
    for label, path in (("GET  /map", "/map"), ("GET  /api/map", "/api/map")):
        if ada.get(path).status_code == 404:
            print(f"{path}: not in this app (skipped)")
            continue
        timer.measure(label, get(dora, path), runs)
    return timer


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=50_000)
    parser.add_argument("--cases", type=int, default=5_000)
    parser.add_argument("--runs", type=int, default=7, help="requests per route")
    parser.add_argument("--work", type=Path, help="folder for the store (default: a temporary folder)")
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--again", action="store_true", help="time the store an earlier run left in --work")
    args = parser.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="case-load-"))
    work.mkdir(parents=True, exist_ok=True)
    config, db_path = work / "cameras.yaml", str(work / "out" / "events.db")
    if not args.again:
        rng = random.Random(args.seed)
        started = time.perf_counter()
        write_config(work)
        build_store(work, config, args.events, rng, units={f"cam-{c:02d}": unit_of(c) for c in range(CAMERAS)})
        filled = time.perf_counter()
        open_cases(Database(db_path), args.cases, rng)
        print(f"built: events in {filled - started:.0f} s, cases in {time.perf_counter() - filled:.0f} s")
    db = Database(db_path)
    events = db.execute("SELECT count(*) FROM events").fetchone()[0]
    states = dict(db.execute("SELECT state, count(*) FROM review_dispatches GROUP BY state").fetchall())
    print(f"store: {events:,} events on {CAMERAS} cameras in 10 grids, {sum(states.values()):,} cases "
          f"({', '.join(f'{n:,} {s}' for s, n in sorted(states.items()))}), {store_size(db):.1f} MB")
    db.close()
    time_app(db_path, config, lambda base: measure_routes(base, db_path, args.runs))


if __name__ == "__main__":
    main()
