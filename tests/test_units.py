"""Responsibility units: set on a camera, overridden by a zone, found on a unit map by position; carried by events."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from events.evidence import EvidenceWriter
from events.record import Event
from events.recorder import EventRecorder
from events.store import EventStore
from zones.config import ConfigError, config_from_text
from zones.units import UnitFileError, UnitLookup, UnitMap, read_unit_map

SQUARE = [[120.0, 28.0], [120.1, 28.0], [120.1, 28.1], [120.0, 28.1], [120.0, 28.0]]


def unit_map(tmp_path: Path, features: list) -> Path:
    path = tmp_path / "units.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}))
    return path


def config(tmp_path: Path, extra: str = "") -> str:
    (tmp_path / "v.mp4").write_bytes(b"")
    return f"""
{extra}
cameras:
  - id: cam-01
    source: v.mp4
    geo: [120.05, 28.05]
    unit: {{district: Lucheng, grid: "LC-0412", road: Binhai Rd}}
    zones:
      - {{id: kerb, type: sidewalk, polygon: [[0, 0], [10, 0], [10, 10]], unit: {{district: Lucheng, grid: "LC-9"}}}}
      - {{id: walk, type: sidewalk, polygon: [[0, 0], [10, 0], [10, 10]]}}
  - id: cam-02
    source: v.mp4
    geo: [120.05, 28.05]
    zones:
      - {{id: walk, type: sidewalk, polygon: [[0, 0], [10, 0], [10, 10]]}}
"""


def warn(camera: str, zone: str, lon: float | None = 120.05, lat: float | None = 28.05) -> Event:
    return Event(event_id=f"{camera}/{zone}/1/warn", type="warn", rule="sidewalk_parking", camera_id=camera,
                 zone_id=zone, object_id="1", class_name="car", t=480.0, ts=None, since_t=0.0, dwell_s=480.0,
                 bbox=[0, 0, 1, 1], score=0.9, evidence={}, lon=lon, lat=lat)


def test_a_zone_unit_overrides_the_camera_unit_and_the_map_serves_cameras_without_one(tmp_path):
    unit_map(tmp_path, [{"type": "Feature", "properties": {"district": "Ouhai", "grid": "OH-1"},
                         "geometry": {"type": "Polygon", "coordinates": [SQUARE]}}])
    loaded = config_from_text(config(tmp_path, "units: units.geojson"), tmp_path / "c.yaml")
    store = EventStore(tmp_path / "events.db")
    stamped = {}
    for camera in loaded.cameras:
        lookup = UnitLookup.of_camera(camera, read_unit_map(loaded.units))
        recorder = EventRecorder(camera.id, EvidenceWriter(tmp_path, camera), store, units=lookup)
        for zone in camera.zones:
            assert recorder.publish(warn(camera.id, zone.id))
    for event in store.events():
        stamped[(event.camera_id, event.zone_id)] = event.unit
    assert stamped == {
        ("cam-01", "kerb"): {"district": "Lucheng", "grid": "LC-9", "road": None},
        ("cam-01", "walk"): {"district": "Lucheng", "grid": "LC-0412", "road": "Binhai Rd"},
        ("cam-02", "walk"): {"district": "Ouhai", "grid": "OH-1", "road": None},  # by its position on the map
    }
    outside = UnitLookup.of_camera(loaded.cameras[1], read_unit_map(loaded.units))
    assert outside.unit_for("walk", 121.0, 29.0) is None and outside.unit_for("walk") is None
    store.close()


def test_a_moving_camera_takes_the_unit_it_drives_through_before_its_own():
    from zones.units import Unit
    units = UnitMap([(Unit(grid="A"), [(0, 0), (1, 0), (1, 1), (0, 1)])])
    lookup = UnitLookup(Unit(district="patrol team 3"), {}, units, moving=True)
    assert lookup.unit_for("walk", 0.5, 0.5).grid == "A"
    assert lookup.unit_for("walk", 5.0, 5.0).district == "patrol team 3"


def test_an_older_config_naming_the_unit_as_text_still_loads(tmp_path):
    text = config(tmp_path).replace('{district: Lucheng, grid: "LC-0412", road: Binhai Rd}', '"Lucheng team 3"')
    assert config_from_text(text, tmp_path / "c.yaml").cameras[0].unit.district == "Lucheng team 3"


@pytest.mark.parametrize("content, words", [
    ("{not json", "is not GeoJSON"),
    ('{"type": "FeatureCollection"}', 'has no "features" list'),
    ('{"features": [{"type": "Feature", "geometry": {"type": "Point", "coordinates": [1, 2]}}]}',
     "feature 0 is a Point"),
    ('{"features": [{"type": "Feature", "geometry": {"type": "Polygon", "coordinates": '
     '[[[0, 0], [1, 1], [1, 0], [0, 1], [0, 0]]]}}]}', "feature 0 is a self-intersecting Polygon"),
    ('{"features": [{"type": "Feature", "geometry": {"type": "Polygon", "coordinates": "x"}}]}',
     "feature 0 is not a unit polygon"),
])
def test_a_bad_unit_map_is_one_sentence_naming_the_file(tmp_path, content, words):
    path = tmp_path / "units.geojson"
    path.write_text(content)
    with pytest.raises(UnitFileError, match=words) as caught:
        UnitMap.read(path)
    assert str(path) in str(caught.value)


def test_a_unit_with_an_unknown_part_is_refused_naming_the_key(tmp_path):
    text = config(tmp_path).replace("road: Binhai Rd}", "road: Binhai Rd, street: x}")
    with pytest.raises(ConfigError, match=r"camera 'cam-01': unknown key 'unit.street'.*\(line 7\)"):
        config_from_text(text, tmp_path / "c.yaml")
