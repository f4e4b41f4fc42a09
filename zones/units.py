"""Responsibility units (DESIGN.md, "Responsibility units, stores and sinks"): who answers for a place.

A unit is ``{district, grid, road}``, after the seeds' "片区、网格、道路". It is set on a camera, a zone's own
``unit`` overrides it, and a map of unit polygons (a GeoJSON file, ``units:`` at the top of the config) gives
geo-referenced events (patrol cameras, fixed cameras with ``geo``) the unit of where they are.

>>> Unit.model_validate("Lucheng").district, Unit(district="Lucheng", grid="LC-0412").to_json()["road"]
('Lucheng', None)
>>> units = UnitMap([(Unit(grid="A"), [(0.0, 0.0), (1.0, 0.0), (1.0, 1.0), (0.0, 1.0)])])
>>> units.at(0.5, 0.5).grid, units.at(2.0, 2.0)
('A', None)
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any

from pydantic import Field, model_validator
from shapely import STRtree
from shapely.errors import ShapelyError
from shapely.geometry import Point, shape
from shapely.geometry.base import BaseGeometry

from contracts.errors import UserError
from zones.config_geo import StrictModel

MAX_UNIT_FILE_BYTES = 50_000_000


class Unit(StrictModel):
    """A responsibility unit; any part may be unknown."""

    district: str | None = Field(None, max_length=200, description="The district (片区), e.g. Lucheng.")
    grid: str | None = Field(None, max_length=200, description="The grid cell (网格), e.g. LC-0412.")
    road: str | None = Field(None, max_length=200, description="The road (道路), e.g. Binhai Rd.")

    @model_validator(mode="before")
    @classmethod
    def _from_text(cls, value: Any) -> Any:
        """A plain string (the older ``unit: "Lucheng district team 3"``) names the district."""
        return {"district": value} if isinstance(value, str) else value

    def to_json(self) -> dict[str, str | None]:
        return self.model_dump()


class UnitFileError(UserError):
    """A unit map that cannot be read."""


class UnitMap:
    """Unit polygons, looked up by longitude and latitude (the first polygon containing the point wins)."""

    def __init__(self, units: list[tuple[Unit, list[tuple[float, float]] | BaseGeometry]]):
        from shapely.geometry import Polygon
        self.units = [unit for unit, _ in units]
        self.shapes = [outline if isinstance(outline, BaseGeometry) else Polygon(outline) for _, outline in units]
        self._tree = STRtree(self.shapes)

    def at(self, lon: float, lat: float) -> Unit | None:
        hits = sorted(int(i) for i in self._tree.query(Point(lon, lat), predicate="intersects"))
        return self.units[hits[0]] if hits else None

    @classmethod
    def read(cls, path: Path) -> UnitMap:
        """The units of a GeoJSON FeatureCollection: Polygon or MultiPolygon features whose properties hold
        ``district``, ``grid`` and/or ``road``."""
        try:
            if path.stat().st_size > MAX_UNIT_FILE_BYTES:
                raise UnitFileError(f"{path}: the unit map is over {MAX_UNIT_FILE_BYTES // 1_000_000} MB; simplify "
                                    "its polygons")
            data = json.loads(path.read_text(encoding="utf-8"))
        except OSError as exc:
            raise UnitFileError(f"{path}: the unit map cannot be read ({exc.strerror or exc}); check the `units:` "
                                "path (relative to the config file)") from None
        except (UnicodeDecodeError, ValueError) as exc:
            raise UnitFileError(f"{path}: the unit map is not GeoJSON ({exc}); give a FeatureCollection of unit "
                                "polygons") from None
        features = data.get("features") if isinstance(data, dict) else None
        if not isinstance(features, list):
            raise UnitFileError(f"{path}: the unit map has no \"features\" list; give a GeoJSON FeatureCollection")
        units = []
        for number, feature in enumerate(features):
            units.append(_unit_of(feature, f"{path}: feature {number}"))
        return cls(units)


def _unit_of(feature: Any, where: str) -> tuple[Unit, BaseGeometry]:
    try:
        geometry = shape(feature["geometry"])
        unit = Unit.model_validate({k: v for k, v in (feature.get("properties") or {}).items()
                                    if k in Unit.model_fields})
    except (KeyError, TypeError, ValueError, AttributeError, ShapelyError) as exc:
        raise UnitFileError(f"{where} is not a unit polygon ({exc}); give a Polygon with properties district, "
                            "grid and/or road") from None
    if geometry.geom_type not in ("Polygon", "MultiPolygon") or not geometry.is_valid:
        raise UnitFileError(f"{where} is a {'self-intersecting ' if not geometry.is_valid else ''}"
                            f"{geometry.geom_type}; units must be simple Polygons or MultiPolygons of [lon, lat]")
    return unit, geometry


class UnitLookup:
    """The unit of one camera's events: the zone's own unit, else the camera's, else (events with a position) the
    unit map's polygon they lie in. A moving camera asks the map before its own unit: it drives through many units.

    >>> lookup = UnitLookup(Unit(district="Lucheng"), {"kerb": Unit(grid="LC-1")})
    >>> lookup.unit_for("kerb").grid, lookup.unit_for("walk").district
    ('LC-1', 'Lucheng')
    """

    def __init__(self, camera_unit: Unit | None, zone_units: dict[str, Unit], unit_map: UnitMap | None = None,
                 moving: bool = False):
        self.camera_unit, self.zone_units, self.unit_map, self.moving = camera_unit, zone_units, unit_map, moving

    def unit_for(self, zone_id: str, lon: float | None = None, lat: float | None = None) -> Unit | None:
        if zone_id in self.zone_units:
            return self.zone_units[zone_id]
        mapped = None
        if self.unit_map is not None and lon is not None and lat is not None:
            mapped = self.unit_map.at(lon, lat)
        return (mapped or self.camera_unit) if self.moving else (self.camera_unit or mapped)

    @classmethod
    def of_camera(cls, camera: Any, unit_map: UnitMap | None) -> UnitLookup:
        """The lookup of a loaded ``CameraConfig``."""
        return cls(camera.unit, {z.id: z.unit for z in camera.zones if z.unit is not None}, unit_map, camera.moving)


def unit_label(unit: Unit | None) -> str | None:
    """How reviewers read a unit: its known parts, from the district down.

    >>> unit_label(Unit(district="Lucheng", road="Binhai Rd"))
    'Lucheng · Binhai Rd'
    """
    parts = [p for p in (unit.district, unit.grid, unit.road) if p] if unit is not None else []
    return " · ".join(parts) or None


@lru_cache(maxsize=4)
def read_unit_map(path: str | None) -> UnitMap | None:
    """The unit map of the config's ``units:`` file, read once per process (None: no file)."""
    return None if path is None else UnitMap.read(Path(path))
