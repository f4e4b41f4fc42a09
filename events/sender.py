"""One sender per sink: a daemon thread that delivers the outbox's rows of its cameras, in order per camera.

It wakes when ``notify()`` is called (after an event is stored) or every ``POLL`` seconds, never raises out of its
thread, and a sink that is down only holds back its own rows: analysis and the other sinks go on.
"""

from __future__ import annotations

import bisect
import logging
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from contracts.urls import mask_credentials
from events.outbox import Outbox, OutboxRow
from events.sinks import DeliveryError, Sink, make_sink
from zones.config_sinks import DeliverySettings

log = logging.getLogger(__name__)

POLL = 0.5  # seconds between looks at the outbox when nobody calls notify()
BATCH = 100  # rows of one camera taken per look
LATENCY_BUCKETS = (0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 30.0, 60.0, 300.0, 1800.0, 3600.0)  # recording -> acknowledged


@dataclass
class SinkCounters:
    """One sender's numbers for /healthz and /metrics."""

    sink: str
    pending: int = 0
    dead: int = 0
    oldest_pending_s: float | None = None
    delivered_total: int = 0
    failed_total: int = 0
    latency_buckets: list[int] = field(default_factory=lambda: [0] * (len(LATENCY_BUCKETS) + 1))
    latency_sum: float = 0.0


class OutboxSender:
    """Deliver ``sink``'s rows of ``cameras`` (None: every camera) from ``outbox``, retrying as ``settings`` say."""

    def __init__(self, outbox: Outbox, sink: Sink, cameras: Sequence[str] | None, settings: DeliverySettings):
        self.outbox, self.sink, self.settings = outbox, sink, settings
        self.name = sink.name
        self.cameras = None if cameras is None else list(cameras)
        self.counters = SinkCounters(self.name)
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"sink-{self.name}", daemon=True)
        self.started = time.monotonic()

    def start(self) -> OutboxSender:
        self.started = time.monotonic()
        self._thread.start()
        return self

    def notify(self, *_event) -> None:
        """Look at the outbox now (an event was stored); takes and ignores an event, to sit in a recorder's sinks."""
        self._wake.set()

    def drain(self, timeout: float) -> int:
        """Wait up to ``timeout`` seconds until nothing is pending for this sender's cameras; returns what is left."""
        deadline = time.monotonic() + timeout
        while True:
            left = self.outbox.pending(self.name, self.cameras)
            if not left or time.monotonic() >= deadline or not self._thread.is_alive():
                return left
            self.notify()
            time.sleep(0.05)

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread.is_alive():
            self._thread.join(timeout=self.settings.timeout + 5)
        try:
            self.sink.close()
        except Exception as exc:  # closing must not hide the run's result
            log.warning("sink %r: closing failed: %s", self.name, mask_credentials(exc))

    def health(self) -> dict:
        """``{pending, dead, oldest_pending_s}`` for /healthz (read from the store)."""
        self._refresh()
        c = self.counters
        return {"pending": c.pending, "dead": c.dead, "oldest_pending_s": c.oldest_pending_s}

    def rate(self) -> float:
        """Events delivered per second since the sender started."""
        return self.counters.delivered_total / max(time.monotonic() - self.started, 1e-9)

    def snapshot(self) -> SinkCounters:
        """The counters, refreshed from the store, for /metrics."""
        self._refresh()
        return self.counters

    def send_due(self) -> int:
        """Deliver what is due now, in order per camera; returns how many rows were delivered."""
        rows = self.outbox.due(self.name, self.cameras, per_camera=BATCH)
        delivered, held_back = 0, set()
        for row in rows:
            if self._stop.is_set():
                break
            if row.camera_id in held_back:
                continue  # its earlier row failed: keep the order, try again after the backoff
            if self._deliver(row):
                delivered += 1
            else:
                held_back.add(row.camera_id)
        return delivered

    def _deliver(self, row: OutboxRow) -> bool:
        try:
            self.sink.deliver(row.camera_id, row.event_id, row.body.encode())
        except DeliveryError as exc:
            self._failed(row, str(exc), exc.permanent)
            return False
        except Exception as exc:  # a bug or an unexpected library error: retried like a failure
            self._failed(row, f"sink {self.name!r}: {type(exc).__name__}: {exc}", False)
            return False
        latency = self.outbox.delivered(row)
        c = self.counters
        c.delivered_total += 1
        c.latency_sum += latency
        c.latency_buckets[bisect.bisect_left(LATENCY_BUCKETS, latency)] += 1
        return True

    def _failed(self, row: OutboxRow, error: str, permanent: bool) -> None:
        error = mask_credentials(error)
        self.counters.failed_total += 1
        state = self.outbox.failed(row, error, self.settings, permanent)
        level = logging.ERROR if state == "dead" else logging.WARNING
        log.log(level, "%s (event %s of camera %s, attempt %d)%s", error, row.event_id, row.camera_id,
                row.attempts + 1, "; parked as dead: `streetorder sinks retry-dead` sends it again"
                if state == "dead" else "; retried later")

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                sent = self.send_due()
            except Exception as exc:  # the store unreachable for a moment: look again later
                log.warning("sink %r: reading the outbox failed: %s", self.name, mask_credentials(exc))
                sent = 0
            if not sent:
                self._wake.wait(POLL)
                self._wake.clear()

    def _refresh(self) -> None:
        c = self.counters
        counts = self.outbox.counts(self.cameras).get(self.name, {})
        c.pending, c.dead = counts.get("pending", 0), counts.get("dead", 0)
        c.oldest_pending_s = self.outbox.oldest_pending_age(self.name, self.cameras) if c.pending else None


def start_senders(sinks: Sequence, outbox: Outbox, cameras: Sequence[str] | None) -> list[OutboxSender]:
    """One started sender per item of ``sinks:``, each sending the rows of ``cameras``."""
    senders = []
    for settings in sinks:
        sink = make_sink(settings, cameras or ())
        senders.append(OutboxSender(outbox, sink, cameras, settings).start())
    return senders


def stop_senders(senders: Sequence[OutboxSender]) -> None:
    for sender in senders:
        sender.stop()
