"""A nadir drone through the patrol pipeline with replayed detections and exact GPS: its height above the ground
at each frame is its GPS altitude minus the ground's (geo.altitude), so a car seen from 20 m and from 40 m lands on
one spot; with the mount's height fixed it would not."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from detector.detections import Detections
from events.chalk_marks import ChalkMarkStore
from events.evidence import EvidenceWriter
from events.recorder import EventRecorder
from events.store import EventStore
from geo import GroundProjection, LocalFrame, Mount, Pose, to_vehicle
from streams.frames import Frame
from streams.patrol import PatrolPipeline
from zones.config import ConfigError, parse_config

FRAME = LocalFrame(120.6700, 28.0000)
SIZE = (1280, 720)
FPS, SPEED, DURATION = 5.0, 4.0, 30.0  # flying east along y = 0
GROUND = 12.0  # the ground's altitude above sea level, as a GPX ele or an NMEA GGA altitude gives it
GIMBAL = {"pitch": 90, "yaw": 0, "hfov": 90}  # straight down, the top of the image forward
CAR = (60.0, -6.0, 4.5, 1.8)  # centre east, north; length along the street, width (m)
CONTACT = (CAR[0] - CAR[2] / 2, CAR[1])  # the box's bottom centre: the car's rear edge (the image's bottom is aft)
T0 = datetime(2026, 11, 22, 0, 0, tzinfo=UTC)


def steady(t: float) -> float:
    return GROUND + 20.0


def climbing(t: float) -> float:
    """20 m above the ground at the start, 40 m from 6 s on (before the car comes into view)."""
    return GROUND + 20.0 + 20.0 * min(max(t / 6.0, 0.0), 1.0)


def lonlat(x: float, y: float) -> list[float]:
    lon, lat = FRAME.to_lonlat(x, y)
    return [round(float(lon), 9), round(float(lat), 9)]


def config_for(tmp_path, name: str, start: datetime, altitude, mount: dict, with_alt: bool = True):
    rows = ["time,lat,lon,heading,speed" + ",alt" * with_alt]
    for second in range(-3, int(DURATION) + 4):
        lon, lat = lonlat(SPEED * second, 0.0)
        alt = f",{altitude(second):.3f}" * with_alt
        rows.append(f"{(start + timedelta(seconds=second)).isoformat()},{lat},{lon},90,{SPEED}{alt}")
    (tmp_path / f"{name}.csv").write_text("\n".join(rows) + "\n")
    pavement = [lonlat(20, -8), lonlat(170, -8), lonlat(170, -3), lonlat(20, -3)]
    return parse_config({"analysis_fps": FPS, "cameras": [{
        "id": "drone-3", "kind": "drone", "source": f"{name}.mp4", "gps": f"{name}.csv", "mount": mount,
        "start_time": start.isoformat(),
        "zones": [{"id": "south-pavement", "type": "sidewalk", "geo_polygon": pavement}]}]}, tmp_path / "c.yaml")


def car_box(t: float, height: float) -> Detections:
    """The box a perfect detector gives of the car's footprint seen from ``height`` metres, if all in view."""
    view = GroundProjection(Mount(height=height, **GIMBAL), SIZE)
    pose = Pose(t, *lonlat(SPEED * t, 0.0), SPEED * t, 0.0, 90.0, SPEED, None, FRAME)
    x, y, length, width = CAR
    corners = [[x + a * length / 2, y + b * width / 2] for a in (-1, 1) for b in (-1, 1)]
    uv = view.to_pixels(to_vehicle(corners, pose))
    inside = (uv >= 0).all() and (uv[:, 0] < SIZE[0]).all() and (uv[:, 1] < SIZE[1]).all()
    boxes = [[*uv.min(axis=0), *uv.max(axis=0)]] if inside else []
    return Detections.from_arrays(boxes, [0.9] * len(boxes), [2] * len(boxes), ["car"] * len(boxes),
                                  ["vehicle"] * len(boxes))


def fly(tmp_path, name: str, start: datetime, altitude, mount: dict, with_alt: bool = True):
    """One recording: (its events, [(box height px, placed east, north)] of the car)."""
    config = config_for(tmp_path, name, start, altitude, mount, with_alt)
    camera = config.cameras[0]
    store = EventStore(tmp_path / "out" / "events.db")
    marks = ChalkMarkStore(store.path)
    recorder = EventRecorder(camera.id, EvidenceWriter(tmp_path / "out", camera), store)
    pipeline = PatrolPipeline(config, camera, SIZE, DURATION, camera.start_time, recorder, marks, tmp_path / "out")
    placed, update = [], pipeline.tracker.update

    def spy(placements, t):
        placed.extend((p.xyxy[3] - p.xyxy[1], *FRAME.to_xy(*p.lonlat)) for p in placements)
        return update(placements, t)

    pipeline.tracker.update = spy
    image = np.random.default_rng(7).integers(0, 255, (SIZE[1], SIZE[0], 3), dtype=np.uint8)
    events, frame = [], None
    for i in range(int(DURATION * FPS)):
        frame = Frame(image, i / FPS, i)
        events += pipeline.step(frame, car_box(frame.t, altitude(frame.t) - GROUND))
    events += pipeline.finish(frame)
    marks.close()
    store.close()
    return events, np.array(placed)


def off(points) -> np.ndarray:
    """Metres from the car's ground contact."""
    points = np.asarray(points, dtype=float).reshape(-1, 2)
    return np.hypot(points[:, 0] - CONTACT[0], points[:, 1] - CONTACT[1])


@pytest.mark.parametrize("rule", [{"ground_alt": GROUND}, {"height": 20.0}], ids=["ground_alt", "height-at-start"])
def test_a_climbing_drone_places_a_car_on_one_spot_from_20_and_40_m(tmp_path, rule):
    events, low = fly(tmp_path, "pass-1", T0, steady, GIMBAL | rule)
    assert events == [] and len(low) >= 10  # chalked from 20 m
    (warn,), high = fly(tmp_path, "pass-2", T0 + timedelta(minutes=10), climbing, GIMBAL | rule)
    assert len(high) > len(low)  # from 40 m the car is in view twice as long
    assert np.median(high[:, 0]) / np.median(low[:, 0]) == pytest.approx(0.5, abs=0.02)  # and half as big
    assert off(low[:, 1:]).max() < 0.3 and off(high[:, 1:]).max() < 0.3
    assert warn.type == "warn" and warn.dwell_s == pytest.approx(600.0, abs=5.0)  # each sighting its best frame
    for where in [(warn.lon, warn.lat)] + [(s.lon, s.lat) for s in warn.sightings]:
        assert off(FRAME.to_xy(*where))[0] < 0.3
    for photo in warn.evidence.values():
        assert (tmp_path / "out" / photo).stat().st_size > 1000


def test_with_the_height_fixed_the_car_seen_from_40_m_is_placed_off(tmp_path):
    """The same frames without altitudes in the track: the mount's 20 m all along."""
    _, low = fly(tmp_path, "pass-1", T0, steady, GIMBAL | {"height": 20.0}, with_alt=False)
    _, high = fly(tmp_path, "pass-2", T0 + timedelta(minutes=10), climbing, GIMBAL | {"height": 20.0},
                  with_alt=False)
    assert off(low[:, 1:]).max() < 0.3
    assert np.median(off(high[:, 1:])) > 2.0  # half its distance from the point below the drone


def test_a_drone_without_altitudes_or_below_half_a_metre_is_refused_with_the_fix(tmp_path):
    with pytest.raises(ConfigError) as info:
        fly(tmp_path, "pass-1", T0, steady, GIMBAL | {"ground_alt": GROUND}, with_alt=False)
    message = str(info.value)
    assert message.startswith("camera 'drone-3': GPS track ") and "has no altitudes" in message
    assert "give mount.height instead of ground_alt" in message

    def landing(t: float) -> float:
        return GROUND + max(20.0 - t, 0.2)  # down to 0.2 m above the ground at 20 s

    with pytest.raises(ConfigError) as info:
        fly(tmp_path, "pass-2", T0, landing, GIMBAL | {"ground_alt": GROUND})
    message = str(info.value)
    assert message.startswith("camera 'drone-3': GPS track ")
    assert "puts the drone camera 0.2 m above the ground at 2026-11-22T00:00:20Z" in message
    assert "give mount.ground_alt" in message and "cut the video to the flight" in message
    with pytest.raises(ConfigError) as info:  # ground_alt in another datum than the track's altitudes
        fly(tmp_path, "pass-3", T0, steady, GIMBAL | {"ground_alt": 100.0})
    assert "puts the drone camera 68.0 m below the ground at 2026-11-22T00:00:00Z" in str(info.value)
