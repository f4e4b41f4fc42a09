"""The map's live feed: ONE poller per app watches the store for new events and changed camera statuses and hands
each change to every open map, so a hundred open pages cost the store what one does (no polling storm).

The poller runs in the app's event loop while at least one map is open (its reads in a worker thread) and stops
when the last one closes. Each map gets a bounded queue; a map that does not keep up is told to start over
(``reset``) instead of holding the server's memory. On PostgreSQL an event can commit after one with a higher
rowid: the poller looks back ``RESCAN_WINDOW`` rows and remembers what it sent.
"""

from __future__ import annotations

import asyncio
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from review.db import RESCAN_WINDOW
from review.map_data import MapView, map_status

POLL_S = 0.2  # how often the one poller looks: the map's added latency is at most this
BATCH_LIMIT = 500  # events read per look; more are read on the next look, without waiting
QUEUE_BATCHES = 200  # batches a slow map may fall behind before it is told to start over
RESET = {"reset": True}


@dataclass(eq=False)  # kept in a set: each one by identity
class Subscription:
    """One open map: its queue of batches and the cursor it starts from."""

    queue: asyncio.Queue = field(default_factory=lambda: asyncio.Queue(QUEUE_BATCHES))
    cursor: int = 0


class MapFeed:
    """The shared poller and its subscribers."""

    def __init__(self, view: MapView, poll_s: float = POLL_S):
        self.view, self.poll_s = view, poll_s
        self.subscribers: set[Subscription] = set()
        self.cursor: int | None = None  # the newest rowid broadcast
        self.sent: deque[int] = deque(maxlen=RESCAN_WINDOW)  # rowids broadcast near the cursor (PostgreSQL)
        self.statuses: dict[str, tuple] = {}
        self.polls = 0  # looks at the store, for the tests and the load script
        self._task: asyncio.Task | None = None

    async def subscribe(self) -> Subscription:
        """A new map's subscription; every batch broadcast after it holds events after ``cursor``."""
        if self.cursor is None:
            self.cursor, self.statuses = await asyncio.to_thread(self._start)
        subscription = Subscription(cursor=self.cursor)
        self.subscribers.add(subscription)
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run())
        return subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        self.subscribers.discard(subscription)

    async def _run(self) -> None:
        while self.subscribers:
            batch, cursor, statuses = await asyncio.to_thread(self._poll, self.cursor or 0)
            self.cursor, self.statuses = cursor, statuses
            if batch["events"] or batch["statuses"]:
                self._broadcast({**batch, "cursor": cursor})
            if len(batch["events"]) < BATCH_LIMIT:
                await asyncio.sleep(self.poll_s)
        self.cursor = None  # the next map starts from the store as it is then, not from a backlog
        self.sent.clear()

    def _broadcast(self, batch: dict[str, Any]) -> None:
        for subscription in list(self.subscribers):
            try:
                subscription.queue.put_nowait(batch)
            except asyncio.QueueFull:
                self.subscribers.discard(subscription)
                while not subscription.queue.empty():
                    subscription.queue.get_nowait()
                subscription.queue.put_nowait(RESET)

    def _start(self) -> tuple[int, dict[str, tuple]]:
        """Where the feed starts: the newest event now (and what the look-back will find already there)."""
        cursor = self.view.db.execute("SELECT coalesce(max(rowid), 0) FROM events").fetchone()[0]
        if self.view.db.dialect == "postgresql":
            self.sent.extend(r["rowid"] for r in self.view.db.execute(
                "SELECT rowid FROM events WHERE rowid > ? AND rowid <= ? ORDER BY rowid",
                (cursor - RESCAN_WINDOW, cursor)))
        return cursor, self._status_keys()[1]

    def _poll(self, cursor: int) -> tuple[dict[str, Any], int, dict[str, tuple]]:
        """New events after ``cursor`` (and, on PostgreSQL, late ones just before it) and changed statuses."""
        self.polls += 1
        window = RESCAN_WINDOW if self.view.db.dialect == "postgresql" else 0
        rows = self.view.db.execute("SELECT rowid FROM events WHERE rowid > ? ORDER BY rowid LIMIT ?",
                                    (max(0, cursor - window), BATCH_LIMIT + window)).fetchall()
        sent = set(self.sent)
        fresh = [r["rowid"] for r in rows if r["rowid"] not in sent][:BATCH_LIMIT]
        self.sent.extend(fresh)
        statuses, keys = self._status_keys()
        changed = [statuses[camera_id] for camera_id, key in keys.items() if self.statuses.get(camera_id) != key]
        return ({"events": self.view.events(fresh), "statuses": changed}, max([cursor, *fresh]), keys)

    def _status_keys(self) -> tuple[dict[str, dict[str, Any]], dict[str, tuple]]:
        """Each camera's map status, and what of it counts as a change (not the row's renewal time)."""
        now = datetime.now(UTC)
        statuses = {row.camera_id: {"camera_id": row.camera_id, **map_status(row, now)}
                    for row in self.view.statuses.all()}
        return statuses, {c: (s["status"], s["reason"], s["view"], s.get("preset")) for c, s in statuses.items()}

