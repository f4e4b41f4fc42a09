"""The operations map in a real browser (Debian's Chromium through Playwright): the camera markers, a camera's
details from the keyboard, and an event and a status change written to the store while the page is open appearing
without a reload; an officer's map on a phone holds their unit only."""

from __future__ import annotations

import pytest

from events.store import EventStore
from tests.review.map_site import (
    CAM_A_GEO,
    LUCHENG,
    OFFICER,
    OFFICER_PASSWORD,
    make_map_site,
    map_event,
    serving,
    write_status,
)
from tests.review.site import PASSWORDS
from tests.review.test_browser import browser  # noqa: F401  (the Chromium fixture)


@pytest.fixture
def map_served(site):
    make_map_site(site)
    with serving(site) as (base, _app):
        yield base, site


def open_map(browser, base: str, name: str, password: str, viewport: dict) -> tuple:  # noqa: F811
    context = browser.new_context(viewport=viewport)
    page = context.new_page()
    page.set_default_timeout(15_000)
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.on("console", lambda message: message.type == "error" and not message.text.startswith("Failed to load")
            and problems.append(message.text))  # a CSP refusal is a console error
    page.on("response", lambda response: response.status >= 400 and not response.url.endswith("/favicon.ico")
            and problems.append(f"{response.status} {response.url}"))
    page.goto(base + "/login?next=%2Fmap")
    page.fill('input[name="name"]', name)
    page.fill('input[name="password"]', password)
    page.click('button[type="submit"]')
    page.wait_for_url(base + "/map")
    page.wait_for_selector("#live-state:text('live')")
    return context, page, problems


def test_the_map_shows_the_cameras_and_an_event_live(browser, map_served):  # noqa: F811
    base, site = map_served
    context, page, problems = open_map(browser, base, "rita", PASSWORDS["rita"], {"width": 1280, "height": 800})
    try:
        marker = page.locator('g.camera[data-camera="cam-a"]')
        assert "Main St pole (cam-a): unknown" in marker.locator("title").text_content()
        assert page.locator("g.camera").count() == 3 and page.locator("polygon.unit-shape").count() == 2
        assert page.locator("polyline.track").count() == 1
        page.keyboard.press("Tab")  # from the page's top, through the header, to the first camera
        for _ in range(30):
            if page.evaluate("document.activeElement.dataset.camera"):
                break
            page.keyboard.press("Tab")
        focused = page.evaluate("document.activeElement.dataset.camera")
        page.keyboard.press("Enter")
        assert focused in page.inner_text("#camera-detail")

        page.evaluate("window.notReloaded = true")
        store = EventStore(site.db_path)
        store.add(map_event("cam-a", "walk", "88", *CAM_A_GEO, LUCHENG))
        store.close()
        page.wait_for_selector('#event-list li.fresh[data-event="cam-a/walk/88/warn"]', timeout=5_000)
        assert page.locator('circle.event-mark.fresh[data-event="cam-a/walk/88/warn"]').count() == 1
        write_status(site, "cam-b", "offline", reason="connection refused")
        page.wait_for_selector('g.camera.offline[data-camera="cam-b"]', timeout=5_000)
        assert page.evaluate("window.notReloaded") is True
        assert page.locator("#event-list li").first.get_attribute("data-event") == "cam-a/walk/88/warn"
        assert not problems, problems  # no script error, no refused inline style or script
    finally:
        context.close()


def test_an_officer_on_a_phone_sees_their_unit_only(browser, map_served):  # noqa: F811
    base, _site = map_served
    context, page, problems = open_map(browser, base, OFFICER, OFFICER_PASSWORD, {"width": 390, "height": 844})
    try:
        cameras = page.eval_on_selector_all("g.camera", "gs => gs.map(g => g.dataset.camera)")
        assert sorted(cameras) == ["cam-a", "car-1"]
        assert page.locator("polygon.unit-shape").count() == 1
        assert page.evaluate("document.documentElement.scrollWidth") <= 390  # no sideways scrolling
        links = page.eval_on_selector_all("#event-list a", "links => links.map(a => a.getAttribute('href'))")
        assert links and set(links) == {"/officer"}
        assert not problems, problems
    finally:
        context.close()
