"""Zone polygons and the ground-contact test.

An object is in a zone when the place where it touches the ground is: the bottom-centre of its box (``anchor:
point``, the default) or most of the box's bottom band (``anchor: band``, for wide objects seen from the side).
Never the box centre (a tall truck's centre floats over the next zone) and never a convex hull of the polygon
(an L-shaped sidewalk must stay L-shaped).
"""

from __future__ import annotations

import numpy as np
import shapely
from shapely.geometry import Polygon, box

from zones.config import CameraConfig, ConfigError, ZoneConfig

BAND_HEIGHT = 0.1  # the bottom band is this share of the box height
BAND_INSIDE = 0.5  # ... and this share of it must lie in the zone


class ZoneShape:
    """A zone's polygon, prepared for fast tests.

    Example:
        >>> walk = ZoneConfig(id="walk", type="sidewalk", polygon=[[0, 100], [200, 100], [200, 150], [0, 150]])
        >>> zone = ZoneShape(walk)
        >>> zone.contains_ground([50, 40, 120, 120]), zone.contains_ground([50, 0, 120, 90])
        (True, False)
    """

    def __init__(self, zone: ZoneConfig):
        self.zone = zone
        self.polygon = Polygon(zone.polygon)
        shapely.prepare(self.polygon)

    @property
    def id(self) -> str:
        return self.zone.id

    def move_to(self, polygon) -> None:
        """Let the zone cover ``polygon`` (pixels of the current frame) instead: a camera whose view shifted."""
        self.zone = self.zone.model_copy(update={"polygon": [(float(x), float(y)) for x, y in polygon]})
        self.polygon = Polygon(self.zone.polygon)
        shapely.prepare(self.polygon)

    @property
    def type(self) -> str:
        return self.zone.type

    def contains_points(self, points: np.ndarray) -> np.ndarray:
        """(N,) bool: which (N, 2) ground points lie in the zone (its edge counts as inside)."""
        points = np.asarray(points, dtype=float).reshape(-1, 2)
        return shapely.intersects_xy(self.polygon, points[:, 0], points[:, 1])

    def contains_ground(self, xyxy) -> bool:
        x1, y1, x2, y2 = (float(v) for v in xyxy)
        if self.zone.anchor == "band":
            band = box(x1, y2 - BAND_HEIGHT * (y2 - y1), x2, y2)
            return band.area > 0 and band.intersection(self.polygon).area >= BAND_INSIDE * band.area
        return bool(self.contains_points([[(x1 + x2) / 2, y2]])[0])


def check_in_frame(camera: CameraConfig, width: int, height: int, config_name: str = "config") -> None:
    """Raise ``ConfigError`` if a zone's polygon leaves the camera's frame (usually a polygon drawn for another
    resolution, or x and y swapped)."""
    for zone in camera.zones:
        for x, y in zone.polygon or ():  # a geo_polygon is on the map, not in the frame
            if not (-1 <= x <= width + 1 and -1 <= y <= height + 1):
                raise ConfigError(
                    f"{config_name}: camera {camera.id!r}, zone {zone.id!r}: point ({x:g}, {y:g}) lies outside the "
                    f"{width}x{height} frame; polygons are in pixels of the source frame (is it drawn for another "
                    "resolution, or are x and y swapped?)"
                )
