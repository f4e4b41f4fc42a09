"""The health surface of a live run: ``/healthz`` (JSON) and ``/metrics`` (Prometheus text) on a local port.

``/metrics`` (scrape it with Prometheus; labels are camera ids, never URLs)::

    streetorder_frames_read_total{camera}          frames decoded from the stream
    streetorder_frames_analysed_total{camera}      frames that went through detection and the rules
    streetorder_frames_dropped_total{camera}       analysis slots skipped because analysis fell behind
    streetorder_reconnects_total{camera}           reconnection attempts after a failure
    streetorder_camera_up{camera}                  1 while frames arrive, else 0
    streetorder_stream_lag_seconds{camera}         how far decoding is behind the stream's own clock
    streetorder_open_timers{camera}                dwell timers running now
    streetorder_camera_view{camera,state}          1 for the fixed camera's view state (ok, shifted, moved), else 0
    streetorder_camera_preset{camera,preset}       1 for the PTZ preset the camera shows (none while moved)
    streetorder_camera_rate{camera,rate}           1 for the analysis rate the camera is at (busy, idle)
    streetorder_events_total{camera,rule,type}     warn / clear / escalate events recorded
    streetorder_inference_seconds{model}           detector latency per frame (histogram)
    streetorder_sink_pending{sink}                 outbox rows still to deliver to the sink
    streetorder_sink_dead{sink}                    rows parked as dead (`streetorder sinks retry-dead`)
    streetorder_sink_delivered_total{sink}         rows delivered by this run
    streetorder_sink_delivery_seconds{sink}        recording -> acknowledgement of each delivery (histogram)

``/healthz`` answers 200 with every camera's status while the analysis loop is alive, 503 when it is stuck; its
``sinks`` are ``{name: {pending, dead, oldest_pending_s}}``.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric

from events.sender import LATENCY_BUCKETS, OutboxSender, SinkCounters

log = logging.getLogger(__name__)

VIEW_STATES = ("ok", "shifted", "moved")
RATE_STATES = ("busy", "idle")
INFERENCE_BUCKETS = (0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.5, 1.0, 2.0, 5.0)


@dataclass
class CameraCounters:
    """One camera's numbers at the moment of a scrape."""

    camera_id: str
    frames_read: int = 0
    frames_analysed: int = 0
    frames_dropped: int = 0
    reconnects: int = 0
    up: bool = False
    stream_lag: float = 0.0
    open_timers: int = 0
    view: str | None = None  # ok | shifted | moved; None when the camera's view is not checked
    events: dict[tuple[str, str], int] = field(default_factory=dict)  # (rule, type) -> count
    preset: str | None = None  # the PTZ preset the camera shows; None without presets or while moved
    rate: str = "busy"  # busy (analysed at analysis_fps) or idle (at detect.idle_fps)


class LiveMetrics:
    """A Prometheus registry of its own: per-camera numbers read at scrape time, and the inference histogram.

    Example:
        >>> metrics = LiveMetrics(lambda: [CameraCounters("cam-01", frames_read=250, up=True)])
        >>> metrics.inference.labels("yolo11n").observe(0.08)
        >>> text = metrics.text()
        >>> 'streetorder_frames_read_total{camera="cam-01"} 250.0' in text
        True
    """

    def __init__(self, cameras: Callable[[], list[CameraCounters]]):
        self.registry = CollectorRegistry()
        self.inference = Histogram("streetorder_inference_seconds", "Detector latency per frame", ["model"],
                                   registry=self.registry, buckets=INFERENCE_BUCKETS)
        self.registry.register(_CameraCollector(cameras))

    def text(self) -> str:
        return generate_latest(self.registry).decode()


class _CameraCollector:
    def __init__(self, cameras: Callable[[], list[CameraCounters]]):
        self.cameras = cameras

    def collect(self) -> Iterator[Metric]:
        rows = self.cameras()
        counters = {
            "frames_read": "Frames decoded from the stream",
            "frames_analysed": "Frames that went through detection and the rules",
            "frames_dropped": "Analysis slots skipped because analysis fell behind",
            "reconnects": "Reconnection attempts after a failure",
        }
        for name, help_text in counters.items():
            family = CounterMetricFamily(f"streetorder_{name}", help_text, labels=["camera"])
            for row in rows:
                family.add_metric([row.camera_id], getattr(row, name))
            yield family
        gauges = {
            "camera_up": ("1 while frames arrive, else 0", lambda r: float(r.up)),
            "stream_lag_seconds": ("How far decoding is behind the stream's own clock", lambda r: r.stream_lag),
            "open_timers": ("Dwell timers running now", lambda r: r.open_timers),
        }
        for name, (help_text, value) in gauges.items():
            family = GaugeMetricFamily(f"streetorder_{name}", help_text, labels=["camera"])
            for row in rows:
                family.add_metric([row.camera_id], value(row))
            yield family
        view = GaugeMetricFamily("streetorder_camera_view", "1 for the state the camera's view is in (ok, shifted, "
                                 "moved)", labels=["camera", "state"])
        for row in (r for r in rows if r.view is not None):
            for state in VIEW_STATES:
                view.add_metric([row.camera_id, state], float(row.view == state))
        yield view
        rate = GaugeMetricFamily("streetorder_camera_rate", "1 for the analysis rate the camera is at (busy: "
                                 "analysis_fps, idle: detect.idle_fps)", labels=["camera", "rate"])
        for row in rows:
            for state in RATE_STATES:
                rate.add_metric([row.camera_id, state], float(row.rate == state))
        yield rate
        preset = GaugeMetricFamily("streetorder_camera_preset", "1 for the PTZ preset the camera shows",
                                   labels=["camera", "preset"])
        for row in (r for r in rows if r.preset is not None):
            preset.add_metric([row.camera_id, row.preset], 1.0)
        yield preset
        events = CounterMetricFamily("streetorder_events", "Events recorded", labels=["camera", "rule", "type"])
        for row in rows:
            for (rule, kind), count in sorted(row.events.items()):
                events.add_metric([row.camera_id, rule, kind], count)
        yield events


def sinks_health(senders: list[OutboxSender]) -> dict[str, dict]:
    """The ``sinks`` part of /healthz."""
    return {sender.name: sender.health() for sender in senders}


def add_sink_metrics(metrics: LiveMetrics, sinks: Callable[[], list[SinkCounters]]) -> None:
    """Put the senders' numbers (read at scrape time) in ``metrics``."""
    metrics.registry.register(_SinkCollector(sinks))


class _SinkCollector:
    def __init__(self, sinks: Callable[[], list[SinkCounters]]):
        self.sinks = sinks

    def collect(self) -> Iterator[Metric]:
        rows = self.sinks()
        pending = GaugeMetricFamily("streetorder_sink_pending", "Outbox rows still to deliver", labels=["sink"])
        dead = GaugeMetricFamily("streetorder_sink_dead", "Outbox rows parked as dead", labels=["sink"])
        delivered = CounterMetricFamily("streetorder_sink_delivered", "Rows delivered by this run", labels=["sink"])
        latency = HistogramMetricFamily("streetorder_sink_delivery_seconds", "Recording to acknowledgement",
                                        labels=["sink"])
        for row in rows:
            pending.add_metric([row.sink], row.pending)
            dead.add_metric([row.sink], row.dead)
            delivered.add_metric([row.sink], row.delivered_total)
            cumulative, buckets = 0, []
            for bound, count in zip([*map(str, LATENCY_BUCKETS), "+Inf"], row.latency_buckets, strict=True):
                cumulative += count
                buckets.append((bound, cumulative))
            latency.add_metric([row.sink], buckets, row.latency_sum)
        yield from (pending, dead, delivered, latency)


class HealthServer:
    """``/healthz`` and ``/metrics`` over HTTP on ``host:port`` (loopback by default), served by a daemon thread.

    ``health()`` returns the JSON body; its ``"status"`` of ``"stuck"`` turns the answer into a 503. Port 0 takes
    any free port; ``port`` holds the one bound.

    Example:
        >>> server = HealthServer(0, lambda: {"status": "ok"}, LiveMetrics(list)).start()
        >>> import urllib.request
        >>> urllib.request.urlopen(f"http://127.0.0.1:{server.port}/healthz").read()
        b'{"status": "ok"}'
        >>> server.stop()
    """

    def __init__(self, port: int, health: Callable[[], dict], metrics: LiveMetrics, host: str = "127.0.0.1"):
        self.host, self.port = host, port
        self.health = health
        self.metrics = metrics
        self._server: ThreadingHTTPServer | None = None

    def start(self) -> HealthServer:
        """Listen; raises ``OSError`` with a sentence naming the port if it is taken."""
        try:
            self._server = ThreadingHTTPServer((self.host, self.port), self._handler())
        except OSError as exc:
            raise OSError(f"the health port {self.host}:{self.port} cannot be used ({exc.strerror}); pass "
                          "--health-port with a free port, or 0 for any free one") from None
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        threading.Thread(target=self._server.serve_forever, name="health", daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # the name http.server calls
                path = self.path.split("?", 1)[0]
                if path == "/healthz":
                    body = server.health()
                    self._send(503 if body.get("status") == "stuck" else 200, "application/json",
                               json.dumps(body).encode())
                elif path == "/metrics":
                    self._send(200, CONTENT_TYPE_LATEST, generate_latest(server.metrics.registry))
                else:
                    self._send(404, "text/plain", b"not found: try /healthz or /metrics\n")

            def _send(self, code: int, content_type: str, body: bytes) -> None:
                self.send_response(code)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args) -> None:
                log.debug("health: " + format, *args)

        return Handler
