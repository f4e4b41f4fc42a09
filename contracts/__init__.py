"""The names DESIGN.md fixes for every package, and the small helpers every layer shares.

A leaf package: it imports nothing of ours and nothing heavy, so the reviewers' app, the scorer and the pipeline
can all use it.

- ``ZoneType``, ``ZONE_TYPES``: what a zone polygon means (``sidewalk``, ``no_vending``, ...).
- ``Rule``, ``RULES`` (and ``SIDEWALK_PARKING``, ``STREET_VENDING``, ``MISPARKED_BIKE``): the three violations.
- ``EventType``, ``EVENT_TYPES``: ``warn``, ``escalate``, ``clear``, in the order of an object's life.
- ``Backend``, ``BACKENDS``: the detector backends.
- ``CameraKind``, ``CAMERA_KINDS``: fixed or moving cameras.
- ``ID_PATTERN``: what camera and zone ids may contain.
- ``mask_credentials``: a URL (or any text) as it may be shown, without passwords.
- ``UserError``: the base of every error the person running a command can fix (one sentence, no traceback).
"""

from contracts.errors import UserError
from contracts.names import (
    BACKENDS,
    CAMERA_KINDS,
    EVENT_TYPES,
    ID_PATTERN,
    MISPARKED_BIKE,
    RULES,
    SIDEWALK_PARKING,
    STREET_VENDING,
    TIMED_ZONE_TYPES,
    ZONE_TYPES,
    Backend,
    CameraKind,
    EventType,
    Rule,
    ZoneType,
)
from contracts.urls import mask_credentials

__all__ = [
    "BACKENDS", "CAMERA_KINDS", "EVENT_TYPES", "ID_PATTERN", "MISPARKED_BIKE", "RULES", "SIDEWALK_PARKING",
    "STREET_VENDING", "TIMED_ZONE_TYPES", "ZONE_TYPES", "Backend", "CameraKind", "EventType", "Rule", "UserError",
    "ZoneType", "mask_credentials",
]
