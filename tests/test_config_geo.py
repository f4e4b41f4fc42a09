"""The config of moving cameras: gps, gps_offset, mount, geo_polygon, patrol, and fixed cameras' geo."""

from __future__ import annotations

import pytest

from zones.config import ConfigError, parse_config

PAVEMENT = [[120.6712, 28.0011], [120.6735, 28.0013], [120.6735, 28.0010], [120.6712, 28.0008]]


def patrol_camera(**changes) -> dict:
    camera = {"id": "patrol-07", "kind": "vehicle", "source": "drive.mp4", "gps": "drive.gpx",
              "mount": {"height": 1.6, "pitch": 12, "yaw": 90, "hfov": 95},
              "zones": [{"id": "east-pavement", "type": "sidewalk", "geo_polygon": PAVEMENT}]}
    camera.update(changes)
    return camera


def refusal(raw: dict) -> str:
    with pytest.raises(ConfigError) as info:
        parse_config(raw)
    return str(info.value)


def test_a_patrol_camera_loads_with_its_track_mount_and_map_zones(tmp_path):
    config = parse_config({"cameras": [patrol_camera(gps_offset="-2.5s")]}, tmp_path / "cameras.yaml")
    camera = config.cameras[0]
    assert camera.moving and camera.gps == str(tmp_path / "drive.gpx")
    assert camera.gps_offset == -2.5
    assert camera.mount.to_mount().hfov == 95
    assert camera.zones[0].geo_polygon[0] == (120.6712, 28.0011) and camera.zones[0].polygon is None
    assert camera.patrol.match_radius == 3.0  # DESIGN.md's default


def test_patrol_settings_merge_key_by_key():
    config = parse_config({"patrol": {"match_radius": 5, "gps_error": 1}, "cameras": [
        patrol_camera(patrol={"gps_error": 4}), patrol_camera(id="patrol-08")]})
    first, second = config.cameras
    assert (first.patrol.match_radius, first.patrol.gps_error) == (5, 4)
    assert (second.patrol.match_radius, second.patrol.gps_error) == (5, 1)


@pytest.mark.parametrize("missing", ["gps", "mount"])
def test_a_moving_camera_without_gps_or_mount_is_refused_by_name(missing):
    camera = patrol_camera()
    del camera[missing]
    assert f"camera 'patrol-07': a vehicle camera needs {missing}:" in refusal({"cameras": [camera]})


def test_pixel_zones_on_a_moving_camera_and_map_zones_on_a_fixed_one_are_refused():
    moving = patrol_camera(zones=[{"id": "kerb", "type": "sidewalk", "polygon": [[0, 0], [10, 0], [10, 10]]}])
    assert "zone 'kerb' of a moving camera needs geo_polygon" in refusal({"cameras": [moving]})
    fixed = {"id": "pole", "source": "v.mp4", "zones": [{"id": "kerb", "type": "sidewalk", "geo_polygon": PAVEMENT}]}
    assert "zone 'kerb' has a geo_polygon, which only moving cameras" in refusal({"cameras": [fixed]})


def test_a_zone_needs_exactly_one_outline():
    both = patrol_camera(zones=[{"id": "z", "type": "sidewalk", "geo_polygon": PAVEMENT,
                                 "polygon": [[0, 0], [10, 0], [10, 10]]}])
    assert "either polygon" in refusal({"cameras": [both]}) and "not both" in refusal({"cameras": [both]})
    neither = patrol_camera(zones=[{"id": "z", "type": "sidewalk"}])
    assert "either polygon" in refusal({"cameras": [neither]})


def test_geo_polygons_are_checked_on_the_ground():
    swapped = [[lat, lon] for lon, lat in PAVEMENT]
    message = refusal({"cameras": [patrol_camera(zones=[{"id": "z", "type": "sidewalk", "geo_polygon": swapped}])]})
    assert "zone 'z'" in message and "(it looks like [lat, lon]: swap them)" in message
    assert "is not a longitude and latitude" in message
    crossed = [PAVEMENT[0], PAVEMENT[2], PAVEMENT[1], PAVEMENT[3]]
    message = refusal({"cameras": [patrol_camera(zones=[{"id": "z", "type": "sidewalk", "geo_polygon": crossed}])]})
    assert "crosses itself near" in message and "m east" in message
    tiny = [[120.67120, 28.0011], [120.671201, 28.0011], [120.671201, 28.001101]]  # about 0.01 m2
    message = refusal({"cameras": [patrol_camera(zones=[{"id": "z", "type": "sidewalk", "geo_polygon": tiny}])]})
    assert "has no area" in message


def test_a_mount_needs_its_geometry_or_ground_points():
    message = refusal({"cameras": [patrol_camera(mount={"height": 1.6, "pitch": 12})]})
    assert "mount needs height and hfov (or ground_points)" in message
    message = refusal({"cameras": [patrol_camera(mount={"ground_points": [[[0, 0], [1, 1]]] * 3})]})
    assert "ground_points has 3 pair(s)" in message
    assert "hfov" in refusal({"cameras": [patrol_camera(mount={"height": 1.6, "hfov": 190})]})


def test_a_fixed_camera_may_say_where_it_stands():
    camera = {"id": "pole", "source": "v.mp4", "geo": [120.67, 28.0], "zones": []}
    assert parse_config({"cameras": [camera]}).cameras[0].geo == (120.67, 28.0)
    camera["geo"] = [28.0, 200.0]
    assert "is not a longitude and latitude" in refusal({"cameras": [camera]})


def test_drone_is_a_camera_kind():
    assert parse_config({"cameras": [patrol_camera(kind="drone")]}).cameras[0].kind == "drone"
    assert "kind must be 'fixed', 'vehicle' or 'drone'" in refusal({"cameras": [patrol_camera(kind="boat")]})


def test_a_drone_may_take_its_height_from_the_gps_altitude_and_only_a_drone():
    gimbal = {"ground_alt": 12.0, "pitch": 90, "hfov": 90}
    camera = parse_config({"cameras": [patrol_camera(kind="drone", mount=gimbal)]}).cameras[0]
    assert (camera.mount.ground_alt, camera.mount.height) == (12.0, None)
    message = refusal({"cameras": [patrol_camera(mount=gimbal)]})  # a vehicle
    assert "camera 'patrol-07': mount.ground_alt is for drones" in message and "set kind: drone" in message
    message = refusal({"cameras": [patrol_camera(kind="drone", mount=gimbal | {"height": 20})]})
    assert "mount.ground_alt and mount.height both fix the drone camera's height" in message and "not both" in message
    points = [[[0, 0], [0, 0]], [[1000, 0], [0, 10]], [[1000, 1000], [-10, 10]], [[0, 1000], [-10, 0]]]
    message = refusal({"cameras": [patrol_camera(kind="drone", mount={"ground_alt": 0, "ground_points": points})]})
    assert "mount.ground_alt and mount.ground_points both fix" in message
    message = refusal({"cameras": [patrol_camera(kind="drone", mount={"pitch": 90, "hfov": 90})]})
    assert "mount needs height and hfov" in message
