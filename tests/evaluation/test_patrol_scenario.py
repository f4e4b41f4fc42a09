"""The patrol scenario: its chalking truth, a tiny render checked against geo (pixels, GPS, the real model), and
the scorer's geo matching (position and wall time)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import cv2
import numpy as np
import pytest
import yaml

from evaluation.events_io import GeoTruthScenario, parse_event_line, read_truth
from evaluation.patrol import (
    CST,
    GeoZone,
    Parked,
    PatrolBuilder,
    PatrolScenario,
    expected_events,
    patrol_scenario,
)
from evaluation.patrol_street import FRAME, KERB_D, MOUNT
from evaluation.score_events import score_events
from geo import Fix, GroundProjection, Track, read_track, to_vehicle
from tests.conftest import SHARED

DATA = SHARED / "data"
START = datetime(2026, 11, 23, 8, 0, tzinfo=CST)


# -- the truth of chalking ------------------------------------------------------------------------------------------

def test_the_suite_scenario_warns_what_design_md_says_and_nothing_else():
    scenario = patrol_scenario()
    events = expected_events(scenario, hidden={("car-e", 2): True})
    assert [(e["object"], e["type"], e["pass"]) for e in events] == [
        ("car-a", "warn", 2), ("car-f", "warn", 2), ("bike-g", "warn", 2),
        ("car-c2", "warn", 3), ("car-e", "warn", 3), ("car-f", "clear", 4),
    ]
    assert len(scenario.passes) >= 3 and (scenario.passes[-1] - scenario.passes[0]).total_seconds() >= 20 * 60
    car_a = next(e for e in events if e["object"] == "car-a")
    # the expected sighting is when the camera faced the car on pass 2
    assert datetime.fromisoformat(car_a["ts"]) == scenario.passes[1] + timedelta(seconds=(24.0 + 15.0) / 6.0)


def test_a_spot_seen_on_the_second_pass_would_warn_the_car_behind_the_bus_there():
    events = expected_events(patrol_scenario())  # no bus: car-e is seen on pass 2
    assert ("car-e", "warn", 2) in [(e["object"], e["type"], e["pass"]) for e in events]


# -- a tiny render, checked against geo and the real model ----------------------------------------------------------

TINY = PatrolScenario(
    "tiny", "one car, two passes", (START, START + timedelta(minutes=9)), -6.0, 20.0,
    (GeoZone("pave", "sidewalk", (0.0, 30.0), (3.5, 8.0)),),
    (Parked("car-a", "car", 8.0, 4.8, (1, 2), "pave", "sidewalk_parking"),),
)


@pytest.fixture(scope="module")
def rendered(tmp_path_factory, require_models):
    if not (DATA / "clips" / "cn_curbside_parking.mp4").is_file():
        pytest.skip(f"real footage {DATA} is absent (the patrol street is made of it)")
    from detector.load import load_detector
    from evaluation.material import Material

    cars = {"car": [("clips/cn_curbside_parking.mp4", 576)]}  # one clip: its sprite bank is cut in 17 s
    material = Material(DATA, load_detector("yolo11n"), sprite_sources=cars)
    builder = PatrolBuilder(material, verify_step=2)
    out = tmp_path_factory.mktemp("patrol") / "tiny"
    return builder, out, builder.render(TINY, out)


def decoded(path):
    import av

    with av.open(str(path)) as container:
        return [(round(float(f.pts * f.time_base), 3), f.to_ndarray(format="bgr24")) for f in container.decode(video=0)]


def true_track(truth, k):
    """The pass's GPS track without its noise (the fixes' true positions)."""
    street = TINY.street
    start = datetime.fromisoformat(truth["passes"][k - 1]["start"])
    fixes = [Fix((start + timedelta(seconds=f["t"])).timestamp(), *map(float, street.lonlat(f["s"], 0.0)))
             for f in truth["passes"][k - 1]["fixes"]]
    return Track(fixes, name="true"), start


def sprite_box(image, empty, threshold=15):
    """The box of what differs from the empty street (the pasted sprite): its largest blob, noise smoothed off."""
    diff = np.abs(cv2.GaussianBlur(image, (3, 3), 0).astype(np.int16)
                  - cv2.GaussianBlur(empty, (3, 3), 0).astype(np.int16)).max(axis=2)
    mask = cv2.morphologyEx((diff > threshold).astype(np.uint8), cv2.MORPH_OPEN, np.ones((3, 3), np.uint8))
    mask = cv2.morphologyEx(mask, cv2.MORPH_CLOSE, np.ones((9, 9), np.uint8))
    _, _, stats, _ = cv2.connectedComponentsWithStats(mask)
    x, y, w, h, _ = stats[1 + int(np.argmax(stats[1:, 4]))]
    return x, y, x + w, y + h


def test_the_car_stands_where_the_gps_pose_projects_it_at_pinhole_scale(rendered):
    builder, out, truth = rendered
    car = truth["objects"][0]
    view = GroundProjection(MOUNT, FRAME)
    track, start = true_track(truth, 1)
    checked = 0
    for t, image in decoded(out / "pass-1" / "video.mp4"):
        pose = track.pose_at(start + timedelta(seconds=t))
        xy = tuple(to_vehicle(np.column_stack(pose.frame.to_xy(car["lon"], car["lat"])), pose)[0])
        u, v = view.to_pixels([xy])[0]
        height = builder.camera.focal * car["height_m"] / builder.camera.depth(xy)
        if not (0.25 * FRAME[0] < u < 0.75 * FRAME[0]):
            continue  # the whole car inside the frame
        x1, y1, x2, y2 = sprite_box(image, builder.renderer.empty(TINY.s_at(t)))
        assert abs((x1 + x2) / 2 - u) <= 2.0 and abs(y2 - v) <= 2.0, (t, (x1, y1, x2, y2), (u, v))
        assert abs((y2 - y1) - height) <= max(2.0, 0.03 * height), (t, y2 - y1, height)
        checked += 1
    assert checked >= 3


def test_the_real_model_finds_the_parked_car_whenever_it_is_in_view(rendered):
    _, _, truth = rendered
    car = truth["objects"][0]
    assert all(p["checked"] >= 3 and not p["hidden"] for p in car["passes"])
    assert car["detected_rate"] >= 0.8
    assert [(e["type"], e["pass"]) for e in truth["expected"]] == [("warn", 2)]


def test_the_kerb_is_found_on_the_rendered_street_and_corrects_the_noisy_gps_across_it(rendered):
    """On the real pixels of the rendered street the kerb (KERB_D) is found within 0.15 m on every frame where it is
    beside the camera, and the pass's 1-5 m of GPS error across the street is corrected to within 0.3 m."""
    from geo.kerb import GroundStrip, KerbAlign
    from zones.config import load_config
    from zones.patrol import GeoZones

    _, out, truth = rendered
    view = GroundProjection(MOUNT, FRAME)
    strip = GroundStrip(view, np.arange(0.3, 16.0, 0.04))
    start = datetime.fromisoformat(truth["passes"][0]["start"])
    track = read_track(out / "pass-1" / "track.gpx").for_video(truth["passes"][0]["duration"], video_start=start)
    camera = load_config(out / "pass-1.yaml").cameras[0]
    zones = GeoZones(camera.zones, track.track.frame, load_config(out / "pass-1.yaml").rules)
    align = KerbAlign(view, [zones.outlines[z] for z in zones.of_type("sidewalk")])
    across = []
    for t, image in decoded(out / "pass-1" / "video.mp4"):
        if not TINY.zones[0].s[0] + 2 < TINY.s_at(t) < TINY.zones[0].s[1] - 2:
            continue
        found = strip.kerb(image, np.zeros((0, 4)), 0.5, 9.0)
        assert found == pytest.approx(KERB_D, abs=0.15), t
        corrected = align.correct(track.pose_at(t), image, np.zeros((0, 4)))
        _, north = TINY.street.frame.to_xy(corrected.lon, corrected.lat)
        across.append(float(north))  # the true lane is north = 0
    assert len(across) >= 5 and max(abs(v) for v in across[2:]) <= 0.3, across


def test_the_gps_track_parses_and_its_noise_is_correlated_and_within_5_m(rendered):
    _, out, truth = rendered
    for k, info in enumerate(truth["passes"], start=1):
        track = read_track(out / f"pass-{k}" / "track.gpx")
        start = datetime.fromisoformat(info["start"])
        assert track.t[0] <= start.timestamp() - 3 and track.t[-1] >= start.timestamp() + info["duration"] + 3
        true_x, true_y = track.frame.to_xy(*zip(*[TINY.street.lonlat(f["s"], 0.0) for f in info["fixes"]],
                                                strict=True))
        error = track.xy - np.column_stack([true_x, true_y])
        size = np.hypot(error[:, 0], error[:, 1])
        assert size.max() <= 5.0 + 1e-6 and size.mean() >= 1.0
        steps = np.hypot(*np.diff(error, axis=0).T)
        assert np.median(steps) < 0.5 * size.mean()  # a slowly varying bias, not fresh noise every second


def test_each_pass_has_its_one_camera_config(rendered):
    _, out, truth = rendered
    from zones.config import load_config

    for k in (1, 2):
        camera = yaml.safe_load((out / f"pass-{k}.yaml").read_text())["cameras"][0]
        assert (camera["id"], camera["kind"], camera["gps_offset"]) == ("patrol-07", "vehicle", "0s")
        assert datetime.fromisoformat(camera["start_time"]) == datetime.fromisoformat(truth["passes"][k - 1]["start"])
        assert (out / camera["source"]).is_file() and (out / camera["gps"]).is_file()
        assert load_config(out / f"pass-{k}.yaml").cameras[0].zones[0].geo_polygon


# -- scoring geo events --------------------------------------------------------------------------------------------

def patrol_truth(tmp_path, lon=120.6701, lat=28.0009):
    """A hand-written patrol gt.json: one car warned on pass 2 at 08:10:05."""
    folder = tmp_path / "gt" / "patrol"
    folder.mkdir(parents=True)
    passes = [{"pass": k, "start": (START + timedelta(minutes=10 * (k - 1))).isoformat(), "duration": 30.0}
              for k in (1, 2)]
    warn = {"type": "warn", "rule": "sidewalk_parking", "zone": "pave", "pass": 2,
            "ts": "2026-11-23T08:10:05+08:00", "object": "car-a"}
    car = {"id": "car-a", "class_name": "car", "zone": "pave", "rule": "sidewalk_parking", "lon": lon, "lat": lat,
           "passes": [{"pass": k, "present": True, "hidden": False} for k in (1, 2)], "expected": [warn]}
    (folder / "gt.json").write_text(json.dumps({"scenario": "patrol", "kind": "patrol", "camera_id": "patrol-07",
                                                "passes": passes, "objects": [car], "expected": [warn]}))
    return folder


def geo_warn(east_m, ts="2026-11-23T08:10:25+08:00", lon=120.6701, lat=28.0009):
    """A patrol warn ``east_m`` metres east of (lon, lat)."""
    from pyproj import Geod

    lon2, lat2, _ = Geod(ellps="WGS84").fwd(lon, lat, 90.0, east_m)
    line = {"event_id": "patrol-07/pave/m1/warn", "type": "warn", "rule": "sidewalk_parking",
            "camera_id": "patrol-07", "zone_id": "pave", "object_id": "m1", "class": "car", "t": 5.0, "ts": ts,
            "since_t": None, "dwell_s": 600.0, "bbox": [1, 2, 3, 4], "score": 0.9, "evidence": {},
            "lon": lon2, "lat": lat2, "since_ts": "2026-11-23T08:00:05+08:00", "sightings": []}
    return parse_event_line(json.dumps(line), "events.jsonl", 1)


def test_a_geo_warn_within_5_m_and_60_s_matches(tmp_path):
    truth = read_truth(patrol_truth(tmp_path))
    assert isinstance(truth[0], GeoTruthScenario)
    scores = score_events(truth, [geo_warn(3.0)])
    rule = scores.rules["sidewalk_parking"]
    assert (rule.expected, rule.matched, rule.false_alarms) == (1, 1, 0)
    assert rule.warn_errors == [20.0]
    assert rule.position_errors == [pytest.approx(3.0, abs=1e-6)]  # how far the warn was placed from the car
    assert scores.overall.summary()["position_error_p95"] == pytest.approx(3.0, abs=1e-6)
    assert scores.camera_hours == pytest.approx(60.0 / 3600)


def test_a_geo_warn_8_m_away_or_90_s_late_is_refused(tmp_path):
    truth = read_truth(patrol_truth(tmp_path))
    for event in (geo_warn(8.0), geo_warn(1.0, ts="2026-11-23T08:11:35+08:00"), geo_warn(1.0, ts=None)):
        rule = score_events(truth, [event]).rules["sidewalk_parking"]
        assert (rule.matched, rule.false_alarms) == (0, 1)


def test_a_second_geo_warn_of_the_same_car_is_a_duplicate(tmp_path):
    truth = read_truth(patrol_truth(tmp_path))
    later = geo_warn(1.0, ts="2026-11-23T08:20:05+08:00")
    rule = score_events(truth, [geo_warn(1.0), later]).rules["sidewalk_parking"]
    assert (rule.matched, rule.duplicates, rule.false_alarms) == (1, 1, 0)


def test_a_folder_with_fixed_and_patrol_truth_reads_both(tmp_path):
    patrol_truth(tmp_path)
    fixed = tmp_path / "gt" / "cam"
    fixed.mkdir()
    (fixed / "gt.json").write_text(json.dumps({"scenario": "cam", "camera_id": "cam", "duration": 600.0,
                                               "objects": []}))
    kinds = sorted(type(s).__name__ for s in read_truth(tmp_path / "gt"))
    assert kinds == ["GeoTruthScenario", "TruthScenario"]


def test_a_geo_warn_before_the_objects_due_pass_is_a_false_alarm_not_a_duplicate(tmp_path):
    truth = read_truth(patrol_truth(tmp_path))
    early = geo_warn(1.0, ts="2026-11-23T08:00:05+08:00")  # pass 1: nothing can be due yet
    scores = score_events(truth, [early, geo_warn(1.0)])
    rule = scores.rules["sidewalk_parking"]
    assert (rule.matched, rule.duplicates, rule.false_alarms) == (1, 0, 1)
    assert [(o.object_id, o.verdict) for o in scores.outcomes] == [("car-a", "ok"), ("car-a", "false alarm")]
