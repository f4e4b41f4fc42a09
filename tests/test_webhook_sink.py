"""The webhook sink against a real HTTP receiver on loopback that verifies every signature: answers, a receiver
down for a minute, and a writing process killed with SIGKILL mid-run. The counts are printed (run with ``-s``)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from events.database import Database
from events.outbox import Outbox, enqueue
from events.sender import OutboxSender
from events.sinks import DeliveryError, make_sink
from events.sinks.webhook import WebhookSink
from events.store import EventStore
from tests.outbox_writer import event_ids, replayed_events
from tests.webhook_receiver import WebhookReceiver
from zones.config_sinks import WebhookSinkSettings

SECRET = "s3cret-for-tests"
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def receiver():
    server = WebhookReceiver(SECRET.encode())
    yield server
    server.stop()


def settings(url: str, **changes) -> WebhookSinkSettings:
    values = {"type": "webhook", "url": url, "secret": SECRET, "name": "hook", "retry_after": 0.2,
              "max_retry_after": 2.0, "max_attempts": 1000, "timeout": 5.0, **changes}
    return WebhookSinkSettings(**values)


def test_answers_decide_delivered_retried_or_dead(receiver):
    sink = make_sink(settings(receiver.url))
    assert isinstance(sink, WebhookSink)
    sink.deliver("cam-0", "e1", b'{"event_id": "e1", "camera_id": "cam-0"}')
    assert [e["event_id"] for e in receiver.received] == ["e1"] and receiver.bad_signatures == 0
    for status, permanent in ((400, True), (404, True), (408, False), (429, False), (500, False), (503, False)):
        receiver.status = status
        with pytest.raises(DeliveryError, match=f"answered {status}") as caught:
            sink.deliver("cam-0", "e2", b'{"event_id": "e2", "camera_id": "cam-0"}')
        assert caught.value.permanent is permanent, status
    wrong = WebhookSink(settings(receiver.url, secret="not-the-secret"))
    receiver.status = 200
    with pytest.raises(DeliveryError, match="answered 401"):
        wrong.deliver("cam-0", "e3", b'{"event_id": "e3", "camera_id": "cam-0"}')
    assert receiver.bad_signatures == 1


def test_a_refused_connection_is_retried_and_the_message_masks_credentials():
    from tests.servers import free_port
    sink = WebhookSink(settings(f"http://user:pa55word@127.0.0.1:{free_port()}/hook?token=abc"))
    with pytest.raises(DeliveryError) as caught:
        sink.deliver("cam-0", "e1", b"{}")
    assert not caught.value.permanent and "cannot be reached" in str(caught.value)
    assert "pa55word" not in str(caught.value) and "abc" not in str(caught.value)


def test_a_permanent_refusal_parks_the_row_dead_at_once_and_the_camera_goes_on(receiver, tmp_path):
    outbox = Outbox(Database(tmp_path / "events.db"))
    with outbox.db.transaction() as tx:
        for i in range(3):
            enqueue(tx, "cam-0", f"e{i}", json.dumps({"event_id": f"e{i}", "camera_id": "cam-0"}), ["hook"])
    receiver.status = 422
    sender = OutboxSender(outbox, WebhookSink(settings(receiver.url)), None, settings(receiver.url))
    sender.send_due()
    assert outbox.counts()["hook"] == {"pending": 2, "delivered": 0, "dead": 1}
    assert "answered 422" in outbox.dead("hook")[0]["last_error"]
    receiver.status = 200
    sender.send_due()
    assert [e["event_id"] for e in receiver.received] == ["e1", "e2"]
    assert sender.health() == {"pending": 0, "dead": 1, "oldest_pending_s": None}


def test_a_receiver_answering_500_for_a_minute_loses_nothing(receiver, tmp_path):
    """1,000 events of 4 cameras, stored while the receiver answers 500 for 60 s, then 200."""
    events = replayed_events(1000, 4)
    sent = event_ids(events)
    store = EventStore(tmp_path / "events.db", sinks=["hook"])
    sink_settings = settings(receiver.url)
    sender = OutboxSender(Outbox(store.db), WebhookSink(sink_settings), None, sink_settings).start()
    receiver.status = 500
    healthy = threading.Timer(60.0, lambda: setattr(receiver, "status", 200))
    healthy.start()
    try:
        for event in events:
            assert store.add(event)
            sender.notify()
        left = sender.drain(120)
    finally:
        healthy.cancel()
        sender.stop()
    counts = receiver.tally(sent)
    print(f"\nwebhook 500 for 60 s: {counts}, refused answers {receiver.refused}, "
          f"delivered {sender.counters.delivered_total}")
    assert left == 0 and receiver.refused > 0
    assert counts["lost"] == 0 and counts["out_of_order"] == 0 and counts["bad_signatures"] == 0
    assert counts["received"] == counts["sent"] + counts["duplicated"]


def test_a_writer_killed_mid_run_resends_what_was_pending_in_order(receiver, store_target):
    """The writing process is killed (SIGKILL) once 300 of 1,000 events arrived; a second run on the same store
    (a replay: stored events are skipped) delivers the rest."""
    sent = event_ids(replayed_events(1000, 3))
    command = [sys.executable, "-m", "tests.outbox_writer", store_target, receiver.url, SECRET, "1000", "3"]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    first = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while len(receiver.received) < 300 and first.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    first.send_signal(signal.SIGKILL)
    first.wait()
    at_kill = len(receiver.received)
    second = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert second.returncode == 0, second.stderr[-2000:]
    assert "left 0" in second.stdout
    counts = receiver.tally(sent)
    backend = "postgresql" if store_target.startswith("postgresql") else "sqlite"
    print(f"\nkill -9 of the writer ({backend}) after {at_kill} received: {counts}")
    assert 0 < at_kill < 1000
    assert counts["lost"] == 0 and counts["out_of_order"] == 0 and counts["bad_signatures"] == 0
    assert counts["received"] == counts["sent"] + counts["duplicated"]


def test_healthz_and_metrics_show_each_sink(tmp_path):
    import json
    import urllib.request

    from events.outbox import Outbox
    from events.sender import OutboxSender
    from events.sinks.webhook import WebhookSink
    from streams.health import HealthServer, LiveMetrics, add_sink_metrics, sinks_health
    from zones.config_sinks import WebhookSinkSettings

    receiver = WebhookReceiver(SECRET.encode(), status=410)
    store = EventStore(tmp_path / "events.db", sinks=["city"])
    for event in replayed_events(3, 1):
        store.add(event)
    settings = WebhookSinkSettings(type="webhook", name="city", url=receiver.url, secret=SECRET)
    sender = OutboxSender(Outbox(store.db), WebhookSink(settings), None, settings)
    sender.send_due()  # 410: the camera's first event is dead at once
    receiver.status = 200
    sender.send_due()  # the camera goes on: its next two are delivered
    metrics = LiveMetrics(list)
    add_sink_metrics(metrics, lambda: [sender.snapshot()])
    server = HealthServer(0, lambda: {"status": "ok", "sinks": sinks_health([sender])}, metrics).start()
    try:
        health = json.load(urllib.request.urlopen(f"http://127.0.0.1:{server.port}/healthz"))
        text = urllib.request.urlopen(f"http://127.0.0.1:{server.port}/metrics").read().decode()
    finally:
        server.stop()
        receiver.stop()
    assert health["sinks"] == {"city": {"pending": 0, "dead": 3 - len(receiver.received), "oldest_pending_s": None}}
    assert len(receiver.received) == 2
    assert 'streetorder_sink_dead{sink="city"} 1.0' in text and 'streetorder_sink_pending{sink="city"} 0.0' in text
    assert 'streetorder_sink_delivered_total{sink="city"} 2.0' in text
    assert 'streetorder_sink_delivery_seconds_count{sink="city"} 2.0' in text
