"""Config loading: defaults, overrides, and one clear sentence per mistake."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from contracts.names import ZONE_TYPES
from streetorder.cli import main
from tests.conftest import ROOT, shared_clip
from zones.config import Config, ConfigError, DwellSettings, load_config, parse_config
from zones.config_errors import YamlLines
from zones.geometry import ZoneShape, check_in_frame
from zones.reference import EXAMPLE, REFERENCE_PATH, SECTIONS, ZONE_TYPE_MEANINGS, render_reference

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
    settings = camera.zones[0].dwell
    assert settings.warn_after == 480 and settings.clear_after == 30 and settings.escalate_after is None
    assert config.analysis_fps == 2 and config.resting.max_gap == 120
    assert camera.source == "/site/video.mp4"  # relative to the YAML file


def test_zone_overrides_camera_overrides_global():
    raw = config_with_zone(warn_after="90s")
    raw["defaults"] = {"warn_after": "10m", "clear_after": "1m"}
    raw["cameras"][0]["clear_after"] = 45
    config = parse_config(raw)
    settings = config.cameras[0].zones[0].dwell
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


# -- settings resolved once, at load ------------------------------------------------------------------------------


def test_global_detect_is_merged_key_by_key_into_a_cameras_partial_detect():
    raw = {"detect": {"model": "yolov8n", "imgsz": 480, "confidence": 0.4},
           "cameras": [{"id": "a", "source": "a.mp4", "detect": {"imgsz": 320, "backend": "ultralytics"}},
                       {"id": "b", "source": "b.mp4"}]}
    a, b = parse_config(raw).cameras
    assert (a.detect.model, a.detect.imgsz, a.detect.backend, a.detect.confidence) == ("yolov8n", 320, "ultralytics",
                                                                                        0.4)
    assert (b.detect.model, b.detect.imgsz, b.detect.backend) == ("yolov8n", 480, "onnxruntime")
    assert a.detect.iou == b.detect.iou == 0.7  # set nowhere: the model's default


def test_analysis_fps_falls_back_to_the_global_one():
    raw = {"analysis_fps": 4, "cameras": [{"id": "a", "source": "a.mp4", "analysis_fps": 1},
                                          {"id": "b", "source": "b.mp4"}]}
    assert [c.analysis_fps for c in parse_config(raw).cameras] == [1, 4]
    assert parse_config(config_with_zone()).cameras[0].analysis_fps == 2


@pytest.mark.parametrize(
    ("zone", "camera", "defaults", "expected"),
    [
        ({"warn_after": "1m"}, {"warn_after": "2m"}, {"warn_after": "3m"}, 60),
        ({}, {"warn_after": "2m"}, {"warn_after": "3m"}, 120),
        ({}, {}, {"warn_after": "3m"}, 180),
        ({}, {}, {}, 480),
    ],
)
def test_zone_dwell_comes_from_zone_then_camera_then_defaults_then_design(zone, camera, defaults, expected):
    raw = config_with_zone(**zone)
    raw["cameras"][0].update(camera)
    raw["defaults"] = defaults
    assert parse_config(raw).cameras[0].zones[0].dwell.warn_after == expected


def test_each_dwell_key_is_inherited_on_its_own():
    raw = config_with_zone(warn_after="90s")
    raw["cameras"][0].update(active_hours="08:00-21:00", escalate_after="20m")
    raw["defaults"] = {"clear_after": "1m", "active_days": ["Mon", "tue"], "escalate_after": "30m"}
    dwell = parse_config(raw).cameras[0].zones[0].dwell
    assert dwell == DwellSettings(warn_after=90, clear_after=60, escalate_after=1200, active_hours=["08:00-21:00"],
                                  active_days=["mon", "tue"])


def test_resolution_leaves_what_is_stored_and_edited_as_written():
    zone = parse_config(config_with_zone(warn_after="90s")).cameras[0].zones[0]
    dumped = zone.model_dump()
    assert dumped["warn_after"] == 90 and dumped["clear_after"] is None and "dwell" not in dumped


# -- YAML line numbers in error sentences ------------------------------------------------------------------------


def test_error_sentences_name_the_yaml_line(tmp_path):
    path = tmp_path / "cameras.yaml"
    path.write_text("analysis_fps: 2\n"
                    "cameras:\n"
                    "  - id: cam-01\n"
                    "    source: a.mp4\n"
                    "    zones:\n"
                    "      - id: walk\n"
                    "        type: sidewalks\n"
                    "        polygon: [[0, 0], [100, 0], [100, 100]]\n"
                    "  - id: cam-02\n"
                    "    fps: 5\n")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    sentences = str(info.value).splitlines()
    assert len(sentences) == 3
    assert f"{path}: camera 'cam-01', zone 'walk': type: unknown zone type 'sidewalks'; use one of sidewalk, " \
           "no_vending, bike_parking, monitored_area, ignore (line 7)" in sentences
    assert f"{path}: camera 'cam-02': unknown key 'fps'; check its spelling (see docs/CONFIG.md or run `streetorder " \
           "docs`) (line 10)" in sentences
    assert f"{path}: camera 'cam-02': 'source' is missing; add it (line 9)" in sentences  # the camera's line


def test_an_unset_environment_variable_names_its_line(tmp_path):
    path = tmp_path / "cameras.yaml"
    path.write_text("cameras:\n  - id: a\n    source: rtsp://u:${NOT_SET_ANYWHERE}@h/x\n")
    with pytest.raises(ConfigError, match=r"cameras.yaml: environment variable NOT_SET_ANYWHERE is used but not set; "
                                          r"export it first \(line 3\)$"):
        load_config(path)


def test_timer_check_after_validation_names_the_zone_line(tmp_path):
    path = tmp_path / "cameras.yaml"
    path.write_text("defaults:\n  escalate_after: 1m\ncameras:\n  - id: a\n    source: a.mp4\n    zones:\n"
                    "      - {id: walk, type: sidewalk, polygon: [[0, 0], [9, 0], [9, 9]]}\n")
    with pytest.raises(ConfigError, match=r"zone 'walk': escalate_after \(60s\) must be longer than warn_after "
                                          r"\(480s\) \(line 7\)$"):
        load_config(path)


def test_values_read_with_line_numbers_are_those_of_safe_load(monkeypatch):
    monkeypatch.setenv("CAM02_PASSWORD", "s3cret")
    texts = [(ROOT / "examples" / "us_residential_street.yaml").read_text(), EXAMPLE,
             "base: &b {warn_after: 8m, on: yes}\nzone: {<<: *b, id: 007, t: 1.50, d: 2026-11-22}\n"]
    for text in texts:
        raw, _ = YamlLines.load(text)
        assert raw == yaml.safe_load(text) and type(raw) is dict


# -- the config reference -----------------------------------------------------------------------------------------


def test_config_reference_is_not_stale():
    assert REFERENCE_PATH.read_text(encoding="utf-8") == render_reference(), (
        "docs/CONFIG.md is stale: run `streetorder docs` and commit it")


def test_every_config_field_has_a_description_and_appears_in_the_reference():
    text = render_reference()
    for _heading, model, _about in SECTIONS:
        for name, info in model.model_fields.items():
            assert info.description, f"{model.__name__}.{name} has no description"
            assert info.exclude or f"| `{info.alias or name}` |" in text  # the key as written in the file
    assert {m for _, m, _ in SECTIONS} >= {type(getattr(Config(cameras=[{"id": "a", "source": 0}]), k))
                                          for k in ("defaults", "detect", "resting", "rules", "live")}
    assert tuple(ZONE_TYPE_MEANINGS) == ZONE_TYPES


def test_the_reference_example_loads(monkeypatch):
    monkeypatch.setenv("CAM02_PASSWORD", "s3cret")
    config = parse_config(yaml.safe_load(EXAMPLE))
    assert config.cameras[1].detect.model == "yolo11n" and config.cameras[1].detect.imgsz == 480
    assert config.cameras[1].zones[1].dwell.clear_after == 60


def test_docs_command_check_reports_a_stale_file(tmp_path):
    out = tmp_path / "CONFIG.md"
    assert main(["docs", "--check", "--out", str(out)]) == 1
    assert main(["docs", "--out", str(out)]) == 0
    assert main(["docs", "--check", "--out", str(out)]) == 0
    out.write_text(out.read_text() + "edited by hand\n")
    assert main(["docs", "--check", "--out", str(out)]) == 1


# -- streetorder check ------------------------------------------------------------------------------------------


def test_check_prints_what_the_worked_example_would_run(capsys, require_models):
    example = ROOT / "examples" / "us_residential_street.yaml"
    if not Path(load_config(example).cameras[0].source).is_file():
        pytest.skip("the worked example's clip (../shared/data beside the checkout) is absent")
    assert main(["check", "--config", str(example)]) == 0
    out = capsys.readouterr().out
    assert "us-residential (fixed): file " in out and "(640x352, 37.7 s)" in out
    assert "analysis 2 fps; model yolo11n (" in out and "on onnxruntime" in out
    assert [line.split() for line in out.splitlines() if line.split()[:1] == ["far-kerb"]] == [
        ["far-kerb", "sidewalk", "10s", "5s"]]
    assert "1 of 1 camera(s) ready" in out


def test_check_names_each_cameras_problem_and_checks_the_others(tmp_path, capsys, require_models):
    clip = shared_clip("us_residential_street.mp4")
    path = tmp_path / "cameras.yaml"
    path.write_text(yaml.safe_dump({"cameras": [
        {"id": "wide", "source": str(clip),
         "zones": [{"id": "walk", "type": "sidewalk", "polygon": [[0, 0], [700, 0], [700, 100]]}]},
        {"id": "fine", "source": str(clip),
         "zones": [{"id": "walk", "type": "sidewalk", "polygon": [[0, 0], [600, 0], [600, 100]]}]},
        {"id": "gone", "source": "nowhere.mp4"},
        {"id": "door", "source": "rtsp://admin:s3cret@10.0.0.5/live", "frame_size": [320, 240],
         "zones": [{"id": "walk", "type": "sidewalk", "polygon": [[0, 0], [600, 0], [600, 100]]}]},
    ]}))
    assert main(["check", "--config", str(path)]) == 1
    out = " ".join(capsys.readouterr().out.split())  # undo the console's line wrapping
    assert f"problem: {path}: camera 'wide', zone 'walk': point (700, 0) lies outside the 640x352 frame" in out
    assert f"problem: camera 'gone': {tmp_path / 'nowhere.mp4'}: no such video file" in out
    assert "problem: " + str(path) + ": camera 'door', zone 'walk': point (600, 0) lies outside the 320x240" in out
    assert "s3cret" not in out and "rtsp://***@10.0.0.5/live" in out
    assert "1 of 4 camera(s) ready, 3 problem(s)" in out


def test_check_exits_2_on_an_unusable_config(tmp_path, capsys):
    path = tmp_path / "cameras.yaml"
    path.write_text("cameras:\n  - id: a\n    source: a.mp4\n    fps: 5\n")
    assert main(["check", "--config", str(path)]) == 2
    assert "camera 'a': unknown key 'fps'" in capsys.readouterr().err
