"""Load test of the reviewers' app: a store of 50,000 events, then every page and API route timed side by side.

The store is filled through the project's own writers (events.store.EventStore.add, the pipeline's
EvidenceWriter on a real frame of ../shared/data when it is there, review.verdicts.Verdicts.record), with a fixed
random seed, so every run builds the same store. The app runs as `streetorder review serve` in its own process;
each route is requested --runs times over HTTP on loopback, and the median and the worst time are printed.

The store is an SQLite file in the work folder, or with ``--store URL`` an empty PostgreSQL database (or schema:
``?options=-csearch_path%3Dname``), so the same pages can be timed on both.

    .venv/bin/python scripts/review_load.py [--events 50000] [--runs 9] [--work DIR] [--store postgresql://...]
"""

from __future__ import annotations

import argparse
import os
import random
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

import httpx2 as httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from contracts.urls import mask_credentials  # noqa: E402
from events.evidence import EvidenceWriter  # noqa: E402
from events.record import Event  # noqa: E402
from events.store import EventStore  # noqa: E402
from review.accounts import Accounts  # noqa: E402
from review.db import Database  # noqa: E402
from review.verdicts import REASONS, Verdicts  # noqa: E402
from tests.review.site import street_frame  # noqa: E402
from zones.config import load_config  # noqa: E402
from zones.dwell import StateChange  # noqa: E402

CAMERAS = 20
ZONES = (("walk", "sidewalk", "sidewalk_parking"), ("bikes", "monitored_area", "misparked_bike"),
         ("market", "no_vending", "street_vending"))
CLASSES = {"sidewalk_parking": ("car", "truck", "bus"), "misparked_bike": ("bicycle",),
           "street_vending": ("umbrella", "dining_table")}
BOX = (350.0, 133.0, 415.0, 164.0)
START = datetime.fromisoformat("2026-10-01T07:00:00+08:00")
PASSWORD = "load-test-password"


def write_config(work: Path) -> Path:
    lines = ["analysis_fps: 2", "cameras:"]
    for c in range(CAMERAS):
        lines += [f"  - id: cam-{c:02d}", f"    source: rtsp://10.0.{c}.5/stream", f"    name: Street camera {c}",
                  "    zones:"]
        for z, (zone, kind, _) in enumerate(ZONES):
            y = 40 + 100 * z
            lines += [f"      - id: {zone}", f"        type: {kind}",
                      f"        polygon: [[20, {y}], [620, {y}], [620, {y + 90}], [20, {y + 90}]]"]
    path = work / "cameras.yaml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def build_store(work: Path, config_path: Path, events: int, rng: random.Random,
                target: str | None = None, units: dict[str, dict] | None = None) -> tuple[str, dict]:
    """Fill the store (``target``, else work/out/events.db) and the evidence folder work/out; ``units`` gives a
    camera's events their unit."""
    out = work / "out"
    target = target or str(out / "events.db")
    store = EventStore(target)
    if store.db.execute("SELECT count(*) FROM events").fetchone()[0]:
        raise SystemExit(f"{mask_credentials(target)} already holds events; give an empty store")
    frame = street_frame()
    photos = {}
    for camera in load_config(config_path).cameras:
        store.save_camera(camera.id, str(camera.source), [z.model_dump() for z in camera.zones], str(out.resolve()),
                          camera.name)
        writer = EvidenceWriter(out, camera)
        for zone, _, rule in ZONES:  # one real set of photos per camera and zone, shared by its events
            rest = StateChange("rest", rule, zone, "0", "car", 0.0, 0.0, BOX, 0.8)
            warn = StateChange("warn", rule, zone, "0", "car", 480.0, 0.0, BOX, 0.8)
            writer.hold(rest, writer.take(rest, frame, 0.0, START))
            photos[camera.id, zone] = writer.save(warn, writer.take(warn, frame, 480.0, START))
    written, obj = 0, 0
    while written < events:
        camera, (zone, _, rule) = f"cam-{rng.randrange(CAMERAS):02d}", rng.choice(ZONES)
        obj += 1
        since = rng.uniform(0, 30 * 86400)
        kinds = ["warn"] + (["escalate"] if rng.random() < 0.1 else []) + (["clear"] if rng.random() < 0.75 else [])
        for kind in kinds[:events - written]:
            t = since + {"warn": 480.0, "escalate": 1800.0, "clear": 2400.0}[kind]
            store.add(Event(event_id=f"{camera}/{zone}/{obj}/{kind}", type=kind, rule=rule, camera_id=camera,
                            zone_id=zone, object_id=str(obj), class_name=rng.choice(CLASSES[rule]), t=round(t, 3),
                            ts=(START + timedelta(seconds=t)).isoformat(), since_t=round(since, 3),
                            dwell_s=round(t - since, 3), bbox=list(BOX), score=round(rng.uniform(0.3, 0.95), 3),
                            evidence=photos[camera, zone], unit=(units or {}).get(camera)))
            written += 1
    store.close()
    return target, {"events": written, "objects": obj}


def store_size(db: Database) -> float:
    """The store's size in MB: the SQLite file, or the PostgreSQL tables with their indexes."""
    if db.dialect == "sqlite":
        return os.path.getsize(db.target) / 1e6
    return float(db.execute("SELECT sum(pg_total_relation_size(quote_ident(table_name))) FROM "
                            "information_schema.tables WHERE table_schema = current_schema()").fetchone()[0]) / 1e6


def add_verdicts(db_path: str, rng: random.Random) -> int:
    db = Database(db_path)
    accounts = Accounts(db)
    users = {name: accounts.add_user(name, role, PASSWORD)
             for name, role in (("ada", "admin"), ("rita", "reviewer"), ("rob", "reviewer"))}
    verdicts = Verdicts(db)
    warns = [r[0] for r in db.execute("SELECT event_id FROM events WHERE type = 'warn' ORDER BY rowid")]
    count = 0
    for event_id in warns[: int(len(warns) * 0.6)]:  # the older 60% of alarms are judged
        reviewers = rng.sample(["rita", "rob"], 2 if rng.random() < 0.15 else 1)
        for name in reviewers:
            roll = rng.random()
            choice = ("confirm", None) if roll < 0.72 else ("unsure", None) if roll < 0.8 else (
                "reject", rng.choice(list(REASONS)))
            verdicts.record(event_id, users[name], *choice)
            count += 1
    db.close()
    return count


class Timer:
    """Requests of one route, timed; the first request's cost (cold caches) counts in the worst time."""

    def __init__(self):
        self.rows: list[tuple[str, list[float], int, int]] = []

    def measure(self, label: str, send, runs: int) -> None:
        times, size, status = [], 0, 0
        for i in range(runs):
            start = time.perf_counter()
            response = send(i)
            times.append((time.perf_counter() - start) * 1000)
            size, status = len(response.content), response.status_code
            if status >= 400:
                raise SystemExit(f"{label}: HTTP {status}: {response.text[:300]}")
        self.rows.append((label, times, size, status))

    def report(self) -> str:
        lines = [f"{'route':<58} {'runs':>4} {'median ms':>10} {'worst ms':>9} {'bytes':>9}"]
        for label, times, size, _ in self.rows:
            lines.append(f"{label:<58} {len(times):>4} {statistics.median(times):>10.1f} {max(times):>9.1f} "
                         f"{size:>9}")
        return "\n".join(lines)


def serve(db: str, config: Path) -> tuple[subprocess.Popen, str]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = subprocess.Popen([str(ROOT / ".venv" / "bin" / "streetorder"), "review", "serve", "--db", str(db),
                                "--config", str(config), "--port", str(port)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    for _ in range(200):
        try:
            httpx.get(base + "/login", timeout=1)
            return process, base
        except httpx.TransportError:
            time.sleep(0.1)
    process.kill()
    raise SystemExit("the review app did not start")


def time_app(db: str, config: Path, measure: Callable[[str], Timer]) -> None:
    """Serve the app over ``db``, time its routes with ``measure(base_url)``, print the table and the slowest."""
    process, base = serve(db, config)
    try:
        timer = measure(base)
    finally:
        process.terminate()
        process.wait(timeout=10)
    print(timer.report())
    worst = max(timer.rows, key=lambda row: max(row[1]))
    print(f"slowest single request: {worst[0].strip()} at {max(worst[1]):.0f} ms")


def log_in(base: str, name: str) -> httpx.Client:
    client = httpx.Client(base_url=base, follow_redirects=False, timeout=60)
    token = re.search(r'name="csrf" value="([^"]+)"', client.get("/login").text)[1]
    assert client.post("/login", data={"name": name, "password": PASSWORD, "csrf": token}).status_code == 303
    return client


def measure_routes(base: str, db_path: str, runs: int) -> Timer:
    rita, ada = log_in(base, "rita"), log_in(base, "ada")
    csrf = re.search(r'name="csrf" value="([^"]+)"', rita.get("/queue").text)[1]
    admin_csrf = re.search(r'name="csrf" value="([^"]+)"', ada.get("/queue").text)[1]
    db = Database(db_path)
    pending = [r[0] for r in db.execute("SELECT event_id FROM review_cases WHERE status = 'pending' "
                                        "AND type = 'warn' ORDER BY seq DESC")]
    warns = db.execute("SELECT count(*) FROM events WHERE type = 'warn'").fetchone()[0]
    middle = db.execute("SELECT event_id, evidence FROM events WHERE type = 'warn' ORDER BY rowid "
                        "LIMIT 1 OFFSET ?", (warns // 2,)).fetchone()
    crop = re.search(r'"crop": "([^"]+)"', middle[1])[1]
    last_page = -(-db.execute("SELECT count(*) FROM events WHERE type IN ('warn', 'escalate')").fetchone()[0] // 50)
    db.close()
    timer = Timer()
    get = lambda client, path: lambda _i: client.get(path)  # noqa: E731
    timer.measure("GET  /login (anonymous)", lambda _i: httpx.get(base + "/login"), runs)
    for label, path in (
        ("GET  /queue (awaiting review, newest first)", "/queue"),
        ("GET  /queue?order=oldest", "/queue?order=oldest"),
        ("GET  /queue?camera&zone&rule", "/queue?camera=cam-07&zone=walk&rule=sidewalk_parking&status=all"),
        ("GET  /queue?status=confirmed", "/queue?status=confirmed"),
        ("GET  /queue?status=disputed (rare)", "/queue?status=disputed"),
        ("GET  /queue?status=mine", "/queue?status=mine"),
        ("GET  /queue?day_from&day_to (one day)", "/queue?status=all&day_from=2026-10-15&day_to=2026-10-15"),
        (f"GET  /queue?status=all&page={last_page} (last page)", f"/queue?status=all&page={last_page}"),
        ("GET  /events/<id> (with queue filters)", f"/events/{middle[0]}?status=all&camera={middle[0].split('/')[0]}"),
        ("GET  /evidence/<camera>/<crop>", f"/evidence/{middle[0].split('/')[0]}/{crop}"),
        ("GET  /api/events", "/api/events"),
        ("GET  /api/events/<id>", f"/api/events/{middle[0]}"),
    ):
        timer.measure(label, get(rita, path), runs)
    timer.measure("POST /verdicts (form; redirect to the next case)",
                  lambda i: rita.post("/verdicts", data={"event_id": pending[i], "choice": "confirm", "csrf": csrf}),
                  runs)
    timer.measure("POST /api/verdicts",
                  lambda i: rita.post("/api/verdicts", json={"event_id": pending[runs + i], "verdict": "reject",
                                                             "reason": "permitted"},
                                      headers={"X-CSRF-Token": csrf}), runs)
    for label, path in (
        ("GET  /admin (precision per camera and rule, agreement)", "/admin"),
        ("GET  /api/admin/stats", "/api/admin/stats"),
        ("GET  /admin/audit", "/admin/audit"),
        ("GET  /admin/audit?user=rob", "/admin/audit?user=rob"),
        ("GET  /admin/export (counts)", "/admin/export"),
        ("GET  /admin/zones", "/admin/zones"),
        ("GET  /admin/zones/cam-03 (editor)", "/admin/zones/cam-03"),
        ("GET  /admin/zones/cam-03/picture", "/admin/zones/cam-03/picture"),
    ):
        timer.measure(label, get(ada, path), runs)

    def save_zones(_i):
        page = ada.get("/admin/zones/cam-03").text
        version = re.search(r'"version": "([0-9a-f]+)"', page)[1]
        zones = [{"id": "walk", "type": "sidewalk", "polygon": [[20, 40], [620, 40], [620, 130], [20, 130]]}]
        return ada.post("/api/admin/zones/cam-03", json={"version": version, "zones": zones},
                        headers={"X-CSRF-Token": admin_csrf})

    timer.measure("POST /api/admin/zones/cam-03 (incl. reading the editor)", save_zones, runs)
    first_bytes = []

    def export(_i):
        start = time.perf_counter()
        with ada.stream("POST", "/admin/export", data={"csrf": admin_csrf}) as response:
            chunks = response.iter_bytes()
            body = [next(chunks)]
            first_bytes.append((time.perf_counter() - start) * 1000)
            body.extend(chunks)
        return httpx.Response(response.status_code, content=b"".join(body))

    timer.measure("POST /admin/export (the whole dataset zip, to the end)", export, max(3, runs // 3))
    print(f"export: first bytes of the zip after a median {statistics.median(first_bytes):.0f} ms "
          f"(worst {max(first_bytes):.0f} ms); it streams while the images are read")
    return timer


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=50_000)
    parser.add_argument("--runs", type=int, default=9, help="requests per route")
    parser.add_argument("--work", type=Path, help="folder for the store (default: a temporary folder)")
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--store", metavar="URL", help="an empty PostgreSQL store (postgresql://...) instead of an "
                                                       "SQLite file in the work folder")
    args = parser.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="review-load-"))
    work.mkdir(parents=True, exist_ok=True)
    rng = random.Random(args.seed)
    started = time.perf_counter()
    config = write_config(work)
    db_path, built = build_store(work, config, args.events, rng, args.store)
    verdicts = add_verdicts(db_path, rng)
    db = Database(db_path)
    print(f"store: {built['events']:,} events of {built['objects']:,} objects on {CAMERAS} cameras, {verdicts:,} "
          f"verdicts by 2 reviewers, {store_size(db):.1f} MB ({db.label}); built in "
          f"{time.perf_counter() - started:.0f} s")
    db.close()
    time_app(db_path, config, lambda base: measure_routes(base, db_path, args.runs))


if __name__ == "__main__":
    main()
