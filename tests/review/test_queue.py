"""The queue, verdicts, changes of mind and the audit trail, over a real store."""

from __future__ import annotations

import re

import pytest

from events.database import IntegrityError
from events.record import Event
from events.store import EVENT_COLUMNS, EventStore
from review.accounts import Accounts
from review.cases import Cases, FilterError, QueueFilter
from review.verdicts import VerdictError, Verdicts
from tests.review.conftest import csrf_of, postgresql_only
from tests.review.site import EVENTS


def queue_ids(client, query: str = "") -> list[str]:
    answer = client.get(f"/api/events?{query}").json()
    return [e["event"]["event_id"] for e in answer["events"]]


def ids_where(predicate) -> list[str]:
    return [f"{c}/{z}/{o}/{k}" for c, z, o, k, *rest in EVENTS if predicate(c, z, o, k, *rest)]


def test_the_default_queue_is_every_alarm_awaiting_review_newest_first(as_user):
    alarms = ids_where(lambda c, z, o, k, *_: k in ("warn", "escalate"))
    assert queue_ids(as_user("rita")) == alarms[::-1]
    assert queue_ids(as_user("rita"), "order=oldest") == alarms


@pytest.mark.parametrize(("query", "expected"), [
    ("camera=cam-b", lambda c, z, o, k, *_: c == "cam-b" and k == "warn"),
    ("zone=walk&type=all", lambda c, z, *_: z == "walk"),
    ("rule=misparked_bike", lambda c, z, o, k, rule, *_: rule == "misparked_bike"),
    ("type=clear", lambda c, z, o, k, *_: k == "clear"),
    ("camera=cam-a&zone=walk&type=warn", lambda c, z, o, k, *_: (c, z, k) == ("cam-a", "walk", "warn")),
    ("day_from=2026-03-02&day_to=2026-03-02", lambda c, *_: c == "cam-b"),  # cam-b's wall times are that day
    ("day_to=2026-03-01", lambda *_: False),
])
def test_filters(as_user, query, expected):
    assert queue_ids(as_user("rita"), query + "&order=oldest") == ids_where(expected)


def test_a_bad_filter_is_one_sentence(as_user):
    response = as_user("rita").get("/queue?status=maybe")
    assert response.status_code == 400
    assert "status &#39;maybe&#39; is not known; use one of pending, mine" in response.text
    with pytest.raises(FilterError, match="is not a date; write it as YYYY-MM-DD"):
        QueueFilter.from_params({"day_from": "02/03/2026"})


def test_pages_split_the_queue_without_gaps(site):
    cases = Cases(site.database())
    user = Accounts(site.database()).user_named("rita")
    chosen = QueueFilter(type="all", status="all", order="oldest")
    pages = [cases.page(chosen, user, page, per_page=4) for page in (1, 2, 3)]
    assert [p.total for p in pages] == [6, 6, 6] and pages[0].pages == 2
    seen = [c.event.event_id for p in pages[:2] for c in p.cases]
    assert seen == site.event_ids
    assert [c.event.event_id for c in pages[2].cases] == site.event_ids[4:]  # past the end: the last page


def test_a_verdict_moves_on_to_the_next_case_of_the_same_queue(as_user, site):
    rita = as_user("rita")
    queue = queue_ids(rita, "camera=cam-a")
    assert len(queue) == 3
    token = csrf_of(rita)
    choices = ["confirm", "reject:not_resting", "unsure"]
    for i, (event, choice) in enumerate(zip(queue, choices, strict=True)):
        response = rita.post("/verdicts", data={"event_id": event, "choice": choice, "csrf": token,
                                                "filters": "camera=cam-a"})
        assert response.status_code == 303
        if i < 2:
            assert response.headers["location"].startswith(f"/events/{queue[i + 1]}?camera=cam-a&saved=")
            page = rita.get(response.headers["location"]).text
            assert f"Saved {choice.replace(':', ': ').replace('_', ' ')} on {event}" in page
    assert response.headers["location"].startswith("/queue?camera=cam-a&saved=")  # that queue is done
    assert response.headers["location"].endswith("&done=1")
    assert queue_ids(rita, "camera=cam-a") == []
    assert queue_ids(rita, "camera=cam-a&status=rejected") == [queue[1]]
    assert queue_ids(rita, "camera=cam-a&status=reviewed&order=oldest") == queue[::-1]


def test_after_the_last_case_the_verdict_goes_back_to_skipped_ones(as_user):
    rita = as_user("rita")
    queue = queue_ids(rita)
    response = rita.post("/verdicts", data={"event_id": queue[-1], "choice": "unsure", "csrf": csrf_of(rita)})
    assert response.headers["location"].startswith(f"/events/{queue[0]}?")


def test_a_change_of_mind_replaces_the_verdict_and_the_audit_keeps_both(site):
    db = site.database()
    rita = Accounts(db).user_named("rita")
    verdicts = Verdicts(db)
    event = site.event_ids[2]
    assert verdicts.record(event, rita, "confirm", ip="10.1.1.1")
    assert not verdicts.record(event, rita, "confirm")  # the same again: nothing new to record
    assert verdicts.record(event, rita, "reject", "permitted", "delivery permit in the windscreen")
    [current] = verdicts.of_event(event)
    assert (current.user_name, current.verdict, current.reason) == ("rita", "reject", "permitted")
    lines = [line for line in verdicts.audit(event_id=event) if line.action == "verdict"]  # not case_dispatched
    assert [(a.verdict, a.previous_verdict) for a in lines] == [("reject", "confirm"), ("confirm", None)]
    assert lines[0].note == "delivery permit in the windscreen" and lines[1].ip == "10.1.1.1"
    assert Cases(db).case(event).status == "rejected"


def test_the_audit_trail_cannot_be_rewritten(site):
    db = site.database()
    Verdicts(db).record(site.event_ids[0], Accounts(db).user_named("rob"), "confirm")
    statements = ["UPDATE review_audit SET verdict = 'reject'", "DELETE FROM review_audit"]
    if db.dialect == "postgresql":
        statements.append("TRUNCATE review_audit")
    for statement in statements:
        with pytest.raises(IntegrityError, match="the audit trail is append-only"):
            db.execute(statement)
        with pytest.raises(IntegrityError, match="the audit trail is append-only"), db.transaction() as tx:
            tx.execute(statement)
    assert [(a.user_name, a.action, a.verdict) for a in Verdicts(db).audit(event_id=site.event_ids[0])] == [
        ("rob", "case_dispatched", None), ("rob", "verdict", "confirm")]


def test_two_reviewers_who_disagree_make_a_disputed_case(as_user, site):
    db = site.database()
    accounts, verdicts = Accounts(db), Verdicts(db)
    event = site.event_ids[3]
    verdicts.record(event, accounts.user_named("rita"), "confirm")
    verdicts.record(event, accounts.user_named("rob"), "reject", "wrong_object")
    assert Cases(db).case(event).status == "disputed"
    assert queue_ids(as_user("ada"), "status=disputed") == [event]
    verdicts.record(event, accounts.user_named("rob"), "unsure")  # rob takes it back: rita's confirm stands
    assert Cases(db).case(event).status == "confirmed"


def test_the_not_yet_judged_by_me_queue_is_for_second_opinions(as_user, site):
    rita, rob = as_user("rita"), as_user("rob")
    first = queue_ids(rita)[0]
    rita.post("/verdicts", data={"event_id": first, "choice": "confirm", "csrf": csrf_of(rita)})
    assert first not in queue_ids(rob)  # no longer awaiting review ...
    assert first in queue_ids(rob, "status=mine")  # ... but rob has not judged it
    assert first not in queue_ids(rita, "status=mine")


def test_invalid_verdicts_are_refused_with_a_reason(site):
    db = site.database()
    rita = Accounts(db).user_named("rita")
    cases = [(("reject", None), "a rejection needs a reason"), (("confirm", "permitted"), "only a rejection"),
             (("maybe", None), "verdict 'maybe' is not known"), (("reject", "ugly"), "a rejection needs a reason")]
    for (verdict, reason), message in cases:
        with pytest.raises(VerdictError, match=message):
            Verdicts(db).record(site.event_ids[0], rita, verdict, reason)
    with pytest.raises(VerdictError, match="no event 'cam-z/x/1/warn' in the store"):
        Verdicts(db).record("cam-z/x/1/warn", rita, "confirm")
    assert Verdicts(db).of_event(site.event_ids[0]) == []


def test_the_event_page_shows_what_a_reviewer_needs(as_user, site):
    page = as_user("rita").get("/events/" + site.event_ids[3]).text
    assert "Market gate" in page and "kerb" in page and "sidewalk" in page  # camera name, zone id and type
    assert "8m00s" in page  # dwell 485 - 5 s
    assert "2026-03-02 08:08:05" in page  # the wall time at warn (cam-b starts 08:00 +08:00, t = 485 s)
    photos = re.findall(r'<img src="(/evidence/[^"]+)" alt="([^"]+)"', page)
    assert [alt for _, alt in photos] == ["At rest start", "At warn", "Close-up", "Close-up at rest start"]
    for url, _ in photos:
        assert as_user("rob").get(url).headers["content-type"] == "image/jpeg"
    assert 'data-key="c"' in page and 'data-key="5"' in page and 'data-key="u"' in page


def test_events_recorded_while_the_app_runs_join_the_queue_once(as_user, site):
    rita = as_user("rita")
    before = queue_ids(rita, "status=all&type=all")
    store = EventStore(site.db_path)
    late = Event(event_id="cam-b/kerb/9/warn", type="warn", rule="sidewalk_parking", camera_id="cam-b", zone_id="kerb",
                 object_id="9", class_name="car", t=600.0, ts=None, since_t=100.0, dwell_s=500.0,
                 bbox=[350.0, 133.0, 415.0, 164.0], score=0.7, evidence={})
    assert store.add(late)
    store.close()
    assert queue_ids(rita, "status=all&type=all") == [late.event_id, *before]  # newest first
    db = site.database()
    db.execute("VACUUM")  # may renumber SQLite's rowids: nothing is indexed twice
    db.execute("UPDATE review_meta SET value = '999999' WHERE key = 'events_seen'")
    assert queue_ids(rita, "status=all&type=all") == [late.event_id, *before]


@postgresql_only
def test_an_event_committed_after_a_later_one_still_joins_the_queue(as_user, site):
    """On PostgreSQL a writer may take rowid n, another n + 1 and commit first; the queue looks at n + 1 and must
    not skip n when it commits."""
    rita = as_user("rita")
    before = queue_ids(rita, "status=all&type=all")
    columns = ", ".join((*EVENT_COLUMNS, "recorded_at"))
    copied = ", ".join(("?", *EVENT_COLUMNS[1:], "recorded_at"))
    store = EventStore(site.db_path)
    with site.database().transaction() as slow:
        slow.execute(f"INSERT INTO events ({columns}) SELECT {copied} FROM events WHERE event_id = ?",
                     ("cam-b/kerb/8/warn", site.event_ids[3]))
        assert store.add(Event(event_id="cam-b/kerb/9/warn", type="warn", rule="sidewalk_parking", camera_id="cam-b",
                               zone_id="kerb", object_id="9", class_name="car", t=600.0, ts=None, since_t=100.0,
                               dwell_s=500.0, bbox=[350.0, 133.0, 415.0, 164.0], score=0.7, evidence={}))
        assert queue_ids(rita, "status=all&type=all") == ["cam-b/kerb/9/warn", *before]
    store.close()
    assert queue_ids(rita, "status=all&type=all") == ["cam-b/kerb/8/warn", "cam-b/kerb/9/warn", *before]
    assert queue_ids(rita, "status=all&type=all") == ["cam-b/kerb/8/warn", "cam-b/kerb/9/warn", *before]
