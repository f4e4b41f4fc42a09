"""The camera and zone config (YAML): one pydantic model, global defaults, per-camera and per-zone overrides.

Loading resolves every camera once, as Frigate does: global settings are merged into each camera and zone, so a
stage reads ``camera.analysis_fps``, ``camera.detect.model`` and ``zone.dwell.warn_after`` and nothing else.

Every problem is reported as one sentence that names the file, the camera, the zone and the fix::

    cameras.yaml: camera 'cam-01', zone 'walk': polygon: crosses itself near (520, 330); list the points in order
    around the edge of the area (line 12)
"""

from __future__ import annotations

import os
import re
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    Field,
    PrivateAttr,
    ValidationError,
    field_validator,
    model_validator,
)

from contracts.names import ID_PATTERN, ZONE_TYPES, CameraKind, ZoneType
from zones.config_enforcement import EnforcementSettings, PlateSettings
from zones.config_errors import ConfigError, DocumentRefused, YamlLines, describe, expand_env, read_config_text
from zones.config_geo import (
    MountSettings,
    PatrolSettings,
    StrictModel,
    check_corner_count,
    check_geo_polygon,
    check_simple_polygon,
)
from zones.config_presets import PresetConfig, gather_preset_zones, resolve_references
from zones.config_sections import DetectSettings, LiveSettings, RestingSettings, RuleSettings
from zones.config_sinks import DispatchSettings, SinkSettings, name_sinks
from zones.schedule import DAYS, ActiveWindow, Schedule, Seconds, SignedSeconds
from zones.units import Unit

PixelCount = Annotated[int, Field(gt=0, le=65_536)]  # a side of a video frame


class DwellSettings(StrictModel):
    """Timer settings; set globally under ``defaults:``, per camera, or per zone (the nearest one wins)."""

    warn_after: Seconds | None = Field(
        None, description="How long an object must rest in the zone before a warn event: seconds or a text such "
                          "as '90s', '8m', '1h30m'. Unset: inherited; 8m if set nowhere.")
    clear_after: Seconds | None = Field(
        None, description="A warned object absent this long is cleared (the clear event's t is when it was last "
                          "seen). Unset: inherited; 30s if set nowhere.")
    escalate_after: Seconds | None = Field(
        None, description="Optional second stage: an escalate event once the object has rested this long; must be "
                          "longer than warn_after. Unset: inherited; no escalation if set nowhere.")
    active_hours: list[str] | None = Field(
        None, description="Daily windows ('HH:MM-HH:MM', one or a list; a window may run past midnight) in which "
                          "the rule is on; needs wall time (live cameras, or files with start_time). Unset: "
                          "inherited; all day if set nowhere.")
    active_days: list[str] | None = Field(
        None, description="Days on which the rule is on, e.g. [mon, tue, wed, thu, fri]. Unset: inherited; every "
                          "day if set nowhere.")

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


DWELL_DEFAULTS = DwellSettings(warn_after=480.0, clear_after=30.0)  # DESIGN.md's, where nothing is set


def layered(*layers: DwellSettings) -> DwellSettings:
    """Each dwell setting from the first layer that sets it (``zone, camera, defaults, DWELL_DEFAULTS``)."""
    merged = {name: next((getattr(x, name) for x in layers if getattr(x, name) is not None), None)
              for name in DwellSettings.model_fields}
    return DwellSettings.model_construct(**merged)


class ZoneConfig(DwellSettings):
    id: str = Field(pattern=ID_PATTERN, description="Unique within the camera; letters, digits, '.', '_', '-'.")
    type: ZoneType = Field(description="What the zone means to the rules (see Zone types).")
    polygon: list[tuple[float, float]] | None = Field(
        None, description="Corners [[x, y], ...] in pixels of the source frame (the main stream), in order around "
                          "the edge; at least 3, must not cross itself. Fixed cameras.")
    geo_polygon: list[tuple[float, float]] | None = Field(
        None, description="Corners [[lon, lat], ...] in degrees (WGS84), in order around the edge: a zone on the "
                          "map. Moving cameras (kind vehicle or drone); give polygon or geo_polygon, not both.")
    name: str | None = Field(None, description="Shown to reviewers; default: the id.")
    anchor: Literal["point", "band"] = Field(
        "point", description="Ground contact tested against the polygon: point = bottom-centre of the box; band = "
                             "most of the box's bottom band (wide objects seen from the side).")
    unit: Unit | None = Field(None, description="The responsibility unit of this zone's events ({district, grid, "
                                                "road}); overrides the camera's.")
    _dwell: DwellSettings | None = PrivateAttr(None)

    @property
    def dwell(self) -> DwellSettings:
        """The zone's effective timer settings: zone, then camera, then ``defaults:``, then DESIGN.md's defaults
        (resolved when the config is loaded; a zone built on its own has only its own and DESIGN.md's)."""
        return self._dwell if self._dwell is not None else layered(self, DWELL_DEFAULTS)

    @field_validator("type", mode="before")
    @classmethod
    def _known_type(cls, value: Any) -> Any:
        if isinstance(value, str) and value not in ZONE_TYPES:
            raise ValueError(f"unknown zone type {value!r}; use one of {', '.join(ZONE_TYPES)}")
        return value

    @field_validator("polygon", "geo_polygon", mode="before")
    @classmethod
    def _few_enough_corners(cls, points: Any) -> Any:
        return check_corner_count(points)

    @field_validator("polygon")
    @classmethod
    def _simple_polygon(cls, points: list[tuple[float, float]] | None) -> list[tuple[float, float]] | None:
        if points is not None:
            check_simple_polygon(points)
        return points

    @field_validator("geo_polygon")
    @classmethod
    def _simple_geo_polygon(cls, points: list[tuple[float, float]] | None) -> list[tuple[float, float]] | None:
        return None if points is None else check_geo_polygon(points)

    @model_validator(mode="after")
    def _one_outline(self) -> ZoneConfig:
        if (self.polygon is None) == (self.geo_polygon is None):
            raise ValueError("give the zone either polygon (pixels, fixed cameras) or geo_polygon ([lon, lat], "
                             "moving cameras)" + (", not both" if self.polygon is not None else ""))
        return self


PresetConfig.model_rebuild(_types_namespace={"ZoneConfig": ZoneConfig})


class CameraConfig(DwellSettings):
    """One camera. After loading, ``analysis_fps`` and ``detect`` hold the camera's effective settings (the
    global ones where the camera sets none) and each zone's ``dwell`` its effective timer settings."""

    id: str = Field(pattern=ID_PATTERN, description="Unique camera id; letters, digits, '.', '_', '-'.")
    source: str | int = Field(description="A video file or a folder of images (relative to the YAML file), an "
                                          "rtsp:// URL, or a device index.")
    substream: str | None = Field(None, description="Live: a lower-resolution stream of the same camera, read for "
                                                    "analysis instead of source.")
    frame_size: tuple[PixelCount, PixelCount] | None = Field(
        None, description="Live: [width, height] of the main stream the polygons are drawn on (needed with a "
                          "substream).")
    keyframes_only: bool = Field(False, description="Decode key frames only (one frame per GOP, far less CPU; live "
                                                    "and files).")
    kind: CameraKind = Field("fixed", description="fixed: a pole camera; vehicle: a patrol car's camera; drone: "
                                                  "an aerial camera. Moving cameras need gps, mount and zones "
                                                  "with geo_polygon.")
    gps: str | None = Field(None, description="Moving cameras: the GPS track of the recording (relative to the "
                                              "YAML file): GPX 1.1, NMEA 0183 (.nmea: RMC/GGA) or CSV (t or time, "
                                              "lat, lon[, heading, speed, alt]).")
    gps_offset: SignedSeconds = Field(0.0, description="Moving cameras: video time + gps_offset = GPS time, when "
                                                       "the clocks differ (may be negative).")
    mount: MountSettings | None = Field(None, description="Moving cameras: where the camera sits and looks (see "
                                                          "mount).")
    geo: tuple[float, float] | None = Field(None, description="Fixed cameras: [lon, lat] where the camera stands "
                                                              "(events and the map show it).")
    patrol: PatrolSettings | None = Field(None, description="Chalking settings of this moving camera; each key it "
                                                            "sets overrides the global patrol: key.")
    plates: PlateSettings | None = Field(None, description="Plate reading of this camera; each key it sets "
                                                           "overrides the global plates: key.")
    analysis_fps: float | None = Field(None, gt=0, le=60, description="Frames analysed per second of video. Unset: "
                                                                      "the global analysis_fps.")
    start_time: datetime | None = Field(None, description="Files: wall-clock time at t = 0 (ISO 8601); fills ts and "
                                                          "enables active_hours.")
    name: str | None = Field(None, description="Shown to reviewers; default: the id.")
    location: str | None = Field(None, description="Where the camera looks, shown to reviewers.")
    unit: Unit | None = Field(None, description="The responsibility unit ({district, grid, road}; a plain string "
                                                "names the district) carried by the camera's events; a zone's "
                                                "own unit overrides it.")
    detect: DetectSettings | None = Field(None, description="Detector settings of this camera; each key it sets "
                                                            "overrides the global detect: key, the others are "
                                                            "inherited.")
    zones: list[ZoneConfig] = Field([], description="The camera's zones (see cameras[].zones[]); a camera with "
                                                    "presets has them under each preset.")
    reference: str | None = Field(None, description="Fixed cameras: an image of the view the zones are drawn on "
                                                    "(relative to the YAML file; the zone editor writes it). Unset: "
                                                    "the first analysed frame.")
    presets: list[PresetConfig] = Field([], description="PTZ cameras: the views the camera tours, each with its "
                                                        "reference and zones (see cameras[].presets[]).")

    @field_validator("geo")
    @classmethod
    def _on_earth(cls, where: tuple[float, float] | None) -> tuple[float, float] | None:
        if where is not None and not (-180 <= where[0] <= 180 and -90 <= where[1] <= 90):
            raise ValueError(f"{list(where)} is not a longitude and latitude; give [lon, lat] in degrees (WGS84)")
        return where

    @model_validator(mode="after")
    def _moving_needs_the_map(self) -> CameraConfig:
        if self.kind == "fixed":
            pixel_less = next((z.id for z in self.zones if z.polygon is None), None)
            if pixel_less is not None:
                raise ValueError(f"zone {pixel_less!r} has a geo_polygon, which only moving cameras (kind vehicle "
                                 "or drone) use; draw it as polygon in pixels")
            return self
        for key in ("gps", "mount"):
            if getattr(self, key) is None:
                raise ValueError(f"a {self.kind} camera needs {key}: (see docs/CONFIG.md); nothing rests in pixels "
                                 "on a moving camera")
        if self.kind != "drone" and self.mount.ground_alt is not None:
            raise ValueError("mount.ground_alt is for drones (their height is the GPS altitude minus it); a vehicle "
                             "camera keeps mount.height above the road: remove ground_alt or set kind: drone")
        pixel_zone = next((z.id for z in self.zones if z.geo_polygon is None), None)
        if pixel_zone is not None:
            raise ValueError(f"zone {pixel_zone!r} of a moving camera needs geo_polygon ([lon, lat] corners): "
                             "pixels move with the camera")
        return self

    @property
    def moving(self) -> bool:
        """Whether the camera moves (a patrol car or a drone): its zones are on the map."""
        return self.kind != "fixed"

    @model_validator(mode="after")
    def _unique_zone_ids(self) -> CameraConfig:
        seen: set[str] = set()
        for zone in self.zones:
            if zone.id in seen:
                raise ValueError(f"zone id {zone.id!r} is used twice; give each zone of a camera its own id")
            seen.add(zone.id)
        return self

    @model_validator(mode="after")
    def _presets(self) -> CameraConfig:
        gather_preset_zones(self)
        return self

    def zone(self, zone_id: str) -> ZoneConfig:
        return next(z for z in self.zones if z.id == zone_id)


class Config(StrictModel):
    cameras: list[CameraConfig] = Field(min_length=1, description="The cameras (see cameras[]); at least one.")
    analysis_fps: float = Field(2.0, gt=0, le=60, description="Frames analysed per second of video, for cameras "
                                                              "that set none (the dwell rules need about 1).")
    defaults: DwellSettings = Field(DwellSettings(), description="Dwell settings for every zone; a camera or a "
                                                                 "zone may override each one.")
    detect: DetectSettings = Field(DetectSettings(), description="Detector settings for every camera; a camera's "
                                                                 "detect: overrides them key by key.")
    resting: RestingSettings = Field(RestingSettings(), description="When a tracked object counts as resting.")
    rules: RuleSettings = Field(RuleSettings(), description="Which object categories each rule counts.")
    live: LiveSettings = Field(LiveSettings(), description="How `streetorder run` reads live cameras.")
    patrol: PatrolSettings = Field(PatrolSettings(), description="Digital chalking of moving cameras; a camera's "
                                                                 "patrol: overrides it key by key.")
    plates: PlateSettings = Field(PlateSettings(), description="Reading the plates of vehicles with a running "
                                                               "dwell timer; a camera's plates: overrides it key "
                                                               "by key.")
    enforcement: EnforcementSettings = Field(EnforcementSettings(), description="Repeat offences: lookback, the "
                                                                               "ladder of actions, exemptions.")
    taxonomy: dict[str, str] = Field({}, description="Extra model class name -> category mappings for a custom "
                                                     "model, e.g. {sanlunche: two_wheeler}.")
    store: str | None = Field(None, description="Where events, cameras, live state and reviews are kept: an "
                                                "SQLite file or postgresql://user@host/db "
                                                "(password as ${VARIABLE}). Unset: OUT/events.db; --store "
                                                "overrides it.")
    units: str | None = Field(None, description="A GeoJSON file (relative to the YAML file) of unit polygons "
                                                "with properties district, grid, road: events with a position "
                                                "and no zone or camera unit take the unit they lie in.")
    sinks: list[SinkSettings] = Field([], description="Where every event is also delivered, at least once and in "
                                                      "order per camera, through the store's outbox (see sinks[]).")
    dispatch: DispatchSettings = Field(DispatchSettings(), description="Confirmed alarms' cases after the "
                                                                       "dispatch: each rule's deadline.")
    path: Path | None = Field(None, exclude=True, description="The file the config was read from (set by the "
                                                              "loader, not written in the file).")

    @model_validator(mode="after")
    def _unique_camera_ids(self) -> Config:
        seen: set[str] = set()
        for camera in self.cameras:
            if camera.id in seen:
                raise ValueError(f"camera id {camera.id!r} is used twice; give each camera its own id")
            seen.add(camera.id)
        return self

    @model_validator(mode="after")
    def _name_sinks(self) -> Config:
        name_sinks(self.sinks)
        return self

    @model_validator(mode="after")
    def _resolve_cameras(self) -> Config:
        for camera in self.cameras:
            resolve_camera(self, camera)
        return self


def resolve_camera(config: Config, camera: CameraConfig) -> None:
    """Merge the global settings into ``camera`` and its zones (idempotent): ``analysis_fps``, ``detect``,
    ``patrol`` and ``plates`` key by key, and each zone's ``dwell``."""
    if camera.analysis_fps is None:
        camera.analysis_fps = config.analysis_fps
    own = camera.detect.model_dump(exclude_unset=True) if camera.detect is not None else {}
    camera.detect = config.detect.model_copy(update=own)
    own = camera.patrol.model_dump(exclude_unset=True) if camera.patrol is not None else {}
    camera.patrol = config.patrol.model_copy(update=own)
    own = camera.plates.model_dump(exclude_unset=True) if camera.plates is not None else {}
    camera.plates = config.plates.model_copy(update=own)
    for zone in camera.zones:
        zone._dwell = layered(zone, camera, config.defaults, DWELL_DEFAULTS)


def schedule_of(settings: DwellSettings) -> Schedule:
    windows = tuple(ActiveWindow.parse(w) for w in settings.active_hours or ())
    return Schedule(windows, tuple(settings.active_days or DAYS))


def load_config(path: str | os.PathLike) -> Config:
    """Read and validate a config file; relative file sources are resolved against the file's folder.
    Error sentences carry the YAML line they are about."""
    path = Path(path)
    return config_from_text(read_config_text(path), path)


def config_from_text(text: str, path: Path | None = None) -> Config:
    """Parse and validate the YAML ``text`` of a config file (``path``: where it is, or will be, written)."""
    try:
        raw, lines = YamlLines.load(text)
    except DocumentRefused as exc:
        raise ConfigError(f"{path or 'config'}: {exc}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark else ""
        problem = getattr(exc, "problem", exc)
        raise ConfigError(f"{path or 'config'}: not valid YAML{where} ({problem}); fix the syntax") from None
    return parse_config(raw, path, lines)


def parse_config(raw: Any, path: Path | None = None, lines: YamlLines | None = None) -> Config:
    """Validate an already-parsed config mapping (``path`` is used for messages and relative sources, ``lines``
    for the line numbers in them)."""
    name = str(path) if path else "config"
    lines = lines or YamlLines.none()
    if not isinstance(raw, dict):
        raise ConfigError(f"{name}: expected a mapping with a 'cameras:' list at the top level")
    raw = expand_env(raw, name, lines)
    try:
        config = Config.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(describe(exc, raw, name, lines)) from None
    config.path = path
    if config.units is not None:
        config.units = str(resolve_source(config.units, path.parent if path else Path.cwd()))
    for c, camera in enumerate(config.cameras):
        camera.source = resolve_source(camera.source, path.parent if path else Path.cwd())
        if camera.gps is not None:
            camera.gps = str(resolve_source(camera.gps, path.parent if path else Path.cwd()))
        resolve_references(camera, path.parent if path else Path.cwd(), name,
                           lambda loc, c=c: lines.suffix(("cameras", c, *loc)))
        for z, zone in enumerate(camera.zones):
            _check_timers(zone.dwell, f"{name}: camera {camera.id!r}, zone {zone.id!r}: ",
                          lines.suffix(("cameras", c, "zones", z)))
    return config


def _check_timers(settings: DwellSettings, head: str, line: str) -> None:
    if settings.escalate_after is not None and settings.escalate_after <= settings.warn_after:
        raise ConfigError(f"{head}escalate_after ({settings.escalate_after:g}s) must be longer than warn_after "
                          f"({settings.warn_after:g}s){line}")
    if settings.warn_after <= 0:
        raise ConfigError(f"{head}warn_after must be above zero{line}")


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
