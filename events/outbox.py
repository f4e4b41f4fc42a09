"""The outbox: one row per event and sink, written in the same transaction as the event, so an event in the store
always reaches every sink (at least once, in order per camera), across sink outages, crashes and restarts.

Rows are ``pending`` until their sink acknowledges them (``delivered``) or they fail ``max_attempts`` times or
permanently (``dead``: shown in /healthz and /metrics; ``streetorder sinks retry-dead`` makes them pending again).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from events.database import Connection

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


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds")


def enqueue(tx: Connection, camera_id: str, event_id: str, body: str, sinks: Sequence[str]) -> None:
    """Add the rows of one new event for ``sinks`` inside the caller's transaction (the one storing the event)."""
    now = now_iso()
    for sink in sinks:
        tx.execute("INSERT INTO outbox (sink, camera_id, event_id, body, next_at, created_at) "
                   "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (sink, event_id) DO NOTHING",
                   (sink, camera_id, event_id, body, now, now))
