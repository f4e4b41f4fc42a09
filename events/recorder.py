"""State changes -> events with evidence, written to the store and files before anyone is told."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import datetime

import numpy as np

from events.evidence import EvidenceWriter
from events.ladder import Ladder
from events.record import Event, ViewRecord, event_from_change
from events.store import EventStore, JsonlWriter
from plates.stage import PlateStage
from zones.dwell import StateChange
from zones.units import UnitLookup

log = logging.getLogger(__name__)

Sink = Callable[[Event], None]


class EventRecorder:
    """Turn one camera's state changes into events.

    ``rest`` changes take photos and hold them; ``drop`` changes discard them; ``warn``, ``escalate`` and ``clear``
    become events: photos written, then the store, then ``events.jsonl``, then the sinks (notifiers), so nothing
    announced can be lost.
    """

    def __init__(self, camera_id: str, evidence: EvidenceWriter, store: EventStore, jsonl: JsonlWriter | None = None,
                 sinks: Sequence[Sink] = (), where: tuple[float, float] | None = None,
                 units: UnitLookup | None = None):
        self.camera_id = camera_id
        self.where = where  # the camera's position (its ``geo``), carried by its events
        self.units = units  # the responsibility unit of each event
        self.evidence = evidence
        self.store = store
        self.jsonl = jsonl
        self.sinks = list(sinks)
        self.already_known = 0

    def record(self, changes: list[StateChange], image: np.ndarray, t: float, origin: datetime | None,
               plates: PlateStage | None = None, ladder: Ladder | None = None,
               view: ViewRecord | None = None) -> list[Event]:
        """Events for ``changes`` (those already stored by an earlier run included, counted in ``already_known``),
        with the objects' plates as ``plates`` read them, warns graded by ``ladder`` and the camera's ``view``."""
        events = []
        for change in changes:
            if change.kind == "rest":
                self.evidence.hold(change, self.evidence.take(change, image, t, origin))
                continue
            if change.kind == "drop":
                self.evidence.discard(change)
                continue
            photos = self.evidence.save(change, self.evidence.take(change, image, t, origin))
            plate = plates.plate(change.object_id) if plates is not None else None
            if plate is not None and plate.image is not None:
                photos["plate_crop"] = self.evidence.save_plate(change, plate.image)
            event = event_from_change(change, self.camera_id, origin, photos, self.where, view)
            if plate is not None:
                event = event.model_copy(update={"plate": plate.text, "plate_score": plate.score})
            if ladder is not None:
                event = ladder.grade(event)
            event = self.placed(event)
            self.publish(event)
            events.append(event)
        return events

    def placed(self, event: Event) -> Event:
        """The event with its responsibility unit (zone, camera or unit map), if it has none yet."""
        unit = None if self.units is None or event.unit else self.units.unit_for(event.zone_id, event.lon, event.lat)
        return event if unit is None else event.model_copy(update={"unit": unit.to_json()})

    def publish(self, event: Event) -> bool:
        """Store, then ``events.jsonl``, then the sinks; False (and counted in ``already_known``) when the store
        had the event already (a replay), which then reaches no sink again."""
        event = self.placed(event)
        new = self.store.add(event)
        if self.jsonl is not None:
            self.jsonl.write(event)
        if not new:
            self.already_known += 1
            return False
        for sink in self.sinks:
            try:
                sink(event)
            except Exception:  # a broken notifier must not stop detection; the event is already stored
                log.exception("%s: sink %r failed for event %s", self.camera_id, sink, event.event_id)
        return True
