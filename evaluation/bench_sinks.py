"""The sinks' throughput: events per second delivered (acknowledged) through EventStore's outbox and an
OutboxSender, to a local mosquitto (MQTT, QoS 1) and a local HTTP receiver (webhook), on loopback.

Each run stores ``count`` events in a fresh SQLite store first, then times one sender from its start until nothing
is pending: the figure is the sender's, not the store's writing.
"""

from __future__ import annotations

import shutil
import socket
import statistics
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from events.outbox import Outbox
from events.record import Event, event_from_change
from events.sender import OutboxSender
from events.sinks import make_sink
from events.store import EventStore
from zones.config_sinks import MqttSinkSettings, WebhookSinkSettings
from zones.dwell import StateChange

CAMERAS = 4


@dataclass
class SinkRun:
    sink: str
    events: int
    seconds: float

    @property
    def rate(self) -> float:
        return self.events / self.seconds if self.seconds > 0 else float("inf")


def mosquitto_binary() -> str | None:
    return shutil.which("mosquitto") or ("/usr/sbin/mosquitto" if Path("/usr/sbin/mosquitto").is_file() else None)


def bench_events(count: int, cameras: int = CAMERAS) -> list[Event]:
    """``count`` warn events in recording order, going round ``cameras`` cameras."""
    return [event_from_change(StateChange("warn", "sidewalk_parking", "walk", str(i), "car", float(i), 62.0,
                                          (1.0, 2.0, 3.0, 4.0), 0.9), f"cam-{i % cameras}", None, {}, None)
            for i in range(count)]


def one_run(settings, events: list[Event], folder: Path) -> SinkRun:
    """Store ``events`` with one outbox row each for ``settings``' sink, then time their delivery."""
    store = EventStore(folder / f"{settings.name}-{time.monotonic_ns()}.db", sinks=[settings.name])
    for event in events:
        store.add(event)
    cameras = sorted({e.camera_id for e in events})
    sender = OutboxSender(Outbox(store.db), make_sink(settings, cameras), None, settings)
    started = time.perf_counter()
    sender.start()
    left = sender.drain(600)
    seconds = time.perf_counter() - started
    sender.stop()
    store.close()
    if left:
        raise RuntimeError(f"sink {settings.name!r}: {left} events still pending after 600 s")
    return SinkRun(settings.name, len(events), seconds)


def bench_sinks(count: int, repeats: int = 3, note=print) -> list[dict]:
    """Median events/s delivered per sink over ``repeats`` runs; a sink whose server is not installed is skipped
    with what to install."""
    events = bench_events(count)
    results = []
    with tempfile.TemporaryDirectory(prefix="streetorder-bench-sinks-") as tmp:
        folder = Path(tmp)
        sinks = []
        binary = mosquitto_binary()
        broker = mosquitto(binary, folder) if binary else None
        if broker is None:
            note("mqtt: mosquitto is not installed (apt-get install mosquitto); the MQTT sink is not measured")
        receiver = http_receiver()
        try:
            if broker is not None:
                sinks.append(MqttSinkSettings(type="mqtt", url=f"mqtt://127.0.0.1:{broker[1]}", name="mqtt"))
            sinks.append(WebhookSinkSettings(type="webhook", url=receiver[1], secret="bench", name="webhook"))
            for settings in sinks:
                runs = [one_run(settings, events, folder) for _ in range(repeats)]
                for r in runs:
                    note(f"  {r.sink}: {r.events} events in {r.seconds:.2f} s = {r.rate:.0f} events/s")
                rates = [r.rate for r in runs]
                results.append({"sink": settings.name, "events": count, "median_rate": statistics.median(rates),
                                "rates": rates})
        finally:
            receiver[0].shutdown()
            receiver[0].server_close()
            if broker is not None:
                broker[0].kill()
                broker[0].wait()
    return results


def rows(results: list[dict]) -> tuple[list[str], list[list[str]]]:
    header = ["sink", "events", "events/s delivered (median)", "runs (events/s)"]
    return header, [[r["sink"], str(r["events"]), f"{r['median_rate']:.0f}",
                     ", ".join(f"{x:.0f}" for x in r["rates"])] for r in results]


def mosquitto(binary: str, folder: Path, port: int | None = None) -> tuple[subprocess.Popen, int]:
    """A mosquitto on 127.0.0.1 (anonymous, no persistence; a free port unless ``port``) and its port."""
    if port is None:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
    conf = folder / "mosquitto.conf"
    conf.write_text(f"listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\n"
                    "max_queued_messages 100000\n")
    process = subprocess.Popen([binary, "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return process, port
        time.sleep(0.05)
    process.kill()
    raise RuntimeError(f"mosquitto did not listen on 127.0.0.1:{port} within 30 s")


def http_receiver() -> tuple[ThreadingHTTPServer, str]:
    """A receiver of webhooks that answers 204 to every POST (it does not check signatures: a cost not ours)."""

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:  # the name http.server calls
            self.rfile.read(int(self.headers["Content-Length"]))
            self.send_response(204)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}/api/events"

