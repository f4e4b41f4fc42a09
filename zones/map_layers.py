"""What the operations map takes from the config: where each camera stands (``geo``), whether it moves, its
unit, the zones drawn on the map (``geo_polygon``: kerbs and lanes along a patrol route) and the unit polygons of
the ``units:`` file, as plain data (review/ works from the store alone and is handed this).

>>> from zones.config import config_from_text
>>> layers = map_layers_of(config_from_text("cameras: [{id: a, source: a.mp4, geo: [120.1, 28.2]}]", None))
>>> layers["cameras"][0]["geo"], layers["units"]
([120.1, 28.2], [])
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from shapely.geometry import mapping

from zones.config import Config
from zones.units import UnitMap


def map_layers_of(config: Config) -> dict[str, Any]:
    """The map's layers of a loaded config: ``cameras`` (id, name, geo, moving, unit, geo zones) and ``units``
    (unit and its outer rings of [lon, lat]), and ``units_file``, the path they were read from."""
    cameras = []
    for camera in config.cameras:
        zones = [{"id": z.id, "type": z.type, "ring": [list(p) for p in z.geo_polygon]}
                 for z in camera.zones if z.geo_polygon is not None]
        cameras.append({"camera_id": camera.id, "name": camera.name, "location": camera.location,
                        "geo": list(camera.geo) if camera.geo else None, "moving": camera.moving,
                        "unit": camera.unit.to_json() if camera.unit else None, "zones": zones})
    unit_map = UnitMap.read(Path(config.units)) if config.units else None  # read again: the map follows edits
    units = []
    for unit, shape in zip(unit_map.units, unit_map.shapes, strict=True) if unit_map else ():
        polygons = mapping(shape)["coordinates"]
        if shape.geom_type == "Polygon":
            polygons = [polygons]
        units.append({"unit": unit.to_json(), "rings": [[list(p) for p in polygon[0]] for polygon in polygons]})
    return {"cameras": cameras, "units": units, "units_file": config.units}
