"""The config reference (``docs/CONFIG.md``), rendered from the config models themselves so it cannot drift.

``streetorder docs`` writes it; ``tests/test_config.py`` fails when the file in the repository is stale.
"""

from __future__ import annotations

import types
import typing
from datetime import datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, BeforeValidator
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from contracts.names import ZoneType
from zones.config import (
    DWELL_DEFAULTS,
    CameraConfig,
    Config,
    ConfigError,
    DetectSettings,
    DwellSettings,
    LiveSettings,
    RestingSettings,
    RuleSettings,
    ZoneConfig,
    parse_config,
)
from zones.config_enforcement import EnforcementSettings, Permit, PlateSettings
from zones.config_errors import YamlLines
from zones.config_geo import MountSettings, PatrolSettings
from zones.config_presets import PresetConfig
from zones.config_sinks import DispatchSettings
from zones.schedule import parse_duration

REFERENCE_PATH = Path(__file__).resolve().parent.parent / "docs" / "CONFIG.md"

ZONE_TYPE_MEANINGS: dict[ZoneType, str] = {
    "sidewalk": "Motor vehicles (rules.sidewalk_parking, default `vehicle`: car, truck, bus) resting here are "
                "sidewalk parking. Counts as monitored for bikes too.",
    "no_vending": "A vending set-up (stall, or umbrella/table attended by a person) resting here is street vending.",
    "bike_parking": "A designated bike fence: bikes inside it are fine. No timer runs here.",
    "monitored_area": "Bikes resting here outside every bike_parking polygon are misparked bikes.",
    "ignore": "Detections whose ground point falls here are dropped before any rule (private lots, reflections).",
}

# Sections in reading order: heading, model, and what the section is for
SECTIONS: tuple[tuple[str, type[BaseModel], str], ...] = (
    ("top level", Config, ""),
    ("defaults:", DwellSettings, "Dwell settings for every zone. The default column shows DESIGN.md's values, used "
                                 "where no layer (zone, camera, `defaults:`) sets a key."),
    ("detect:", DetectSettings, "The detector, for every camera; a camera's `detect:` overrides it key by key."),
    ("resting:", RestingSettings, "How the resting-object memory decides that a tracked object has come to rest."),
    ("rules:", RuleSettings, "Which object categories (see `taxonomy:`) each rule counts."),
    ("live:", LiveSettings, "How `streetorder run` reads live cameras."),
    ("patrol:", PatrolSettings, "Digital chalking of moving cameras (kind vehicle or drone): an object seen on the "
                                "same spot on two passes at least `warn_after` apart is warned; a pass that sees the "
                                "spot empty clears it. A camera's `patrol:` overrides it key by key."),
    ("plates:", PlateSettings, "Reading the licence plates of vehicles with a running dwell timer (sidewalk "
                               "parking), a few times each, voted (see plates/README.md); warn, escalate and clear "
                               "events carry `plate` (null when not read) and `plate_score`. A camera's `plates:` "
                               "overrides it key by key."),
    ("enforcement:", EnforcementSettings, "Repeat offences: a warn with a plate gets `offence` (1 + the plate's "
                                          "earlier warns within `lookback`, every camera of the store) and `action` "
                                          "(the ladder's step, or `exempt`)."),
    ("enforcement.permits[]:", Permit, "A permit: the plate's warns on these days get action `exempt`."),
    ("dispatch:", DispatchSettings, "A confirmed alarm's case after the dispatch (docs/UNITS.md): dispatched, "
                                    "handled, verified, closed; a case its unit's officers have not handled "
                                    "within its rule's deadline is overdue."),
    ("cameras[]:", CameraConfig, "One camera. The dwell settings (the last rows) apply to every zone of the camera "
                                 "that does not set them; unset, they come from `defaults:`."),
    ("cameras[].mount:", MountSettings, "Moving cameras: a pinhole camera (no lens distortion; principal point "
                                        "at the image centre; square pixels). `yaw` turns the view clockwise from "
                                        "the direction of travel, then `pitch` tilts it down, then `roll`. Heading "
                                        "is the GPS course over ground."),
    ("cameras[].zones[]:", ZoneConfig, "One zone of a camera. Its dwell settings (the last rows), unset, come from "
                                       "its camera, then `defaults:`."),
    ("cameras[].presets[]:", PresetConfig, "One preset of a PTZ camera (docs/CAMERA_MOVES.md): the camera is matched "
                                           "to the preset whose reference view it shows, and only that preset's "
                                           "zones watch; the others' timers wait. A camera with presets has no "
                                           "top-level `zones:` or `reference:`."),
)

EXAMPLE = """\
analysis_fps: 2
defaults:                        # every zone of every camera, unless a camera or zone says otherwise
  warn_after: 8m
  clear_after: 30s
  active_hours: "08:00-21:00"
detect:
  model: yolo11n
  imgsz: 640
cameras:
  - id: cam-01
    source: recordings/cam-01.mp4            # relative to this file
    start_time: "2026-11-22T08:00:00+08:00"  # wall time at t = 0: fills ts, enables active_hours
    location: "Binhai Rd 12, east pavement"
    unit: "Lucheng district team 3"
    zones:
      - id: east-pavement
        type: sidewalk
        polygon: [[412, 300], [640, 300], [640, 352], [380, 352]]
      - id: market-corner
        type: no_vending
        polygon: [[20, 200], [200, 200], [200, 300], [20, 300]]
        warn_after: 3m                       # vending: a shorter window than parking
  - id: cam-02
    source: rtsp://admin:${CAM02_PASSWORD}@10.0.0.5/Streaming/Channels/101
    substream: rtsp://admin:${CAM02_PASSWORD}@10.0.0.5/Streaming/Channels/102
    frame_size: [1920, 1080]                 # the main stream, which the polygons are drawn on
    analysis_fps: 1
    clear_after: 1m                          # every zone of this camera
    detect:
      imgsz: 480                             # only this key: model and the rest come from detect: above
    zones:
      - id: shared-bikes
        type: bike_parking
        polygon: [[100, 800], [600, 800], [600, 1000], [100, 1000]]
      - id: plaza
        type: monitored_area
        polygon: [[0, 700], [1920, 700], [1920, 1080], [0, 1080]]
      - id: private-lot
        type: ignore
        polygon: [[1500, 400], [1920, 400], [1920, 700], [1500, 700]]
"""

INTRO = """\
# Config reference

<!-- Generated from the models in zones/config.py by `streetorder docs`; do not edit by hand. -->

`streetorder process`, `streetorder run` and `streetorder check` read one YAML file of cameras and zones. Only
`cameras:` with each camera's `id` and `source`, and each zone's `id`, `type` and `polygon`, are required; every
other key has a default. `streetorder check --config FILE` validates a file and prints what would run.

How settings are resolved (once, when the file is loaded):

- **Dwell settings** (`warn_after`, `clear_after`, `escalate_after`, `active_hours`, `active_days`): the zone's own,
  else its camera's, else `defaults:`, else DESIGN.md's (`warn_after` 8m, `clear_after` 30s, no escalation, all
  day, every day). Each key is resolved on its own.
- **`analysis_fps`**: the camera's, else the top-level one.
- **`detect:`**: merged key by key. A camera's `detect:` sets only the keys it names; every other key comes from
  the top-level `detect:`, then from the defaults below. (Earlier versions replaced the top-level `detect:` with
  a camera's as a whole; now a camera that sets only `imgsz` keeps the top-level `model`.)
- `resting:`, `rules:`, `live:`, `enforcement:`, `taxonomy:` and `store:` are top-level only; `plates:` and
  `patrol:` are merged key by key like `detect:`.

Durations are seconds or a text such as `90s`, `8m`, `1h30m`, `1.5h`. `${VAR}` anywhere in the file is replaced by
the environment variable `VAR` (keep camera passwords out of the file); credentials in URLs are masked in every
log line, error and stored camera record. A mistake is reported as one sentence naming the file, camera, zone, key
and YAML line. This file:

```yaml
@BAD@```

gives:

```
@ERROR@
```
"""


BAD_EXAMPLE = """\
cameras:
  - id: cam-01
    source: walk.mp4
    zones:
      - id: walk
        type: sidewalks
        polygon: [[0, 300], [640, 300], [640, 352]]
"""


def render_reference() -> str:
    """The whole of ``docs/CONFIG.md``."""
    parts = [INTRO.replace("@BAD@", BAD_EXAMPLE).replace("@ERROR@", _error_of(BAD_EXAMPLE))]
    for heading, model, about in SECTIONS:
        parts.append(_section(heading, model, about))
    parts.append(_zone_types())
    parts.append(f"## Example\n\n```yaml\n{EXAMPLE}```\n")
    return "\n".join(parts)


def _error_of(text: str) -> str:
    """The loader's own sentence for a broken config, so the reference shows the real wording."""
    raw, lines = YamlLines.load(text)
    try:
        parse_config(raw, Path("cameras.yaml"), lines)
    except ConfigError as exc:
        return str(exc)
    raise ValueError("the bad example of the config reference loads without error")


def _section(heading: str, model: type[BaseModel], about: str) -> str:
    title = "Top level" if heading == "top level" else f"`{heading}`"
    lines = [f"## {title}", ""] + ([about, ""] if about else [])
    lines += ["| key | type | default | meaning |", "|---|---|---|---|"]
    for name, info in _ordered_fields(model):
        default = _default(info, getattr(DWELL_DEFAULTS, name) if model is DwellSettings else info.default)
        key = info.alias or name  # ``from`` of a permit is a Python keyword
        lines.append(f"| `{key}` | {_cell(_type(info))} | {_cell(default)} | {_cell(info.description or '')} |")
    return "\n".join(lines) + "\n"


def _ordered_fields(model: type[BaseModel]) -> list[tuple[str, FieldInfo]]:
    """A model's own keys first, then the dwell settings it inherits; loader-set fields left out."""
    fields = [(n, f) for n, f in model.model_fields.items() if not f.exclude]
    if model is DwellSettings or not issubclass(model, DwellSettings):
        return fields
    inherited = set(DwellSettings.model_fields)
    return [x for x in fields if x[0] not in inherited] + [x for x in fields if x[0] in inherited]


def _type(info: FieldInfo) -> str:
    name = _type_name(info.annotation, info.metadata)
    bounds = [f"{sign} {getattr(m, attr):g}" for m in info.metadata
              for attr, sign in (("gt", ">"), ("ge", "≥"), ("lt", "<"), ("le", "≤")) if hasattr(m, attr)]
    bounds += [f"at least {m.min_length}" for m in info.metadata if hasattr(m, "min_length")]
    return f"{name}, {', '.join(bounds)}" if bounds else name


def _type_name(tp: Any, metadata: list | tuple = ()) -> str:
    if any(isinstance(m, BeforeValidator) and m.func is parse_duration for m in metadata):
        return "duration"
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin is typing.Annotated:
        return _type_name(args[0], tp.__metadata__)
    if origin in (typing.Union, types.UnionType):
        return " or ".join(_type_name(a) for a in args if a is not type(None))
    if origin is typing.Literal:
        return "one of " + ", ".join(f"`{a}`" for a in args)
    if origin is list:
        return f"list of {_type_name(args[0])}"
    if origin is tuple:
        return "[" + ", ".join(_type_name(a) for a in args) + "]"
    if origin is dict:
        return f"mapping of {_type_name(args[0])} to {_type_name(args[1])}"
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        return "mapping"
    return {str: "text", int: "integer", float: "number", bool: "true or false", datetime: "date-time (ISO 8601)",
            Path: "path"}.get(tp, getattr(tp, "__name__", str(tp)))


def _default(info: FieldInfo, value: Any) -> str:
    if value is PydanticUndefined:
        return "**required**"
    if value is None:
        return "—"
    if isinstance(value, BaseModel):
        return "see below"
    if _type_name(info.annotation, info.metadata).startswith("duration"):
        return f"`{duration_text(value)}`"
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    if isinstance(value, list):
        return "`[" + ", ".join(str(v) for v in value) + "]`"
    if isinstance(value, float) and value.is_integer():
        return f"`{value:g}`"
    return f"`{value}`" if value != {} else "`{}`"


def duration_text(seconds: float) -> str:
    """480 -> '8m', 90 -> '1m30s', 5400 -> '1h30m' (as one would write it in the file)."""
    hours, rest = divmod(float(seconds), 3600)
    minutes, secs = divmod(rest, 60)
    text = "".join(f"{v:g}{unit}" for v, unit in ((hours, "h"), (minutes, "m"), (secs, "s")) if v)
    return text or "0s"


def _zone_types() -> str:
    lines = ["## Zone types", "",
             "A zone test uses the object's ground contact (the bottom-centre of its box, or its bottom band with "
             "`anchor: band`), never the box centre.", "", "| type | meaning |", "|---|---|"]
    lines += [f"| `{kind}` | {_cell(meaning)} |" for kind, meaning in ZONE_TYPE_MEANINGS.items()]
    return "\n".join(lines) + "\n"


def _cell(text: str) -> str:
    return text.replace("|", "\\|")
