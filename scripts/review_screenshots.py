"""Screenshots of the reviewers' app for the README, from a real run: `streetorder process` on two clips of
../shared/data with the real model, two accounts, a few verdicts, then Debian's Chromium through Playwright.

    STREETORDER_MODEL_PATH=../shared/models .venv/bin/python scripts/review_screenshots.py [--out docs/images]
"""

from __future__ import annotations

import argparse
import io
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

from review.accounts import Accounts  # noqa: E402
from review.app import create_app  # noqa: E402
from review.db import Database  # noqa: E402
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
    unit: Demo district
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
    unit: Street office 3
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
    alarms = [r[0] for r in db.execute("SELECT event_id FROM events WHERE type = 'warn' ORDER BY rowid")]
    if alarms:
        Verdicts(db).record(alarms[0], rita, "confirm")
    return out / "events.db", config


def shoot(db: Path, config: Path, images: Path) -> None:
    app = create_app(db, ZoneFile(config, PipelineConfigRules()))
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=8931, log_level="warning"))
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.05)
    base = "http://127.0.0.1:8931"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
        for name, password, pages in (
            ("rita", "rita-reviewer-password", [("/queue?status=all", "review-queue.png", None)]),
            ("ada", "ada-admin-password", [("/queue?status=pending", "review-event.png", "open"),
                                           ("/admin/zones/us-residential", "review-zones.png", "select")]),
        ):
            page = browser.new_context(viewport={"width": 1360, "height": 900}).new_page()
            page.goto(base + "/login")
            page.fill('input[name="name"]', name)
            page.fill('input[name="password"]', password)
            page.click('button[type="submit"]')
            page.wait_for_url(base + "/queue")
            for path, file, action in pages:
                page.goto(base + path)
                if action == "open":
                    page.keyboard.press("Enter")
                    page.wait_for_url(base + "/events/**")
                if action == "select":  # click inside the far-kerb zone to show its corners and settings
                    page.wait_for_function("document.getElementById('zone-canvas').width === 640")
                    box = page.locator("#zone-canvas").bounding_box()
                    page.mouse.click(box["x"] + 385 * box["width"] / 640, box["y"] + 150 * box["height"] / 352)
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
        shoot(db, config, args.out)


if __name__ == "__main__":
    main()
