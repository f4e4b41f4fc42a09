"""A confirmed alarm is dispatched: the reviewers' confirmation writes one outbox row per dispatch sink that takes
it, in the verdict's transaction, and a sender delivers it, signed, to a real webhook receiver."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from events.outbox import Outbox
from events.sender import start_senders, stop_senders
from review.app import create_app
from review.zone_editor import ZoneFile
from streams.config_rules import PipelineConfigRules
from tests.review.conftest import PASSWORDS, csrf_of, log_in
from tests.webhook_receiver import WebhookReceiver
from zones.config_sinks import WebhookSinkSettings

SECRET = "dispatch-secret"


@pytest.fixture
def receiver():
    server = WebhookReceiver(SECRET.encode())
    yield server
    server.stop()


@pytest.fixture
def dispatch(receiver):
    """Two dispatch sinks: cam-b's bike officers (misparked bikes only), and the city desk (every alarm)."""
    common = {"type": "webhook", "secret": SECRET, "when": "confirmed", "retry_after": 0.1, "max_retry_after": 0.5}
    return [WebhookSinkSettings(name="bike-officers", url=receiver.url, rules=["misparked_bike"], **common),
            WebhookSinkSettings(name="city-desk", url=receiver.url, **common)]


@pytest.fixture
def app(site, dispatch):
    app = create_app(site.db_path, ZoneFile(site.config_path, PipelineConfigRules()), dispatch=dispatch)
    yield app
    app.state.services.db.close()


def decide(app, name: str, event_id: str, verdict: str, reason: str | None = None) -> str:
    with TestClient(app, follow_redirects=False) as client:
        log_in(client, name, PASSWORDS[name])
        body = {"event_id": event_id, "verdict": verdict, "reason": reason}
        answer = client.post("/api/verdicts", json=body, headers={"X-CSRF-Token": csrf_of(client)})
        assert answer.status_code == 200, answer.text
        return answer.json()["status"]


def test_a_confirmed_alarm_reaches_the_sinks_that_take_it_once(app, site, dispatch, receiver):
    bike = next(e for e in site.event_ids if "/bikes/" in e and e.endswith("/warn"))
    car = next(e for e in site.event_ids if "/kerb/" in e and e.endswith("/warn"))
    rejected = next(e for e in site.event_ids if "/walk/" in e and e.endswith("/warn"))
    assert decide(app, "rita", bike, "confirm") == "confirmed"
    assert decide(app, "rob", bike, "confirm") == "confirmed"  # still confirmed: not dispatched twice
    assert decide(app, "rita", car, "confirm") == "confirmed"
    assert decide(app, "rita", rejected, "reject", "permitted") == "rejected"
    outbox = Outbox(site.database())
    assert {sink: n["pending"] for sink, n in outbox.counts().items()} == {"bike-officers": 1, "city-desk": 2}
    senders = start_senders(dispatch, outbox, None)
    try:
        assert all(sender.drain(20) == 0 for sender in senders)
    finally:
        stop_senders(senders)
    got = sorted((body["event_id"], body["case"]["status"], tuple(body["case"]["reviewers"]))
                 for body in receiver.received)
    assert got == sorted([(bike, "confirmed", ("rita",)), (bike, "confirmed", ("rita",)),
                          (car, "confirmed", ("rita",))])
    assert receiver.bad_signatures == 0 and receiver.refused == 0


def test_without_dispatch_sinks_a_confirmation_writes_no_outbox_row(site):
    app = create_app(site.db_path)
    try:
        assert decide(app, "rita", site.event_ids[0], "confirm") == "confirmed"
        assert Outbox(site.database()).counts() == {}
    finally:
        app.state.services.db.close()
