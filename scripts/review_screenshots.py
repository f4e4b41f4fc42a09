"""Screenshots of the reviewers' app for the README, from a real run: `streetorder process` on two clips of
../shared/data with the real model, accounts of every role, a few verdicts and the cases they dispatched (one
handled, one closed), then Debian's Chromium through Playwright: the queue, an event, the zone editor, the officer
page (at a phone's width) and the operations map of this run (review-map-run.png, when the app has /map; the
README's review-map.png is docs/MAP.md's, with unit polygons and a patrol track); the reports over the weeks of
cases of a small scripts/case_load.py store.

    STREETORDER_MODEL_PATH=../shared/models .venv/bin/python scripts/review_screenshots.py [--out docs/images]
"""

from __future__ import annotations

import argparse
import io
import random
import sys
import tempfile
import threading
import time
from contextlib import redirect_stdout
from pathlib import Path

import uvicorn
from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

import case_load  # noqa: E402

from review.accounts import Accounts  # noqa: E402
from review.app import create_app  # noqa: E402
from review.db import Database  # noqa: E402
from review.lifecycle import Lifecycle  # noqa: E402
from review.verdicts import Verdicts  # noqa: E402
from review.zone_editor import ZoneFile  # noqa: E402
from streams.config_rules import PipelineConfigRules  # noqa: E402
from streetorder.cli import main as streetorder  # noqa: E402

CLIPS = ROOT.parent / "shared" / "data" / "clips"
CONFIG = f"""\
# Two real clips; short warn_after so that their parked cars give events.
analysis_fps: 2
defaults:
  warn_after: 10s
cameras:
  - id: us-residential
    source: {CLIPS / "us_residential_street.mp4"}
    name: Residential street pole
    location: Oak Ave, by no. 12
    geo: [120.6712, 28.0011]
    unit: {{district: Lucheng, grid: LC-0412, road: Oak Ave}}
    zones:
      - id: driveway
        type: sidewalk
        polygon: [[560, 150], [640, 150], [640, 200], [560, 200]]
      - id: far-kerb
        type: sidewalk
        polygon: [[340, 125], [430, 125], [430, 172], [340, 172]]
        clear_after: 5s
  - id: cn-curbside
    source: {CLIPS / "cn_curbside_parking.mp4"}
    name: Tree-lined street
    location: Binhai Rd, east kerb
    geo: [120.6741, 28.0023]
    unit: {{district: Lucheng, grid: LC-0413, road: Binhai Rd}}
    zones:
      - id: east-kerb
        type: sidewalk
        polygon: [[360, 120], [576, 120], [576, 420], [360, 420]]
      - id: west-kerb
        type: sidewalk
        polygon: [[0, 50], [150, 50], [150, 140], [0, 140]]
"""
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]


def build(work: Path) -> tuple[Path, Path]:
    config = work / "cameras.yaml"
    config.write_text(CONFIG, encoding="utf-8")
    out = work / "out"
    with redirect_stdout(io.StringIO()):
        status = streetorder(["process", "--config", str(config), "--out", str(out),
                              "--start-time", "2026-11-22T08:00:00+08:00"])
    if status != 0:
        raise SystemExit(f"streetorder process failed with status {status}")
    db = Database(out / "events.db")
    accounts = Accounts(db)
    accounts.add_user("ada", "admin", "ada-admin-password")
    rita = accounts.add_user("rita", "reviewer", "rita-reviewer-password")
    dora = accounts.add_user("dora", "dispatcher", "dora-dispatcher-password")
    olga = accounts.add_user("olga", "officer", "olga-officer-password", district="Lucheng")
    alarms = [r[0] for r in db.execute("SELECT event_id FROM events WHERE type = 'warn' ORDER BY rowid")]
    verdicts, lifecycle = Verdicts(db), Lifecycle(db)
    for event_id in alarms[1:]:  # the first stays in the queue, awaiting review
        verdicts.record(event_id, rita, "confirm")
    for n, event_id in enumerate(alarms[1:3]):  # one handled, one closed: the other steps on the officer page
        lifecycle.handled(event_id, olga, "asked the driver to move on; the car left")
        if n == 1 and lifecycle.case(event_id, dora).state == "handled":
            lifecycle.verify(event_id, dora)
        if n == 1:
            lifecycle.close(event_id, dora)
    return out / "events.db", config


REAL_RUN = (
    ("rita", "rita-reviewer-password", 1360, [("/queue?status=all", "review-queue.png", None)]),
    ("ada", "ada-admin-password", 1360, [("/queue?status=pending", "review-event.png", "open"),
                                         ("/admin/zones/us-residential", "review-zones.png", "select")]),
    ("olga", "olga-officer-password", 430, [("/officer", "review-officer.png", None)]),
    ("dora", "dora-dispatcher-password", 1360, [("/map", "review-map-run.png", "if-present")]),
)
# The reports need weeks of cases: those of scripts/case_load.py (synthetic events, cases moved on by the app's code)
LOAD_RUN = (("dora", case_load.PASSWORD, 1360, [(f"/admin/reports?{case_load.REPORT_RANGE}", "review-reports.png",
                                                  None)]),)


def build_cases(work: Path) -> tuple[Path, Path]:
    """A small store of scripts/case_load.py: 4,000 events of October 2026 and 400 cases."""
    rng = random.Random(5)
    config = case_load.write_config(work)
    case_load.build_store(work, config, 4000, rng,
                          units={f"cam-{c:02d}": case_load.unit_of(c) for c in range(case_load.CAMERAS)})
    case_load.open_cases(Database(work / "out" / "events.db"), 400, rng)
    return work / "out" / "events.db", config


def shoot(db: Path, config: Path, images: Path, accounts: tuple, port: int = 8931) -> None:
    app = create_app(db, ZoneFile(config, PipelineConfigRules()))
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.05)
    base = f"http://127.0.0.1:{port}"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
        for name, password, width, pages in accounts:
            page = browser.new_context(viewport={"width": width, "height": 900}).new_page()
            page.goto(base + "/login")
            page.fill('input[name="name"]', name)
            page.fill('input[name="password"]', password)
            page.click('button[type="submit"]')
            page.wait_for_load_state("networkidle")
            for path, file, action in pages:
                if action == "if-present" and page.request.get(base + path).status == 404:
                    print(f"{path}: not in this app yet, no {file}")
                    continue
                page.goto(base + path)
                if action == "open":
                    page.keyboard.press("Enter")
                    page.wait_for_url(base + "/events/**")
                if action == "select":  # click inside the far-kerb zone to show its corners and settings
                    page.wait_for_function("document.getElementById('zone-canvas').width === 640")
                    box = page.locator("#zone-canvas").bounding_box()
                    page.mouse.click(box["x"] + 385 * box["width"] / 640, box["y"] + 150 * box["height"] / 352)
                if action == "if-present":  # the map keeps its event stream open: never network-idle
                    page.wait_for_timeout(1500)
                else:
                    page.wait_for_load_state("networkidle")
                page.screenshot(path=str(images / file), full_page=False)
                print(f"wrote {images / file}")
        browser.close()
    server.should_exit = True


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "images", help="folder for the PNG files")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as work:
        db, config = build(Path(work))
        shoot(db, config, args.out, REAL_RUN)
        (Path(work) / "cases").mkdir()
        db, config = build_cases(Path(work) / "cases")
        shoot(db, config, args.out, LOAD_RUN, port=8932)


if __name__ == "__main__":
    main()
