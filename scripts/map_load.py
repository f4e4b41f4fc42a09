"""How many live updates per second the operations map takes before it falls behind.

A store with one placed camera and an admin; the app runs as `streetorder review serve` in its own process; Debian's
headless Chromium (through Playwright) opens /map and keeps it open. Events are then written into the store with the
project's own row and statement (events.store: one transaction per event while the writer keeps up; once it does
not, the events due together in one transaction, as many cameras' writers would commit them) at increasing rates,
each rate for --seconds. The page notes when each event reached it (map.js keeps its receipts); the lag is that
time minus the moment the event's transaction committed (one machine, one clock). The run stops at the first rate
whose median lag exceeds --limit seconds (or whose events do not all arrive).

    .venv/bin/python scripts/map_load.py [--rates 25,100,400,1600,3200,6400,12800] [--seconds 5] [--limit 1.0]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

from review_load import serve  # noqa: E402

from events.record import Event  # noqa: E402
from events.store import _INSERT as INSERT  # noqa: E402  (EventStore.add's statement, batched here)
from events.store import EventStore, event_row  # noqa: E402
from review.accounts import Accounts  # noqa: E402
from review.db import Database  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
PASSWORD = "map-load-admin-password"
GEO = (120.6712, 28.0011)
CONFIG = f"""\
cameras:
  - id: cam-01
    source: cam-01.mp4
    name: Load camera
    geo: [{GEO[0]}, {GEO[1]}]
    unit: {{district: Lucheng, grid: LC-0412}}
    zones:
      - id: kerb
        type: sidewalk
        polygon: [[0, 300], [640, 300], [640, 352], [0, 352]]
"""


def build(work: Path) -> tuple[Path, Path]:
    """The store (with the camera and an admin) and the config."""
    config, db = work / "cameras.yaml", work / "events.db"
    config.write_text(CONFIG, encoding="utf-8")
    store = EventStore(db)
    store.save_camera("cam-01", "cam-01.mp4", [], str(work), "Load camera", None, "Lucheng · LC-0412")
    store.close()
    accounts_db = Database(db)
    Accounts(accounts_db).add_user("ada", "admin", PASSWORD)
    accounts_db.close()
    return db, config


def event(number: int) -> Event:
    return Event.model_validate({
        "event_id": f"cam-01/kerb/{number}/warn", "type": "warn", "rule": "sidewalk_parking", "camera_id": "cam-01",
        "zone_id": "kerb", "object_id": str(number), "class": "car", "t": float(number), "ts":
        datetime.now(UTC).isoformat(timespec="milliseconds"), "since_t": 0.0, "dwell_s": 480.0, "bbox": [1, 2, 3, 4],
        "score": 0.9, "evidence": {}, "lon": GEO[0] + (number % 50) * 1e-5, "lat": GEO[1],
        "unit": {"district": "Lucheng", "grid": "LC-0412", "road": None}})


def write_at(store: EventStore, rate: float, seconds: float, first: int) -> dict[str, float]:
    """Write ``rate`` events a second for ``seconds``; each event id with its commit time (epoch ms). Events that
    are due together (a writer behind its schedule) are committed in one transaction, as many cameras' would be."""
    committed: dict[str, float] = {}
    count = int(rate * seconds)
    made = {n: (f"cam-01/kerb/{n}/warn", event_row(event(n))) for n in range(first, first + count)}  # made ahead
    start, number = time.monotonic(), first
    while number < first + count:
        due = min(first + count, first + 1 + int((time.monotonic() - start) * rate))
        if due <= number:
            time.sleep(min(0.01, (number - first) / rate + start - time.monotonic() + 1e-4))
            continue
        recorded_at = datetime.now(UTC).isoformat(timespec="seconds")
        with store.db.transaction() as tx:
            for n in range(number, due):
                tx.execute(INSERT, {**made[n][1], "recorded_at": recorded_at})
        now = time.time() * 1000
        committed.update((made[n][0], now) for n in range(number, due))
        number = due
    return committed


def measure(page, store: EventStore, rate: float, seconds: float, first: int) -> dict[str, float]:
    page.evaluate("window.streetorderMapReceived.length = 0")
    started = time.monotonic()
    committed = write_at(store, rate, seconds, first)
    wrote = len(committed) / (time.monotonic() - started)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:  # let the page drain (a page that never does is behind for good)
        if page.evaluate("window.streetorderMapReceived.length") >= len(committed):
            break
        time.sleep(0.2)
    received = {r["event_id"]: r["at"] for r in page.evaluate("window.streetorderMapReceived")}
    lags = sorted((received[e] - at) / 1000 for e, at in committed.items() if e in received)
    return {"rate": rate, "wrote": wrote, "events": len(committed), "received": len(lags),
            "median": statistics.median(lags) if lags else float("inf"),
            "p95": lags[int(0.95 * (len(lags) - 1))] if lags else float("inf"), "worst": lags[-1] if lags else 0.0}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rates", default="25,100,400,1600,3200,6400,12800", help="events per second, in order")
    parser.add_argument("--seconds", type=float, default=5.0, help="how long each rate is written")
    parser.add_argument("--limit", type=float, default=1.0, help="the median lag (s) that counts as behind")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory(prefix="map-load-") as folder:
        db, config = build(Path(folder))
        process, base = serve(db, config)
        store = EventStore(db)
        first, rows = 0, []
        try:
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--headless", "--no-sandbox"])
                page = browser.new_page(viewport={"width": 1280, "height": 800})
                page.goto(base + "/login?next=%2Fmap")
                page.fill('input[name="name"]', "ada")
                page.fill('input[name="password"]', PASSWORD)
                page.click('button[type="submit"]')
                page.wait_for_selector("#live-state:text('live')")
                print(f"{'rate/s':>7} {'wrote/s':>8} {'events':>7} {'got':>6} {'median s':>9} {'p95 s':>7} "
                      f"{'worst s':>8}")
                for rate in (float(r) for r in args.rates.split(",")):
                    row = measure(page, store, rate, args.seconds, first)
                    first += row["events"]
                    rows.append(row)
                    print(f"{rate:>7.0f} {row['wrote']:>8.1f} {row['events']:>7} {row['received']:>6} "
                          f"{row['median']:>9.3f} {row['p95']:>7.3f} {row['worst']:>8.3f}", flush=True)
                    if row["median"] > args.limit or row["received"] < row["events"]:
                        break
                browser.close()
        finally:
            store.close()
            process.terminate()
            process.wait(timeout=10)
    kept = [r for r in rows if r["median"] <= args.limit and r["received"] == r["events"]]
    behind = next((r for r in rows if r not in kept), None)
    print(f"keeps up at {kept[-1]['rate']:.0f} events/s" if kept else "falls behind at the first rate",
          f"(median lag {kept[-1]['median']:.3f} s);" if kept else ";",
          f"behind at {behind['rate']:.0f}/s (median {behind['median']:.3f} s, {behind['received']} of "
          f"{behind['events']} arrived)" if behind else "never behind at the rates tried")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
