"""The scenario generator on one tiny scenario (seconds, not minutes), checked against the frames it rendered.

Real pixels and the real model: skipped without ../shared.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import yaml

from detector.load import load_detector
from evaluation.compose import frame_times
from evaluation.make import make_scenarios
from evaluation.material import Material
from evaluation.scenario import Rest, Scenario, Traffic, check_scenery
from evaluation.suite import DOWN_LANE, EAST_SPOT, FROM_EAST, RESIDENTIAL_ZONES, TO_NORTH, suite
from streams.files import VideoFile
from tests.conftest import SHARED, shared_clip
from zones.config import load_config

pytestmark = pytest.mark.slow

TINY = Scenario(
    name="tiny", title="A car stops 8 s on the pavement", scene="residential", duration=14.0, fps=5.0,
    zones=RESIDENTIAL_ZONES,
    rests=[Rest("car-1", "car", EAST_SPOT, 3.0, 11.0, zone="walk-east", rule="sidewalk_parking", enter=FROM_EAST,
                leave=TO_NORTH)],
    traffic=[Traffic("car", [DOWN_LANE], per_minute=20.0, speed_mps=9.0)],
    gaps=[(6.0, 8.0)], seed=11,
)


@pytest.fixture(scope="module")
def material(require_models):
    shared_clip("us_residential_street.mp4")
    # one clip gives the background, the scale law and the car sprites: enough for a car scenario, and quick
    return Material(SHARED / "data", load_detector("yolo11n"),
                    sprite_sources={"car": [("clips/us_residential_street.mp4", 640)]}, photo_sources={})


@pytest.fixture(scope="module")
def rendered(material, tmp_path_factory):
    out = tmp_path_factory.mktemp("suite")
    truth = make_scenarios(out, material, scenarios=[TINY], verify_every=1.0)[0]
    return out, truth


def test_ground_truth_says_what_was_planned(rendered, material):
    _, truth = rendered
    (car,) = truth["objects"]
    assert (car["rule"], car["zone"], car["rest_start"], car["rest_end"]) == ("sidewalk_parking", "walk-east", 3, 11)
    assert car["expected"] == {"warn": None, "clear": None}  # 8 s is far short of warn_after
    x1, y1, x2, y2 = car["box"]
    law = material.scene("residential").law
    assert y2 == EAST_SPOT[1] and abs((x1 + x2) / 2 - EAST_SPOT[0]) <= 1
    assert abs((y2 - y1) - law.height_px("car", EAST_SPOT[1])) <= 1  # perspective-consistent size
    assert truth["gaps"] == [[6.0, 8.0]] and truth["duration"] == 14.0 and truth["passers"] >= 1


def test_the_real_model_finds_the_resting_car_and_the_rate_is_recorded(rendered):
    _, truth = rendered
    assert truth["objects"][0]["detected_rate"] >= 0.5


def test_frames_have_exact_timestamps_and_the_gap(rendered):
    out, _ = rendered
    times = [f.t for f in VideoFile(out / "tiny" / "video.mp4", analysis_fps=100)]
    assert times == pytest.approx(list(frame_times(14.0, 5.0, [(6.0, 8.0)])), abs=1e-3)
    assert not [t for t in times if 6.0 < t < 8.0]


def test_the_car_is_where_the_ground_truth_box_says(rendered, material):
    out, truth = rendered
    background = material.scene("residential").background.astype(np.int16)
    x1, y1, x2, y2 = (int(v) for v in truth["objects"][0]["box"])
    frames = {round(f.t, 1): f.image.astype(np.int16) for f in VideoFile(out / "tiny" / "video.mp4", 5.0)}

    def change(t, box):
        a, b, c, d = box
        return float(np.abs(frames[t][b:d, a:c] - background[b:d, a:c]).mean())

    inner = (x1 + 3, y1 + 3, x2 - 3, y2 - 3)
    assert change(5.0, inner) > 25  # resting: the car's pixels replace the pavement
    assert change(13.0, inner) < 8  # it has left: the pavement again, up to noise and compression
    assert change(5.0, (10, 10, 120, 90)) < 8  # far from every path, the frame is the background


def test_the_config_loads_with_default_dwell_settings_and_the_suite_lists_it(rendered):
    out, _ = rendered
    config = load_config(out / "tiny" / "cameras.yaml")
    camera = config.cameras[0]
    assert camera.id == "tiny" and camera.source == str((out / "tiny" / "video.mp4").resolve())
    assert [z.id for z in camera.zones] == ["walk-east", "island"]
    assert all(z.warn_after is None for z in camera.zones) and config.defaults.warn_after is None
    suite_config = yaml.safe_load((out / "suite.yaml").read_text())
    assert [c["source"] for c in suite_config["cameras"]] == ["tiny/video.mp4"]
    assert json.loads((out / "tiny" / "gt.json").read_text())["camera_id"] == "tiny"


def test_a_zone_over_a_car_of_the_background_is_refused(material):
    driveway = {"id": "driveway", "type": "sidewalk", "polygon": [[590, 150], [640, 150], [640, 200], [590, 200]]}
    bad = Scenario(name="bad", title="", scene="residential", duration=1.0, fps=1.0, zones=[driveway], rests=[])
    with pytest.raises(ValueError, match="scenario 'bad', zone 'driveway': the background already shows a car"):
        check_scenery(bad, material.scene("residential"))


def test_every_suite_scenario_has_a_unique_name_and_covers_the_issue():
    names = [s.name for s in suite()]
    assert len(names) == len(set(names))
    fps = {s.fps for s in suite() if s.name.startswith("sidewalk-long")}
    assert min(fps) <= 2 and max(fps) >= 10
    rules = {r.rule for s in suite() for r in s.rests}
    assert {"sidewalk_parking", "misparked_bike", None} <= rules


def test_the_report_picture_shows_a_frame_of_the_scenario(rendered, tmp_path):
    import cv2

    from evaluation.report import scenario_picture

    out, truth = rendered
    picture = cv2.imread(str(scenario_picture(out / "tiny", tmp_path / "tiny.jpg")))
    assert picture.shape[:2] == (truth["frame_size"][1], truth["frame_size"][0])
    video_frame = next(f.image for f in VideoFile(out / "tiny" / "video.mp4", 1.0) if f.t >= 7.0)
    assert np.abs(picture.astype(int) - video_frame.astype(int)).mean() < 10  # the frame, with a few lines drawn
