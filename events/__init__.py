"""State changes -> event records with evidence -> the store and ``events.jsonl``.

- ``Event``: the one model of a DESIGN.md event line (``to_json()``; ``Event.model_validate`` reads one).
- ``EventRecorder``: a fixed camera's state changes -> events with photos, then store, ``events.jsonl``, sinks
  (``publish``), in that order.
- ``EventStore``: events in SQLite, idempotent on ``event_id``; ``JsonlWriter``, ``read_jsonl``: the JSON lines.
- ``EvidenceWriter``: the two-photo proof of fixed cameras; ``PatrolEvidence``: moving cameras' photos and maps.
- ``ChalkMarkStore``: moving cameras' chalk marks, kept beside the events between runs.
"""

from events.chalk_marks import ChalkMarkStore
from events.evidence import EvidenceWriter
from events.patrol_evidence import PatrolEvidence
from events.record import Event, SightingRecord, event_id
from events.recorder import EventRecorder
from events.store import EventStore, JsonlWriter, read_jsonl

__all__ = ["ChalkMarkStore", "Event", "EventRecorder", "EventStore", "EvidenceWriter", "JsonlWriter",
           "PatrolEvidence", "SightingRecord", "event_id", "read_jsonl"]
