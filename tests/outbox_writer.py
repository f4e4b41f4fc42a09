"""A writing process for the kill -9 test: store events through ``EventStore.add`` (the event and its outbox row in
one transaction) and send them with an OutboxSender.

``python -m tests.outbox_writer STORE URL SECRET COUNT CAMERAS``; already stored events are skipped, as in a replay
after a restart."""

from __future__ import annotations

import sys
import time

from events.outbox import Outbox
from events.record import Event, event_from_change
from events.sender import OutboxSender
from events.sinks.webhook import WebhookSink
from events.store import EventStore
from zones.config_sinks import WebhookSinkSettings
from zones.dwell import StateChange


def replayed_events(count: int, cameras: int) -> list[Event]:
    """``count`` warn events in recording order, going round ``cameras`` cameras."""
    events = []
    for i in range(count):
        change = StateChange("warn", "sidewalk_parking", "walk", str(i), "car", float(i), 62.0, (1.0, 2.0, 3.0, 4.0),
                             0.9)
        events.append(event_from_change(change, f"cam-{i % cameras}", None, {}, None))
    return events


def event_ids(events: list[Event]) -> dict[str, list[str]]:
    """camera -> its event ids in recording order."""
    ids: dict[str, list[str]] = {}
    for event in events:
        ids.setdefault(event.camera_id, []).append(event.event_id)
    return ids


def main(store: str, url: str, secret: str, count: int, cameras: int) -> None:
    settings = WebhookSinkSettings(type="webhook", url=url, secret=secret, name="hook", retry_after=0.1,
                                   max_retry_after=1, max_attempts=1000, timeout=5)
    events = EventStore(store, sinks=["hook"])
    sender = OutboxSender(Outbox(events.db), WebhookSink(settings), None, settings).start()
    for event in replayed_events(count, cameras):
        if events.add(event):
            sender.notify()
            time.sleep(0.002)
    left = sender.drain(120)
    sender.stop()
    print(f"left {left}", flush=True)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]))
