"""The outbox: one row per event and sink, written in the same transaction as the event, so an event in the store
always reaches every sink (at least once, in order per camera), across sink outages, crashes and restarts.

Rows are ``pending`` until their sink acknowledges them (``delivered``) or they fail ``max_attempts`` times or
permanently (``dead``: shown in /healthz and /metrics; ``streetorder sinks retry-dead`` makes them pending again).
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Protocol

from events.database import Connection, Database

if TYPE_CHECKING:
    from zones.config_sinks import DeliverySettings

SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox (
    outbox_id    INTEGER PRIMARY KEY,        -- the order of recording: a sink gets a camera's events in this order
    sink         TEXT NOT NULL,              -- the sink's name (sinks[].name)
    camera_id    TEXT NOT NULL,
    event_id     TEXT NOT NULL,
    body         TEXT NOT NULL,              -- the event's JSON, exactly as delivered
    state        TEXT NOT NULL DEFAULT 'pending',  -- pending | delivered | dead
    attempts     INTEGER NOT NULL DEFAULT 0,
    next_at      TEXT NOT NULL,              -- not before (ISO UTC): the backoff of the last failure
    last_error   TEXT,
    created_at   TEXT NOT NULL,
    delivered_at TEXT,
    UNIQUE (sink, event_id)
);
CREATE INDEX IF NOT EXISTS outbox_by_state ON outbox (sink, state, camera_id, outbox_id);
"""


class SinkRoute(Protocol):
    """A sink that takes only some events (``sinks[]`` of the config: its ``events``, ``rules``, ``units``) at
    one moment (``when``: ``recorded`` by the store, or ``confirmed`` by the reviewers)."""

    name: str
    when: str

    def accepts(self, event: dict) -> bool: ...


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds")


def enqueue(tx: Connection, camera_id: str, event_id: str, body: str, sinks: Sequence[str]) -> None:
    """Add the rows of one new event for ``sinks`` inside the caller's transaction (the one storing the event)."""
    now = now_iso()
    for sink in sinks:
        tx.execute("INSERT INTO outbox (sink, camera_id, event_id, body, next_at, created_at) "
                   "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (sink, event_id) DO NOTHING",
                   (sink, camera_id, event_id, body, now, now))


@dataclass(frozen=True)
class OutboxRow:
    """One event waiting for one sink."""

    outbox_id: int
    sink: str
    camera_id: str
    event_id: str
    body: str
    attempts: int
    created_at: str


def backoff(attempts: int, retry_after: float, max_retry_after: float) -> float:
    """Seconds before the next try after ``attempts`` failures: doubling, plus up to 25 % jitter, capped.

    >>> backoff(1, 1.0, 300.0) < 1.26 and backoff(3, 1.0, 300.0) >= 4.0, backoff(20, 1.0, 300.0)
    (True, 300.0)
    """
    return min(max_retry_after, retry_after * 2 ** (attempts - 1) * (1 + random.uniform(0, 0.25)))


class Outbox:
    """The outbox of one store (``db``): what each sink still has to get, and the bookkeeping of deliveries.

    ``cameras`` restricts every read and change to those cameras (a process sends only the cameras it runs, so
    order per camera holds when several processes share one PostgreSQL store); None means all.
    """

    def __init__(self, db: Database):
        self.db = db
        db.apply(SCHEMA)

    def due(self, sink: str, cameras: Sequence[str] | None = None, per_camera: int = 1,
            now: str | None = None) -> list[OutboxRow]:
        """The next rows to deliver to ``sink``: for each camera whose oldest pending row is due (``next_at`` passed),
        up to ``per_camera`` of its pending rows in order. A camera waiting on a failing row holds back only itself."""
        where, params = _cameras("camera_id", cameras)
        heads = self.db.execute(
            "SELECT o.camera_id FROM outbox o JOIN (SELECT camera_id AS cam, min(outbox_id) AS head FROM outbox "
            f"WHERE sink = ? AND state = 'pending'{where} GROUP BY camera_id) h ON o.outbox_id = h.head "
            "WHERE o.next_at <= ? ORDER BY o.outbox_id", (sink, *params, now or now_iso())).fetchall()
        rows: list[OutboxRow] = []
        for (camera_id,) in heads:
            rows += [OutboxRow(*r) for r in self.db.execute(
                "SELECT outbox_id, sink, camera_id, event_id, body, attempts, created_at FROM outbox "
                "WHERE sink = ? AND camera_id = ? AND state = 'pending' ORDER BY outbox_id LIMIT ?",
                (sink, camera_id, per_camera))]
        return rows

    def delivered(self, row: OutboxRow) -> float:
        """Mark ``row`` delivered; returns its latency (seconds from recording to acknowledgement)."""
        now = datetime.now(UTC)
        self.db.execute("UPDATE outbox SET state = 'delivered', delivered_at = ?, attempts = attempts + 1, "
                        "last_error = NULL WHERE outbox_id = ? AND state = 'pending'",
                        (now.isoformat(timespec="microseconds"), row.outbox_id))
        return max(0.0, (now - datetime.fromisoformat(row.created_at)).total_seconds())

    def failed(self, row: OutboxRow, error: str, settings: DeliverySettings, permanent: bool = False) -> str:
        """Count a failed delivery of ``row``: retried after a backoff, or ``dead`` after ``max_attempts`` or at once
        when ``permanent``. Returns the row's new state."""
        attempts = row.attempts + 1
        dead = permanent or attempts >= settings.max_attempts
        delay = backoff(attempts, settings.retry_after, settings.max_retry_after)
        next_at = (datetime.now(UTC) + timedelta(seconds=delay)).isoformat(timespec="microseconds")
        state = "dead" if dead else "pending"
        self.db.execute("UPDATE outbox SET state = ?, attempts = ?, next_at = ?, last_error = ? "
                        "WHERE outbox_id = ? AND state = 'pending'",
                        (state, attempts, next_at, error[:2000], row.outbox_id))
        return state

    def counts(self, cameras: Sequence[str] | None = None) -> dict[str, dict[str, int]]:
        """Rows per sink and state: ``{sink: {"pending": n, "delivered": n, "dead": n}}``."""
        where, params = _cameras("camera_id", cameras, first=True)
        counts: dict[str, dict[str, int]] = {}
        for sink, state, n in self.db.execute(
                f"SELECT sink, state, count(*) FROM outbox{where} GROUP BY sink, state ORDER BY sink", params):
            counts.setdefault(sink, dict.fromkeys(STATES, 0))[state] = int(n)
        return counts

    def pending(self, sink: str, cameras: Sequence[str] | None = None) -> int:
        where, params = _cameras("camera_id", cameras)
        return int(self.db.execute(f"SELECT count(*) FROM outbox WHERE sink = ? AND state = 'pending'{where}",
                                   (sink, *params)).fetchone()[0])

    def oldest_pending_age(self, sink: str, cameras: Sequence[str] | None = None) -> float | None:
        """Seconds since the oldest pending row of ``sink`` was recorded (None: nothing pending)."""
        where, params = _cameras("camera_id", cameras)
        oldest = self.db.execute(f"SELECT min(created_at) FROM outbox WHERE sink = ? AND state = 'pending'{where}",
                                 (sink, *params)).fetchone()[0]
        if oldest is None:
            return None
        return round((datetime.now(UTC) - datetime.fromisoformat(oldest)).total_seconds(), 3)

    def dead(self, sink: str | None = None, limit: int = 50) -> list[dict]:
        """The dead rows (newest first) with their last error."""
        where, params = (" AND sink = ?", (sink,)) if sink else ("", ())
        return [dict(zip(r.keys(), r, strict=True)) for r in self.db.execute(
            "SELECT outbox_id, sink, camera_id, event_id, attempts, last_error, created_at FROM outbox "
            f"WHERE state = 'dead'{where} ORDER BY outbox_id DESC LIMIT ?", (*params, limit))]

    def retry_dead(self, sink: str | None = None, cameras: Sequence[str] | None = None) -> int:
        """Make dead rows pending again (attempts from zero); returns how many."""
        where, params = _cameras("camera_id", cameras)
        if sink:
            where, params = where + " AND sink = ?", (*params, sink)
        return self.db.execute(f"UPDATE outbox SET state = 'pending', attempts = 0, next_at = ? "
                               f"WHERE state = 'dead'{where}", (now_iso(), *params)).rowcount

    def purge_delivered(self, days: float) -> int:
        """Delete delivered rows older than ``days``; returns how many."""
        before = (datetime.now(UTC) - timedelta(days=days)).isoformat(timespec="microseconds")
        return self.db.execute("DELETE FROM outbox WHERE state = 'delivered' AND delivered_at < ?",
                               (before,)).rowcount


STATES = ("pending", "delivered", "dead")


def _cameras(column: str, cameras: Sequence[str] | None, first: bool = False) -> tuple[str, tuple]:
    """An SQL condition restricting ``column`` to ``cameras`` (empty for None) and its parameters."""
    if cameras is None:
        return "", ()
    cameras = tuple(cameras) or ("",)
    condition = f"{column} IN ({', '.join('?' * len(cameras))})"
    return (" WHERE " if first else " AND ") + condition, cameras
