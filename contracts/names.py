"""Every enumeration of DESIGN.md, defined once: the ``Literal`` type for pydantic and the tuple for loops.

>>> RULES
('sidewalk_parking', 'street_vending', 'misparked_bike')
>>> "warn" in EVENT_TYPES
True
"""

from __future__ import annotations

from typing import Literal, get_args

ZoneType = Literal["sidewalk", "no_vending", "bike_parking", "monitored_area", "ignore"]
ZONE_TYPES: tuple[ZoneType, ...] = get_args(ZoneType)
TIMED_ZONE_TYPES: tuple[ZoneType, ...] = ("sidewalk", "no_vending", "monitored_area")  # zones a dwell timer runs in

Rule = Literal["sidewalk_parking", "street_vending", "misparked_bike"]
RULES: tuple[Rule, ...] = get_args(Rule)
SIDEWALK_PARKING, STREET_VENDING, MISPARKED_BIKE = RULES

EventType = Literal["warn", "escalate", "clear"]
EVENT_TYPES: tuple[EventType, ...] = get_args(EventType)

Backend = Literal["onnxruntime", "ultralytics", "openvino"]
BACKENDS: tuple[Backend, ...] = get_args(Backend)

CameraKind = Literal["fixed", "vehicle", "drone"]
CAMERA_KINDS: tuple[CameraKind, ...] = get_args(CameraKind)

# Camera and zone ids: they become folder names, so at least one character is not a dot ('.' and '..' are refused).
ID_PATTERN = r"^[A-Za-z0-9_.-]*[A-Za-z0-9_-][A-Za-z0-9_.-]*$"
