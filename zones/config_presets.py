"""Reference views and PTZ presets of fixed cameras (docs/CAMERA_MOVES.md): their config and its checks.

A fixed camera may name a ``reference`` image, the view its zones are drawn on; a PTZ camera lists ``presets``, each
a view it tours with its own reference image and zones. A camera with presets has no top-level zones: after loading,
``camera.zones`` holds every preset's zones (ids unique across the camera, as events name the zone only) so that the
dwell settings, units and frame checks see them all, and ``camera.presets[i].zones`` holds the preset's own.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import cv2
from pydantic import Field

from contracts.names import ID_PATTERN
from zones.config_errors import ConfigError
from zones.config_geo import StrictModel

if TYPE_CHECKING:
    from zones.config import CameraConfig, ZoneConfig

REFERENCE_HINT = "save a frame of the camera there (the review app's zone editor does when it saves zones)"


class PresetConfig(StrictModel):
    """One view of a PTZ camera: its reference image and the zones drawn on it."""

    id: str = Field(pattern=ID_PATTERN, description="Unique within the camera; letters, digits, '.', '_', '-'.")
    reference: str = Field(description="An image of the preset's view (relative to the YAML file), the view its "
                                       "zones are drawn on; the camera is matched to the preset whose reference "
                                       "it shows.")
    zones: list[ZoneConfig] = Field([], description="The preset's zones (see cameras[].zones[]); ids unique across "
                                                    "all the camera's presets.")


def gather_preset_zones(camera: CameraConfig) -> None:
    """Check a camera's presets and make ``camera.zones`` the union of theirs (a ``ValueError`` sentence if not)."""
    if not camera.presets:
        return
    if camera.kind != "fixed":
        raise ValueError(f"presets are views of a fixed PTZ camera; a {camera.kind} camera has none")
    if camera.zones:
        raise ValueError("a camera with presets keeps its zones under each preset (presets[].zones), not at the top "
                         "level: each preset's view has its own pixels")
    if camera.reference is not None:
        raise ValueError("a camera with presets has a reference per preset (presets[].reference), not one at the "
                         "top level")
    if camera.detect is not None and camera.detect.view_check is False:
        raise ValueError("a camera with presets needs the view check to know which preset it shows; remove "
                         "detect.view_check: false")
    preset_of: dict[str, str] = {}
    for preset in camera.presets:
        if preset.id in {p.id for p in camera.presets if p is not preset}:
            raise ValueError(f"preset id {preset.id!r} is used twice; give each preset of a camera its own id")
        for zone in preset.zones:
            if zone.id in preset_of:
                where = "twice in that preset" if preset_of[zone.id] == preset.id else \
                    f"in presets {preset_of[zone.id]!r} and {preset.id!r}"
                raise ValueError(f"zone id {zone.id!r} is used {where}; zone ids must be unique across a camera's "
                                 "presets (events name the zone, not the preset)")
            preset_of[zone.id] = preset.id
    camera.zones = [zone for preset in camera.presets for zone in preset.zones]


def preset_of_zone(camera: CameraConfig, zone_id: str) -> str | None:
    """The id of the preset whose zone ``zone_id`` is (None: a camera without presets)."""
    return next((p.id for p in camera.presets if any(z.id == zone_id for z in p.zones)), None)


def resolve_references(camera: CameraConfig, base: Path, name: str, line_of) -> None:
    """Make the camera's reference paths absolute (relative to ``base``, the config's folder) and check each one
    reads as an image: a ``ConfigError`` sentence naming the camera and the file if not. ``line_of(loc)`` gives the
    YAML line suffix of a key."""
    from zones.config import resolve_source  # here: zones.config imports this module

    c = camera
    keys = [(("reference",), c, c.reference)] if c.reference is not None else []
    keys += [(("presets", i, "reference"), p, p.reference) for i, p in enumerate(c.presets)]
    for loc, holder, written in keys:
        path = Path(str(resolve_source(str(written), base)))
        holder.reference = str(path)
        where = f"camera {c.id!r}" + (f", preset {holder.id!r}" if holder is not c else "")
        problem = reference_problem(path, optional=holder is c)
        if problem:
            raise ConfigError(f"{name}: {where}: reference {written}: {problem}{line_of(loc)}")


def reference_problem(path: Path, optional: bool = True) -> str:
    """Why ``path`` cannot serve as a reference view, with the fix; empty when it can (``optional``: a camera's,
    which may be left out; a preset's may not)."""
    if not path.is_file():
        if not optional:
            return f"no such image ({path}); save a frame of the camera turned to the preset there"
        return f"no such image ({path}); {REFERENCE_HINT}, or remove the key to take the first analysed frame"
    if cv2.imread(str(path), cv2.IMREAD_REDUCED_GRAYSCALE_8) is None:
        return f"cannot be read as an image ({path}); save it again as JPEG or PNG ({REFERENCE_HINT})"
    return ""


def read_reference(path: str, camera_id: str):
    """The BGR image of a reference view, or a ``ConfigError`` sentence naming the camera and the file."""
    image = cv2.imread(path, cv2.IMREAD_COLOR)
    if image is None:
        raise ConfigError(f"camera {camera_id!r}: reference {path}: {reference_problem(Path(path)) or 'unreadable'}")
    return image
