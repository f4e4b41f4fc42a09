"""The MQTT sink against a real mosquitto on loopback, read by a real subscriber: QoS 1 delivery, the retained status
and timers topics, the last will, masked credentials, and a broker stopped and started again in the middle of 1,000
replayed events sent through the outbox (the counts are printed: run with ``-s``)."""

from __future__ import annotations

import contextlib
import itertools
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import defaultdict
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest

from events.outbox import Outbox
from events.sender import OutboxSender
from events.sinks import DeliveryError, make_sink
from events.sinks.mqtt import MqttSink
from events.store import EventStore
from tests.outbox_writer import event_ids, replayed_events
from tests.servers import MosquittoBroker, free_port
from zones.config_sinks import MqttSinkSettings

ROOT = Path(__file__).resolve().parents[1]


class Subscriber:
    """A paho client subscribed to everything (QoS 1) that keeps what it got; it subscribes again after a drop."""

    def __init__(self, port: int):
        self.messages: list[tuple[str, bytes, bool]] = []  # topic, payload, retained
        self.subscribed = threading.Event()
        self._lock = threading.Lock()
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)
        self.client.reconnect_delay_set(0.1, 0.5)
        self.client.on_connect = lambda c, *_: c.subscribe("#", qos=1)
        self.client.on_subscribe = lambda *_: self.subscribed.set()
        self.client.on_disconnect = lambda *_: self.subscribed.clear()
        self.client.on_message = self._on_message
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()
        assert self.subscribed.wait(10)

    def _on_message(self, client, userdata, message) -> None:
        with self._lock:
            self.messages.append((message.topic, message.payload, bool(message.retain)))

    def on(self, topic: str) -> list[bytes]:
        with self._lock:
            return [payload for t, payload, _ in self.messages if t == topic]

    def wait_for(self, topic: str, count: int = 1, timeout: float = 10.0) -> list[bytes]:
        deadline = time.monotonic() + timeout
        while len(self.on(topic)) < count and time.monotonic() < deadline:
            time.sleep(0.01)
        return self.on(topic)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


class Gate:
    """A TCP forwarder in front of the broker that can refuse new connections: the sink reaches the restarted
    broker only once the test's subscriber has subscribed again (else events could pass unseen)."""

    def __init__(self, target: int):
        self.target, self.open = target, threading.Event()
        self.open.set()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self._listener.accept()
            except OSError:
                return
            try:
                if not self.open.is_set():
                    raise OSError("gate closed")
                upstream = socket.create_connection(("127.0.0.1", self.target))
            except OSError:
                conn.close()
                continue
            for a, b in ((conn, upstream), (upstream, conn)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    @staticmethod
    def _pump(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for s in (source, sink):
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)

    def close(self) -> None:
        self._listener.close()


@pytest.fixture
def broker():
    server = MosquittoBroker()
    yield server
    server.close()


@pytest.fixture
def subscriber(broker):
    client = Subscriber(broker.port)
    yield client
    client.close()


def settings(url: str, **changes) -> MqttSinkSettings:
    values = {"type": "mqtt", "url": url, "name": "mqtt", "retry_after": 0.2, "max_retry_after": 2.0,
              "max_attempts": 1000, "timeout": 3.0, **changes}
    return MqttSinkSettings(**values)


def event(camera: str, kind: str, object_id: str, since_t: float = 10.0) -> bytes:
    return json.dumps({"event_id": f"{camera}/walk/{object_id}/{kind}", "type": kind, "rule": "sidewalk_parking",
                       "camera_id": camera, "zone_id": "walk", "object_id": object_id, "since_t": since_t,
                       "since_ts": None}).encode()


def test_qos1_delivery_reaches_the_subscriber(broker, subscriber):
    sink = make_sink(settings(f"mqtt://127.0.0.1:{broker.port}", status_topics=False), ["cam-0"])
    assert isinstance(sink, MqttSink)
    for i in range(20):
        sink.deliver("cam-0", f"e{i}", json.dumps({"event_id": f"e{i}", "camera_id": "cam-0"}).encode())
    got = subscriber.wait_for("streetorder/events", 20)
    sink.close()
    assert [json.loads(p)["event_id"] for p in got] == [f"e{i}" for i in range(20)]
    assert not any(t.startswith("streetorder/cam-0") for t, _, _ in subscriber.messages)


def test_retained_status_and_timers_are_read_by_a_late_subscriber(broker):
    sink = MqttSink(settings(f"mqtt://127.0.0.1:{broker.port}", prefix="city"), ["cam-a", "cam-b"])
    sink.deliver("cam-a", "w1", event("cam-a", "warn", "1", 10.0))
    sink.deliver("cam-a", "w2", event("cam-a", "warn", "2", 5.0))
    sink.deliver("cam-a", "c1", event("cam-a", "clear", "1"))
    sink.deliver("cam-c", "w3", event("cam-c", "warn", "7"))  # a camera not given at start
    late = Subscriber(broker.port)
    try:
        for camera in ("cam-a", "cam-b", "cam-c"):
            assert late.wait_for(f"city/{camera}/status") == [b"online"]
        assert late.wait_for("city/availability") == [b"online"]
        (timers,) = late.wait_for("city/cam-a/timers")
        assert json.loads(timers) == [{"object_id": "2", "zone_id": "walk", "rule": "sidewalk_parking",
                                       "since_t": 5.0, "since_ts": None}]
        assert [t["object_id"] for t in json.loads(late.wait_for("city/cam-c/timers")[0])] == ["7"]
        assert late.on("city/cam-b/timers") == []
        assert all(retained for t, _, retained in late.messages if t != "streetorder/events")
        sink.close()
        for camera in ("cam-a", "cam-b", "cam-c"):
            assert late.wait_for(f"city/{camera}/status", 2)[-1] == b"offline"
        assert late.wait_for("city/availability", 2)[-1] == b"offline"
    finally:
        late.close()
    again = Subscriber(broker.port)
    try:
        assert again.wait_for("city/cam-a/status") == [b"offline"]
    finally:
        again.close()


def test_a_process_that_dies_is_marked_offline_by_its_last_will(broker):
    code = ("import sys, time; from events.sinks.mqtt import MqttSink; from zones.config_sinks import "
            "MqttSinkSettings; s = MqttSink(MqttSinkSettings(type='mqtt', url=sys.argv[1]), ['cam-0']); "
            "s.deliver('cam-0', 'e1', b'{}'); print('ok', flush=True); time.sleep(60)")
    child = subprocess.Popen([sys.executable, "-c", code, f"mqtt://127.0.0.1:{broker.port}"], cwd=ROOT,
                             env={**os.environ, "PYTHONPATH": str(ROOT)}, stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline().strip() == "ok"
        watcher = Subscriber(broker.port)
        assert watcher.wait_for("streetorder/availability") == [b"online"]
        child.send_signal(signal.SIGKILL)
        child.wait()
        assert watcher.wait_for("streetorder/availability", 2)[-1] == b"offline"
        watcher.close()
    finally:
        child.kill()
        child.wait()


class LogText(logging.Handler):
    """Every log line of the process, as text (CI runs pytest with its logging plugin off: no caplog)."""

    def __init__(self):
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))

    @property
    def text(self) -> str:
        return "\n".join(self.lines)


@pytest.fixture
def log_text():
    handler, root = LogText(), logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    yield handler
    root.removeHandler(handler)
    root.setLevel(level)


def test_credentials_never_reach_the_log_nor_the_errors(broker, subscriber, log_text):
    url = f"mqtt://inspector:pa55word@127.0.0.1:{broker.port}"
    sink = MqttSink(settings(url, timeout=1.0), ["cam-0"])
    sink.deliver("cam-0", "e1", b'{"event_id": "e1"}')
    broker.stop()
    with pytest.raises(DeliveryError) as lost:
        for _ in range(50):  # until the sink noticed the drop
            sink.deliver("cam-0", "e2", b'{"event_id": "e2"}')
            time.sleep(0.05)
    deadline = time.monotonic() + 10
    while "connection lost" not in log_text.text and time.monotonic() < deadline:  # logged by paho's thread
        time.sleep(0.01)
    sink.close()
    refused = MqttSink(settings(f"mqtt://inspector:pa55word@127.0.0.1:{free_port()}", username="other",
                                password="s3cret-too"))
    with pytest.raises(DeliveryError, match="cannot be reached") as unreachable:
        refused.deliver("cam-0", "e3", b"{}")
    text = log_text.text + str(lost.value) + str(unreachable.value)
    assert "***@127.0.0.1" in str(unreachable.value) and "connection lost" in log_text.text
    for secret in ("pa55word", "s3cret-too", "inspector"):
        assert secret not in text


def tally(payloads: list[bytes], sent: dict[str, list[str]]) -> dict[str, int]:
    """(sent, received, lost, duplicated, out of order) of the event messages against ``sent``."""
    first: dict[str, list[str]] = defaultdict(list)
    copies: dict[str, set[bytes]] = defaultdict(set)
    for payload in payloads:
        body = json.loads(payload)
        if body["event_id"] not in copies:
            first[body["camera_id"]].append(body["event_id"])
        copies[body["event_id"]].add(payload)
    out_of_order = 0
    for camera, ids in first.items():
        position = {e: i for i, e in enumerate(sent[camera])}
        out_of_order += sum(1 for a, b in itertools.pairwise(ids) if position[b] < position[a])
    every = {e for ids in sent.values() for e in ids}
    return {"sent": len(every), "received": len(payloads), "lost": len(every - set(copies)),
            "duplicated": len(payloads) - len(copies), "out_of_order": out_of_order,
            "differing_copies": sum(len(c) > 1 for c in copies.values())}


def test_a_broker_stopped_mid_run_loses_nothing(broker, subscriber, tmp_path):
    """1,000 events of 4 cameras through EventStore and OutboxSender; the broker is killed once 300 arrived and
    started again 3 s later."""
    events = replayed_events(1000, 4)
    sent = event_ids(events)
    gate = Gate(broker.port)
    store = EventStore(tmp_path / "events.db", sinks=["mqtt"])
    sink_settings = settings(f"mqtt://127.0.0.1:{gate.port}")
    sender = OutboxSender(Outbox(store.db), MqttSink(sink_settings, sorted(sent)), None, sink_settings).start()

    def write() -> None:
        for e in events:
            assert store.add(e)
            sender.notify()
            time.sleep(0.002)

    writer = threading.Thread(target=write)
    writer.start()
    try:
        assert len(subscriber.wait_for("streetorder/events", 300, timeout=60)) >= 300
        broker.stop()
        at_stop = len(subscriber.on("streetorder/events"))
        gate.open.clear()
        time.sleep(3)
        broker.start()
        assert subscriber.subscribed.wait(10)
        gate.open.set()
        writer.join(120)
        left = sender.drain(120)
    finally:
        writer.join(120)
        sender.stop()
        gate.close()
    counts = tally(subscriber.wait_for("streetorder/events", 1000), sent)
    print(f"\nmqtt broker stopped for 3 s after {at_stop} received: {counts}, failed deliveries "
          f"{sender.counters.failed_total}, delivered {sender.counters.delivered_total}")
    assert left == 0 and at_stop < 1000 and sender.counters.failed_total > 0
    assert counts["lost"] == 0 and counts["out_of_order"] == 0 and counts["differing_copies"] == 0
    assert counts["received"] == counts["sent"] + counts["duplicated"]


def test_a_topic_naming_the_unit_routes_each_event_to_its_grid(broker, subscriber):
    sink = MqttSink(settings(f"mqtt://127.0.0.1:{broker.port}", status_topics=False,
                             topic="city/{district}/{grid}/{rule}"))
    units = {"e1": {"district": "Lucheng", "grid": "LC-0412", "road": None}, "e2": {"district": "Lucheng",
             "grid": None, "road": None}, "e3": None}
    for event_id, unit in units.items():
        sink.deliver("cam-0", event_id, json.dumps({"event_id": event_id, "camera_id": "cam-0", "unit": unit,
                                                    "rule": "sidewalk_parking"}).encode())
    assert subscriber.wait_for("city/Lucheng/LC-0412/sidewalk_parking")
    assert subscriber.wait_for("city/Lucheng/none/sidewalk_parking")
    assert subscriber.wait_for("city/none/none/sidewalk_parking")
    sink.close()
