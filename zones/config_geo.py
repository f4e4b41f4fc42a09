"""The map parts of the config: polygons in lon/lat, where a moving camera sits (``mount``), how chalk marks match
(``patrol``), and the shape checks every polygon goes through (DESIGN.md, "Patrol and aerial cameras").

>>> MountSettings(height=1.6, pitch=12, yaw=90, hfov=95).to_mount().yaw
90.0
>>> check_geo_polygon([(120.6712, 28.0011), (120.6735, 28.0013), (120.6735, 28.0010), (120.6712, 28.0008)])[0]
(120.6712, 28.0011)
"""

from __future__ import annotations

import math
import re
from dataclasses import replace

from pydantic import BaseModel, ConfigDict, Field, model_validator
from shapely.geometry import Polygon
from shapely.validation import explain_validity

from geo import GroundProjection, LocalFrame, Mount, MountError
from zones.schedule import Seconds

MAX_VERTICES = 10_000  # a polygon with more corners is a mistake (or an attack), not a zone


class StrictModel(BaseModel):
    """A config section: unknown keys are refused (a typo must not be ignored), and so are numbers that are not
    finite (``nan``, ``inf``, ``1e309``: a timer or a corner that is never reached)."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


def check_corner_count(points: object) -> object:
    """Refuse a list of more than ``MAX_VERTICES`` corners before anything is built from it (its length alone)."""
    if isinstance(points, (list, tuple)) and len(points) > MAX_VERTICES:
        raise ValueError(f"has {len(points)} points; a zone has at most {MAX_VERTICES} corners")
    return points


def check_simple_polygon(points: list[tuple[float, float]], corner: str = "[x, y]", min_area: float = 1.0,
                         near: str = "({:.0f}, {:.0f})") -> None:
    """Raise ``ValueError`` with the config's sentence unless ``points`` outline one simple area of at least
    ``min_area`` (in the points' own units squared)."""
    if len(points) < 3:
        raise ValueError(f"has {len(points)} point(s); a zone needs at least 3 {corner} points")
    check_corner_count(points)
    if not all(math.isfinite(v) for point in points for v in point):
        raise ValueError("has a point that is not a finite number; give every corner as numbers")
    shape = Polygon(points)
    if shape.convex_hull.area < min_area:
        raise ValueError("has no area (its points are on one line or repeated); list the corners of the area")
    if not shape.is_valid:
        reason = explain_validity(shape)
        where = re.search(r"\[([-\d.e]+) ([-\d.e]+)\]", reason)
        at = f" near {near.format(float(where[1]), float(where[2]))}" if where else ""
        if "Self-intersection" in reason:
            raise ValueError(f"crosses itself{at}; list the points in order around the edge of the area")
        raise ValueError(f"is not a simple shape ({reason}); list the points in order around the edge of the area")


def check_geo_polygon(points: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """A ``geo_polygon``: [lon, lat] corners (WGS84), checked as a shape in metres around its first corner."""
    check_corner_count(points)
    for lon, lat in points:
        if not (math.isfinite(lon) and math.isfinite(lat)):
            raise ValueError("has a point that is not a finite number; give every corner as [lon, lat] numbers")
        if not (-180 <= lon <= 180 and -90 <= lat <= 90):
            hint = " (it looks like [lat, lon]: swap them)" if -90 <= lon <= 90 and abs(lat) > 90 else ""
            raise ValueError(f"point [{lon}, {lat}] is not a longitude and latitude{hint}; give [lon, lat] in "
                             "degrees (WGS84)")
    if len(points) < 3:
        check_simple_polygon(points, "[lon, lat]")
    frame = LocalFrame(*points[0])
    metres = [tuple(float(v) for v in frame.to_xy(lon, lat)) for lon, lat in points]
    check_simple_polygon(metres, "[lon, lat]", near="({:.1f} m east, {:.1f} m north of its first corner)")
    return points


class MountSettings(StrictModel):
    """Where a moving camera sits on its vehicle (or a drone's gimbal) and where it looks: a pinhole camera."""

    height: float | None = Field(None, gt=0, le=500, description="Metres above the road (a drone: above the "
                                                                 "ground).")
    pitch: float = Field(0.0, ge=-90, le=90, description="Degrees below the horizon (90 = straight down).")
    yaw: float = Field(0.0, ge=-360, le=360, description="Degrees from the direction of travel, clockwise seen from "
                                                         "above (90 = looking right, at the kerb).")
    roll: float = Field(0.0, ge=-180, le=180, description="Degrees the image is turned clockwise, seen from behind "
                                                          "the camera.")
    hfov: float | None = Field(None, gt=0, lt=180, description="Horizontal field of view in degrees (the focal "
                                                               "length is (width / 2) / tan(hfov / 2)).")
    offset: tuple[float, float] = Field((0.0, 0.0), description="[forward_m, right_m]: where the camera sits from "
                                                                "the GPS antenna.")
    ground_points: list[tuple[tuple[float, float], tuple[float, float]]] | None = Field(
        None, description="4 or more [[u, v], [x_m, y_m]] pairs: pixels and their measured ground positions (x "
                          "forward, y right of the road point below the camera); they replace height, pitch, yaw, "
                          "roll and hfov (use them for a lens with distortion, undistorted first).")
    ground_alt: float | None = Field(
        None, ge=-500, le=9000, description="Drones: the ground's altitude in metres, in the GPS track's datum (GPX "
                                            "ele, NMEA GGA: above sea level; 0 for a log of heights above the "
                                            "take-off point); the camera's height at each frame is then the "
                                            "track's altitude minus it, instead of height. Unset: a drone whose "
                                            "track has altitudes is height metres above the ground at the video's "
                                            "start and follows its altitude from there.")

    @model_validator(mode="after")
    def _complete(self) -> MountSettings:
        if self.ground_alt is not None and (self.ground_points is not None or self.height is not None):
            given = "ground_points" if self.ground_points is not None else "height"
            raise ValueError(f"mount.ground_alt and mount.{given} both fix the drone camera's height; give "
                             "ground_alt (the height is the GPS altitude minus it) or height (the height at the "
                             "video's start), not both")
        if self.ground_points is not None:
            if len(self.ground_points) < 4:
                raise ValueError(f"mount.ground_points has {len(self.ground_points)} pair(s); give at least 4 "
                                 "[[u, v], [x_m, y_m]] pairs")
        elif (self.height is None and self.ground_alt is None) or self.hfov is None:
            raise ValueError("mount needs height and hfov (or ground_points); give the camera's height above the "
                             "road in metres and its horizontal field of view in degrees")
        try:  # with ground_alt the height comes from the track: any height checks the angles
            GroundProjection(replace(self.to_mount(), height=self.height or 1.0), (1920, 1080))
        except (MountError, ValueError, ArithmeticError) as exc:
            raise ValueError(str(exc)) from None
        return self

    def to_mount(self) -> Mount:
        return Mount(height=self.height, pitch=float(self.pitch), yaw=float(self.yaw), roll=float(self.roll),
                     hfov=self.hfov, offset=tuple(self.offset), ground_points=self.ground_points)


class PatrolSettings(StrictModel):
    """Digital chalking of moving cameras (``zones.chalk``); set globally under ``patrol:`` or per camera."""

    match_radius: float = Field(3.0, gt=0, le=50, description="Metres: a later sighting this close to a chalk mark "
                                                              "(plus both positions' GPS error) may be the same "
                                                              "object.")
    gps_error: float = Field(2.0, ge=0, le=50, description="Metres a sighting's position may be off (GPS and "
                                                           "projection), added to match_radius for each sighting.")
    trust_range: float | None = Field(None, gt=0, le=500, description="Metres from the camera beyond which "
                                                                      "detections are not placed on the map and "
                                                                      "spots are not cleared. Unset: where the "
                                                                      "mount's error reaches 1.5 m (16 m for a "
                                                                      "1.6 m, 12 degree mount).")
    min_frames: int = Field(2, ge=1, le=1000, description="Analysed frames an object must be seen in a zone to be a "
                                                          "sighting, and a spot in view to count as seen.")
    forget_after: Seconds = Field(7 * 86400.0, gt=0, description="A chalk mark not seen again this long is "
                                                                 "forgotten.")
    align_to_kerb: bool = Field(False, description="Correct the GPS sideways from the kerb seen in the frames "
                                                   "(geo.kerb): the edge of each sidewalk zone nearest the vehicle "
                                                   "must be a visible kerb line. Fixes most of a phone GPS's 3-5 m "
                                                   "across the street, none along it. Side-facing mounts only.")
