"""Sideways GPS correction from the kerb (geo.kerb): the kerb found in synthetic frames through the mount's exact
projection, the correction of a biased GPS, its hold where no kerb is in view, and the cameras it refuses."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from geo import GroundProjection, LocalFrame, Mount, Pose
from geo.kerb import GroundStrip, KerbAlign, KerbSettings, kerb_picture, moved_sideways

SIDE = Mount(height=1.6, pitch=12, yaw=90, hfov=95)
SIZE = (960, 540)
FRAME = LocalFrame(120.67, 28.0)
# A pavement south of an east-west street: its kerb 3.5 m right of a vehicle driving east along y = 0.
PAVEMENT = np.array([[-200.0, -3.5], [200.0, -3.5], [200.0, -8.0], [-200.0, -8.0]])


def pose(t: float, x: float, y: float, heading: float = 90.0) -> Pose:
    lon, lat = FRAME.to_lonlat(x, y)
    return Pose(t, float(lon), float(lat), x, y, heading, 6.0, None, FRAME)


@pytest.mark.parametrize("kerb_m", [2.2, 3.5, 6.0, 9.0])
def test_the_kerb_is_found_where_it_is_on_the_ground(kerb_m):
    view = GroundProjection(SIDE, SIZE)
    strip = GroundStrip(view, np.arange(0.3, 16.0, 0.04))
    found = strip.kerb(kerb_picture(view, kerb_m), np.zeros((0, 4)))
    assert found == pytest.approx(kerb_m, abs=0.15)


def test_the_kerb_is_the_first_edge_seen_from_the_road_not_the_stronger_building_line():
    view = GroundProjection(SIDE, SIZE)
    strip = GroundStrip(view, np.arange(0.3, 16.0, 0.04))
    assert strip.kerb(kerb_picture(view, 3.5, building_m=10.5), np.zeros((0, 4)), 0.5, 11.5) == pytest.approx(
        3.5, abs=0.15)


def test_a_car_over_part_of_the_kerb_is_left_out_and_one_over_all_of_it_hides_it():
    view = GroundProjection(SIDE, SIZE)
    strip = GroundStrip(view, np.arange(0.3, 16.0, 0.04))
    image = kerb_picture(view, 3.5)
    u, v = view.to_pixels([[0.0, 3.5]])[0]
    car = np.array([[u - 200, v - 150, u + 60, v + 40]])  # a dark box over the kerb's left part
    image[int(v - 150):int(v + 40), int(u - 200):int(u + 60)] = 20
    assert strip.kerb(image, car) == pytest.approx(3.5, abs=0.15)
    wall = np.array([[0, 0, SIZE[0], SIZE[1]]])
    assert strip.kerb(image, wall) is None


def test_ground_without_a_kerb_gives_no_measurement():
    view = GroundProjection(SIDE, SIZE)
    image = kerb_picture(view, 30.0)  # the change is beyond the strip: uniform road with texture
    assert GroundStrip(view, np.arange(0.3, 16.0, 0.04)).kerb(image, np.zeros((0, 4))) is None


@pytest.mark.parametrize("yaw, kerb_y, bias", [(90, -3.5, (0.7, 2.4)), (90, -3.5, (-1.5, -2.8)),
                                               (270, 3.5, (2.0, -2.1))])
def test_a_biased_gps_is_moved_sideways_onto_the_kerb_and_never_along_the_street(yaw, kerb_y, bias):
    """The vehicle drives east along y = 0; the GPS is ``bias`` (east, north) metres off. A right-facing camera sees
    the pavement south of it, a left-facing one a pavement north of it."""
    view = GroundProjection(replace(SIDE, yaw=yaw), SIZE)
    pavement = PAVEMENT if kerb_y < 0 else PAVEMENT * [1, -1]
    align = KerbAlign(view, [pavement])
    image = kerb_picture(view, 3.5, side=align.side)
    rng = np.random.default_rng(3)
    for k in range(20):
        t = k * 0.5
        wobble = rng.normal(0, 0.2, 2)
        corrected = align.correct(pose(t, 3.0 * t + bias[0] + wobble[0], bias[1] + wobble[1]), image,
                                  np.zeros((0, 4)))
    assert corrected.y == pytest.approx(0.0, abs=0.3)  # across the street: the kerb's distance
    assert corrected.x == pytest.approx(3.0 * t + bias[0] + wobble[0], abs=1e-6)  # along it: untouched
    assert (corrected.lon, corrected.lat) == pytest.approx(tuple(float(v) for v in FRAME.to_lonlat(corrected.x,
                                                                                                 corrected.y)))
    assert align.measurements == 20


def test_the_correction_is_held_where_no_kerb_is_seen_then_dropped():
    view = GroundProjection(SIDE, SIZE)
    align = KerbAlign(view, [PAVEMENT], settings=KerbSettings(hold_s=10.0))
    kerb, blank = kerb_picture(view, 3.5), kerb_picture(view, 30.0)
    for k in range(5):
        align.correct(pose(k, 6.0 * k, 2.0), kerb, np.zeros((0, 4)))
    assert align.correct(pose(8.0, 48.0, 2.0), blank, np.zeros((0, 4))).y == pytest.approx(0.0, abs=0.2)
    assert align.correct(pose(20.0, 120.0, 2.0), blank, np.zeros((0, 4))).y == pytest.approx(2.0)


def test_measurements_that_disagree_are_not_applied():
    """A kerb found at 3.5 m on some frames and another edge 2 m off on others: no correction until they agree."""
    view = GroundProjection(SIDE, SIZE)
    align = KerbAlign(view, [PAVEMENT])
    near, far = kerb_picture(view, 3.5), kerb_picture(view, 5.5)
    for k in range(6):
        result = align.correct(pose(k * 0.5, 3.0 * k, 1.0), near if k % 2 else far, np.zeros((0, 4)))
    assert result.y == pytest.approx(1.0)


def test_a_forward_camera_or_a_pose_with_no_kerb_zone_beside_it_is_left_alone():
    forward = KerbAlign(GroundProjection(replace(SIDE, yaw=0), SIZE), [PAVEMENT])
    assert forward.measure(kerb_picture(forward.view, 3.5), np.zeros((0, 4)), pose(0, 0, 0)) is None
    side = KerbAlign(GroundProjection(SIDE, SIZE), [PAVEMENT + np.array([1000.0, 0.0])])  # the pavement is 1 km east
    assert side.measure(kerb_picture(side.view, 3.5), np.zeros((0, 4)), pose(0, 0, 0)) is None


def test_moved_sideways_moves_to_the_vehicles_right():
    east = pose(0.0, 10.0, 5.0, heading=90.0)
    moved = moved_sideways(east, 2.0)
    assert (moved.x, moved.y) == pytest.approx((10.0, 3.0))  # heading east, right is south
