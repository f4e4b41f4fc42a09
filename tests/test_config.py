"""Config loading: defaults, overrides, and one clear sentence per mistake."""

from __future__ import annotations

from pathlib import Path

import pytest

from zones.config import ConfigError, load_config, parse_config, zone_settings
from zones.geometry import ZoneShape, check_in_frame

SQUARE = [[0, 0], [100, 0], [100, 100], [0, 100]]


def config_with_zone(**zone) -> dict:
    return {"cameras": [{"id": "cam-01", "source": "video.mp4",
                         "zones": [{"id": "walk", "type": "sidewalk", "polygon": SQUARE, **zone}]}]}


def error_of(raw: dict) -> str:
    with pytest.raises(ConfigError) as info:
        parse_config(raw, Path("/site/cameras.yaml"))
    return str(info.value)


def test_defaults_follow_design_md():
    config = parse_config(config_with_zone(), Path("/site/cameras.yaml"))
    camera = config.cameras[0]
    settings = zone_settings(config, camera, camera.zones[0])
    assert settings.warn_after == 480 and settings.clear_after == 30 and settings.escalate_after is None
    assert config.analysis_fps == 2 and config.resting.max_gap == 120
    assert camera.source == "/site/video.mp4"  # relative to the YAML file


def test_zone_overrides_camera_overrides_global():
    raw = config_with_zone(warn_after="90s")
    raw["defaults"] = {"warn_after": "10m", "clear_after": "1m"}
    raw["cameras"][0]["clear_after"] = 45
    config = parse_config(raw)
    settings = zone_settings(config, config.cameras[0], config.cameras[0].zones[0])
    assert (settings.warn_after, settings.clear_after) == (90, 45)


@pytest.mark.parametrize(("text", "seconds"), [("90s", 90), ("8m", 480), ("1h30m", 5400), (75, 75), ("2.5m", 150)])
def test_durations(text, seconds):
    config = parse_config(config_with_zone(warn_after=text))
    assert config.cameras[0].zones[0].warn_after == seconds


def test_rtsp_and_device_sources_are_kept(monkeypatch):
    monkeypatch.setenv("CAM_PASS", "s3cret")
    raw = {"cameras": [{"id": "a", "source": "rtsp://admin:${CAM_PASS}@10.0.0.5/live"}, {"id": "b", "source": 0}]}
    config = parse_config(raw)
    assert config.cameras[0].source == "rtsp://admin:s3cret@10.0.0.5/live"
    assert config.cameras[1].source == 0


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (config_with_zone(type="sidewalks"),
         "/site/cameras.yaml: camera 'cam-01', zone 'walk': type: unknown zone type 'sidewalks'; use one of sidewalk, "
         "no_vending, bike_parking, monitored_area, ignore"),
        (config_with_zone(polygon=[[0, 0], [100, 100], [100, 0], [0, 100]]),
         "/site/cameras.yaml: camera 'cam-01', zone 'walk': polygon: crosses itself near (50, 50); list the points in "
         "order around the edge of the area"),
        (config_with_zone(polygon=[[0, 0], [50, 50], [100, 100]]),
         "zone 'walk': polygon: has no area"),
        (config_with_zone(polygon=[[0, 0], [50, 50]]),
         "zone 'walk': polygon: has 2 point(s); a zone needs at least 3 [x, y] points"),
        (config_with_zone(warn_after="eight minutes"),
         "zone 'walk': warn_after: 'eight minutes' is not a duration; write seconds or a text such as '90s', '8m'"),
        (config_with_zone(warn_after="5m", escalate_after="4m"),
         "zone 'walk': escalate_after (240s) must be longer than warn_after (300s)"),
        (config_with_zone(active_hours="8am-9pm"),
         "zone 'walk': active_hours: '8am-9pm' is not a time window; write it as 'HH:MM-HH:MM'"),
        ({"cameras": [{"id": "cam-01", "source": "a.mp4", "zones": [
            {"id": "walk", "type": "sidewalk", "polygon": SQUARE},
            {"id": "walk", "type": "ignore", "polygon": SQUARE}]}]},
         "camera 'cam-01': zone id 'walk' is used twice; give each zone of a camera its own id"),
        ({"cameras": [{"id": "cam-01", "source": "a.mp4"}, {"id": "cam-01", "source": "b.mp4"}]},
         "camera id 'cam-01' is used twice; give each camera its own id"),
        ({"cameras": [{"id": "cam-01", "source": "a.mp4", "fps": 5}]},
         "camera 'cam-01': unknown key 'fps'; check its spelling"),
        ({"cameras": [{"id": "cam-01"}]}, "camera 'cam-01': 'source' is missing; add it"),
        ({"cameras": [{"id": "cam 01", "source": "a.mp4"}]},
         "camera 'cam 01': id: ids may use only letters, digits, '.', '_' and '-'"),
        ({"cameras": [{"id": "a", "source": "rtsp://u:${NOT_SET_ANYWHERE}@h/x"}]},
         "environment variable NOT_SET_ANYWHERE is used but not set; export it first"),
        ({"cams": []}, "unknown key 'cams'"),
    ],
)
def test_bad_configs_get_one_clear_sentence(raw, expected):
    message = error_of(raw)
    assert expected in message
    assert message.startswith("/site/cameras.yaml: ")


def test_yaml_syntax_error_names_the_line(tmp_path):
    path = tmp_path / "cameras.yaml"
    path.write_text("cameras:\n  - id: a\n    source: [unclosed\n")
    with pytest.raises(ConfigError, match=r"cameras.yaml: not valid YAML at line \d+"):
        load_config(path)


def test_missing_config_file(tmp_path):
    with pytest.raises(ConfigError, match="no such config file"):
        load_config(tmp_path / "nope.yaml")


def test_polygon_outside_the_frame_names_camera_zone_and_fix():
    config = parse_config(config_with_zone(polygon=[[0, 0], [700, 0], [700, 100], [0, 100]]))
    with pytest.raises(ConfigError) as info:
        check_in_frame(config.cameras[0], 640, 352, "cameras.yaml")
    assert str(info.value) == (
        "cameras.yaml: camera 'cam-01', zone 'walk': point (700, 0) lies outside the 640x352 frame; polygons are in "
        "pixels of the source frame (is it drawn for another resolution, or are x and y swapped?)"
    )


def test_ground_test_uses_the_polygon_not_its_hull():
    # an L-shaped sidewalk: the notch at the top right is not part of it
    l_shape = [[0, 0], [50, 0], [50, 50], [100, 50], [100, 100], [0, 100]]
    zone = ZoneShape(parse_config(config_with_zone(polygon=l_shape)).cameras[0].zones[0])
    assert zone.contains_ground([10, 0, 30, 40])  # bottom-centre (20, 40): in the vertical bar
    assert not zone.contains_ground([60, 0, 90, 40])  # bottom-centre (75, 40): in the notch, inside the hull
    assert zone.contains_ground([60, 0, 90, 80])


def test_band_anchor_needs_most_of_the_bottom_band_inside():
    zone = ZoneShape(parse_config(config_with_zone(anchor="band")).cameras[0].zones[0])
    assert zone.contains_ground([20, 50, 90, 90])
    assert not zone.contains_ground([70, 50, 170, 90])  # bottom-centre (120, 90) outside; band 30 % inside
    assert not ZoneShape(parse_config(config_with_zone()).cameras[0].zones[0]).contains_ground([70, 50, 170, 90])
