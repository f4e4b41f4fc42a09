"""The real pages in a real browser: Debian's Chromium driven by Playwright, the app served by uvicorn on loopback.

A reviewer logs in and judges three cases with the keyboard; an admin sees them in the audit trail, downloads the
dataset and draws a zone that lands in the config YAML.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from review.verdicts import Verdicts
from tests.review import verdict_set
from tests.review.map_site import serving
from tests.review.site import PASSWORDS
from zones.config import load_config

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.is_file():
        pytest.skip(f"{CHROMIUM} is absent: install Debian's chromium (scripts/test.sh does)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def served(site):
    """The app over the test site, on a free loopback port, for the length of one test."""
    with serving(site) as (base, _app):
        yield base


@pytest.fixture
def open_page(browser):
    contexts = []

    def log_in(base: str, name: str):
        context = browser.new_context(viewport={"width": 1400, "height": 900})
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(15_000)
        page.goto(base + "/queue")
        assert "/login" in page.url
        page.fill('input[name="name"]', name)
        page.fill('input[name="password"]', PASSWORDS[name])
        page.click('button[type="submit"]')
        page.wait_for_url(base + "/queue")
        return page

    yield log_in
    for context in contexts:
        context.close()


def test_a_reviewer_judges_three_cases_with_the_keyboard(served, site, open_page):
    page = open_page(served, "rita")
    queue = page.eval_on_selector_all("table.queue tbody tr", "rows => rows.map(r => r.dataset.href)")
    assert len(queue) == 5
    ids = [href.removeprefix("/events/") for href in queue]
    page.keyboard.press("Enter")  # the first row is selected
    page.wait_for_url(f"{served}/events/{ids[0]}")
    assert page.locator("figure img").count() == 4
    page.keyboard.press("c")
    page.wait_for_url(f"{served}/events/{ids[1]}?*")
    assert "Saved confirm on " + ids[0] in page.inner_text(".flash")
    page.keyboard.press("r")
    page.keyboard.press("2")  # not resting
    page.wait_for_url(f"{served}/events/{ids[2]}?*")
    page.keyboard.press("u")
    page.wait_for_url(f"{served}/events/{ids[3]}?*")

    verdicts = Verdicts(site.database())
    judged = {e: [(v.user_name, v.verdict, v.reason) for v in verdicts.of_event(e)] for e in ids[:4]}
    assert judged == {ids[0]: [("rita", "confirm", None)], ids[1]: [("rita", "reject", "not_resting")],
                      ids[2]: [("rita", "unsure", None)], ids[3]: []}

    audit = open_page(served, "ada")
    audit.goto(served + "/admin/audit?user=rita")
    actions = audit.eval_on_selector_all("table.audit tbody tr td:nth-child(3)", "cells => cells.map(c => c.innerText)")
    assert actions == ["verdict", "verdict", "case dispatched", "verdict", "login", "user added"]  # newest first
    text = audit.inner_text("table.audit")
    for event_id, shown in ((ids[0], "confirm"), (ids[1], "reject (not resting)"), (ids[2], "unsure")):
        assert event_id in text and shown in text


def test_a_reviewer_changes_their_mind_and_the_audit_trail_shows_it(served, site, open_page):
    page = open_page(served, "rob")
    event = site.event_ids[0]
    page.goto(f"{served}/events/{event}?status=all")
    page.keyboard.press("1")  # reject: wrong object
    page.wait_for_url("**saved=*")
    page.goto(f"{served}/events/{event}?status=all")
    page.keyboard.press("c")
    page.wait_for_url("**saved=*")
    page.goto(f"{served}/events/{event}?status=all")
    assert "changed from reject (wrong object)" in page.inner_text("ul.history")


def test_an_admin_exports_the_dataset(served, site, open_page, tmp_path):
    verdict_set.apply(site.database())
    page = open_page(served, "ada")
    page.goto(served + "/admin/export")
    assert "2</strong> confirmed alarm(s)" in page.content()
    with page.expect_download() as download:
        page.click("#export")
    target = tmp_path / "dataset.zip"
    download.value.save_as(target)
    names = zipfile.ZipFile(target).namelist()
    assert sum(n.startswith("images/") for n in names) == 3 and "data.yaml" in names


def test_an_admin_draws_a_zone_and_saves_it_to_the_config(served, site, open_page):
    page = open_page(served, "ada")
    page.goto(served + "/admin/zones/cam-a")
    page.wait_for_function("document.getElementById('zone-canvas').width === 640")
    page.click("#new-zone")
    box = page.locator("#zone-canvas").bounding_box()
    scale = box["width"] / 640
    corners = [(100, 250), (220, 250), (230, 330), (90, 330)]
    for x, y in corners:
        page.mouse.click(box["x"] + x * scale, box["y"] + y * scale)
    page.keyboard.press("Enter")
    page.fill("#zone-id", "bike-area")
    page.select_option("#zone-type", "monitored_area")
    page.fill("#zone-warn", "5m")
    page.click("#save-zones")
    page.wait_for_selector("#zone-message.ok")
    assert "added bike-area" in page.inner_text("#zone-message")

    camera = load_config(site.config_path).cameras[0]
    zone = camera.zone("bike-area")
    assert zone.type == "monitored_area" and zone.warn_after == 300
    for (x, y), (zx, zy) in zip(corners, zone.polygon, strict=True):
        assert abs(zx - x) <= 2 and abs(zy - y) <= 2
    assert "# the east sidewalk" in site.config_path.read_text()

    # drag a corner across the opposite edge: the loader's sentence comes back and the file stays as it was
    before = site.config_path.read_text()
    page.mouse.click(box["x"] + 160 * scale, box["y"] + 290 * scale)  # select the zone
    page.mouse.move(box["x"] + 230 * scale, box["y"] + 330 * scale)
    page.mouse.down()
    page.mouse.move(box["x"] + 230 * scale, box["y"] + 200 * scale, steps=5)
    page.mouse.up()
    page.click("#save-zones")
    page.wait_for_selector("#zone-message.error")
    assert "zone 'bike-area': polygon: crosses itself" in page.inner_text("#zone-message")
    assert site.config_path.read_text() == before


def test_a_reviewer_sees_no_admin_page(served, open_page):
    page = open_page(served, "rita")
    assert page.locator("header nav a", has_text="Audit trail").count() == 0
    response = page.goto(served + "/admin")
    assert response.status == 403 and "Only an admin may open this page." in page.inner_text("main")
