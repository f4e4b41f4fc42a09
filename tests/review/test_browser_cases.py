"""A case after dispatch in a real browser (Debian's Chromium through Playwright, the app on loopback, both stores):
a reviewer confirms a warn with the keyboard, the case appears on its unit's officer page, the officer reports it
handled with a photo picked in the form, the object's clear event verifies it, a dispatcher closes it; an officer
of another unit is refused (403) the case's JSON, photos and every step."""

from __future__ import annotations

from urllib.parse import quote

import pytest

from events.store import EventStore, event_from_row
from review.accounts import Accounts
from review.lifecycle import Lifecycle
from tests.review.site import PASSWORDS
from tests.review.test_browser import browser, served  # noqa: F401 - the fixtures: Chromium, the app on loopback

LUCHENG = {"district": "Lucheng", "grid": "LC-0412", "road": "Binhai Rd"}
OUHAI = {"district": "Ouhai", "grid": "OH-0101", "road": None}
OURS, THEIRS = "cam-a/walk/41/warn", "cam-a/walk/42/warn"
STAFF = {"olga": ("officer", "Lucheng", "LC-0412"), "otto": ("officer", "Ouhai", None),
         "dora": ("dispatcher", None, None)}


@pytest.fixture
def units(site):
    """Two warns of two units on the served store (real evidence photos), two officers and a dispatcher."""
    db = site.database()
    base = event_from_row(db.execute("SELECT * FROM events WHERE event_id = 'cam-a/walk/5/warn'").fetchone())
    store = EventStore(site.db_path)
    for event_id, unit in ((OURS, LUCHENG), (THEIRS, OUHAI)):
        store.add(base.model_copy(update={"event_id": event_id, "object_id": event_id.split("/")[2], "unit": unit}))
    store.close()
    accounts = Accounts(db)
    for name, (role, district, grid) in STAFF.items():
        accounts.add_user(name, role, f"{name}-password-long", district=district, grid=grid)
    return base


@pytest.fixture
def sign_in(browser):  # noqa: F811 - the imported fixture
    contexts = []

    def open_as(base: str, name: str, landing: str):
        context = browser.new_context(viewport={"width": 430, "height": 900})  # a phone's width
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(15_000)
        page.goto(base + "/login")
        page.fill('input[name="name"]', name)
        page.fill('input[name="password"]', PASSWORDS.get(name, f"{name}-password-long"))
        page.click('button[type="submit"]')
        page.wait_for_url(base + landing)
        return page

    yield open_as
    for context in contexts:
        context.close()


def card(page, event_id: str):
    return page.locator(f'li.officer-case[data-case="{event_id}"]')


def test_confirm_dispatch_handle_with_a_photo_verify_by_clear_and_close(served, site, units, sign_in,  # noqa: F811
                                                                        tmp_path):
    rita = sign_in(served, "rita", "/queue")
    for event_id in (OURS, THEIRS):
        rita.goto(f"{served}/events/{event_id}?status=all")
        rita.keyboard.press("c")
        rita.wait_for_url("**saved=*")

    olga = sign_in(served, "olga", "/officer")
    assert card(olga, OURS).count() == 1 and card(olga, THEIRS).count() == 0
    assert card(olga, OURS).locator(".badge.state-dispatched").count() == 1
    assert olga.evaluate("url => fetch(url).then(r => r.status)", f"/officer/photo?case={quote(OURS)}&key=snapshot") \
        == 200
    photo = tmp_path / "IMG_0001.jpg"
    photo.write_bytes(next((site.out / "evidence").rglob("*.jpg")).read_bytes())
    form = card(olga, OURS).locator("form.handled")
    form.locator("textarea[name=note]").fill("driver moved the car")
    form.locator("input[type=file]").set_input_files(str(photo))
    form.locator("button[type=submit]").click()
    olga.wait_for_url("**/officer?done=handled*")
    assert card(olga, OURS).locator(".badge.state-handled").count() == 1
    assert "driver moved the car" in card(olga, OURS).inner_text()
    stored = olga.evaluate("url => fetch(url).then(r => r.arrayBuffer()).then(b => b.byteLength)",
                           f"/officer/photo?case={quote(OURS)}&key=handled")
    assert stored == photo.stat().st_size

    store = EventStore(site.db_path)  # the car leaves: the pipeline records the object's clear
    store.add(units.model_copy(update={"event_id": "cam-a/walk/41/clear", "object_id": "41", "type": "clear",
                                       "t": units.t + 60, "unit": LUCHENG}))
    store.close()
    assert site.database().execute("SELECT type FROM events WHERE event_id = 'cam-a/walk/41/clear'").fetchone()[0] \
        == "clear"
    olga.reload()
    assert card(olga, OURS).locator(".badge.state-verified").count() == 1
    assert "by streetorder" in card(olga, OURS).inner_text()
    assert card(olga, OURS).locator("form").count() == 0  # nothing left for an officer to do

    dora = sign_in(served, "dora", "/queue")
    dora.goto(served + "/officer")
    card(dora, OURS).locator('form[action="/officer/close"] button').click()
    dora.wait_for_url("**/officer?done=closed*")
    assert card(dora, OURS).count() == 0 and card(dora, THEIRS).count() == 1
    case = Lifecycle(site.database()).case(OURS, Accounts(site.database()).user_named("dora"))
    assert (case.state, case.handled_by, case.verified_by, case.closed_by) == ("closed", "olga", "streetorder", "dora")


def test_an_officer_of_another_unit_gets_403_on_the_case_and_its_steps(served, site, units, sign_in):  # noqa: F811
    rita = sign_in(served, "rita", "/queue")
    rita.goto(f"{served}/events/{OURS}?status=all")
    rita.keyboard.press("c")
    rita.wait_for_url("**saved=*")

    otto = sign_in(served, "otto", "/officer")
    assert card(otto, OURS).count() == 0
    assert otto.goto(f"{served}/api/cases/{OURS}").status == 403
    assert otto.goto(f"{served}/officer/photo?case={quote(OURS)}&key=crop").status == 403
    assert otto.goto(f"{served}/events/{OURS}").status == 403
    otto.goto(served + "/officer")
    token = otto.get_attribute('form[action="/logout"] input[name="csrf"]', "value")
    steps = otto.evaluate("""([eventId, token]) => Promise.all(['handled', 'verify', 'close'].map(step => {
        const form = new FormData();
        form.append('case', eventId); form.append('csrf', token); form.append('note', 'not mine');
        return fetch('/officer/' + step, {method: 'POST', body: form, redirect: 'manual'}).then(r => r.status);
    }))""", [OURS, token])
    assert steps == [403, 403, 403]
    case = Lifecycle(site.database()).case(OURS, Accounts(site.database()).user_named("dora"))
    assert case.state == "dispatched" and case.handled_by is None
