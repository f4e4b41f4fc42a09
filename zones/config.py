"""The camera and zone config (YAML): one pydantic model, global defaults, per-camera and per-zone overrides.

Every problem is reported as one sentence that names the file, the camera, the zone and the fix::

    cameras.yaml: camera 'cam-01', zone 'walk': polygon crosses itself near (520, 330); list the points in order
    around the edge of the area.
"""

from __future__ import annotations

import os
import re
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, field_validator, model_validator
from shapely.geometry import Polygon
from shapely.validation import explain_validity

from contracts.names import ID_PATTERN, ZONE_TYPES, Backend, CameraKind, ZoneType
from zones.schedule import DAYS, ActiveWindow, Schedule, parse_duration

Seconds = Annotated[float, BeforeValidator(parse_duration)]


class ConfigError(ValueError):
    """A config problem, worded for the person who wrote the file."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class DwellSettings(_Strict):
    """Timer settings; set globally under ``defaults:``, per camera, or per zone (the nearest one wins)."""

    warn_after: Seconds | None = None
    clear_after: Seconds | None = None
    escalate_after: Seconds | None = None
    active_hours: list[str] | None = None
    active_days: list[str] | None = None

    @field_validator("active_hours", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value

    @field_validator("active_hours")
    @classmethod
    def _windows(cls, value: list[str] | None) -> list[str] | None:
        for text in value or []:
            ActiveWindow.parse(text)
        return value

    @field_validator("active_days")
    @classmethod
    def _days(cls, value: list[str] | None) -> list[str] | None:
        if value is not None:
            value = [d.strip().lower()[:3] for d in value]
            unknown = [d for d in value if d not in DAYS]
            if unknown:
                raise ValueError(f"unknown day {unknown[0]!r}; use {', '.join(DAYS)}")
        return value


class ZoneConfig(DwellSettings):
    id: str = Field(pattern=ID_PATTERN)
    type: ZoneType
    polygon: list[tuple[float, float]]
    name: str | None = None
    anchor: Literal["point", "band"] = "point"

    @field_validator("type", mode="before")
    @classmethod
    def _known_type(cls, value: Any) -> Any:
        if isinstance(value, str) and value not in ZONE_TYPES:
            raise ValueError(f"unknown zone type {value!r}; use one of {', '.join(ZONE_TYPES)}")
        return value

    @field_validator("polygon")
    @classmethod
    def _simple_polygon(cls, points: list[tuple[float, float]]) -> list[tuple[float, float]]:
        if len(points) < 3:
            raise ValueError(f"has {len(points)} point(s); a zone needs at least 3 [x, y] points")
        shape = Polygon(points)
        if shape.convex_hull.area < 1.0:
            raise ValueError("has no area (its points are on one line or repeated); list the corners of the area")
        if not shape.is_valid:
            reason = explain_validity(shape)
            where = re.search(r"\[([-\d.e]+) ([-\d.e]+)\]", reason)
            near = f" near ({float(where[1]):.0f}, {float(where[2]):.0f})" if where else ""
            if "Self-intersection" in reason:
                raise ValueError(f"crosses itself{near}; list the points in order around the edge of the area")
            raise ValueError(f"is not a simple shape ({reason}); list the points in order around the edge of the area")
        return points


class DetectSettings(_Strict):
    model: str = "yolo11n"
    backend: Backend = "onnxruntime"
    confidence: float = Field(0.25, gt=0, lt=1)
    iou: float = Field(0.7, gt=0, le=1)
    imgsz: int = Field(640, ge=64, le=4096)
    # speed settings (issue 6; their accuracy cost is in docs/PERFORMANCE.md)
    letterbox: Literal["square", "rect"] = "square"  # rect: 640x384 for a 16:9 frame, 40 % less work
    skip_unchanged: bool = False  # reuse the last detections on frames where nothing changed ...
    reconfirm_every: Seconds = Field(5.0, gt=0)  # ... but run the detector at least this often


class RestingSettings(_Strict):
    """How the resting-object memory decides that something has come to rest (see ``detector.resting``)."""

    rest_window: Seconds = 5.0
    radius: float = Field(0.15, gt=0, le=1)
    max_gap: Seconds = 120.0


class RuleSettings(_Strict):
    sidewalk_parking: list[str] = ["vehicle"]
    misparked_bike: list[str] = ["bicycle"]
    vending_linger: Seconds = 15.0  # a person staying this long by a vending set-up attends it


class LiveSettings(_Strict):
    """How ``streetorder run`` reads live cameras (see ``streams.live``)."""

    transport: Literal["tcp", "udp"] = "tcp"  # RTSP over TCP survives lossy networks and NAT
    open_timeout: Seconds = Field(10.0, gt=0)  # a camera that does not answer within this is offline
    stall_timeout: Seconds = Field(10.0, gt=0)  # a connected stream sending no frame this long is reconnected
    reconnect_min: Seconds = Field(1.0, gt=0)  # first retry delay; doubled after each failure ...
    reconnect_max: Seconds = Field(60.0, gt=0)  # ... up to this, with random jitter
    save_every: Seconds = Field(5.0, gt=0)  # how often resting objects and timers are saved


class CameraConfig(DwellSettings):
    id: str = Field(pattern=ID_PATTERN)
    source: str | int
    substream: str | None = None  # live: a lower-resolution stream of the same camera, read for analysis
    frame_size: tuple[int, int] | None = None  # live: width, height the polygons are drawn on (the main stream)
    keyframes_only: bool = False  # decode key frames only (one frame per GOP, far less CPU; live and files)
    kind: CameraKind = "fixed"
    analysis_fps: float | None = Field(None, gt=0, le=60)
    start_time: datetime | None = None
    name: str | None = None
    location: str | None = None
    unit: str | None = None
    detect: DetectSettings | None = None
    zones: list[ZoneConfig] = []

    @model_validator(mode="after")
    def _unique_zone_ids(self) -> CameraConfig:
        seen: set[str] = set()
        for zone in self.zones:
            if zone.id in seen:
                raise ValueError(f"zone id {zone.id!r} is used twice; give each zone of a camera its own id")
            seen.add(zone.id)
        return self

    def zone(self, zone_id: str) -> ZoneConfig:
        return next(z for z in self.zones if z.id == zone_id)


class Config(_Strict):
    cameras: list[CameraConfig] = Field(min_length=1)
    analysis_fps: float = Field(2.0, gt=0, le=60)
    defaults: DwellSettings = DwellSettings()
    detect: DetectSettings = DetectSettings()
    resting: RestingSettings = RestingSettings()
    rules: RuleSettings = RuleSettings()
    live: LiveSettings = LiveSettings()
    taxonomy: dict[str, str] = {}
    store: str | None = None
    path: Path | None = Field(None, exclude=True)

    @model_validator(mode="after")
    def _unique_camera_ids(self) -> Config:
        seen: set[str] = set()
        for camera in self.cameras:
            if camera.id in seen:
                raise ValueError(f"camera id {camera.id!r} is used twice; give each camera its own id")
            seen.add(camera.id)
        return self


DWELL_DEFAULTS = DwellSettings(warn_after=480.0, clear_after=30.0)


def zone_settings(config: Config, camera: CameraConfig, zone: ZoneConfig) -> DwellSettings:
    """The effective timer settings of a zone: zone, then camera, then ``defaults:``, then DESIGN.md's defaults."""
    layers = (zone, camera, config.defaults, DWELL_DEFAULTS)
    merged = {name: next((getattr(x, name) for x in layers if getattr(x, name) is not None), None)
              for name in DwellSettings.model_fields}
    return DwellSettings.model_construct(**merged)


def schedule_of(settings: DwellSettings) -> Schedule:
    windows = tuple(ActiveWindow.parse(w) for w in settings.active_hours or ())
    return Schedule(windows, tuple(settings.active_days or DAYS))


def load_config(path: str | os.PathLike) -> Config:
    """Read and validate a config file; relative file sources are resolved against the file's folder."""
    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such config file; check the path given to --config") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark else ""
        raise ConfigError(f"{path}: not valid YAML{where} ({getattr(exc, 'problem', exc)}); fix the syntax") from None
    return parse_config(raw, path)


def parse_config(raw: Any, path: Path | None = None) -> Config:
    """Validate an already-parsed config mapping (``path`` is used for messages and relative sources)."""
    name = str(path) if path else "config"
    if not isinstance(raw, dict):
        raise ConfigError(f"{name}: expected a mapping with a 'cameras:' list at the top level")
    raw = _expand_env(raw, name)
    try:
        config = Config.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(_describe(exc, raw, name)) from None
    config.path = path
    for camera in config.cameras:
        camera.source = resolve_source(camera.source, path.parent if path else Path.cwd())
        for zone in camera.zones:
            settings = zone_settings(config, camera, zone)
            if settings.escalate_after is not None and settings.escalate_after <= settings.warn_after:
                raise ConfigError(
                    f"{name}: camera {camera.id!r}, zone {zone.id!r}: escalate_after "
                    f"({settings.escalate_after:g}s) must be longer than warn_after ({settings.warn_after:g}s)"
                )
            if settings.warn_after <= 0:
                raise ConfigError(f"{name}: camera {camera.id!r}, zone {zone.id!r}: warn_after must be above zero")
    return config


def resolve_source(source: str | int, base: Path) -> str | int:
    """File paths become absolute (relative to the config file); URLs and device indices stay as they are."""
    if isinstance(source, int) or re.match(r"^[a-z][a-z0-9+.-]*://", str(source), re.I):
        return source
    if str(source).isdigit():
        return int(source)
    path = Path(source).expanduser()
    return str(path if path.is_absolute() else (base / path).resolve())


def is_file_source(source: str | int) -> bool:
    return isinstance(source, str) and "://" not in source


_ENV = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


def _expand_env(value: Any, name: str) -> Any:
    """Replace ``${VAR}`` in strings, so passwords can stay out of the file."""
    if isinstance(value, dict):
        return {k: _expand_env(v, name) for k, v in value.items()}
    if isinstance(value, list):
        return [_expand_env(v, name) for v in value]
    if isinstance(value, str):
        def lookup(match: re.Match) -> str:
            if match[1] not in os.environ:
                raise ConfigError(f"{name}: environment variable {match[1]} is used but not set; export it first")
            return os.environ[match[1]]

        return _ENV.sub(lookup, value)
    return value


def _describe(exc: ValidationError, raw: dict, name: str) -> str:
    """Turn pydantic's error list into sentences that name the camera and zone by id."""
    sentences = []
    for error in exc.errors():
        where, field = _location(error["loc"], raw)
        message = error["msg"].removeprefix("Value error, ")
        if error["type"] == "extra_forbidden":
            message = f"unknown key {field!r}; check its spelling (see the config reference in README.md)"
            field = ""
        elif error["type"] == "missing":
            message = f"{field!r} is missing; add it"
            field = ""
        elif error["type"] == "string_pattern_mismatch":
            message = "ids may use only letters, digits, '.', '_' and '-'"
        elif error["type"] == "literal_error" and field == "kind":
            message = "kind must be 'fixed' or 'vehicle'"
        prefix = ", ".join(where)
        head = f"{name}: {prefix}: " if prefix else f"{name}: "
        sentences.append(f"{head}{field + ': ' if field else ''}{message}")
    return "\n".join(dict.fromkeys(sentences))


def _location(loc: tuple, raw: dict) -> tuple[list[str], str]:
    """('cameras', 0, 'zones', 1, 'type') -> (["camera 'cam-01'", "zone 'walk'"], 'type')."""
    where: list[str] = []
    node: Any = raw
    field = ""
    i = 0
    while i < len(loc):
        key = loc[i]
        if key in ("cameras", "zones") and i + 1 < len(loc) and isinstance(loc[i + 1], int):
            items = node.get(key) if isinstance(node, dict) else None
            item = items[loc[i + 1]] if isinstance(items, list) and loc[i + 1] < len(items) else None
            label = "camera" if key == "cameras" else "zone"
            ident = item.get("id") if isinstance(item, dict) else None
            where.append(f"{label} {ident!r}" if ident else f"{label} #{loc[i + 1] + 1}")
            node = item
            i += 2
            continue
        if isinstance(key, str):
            field = f"{field}.{key}" if field else key
        elif field:
            field = f"{field}[{key}]"
        node = node.get(key) if isinstance(node, dict) else None
        i += 1
    return where, field
