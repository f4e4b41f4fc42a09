"""Resting objects x zone polygons x rules -> dwell timers -> state changes; the config that says all of it.

- ``load_config(path) -> Config``, ``ConfigError``: the camera and zone YAML (``Config``, ``CameraConfig``,
  ``ZoneConfig``), validated, with global settings resolved into each camera (see docs/CONFIG.md).
- ``ZoneMonitor``: a fixed camera's zones, rules and timers; ``update(resting, detections, t, wall)`` returns
  the frame's ``StateChange``s (rest, warn, escalate, clear, drop).
- ``ZoneShape``: a pixel polygon and the ground-contact test; ``RuleBook``: the three rules; ``ZoneTimers``: the
  dwell timers of one zone.
- Moving cameras: ``GeoZones`` (zones on the map), ``PassWatch`` (a recording's tracks -> sightings, marked
  spots -> views) and ``ChalkBook`` (digital chalking: ``pass_over(sightings, views)`` -> ``ChalkChange``s).
"""

from zones.chalk import ChalkBook, ChalkChange, ChalkMark, ChalkParams, Sighting, SpotView
from zones.config import CameraConfig, Config, ConfigError, ZoneConfig, load_config
from zones.dwell import StateChange, ZoneTimers
from zones.geometry import ZoneShape
from zones.monitor import ZoneMonitor
from zones.patrol import GeoZones, PassWatch, Placement
from zones.rules import RuleBook, Violation

__all__ = [
    "CameraConfig", "ChalkBook", "ChalkChange", "ChalkMark", "ChalkParams", "Config", "ConfigError", "GeoZones",
    "PassWatch", "Placement", "RuleBook", "Sighting", "SpotView", "StateChange", "Violation", "ZoneConfig",
    "ZoneMonitor", "ZoneShape", "ZoneTimers", "load_config",
]
