"""A local metric frame: longitude/latitude (WGS84) <-> metres east and north of an origin.

The frame is pyproj's azimuthal equidistant projection centred on the origin: distances and bearings from the
origin are exact, and within a city (a few kilometres) grid north and true north differ by less than 0.1 degree,
so a heading clockwise from true north is used as a bearing in the frame as it is.

>>> frame = LocalFrame(120.6712, 28.0011)
>>> x, y = frame.to_xy(120.6712, 28.0011 + 0.001)
>>> round(float(x), 3), round(float(y), 1)
(0.0, 110.8)
>>> [round(float(v), 7) for v in frame.to_lonlat(x, y)]
[120.6712, 28.0021]
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike
from pyproj import CRS, Geod, Transformer

_GEOD = Geod(ellps="WGS84")


class LocalFrame:
    """Metres east (``x``) and north (``y``) of ``(lon, lat)``; accepts scalars or arrays."""

    def __init__(self, lon: float, lat: float) -> None:
        self.origin = (float(lon), float(lat))
        crs = CRS.from_proj4(f"+proj=aeqd +lat_0={self.origin[1]!r} +lon_0={self.origin[0]!r} +datum=WGS84 +units=m")
        self._forward = Transformer.from_crs("EPSG:4326", crs, always_xy=True)
        self._inverse = Transformer.from_crs(crs, "EPSG:4326", always_xy=True)

    def to_xy(self, lon: ArrayLike, lat: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
        """Longitude, latitude (degrees) -> x east, y north (metres)."""
        x, y = self._forward.transform(np.asarray(lon, dtype=float), np.asarray(lat, dtype=float))
        return np.asarray(x), np.asarray(y)

    def to_lonlat(self, x: ArrayLike, y: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
        """x east, y north (metres) -> longitude, latitude (degrees)."""
        lon, lat = self._inverse.transform(np.asarray(x, dtype=float), np.asarray(y, dtype=float))
        return np.asarray(lon), np.asarray(lat)

    def __repr__(self) -> str:
        return f"LocalFrame(lon={self.origin[0]}, lat={self.origin[1]})"


def distance_m(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    """Ground distance between two WGS84 positions, in metres (the geodesic).

    >>> round(distance_m(120.6712, 28.0011, 120.6712, 28.0012), 2)  # a ten-thousandth of a degree north
    11.08
    >>> distance_m(120.6712, 28.0011, 120.6712, 28.0011)
    0.0
    """
    return float(_GEOD.inv(lon1, lat1, lon2, lat2)[2])

