"""The outbox on both stores: order per camera, backoff, dead rows, retry, restriction to cameras, purge."""

from __future__ import annotations

import pytest

from events.database import Database
from events.outbox import Outbox, enqueue
from zones.config_sinks import WebhookSinkSettings

SETTINGS = WebhookSinkSettings(type="webhook", url="http://127.0.0.1:9/", secret="k", name="hook",
                               max_attempts=3, retry_after=60, max_retry_after=600)
FAR = "2999-01-01T00:00:00+00:00"


@pytest.fixture
def outbox(store_target):
    box = Outbox(Database(store_target))
    with box.db.transaction() as tx:
        for i in range(3):
            for camera in ("cam-a", "cam-b"):
                enqueue(tx, camera, f"{camera}-{i}", f'{{"n": {i}}}', ["hook", "other"])
    yield box
    box.db.close()


def ids(rows) -> list[str]:
    return [r.event_id for r in rows]


def test_due_gives_each_camera_its_oldest_row_and_a_failing_head_holds_back_only_its_camera(outbox):
    assert ids(outbox.due("hook")) == ["cam-a-0", "cam-b-0"]
    assert ids(outbox.due("hook", per_camera=2)) == ["cam-a-0", "cam-a-1", "cam-b-0", "cam-b-1"]
    head_a, head_b = outbox.due("hook")
    assert outbox.failed(head_a, "down", SETTINGS) == "pending"
    outbox.delivered(head_b)
    assert ids(outbox.due("hook")) == ["cam-b-1"]  # cam-a waits for its backoff, in order: nothing after it
    assert ids(outbox.due("hook", now=FAR)) == ["cam-a-0", "cam-b-1"]
    assert ids(outbox.due("other")) == ["cam-a-0", "cam-b-0"]  # the other sink is untouched
    assert outbox.counts()["hook"] == {"pending": 5, "delivered": 1, "dead": 0}


def test_backoff_doubles_and_the_row_dies_after_max_attempts(outbox):
    before = outbox.db.execute("SELECT next_at FROM outbox WHERE event_id = 'cam-a-0' AND sink = 'hook'")
    waits = []
    for attempt in range(1, 4):
        row = outbox.due("hook", ["cam-a"], now=FAR)[0]
        assert (row.event_id, row.attempts) == ("cam-a-0", attempt - 1)
        state = outbox.failed(row, f"failure {attempt}", SETTINGS)
        assert state == ("dead" if attempt == 3 else "pending")
        waits.append(outbox.db.execute("SELECT next_at FROM outbox WHERE event_id = 'cam-a-0' AND sink = 'hook'")
                     .fetchone()[0])
    assert before.fetchone()[0] < waits[0] < waits[1]
    dead = outbox.dead("hook")
    assert [(d["event_id"], d["attempts"], d["last_error"]) for d in dead] == [("cam-a-0", 3, "failure 3")]
    assert ids(outbox.due("hook", ["cam-a"])) == ["cam-a-1"]  # the dead row is parked, the camera goes on


def test_a_permanent_failure_is_dead_at_once_and_retry_dead_makes_it_pending(outbox):
    row = outbox.due("hook", ["cam-b"])[0]
    assert outbox.failed(row, "answered 400", SETTINGS, permanent=True) == "dead"
    assert outbox.counts()["hook"]["dead"] == 1
    assert outbox.retry_dead(sink="other") == 0
    assert outbox.retry_dead() == 1
    again = outbox.due("hook", ["cam-b"])[0]
    assert (again.event_id, again.attempts) == ("cam-b-0", 0)


def test_a_restricted_outbox_sees_only_its_cameras(outbox):
    assert ids(outbox.due("hook", ["cam-b"], per_camera=10)) == ["cam-b-0", "cam-b-1", "cam-b-2"]
    assert outbox.pending("hook", ["cam-a"]) == 3 and outbox.pending("hook", []) == 0
    assert outbox.counts(["cam-a"])["hook"]["pending"] == 3
    assert outbox.oldest_pending_age("hook", ["cam-a"]) is not None
    assert outbox.oldest_pending_age("hook", ["nobody"]) is None


def test_purge_removes_old_delivered_rows_only(outbox):
    for row in outbox.due("hook", per_camera=10):
        outbox.delivered(row)
    assert outbox.purge_delivered(days=1) == 0
    assert outbox.purge_delivered(days=-1) == 6
    assert outbox.counts() == {"other": {"pending": 6, "delivered": 0, "dead": 0}}
