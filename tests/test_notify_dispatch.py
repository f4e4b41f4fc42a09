"""The two messages people act on, through the outbox to real receivers: a warn reaches a notify sink (an SMS
gateway: a real webhook receiver checking signatures) with its notice (plate, place, rule, leave_by, text) and its
clear does not; a reviewers' confirmation reaches a real mosquitto broker on its unit's topic only when the dispatch
sink takes its unit and rule."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from events.outbox import Outbox
from events.record import Event
from events.sender import start_senders, stop_senders
from events.store import EventStore
from review.accounts import Accounts
from review.db import Database
from review.verdicts import Verdicts
from tests.servers import MosquittoBroker
from tests.test_mqtt_sink import Subscriber
from tests.webhook_receiver import WebhookReceiver
from zones.config import config_from_text
from zones.config_sinks import MqttSinkSettings

SECRET = "notify-secret"
LUCHENG = {"district": "Lucheng", "grid": "LC-0412", "road": "Binhai Rd"}
OUHAI = {"district": "Ouhai", "grid": "OH-0101", "road": None}


def warn(n: int, kind: str = "warn", rule: str = "sidewalk_parking", unit: dict | None = None,
         plate: str | None = "浙C·D1234") -> Event:
    return Event(event_id=f"cam-01/kerb/{n}/{kind}", type=kind, rule=rule, camera_id="cam-01", zone_id="kerb",
                 object_id=str(n), class_name="car", t=480.0 + (60 if kind == "clear" else 0),
                 ts="2026-11-22T08:10:00+08:00", since_t=0.0, dwell_s=480.0, bbox=[0, 0, 1, 1], score=0.9,
                 evidence={}, unit=unit or LUCHENG, plate=plate)


@pytest.fixture
def receivers():
    made = {"sms": WebhookReceiver(SECRET.encode()), "platform": WebhookReceiver(SECRET.encode())}
    yield made
    for receiver in made.values():
        receiver.stop()


def deliver(sinks, outbox: Outbox) -> None:
    senders = start_senders(sinks, outbox, None)
    try:
        assert all(sender.drain(20) == 0 for sender in senders)
    finally:
        stop_senders(senders)


def test_a_warn_reaches_the_sms_gateway_with_its_notice_and_the_clear_does_not(store_target, tmp_path: Path,
                                                                              receivers):
    config = config_from_text(f"""
cameras: [{{id: cam-01, source: v.mp4}}]
sinks:
  - {{type: webhook, name: sms, url: "{receivers['sms'].url}", secret: {SECRET}, events: [warn],
     notify: {{leave_within: 7m}}, retry_after: 0.1}}
  - {{type: webhook, name: platform, url: "{receivers['platform'].url}", secret: {SECRET}, retry_after: 0.1}}
""", tmp_path / "cameras.yaml")
    store = EventStore(store_target, sinks=config.sinks)
    for event in (warn(1), warn(1, "clear"), warn(2, plate=None, unit=OUHAI)):
        assert store.add(event)
    deliver(config.sinks, Outbox(store.db))
    store.close()
    sms = receivers["sms"].received
    assert [body["event_id"] for body in sms] == ["cam-01/kerb/1/warn", "cam-01/kerb/2/warn"]
    assert sms[0]["notice"] == {
        "plate": "浙C·D1234", "place": "Binhai Rd (Lucheng · LC-0412), camera cam-01, zone kerb",
        "rule": "sidewalk_parking", "leave_by": "2026-11-22T08:17:00+08:00",
        "text": "浙C·D1234: sidewalk parking at Binhai Rd (Lucheng · LC-0412), camera cam-01, zone kerb. "
                "Please move the vehicle by 08:17."}
    assert sms[1]["notice"]["plate"] is None
    assert sms[1]["notice"]["text"] == ("sidewalk parking at Ouhai · OH-0101, camera cam-01, zone kerb. "
                                        "Please move the vehicle by 08:17.")
    assert sms[0]["plate"] == "浙C·D1234" and sms[0]["unit"] == LUCHENG  # the event's own JSON is all there
    platform = receivers["platform"].received
    assert [body["event_id"] for body in platform] == ["cam-01/kerb/1/warn", "cam-01/kerb/1/clear",
                                                       "cam-01/kerb/2/warn"]
    assert not any("notice" in body for body in platform)
    assert all(r.bad_signatures == 0 for r in receivers.values())


def test_a_bad_leave_within_is_one_sentence(tmp_path: Path):
    from zones.config import ConfigError
    with pytest.raises(ConfigError, match=r"sinks\[0\].*leave_within"):
        config_from_text("cameras: [{id: c, source: v.mp4}]\nsinks: [{type: webhook, url: 'https://x/y', "
                         "secret: s, notify: {leave_within: -5s}}]", tmp_path / "c.yaml")


@pytest.fixture
def broker():
    server = MosquittoBroker()
    yield server
    server.close()


def test_a_confirmed_warn_reaches_its_units_topic_on_a_real_broker_filtered_by_unit_and_rule(broker, tmp_path):
    subscriber = Subscriber(broker.port)
    store = EventStore(tmp_path / "events.db")
    ours, other_unit, other_rule = warn(1), warn(2, unit=OUHAI), warn(3, rule="misparked_bike")
    for event in (ours, other_unit, other_rule):
        store.add(event)
    store.close()
    dispatch = [MqttSinkSettings.model_validate({
        "type": "mqtt", "name": "lucheng-officers", "url": f"mqtt://127.0.0.1:{broker.port}",
        "topic": "city/{district}/{grid}/cases", "when": "confirmed", "units": [{"district": "Lucheng"}],
        "rules": ["sidewalk_parking"], "status_topics": False, "retry_after": 0.1})]
    db = Database(tmp_path / "events.db")
    rita = Accounts(db).add_user("rita", "reviewer", "rita-reviewer-password")
    verdicts = Verdicts(db, dispatch)
    try:
        for event in (ours, other_unit, other_rule):
            verdicts.record(event.event_id, rita, "confirm")
        assert Outbox(db).counts()["lucheng-officers"]["pending"] == 1
        deliver(dispatch, Outbox(db))
        [payload] = subscriber.wait_for("city/Lucheng/LC-0412/cases")
        body = json.loads(payload)
        assert body["event_id"] == ours.event_id and body["case"]["status"] == "confirmed"
        assert body["case"]["reviewers"] == ["rita"] and body["case"]["due_at"]
        assert [topic for topic, _, _ in subscriber.messages] == ["city/Lucheng/LC-0412/cases"]
    finally:
        subscriber.close()
        db.close()
