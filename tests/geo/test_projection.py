"""Ground projection: the mount's homography against geometry worked out by hand, footprints, errors, world points."""

import math
from dataclasses import replace

import numpy as np
import pytest
import shapely
from pyproj import Geod

from geo import (
    Fix,
    GroundProjection,
    LocalFrame,
    Mount,
    MountError,
    Pose,
    Track,
    range_error,
    to_local,
    to_world,
    trust_range,
)

FULL_HD = (1920, 1080)
PATROL = Mount(height=1.6, pitch=12, hfov=95)
NADIR = Mount(height=10, pitch=90, hfov=90)  # on a 1000 x 1000 image: focal 500 px, 1 px = 2 cm on the ground


def test_a_point_5_m_ahead_and_2_m_right_projects_back_onto_itself():
    view = GroundProjection(PATROL, FULL_HD)
    pixel = view.to_pixels([[5.0, 2.0]])
    assert 960 < pixel[0, 0] < 1920 and 540 < pixel[0, 1] < 1080  # right of and below the image centre
    assert np.hypot(*(view.to_ground(pixel)[0] - [5.0, 2.0])) < 0.10


def test_the_image_centre_sees_the_road_where_the_pitch_meets_it():
    ahead = 1.6 / math.tan(math.radians(12))
    view = GroundProjection(PATROL, FULL_HD)
    np.testing.assert_allclose(view.to_pixels([[ahead, 0.0]])[0], [960, 540], atol=1e-6)
    np.testing.assert_allclose(view.to_ground([[960, 540]])[0], [ahead, 0.0], atol=1e-6)


def test_yaw_90_looks_right_at_the_kerb_and_the_direction_of_travel_is_on_the_left_of_the_image():
    ahead = 1.6 / math.tan(math.radians(12))
    view = GroundProjection(Mount(height=1.6, pitch=12, yaw=90, hfov=95), FULL_HD)
    np.testing.assert_allclose(view.to_pixels([[0.0, ahead]])[0], [960, 540], atol=1e-6)
    assert view.to_pixels([[2.0, ahead]])[0, 0] < 960
    pixel = view.to_pixels([[-1.0, 4.0]])
    np.testing.assert_allclose(view.to_ground(pixel)[0], [-1.0, 4.0], atol=1e-6)


def test_a_nadir_camera_maps_the_image_to_the_ground_by_scale_with_forward_at_the_top():
    view = GroundProjection(NADIR, (1000, 1000))
    np.testing.assert_allclose(view.to_pixels([[2.0, 0.0], [0.0, 3.0], [0.0, 0.0]]),
                               [[500, 400], [650, 500], [500, 500]], atol=1e-9)
    np.testing.assert_allclose(view.to_ground([[0, 0]])[0], [10.0, -10.0], atol=1e-9)


def test_roll_turns_the_camera_clockwise_seen_from_behind_so_the_image_turns_the_other_way():
    view = GroundProjection(Mount(height=10, pitch=90, roll=10, hfov=90), (1000, 1000))
    u, v = view.to_pixels([[0.0, 3.0]])[0]
    assert math.degrees(math.atan2(500 - v, u - 500)) == pytest.approx(10)
    assert math.hypot(u - 500, v - 500) == pytest.approx(150)
    quarter = GroundProjection(Mount(height=10, pitch=90, roll=90, hfov=90), (1000, 1000))
    np.testing.assert_allclose(quarter.to_pixels([[0.0, 3.0]])[0], [500, 350], atol=1e-9)
    np.testing.assert_allclose(quarter.to_ground([[500, 350]])[0], [0.0, 3.0], atol=1e-9)


def test_pixels_at_or_above_the_horizon_have_no_ground_position_and_just_below_are_far():
    view = GroundProjection(PATROL, FULL_HD)
    horizon_v = 540 - view.mount.focal_px(1920) * math.tan(math.radians(12))
    ground = view.to_ground([[960, horizon_v], [960, horizon_v - 50], [960, horizon_v + 1]])
    assert np.isnan(ground[:2]).all()
    assert ground[2, 0] > 100
    assert np.isnan(view.to_pixels([[-3.0, 0.0]])).all()  # behind the camera


def test_the_camera_offset_moves_ground_points_and_ranges_count_from_the_camera():
    plain = GroundProjection(PATROL, FULL_HD)
    offset = GroundProjection(Mount(height=1.6, pitch=12, hfov=95, offset=(-1.5, 0.8)), FULL_HD)
    pixels = [[960, 700], [300, 1000]]
    np.testing.assert_allclose(offset.to_ground(pixels), plain.to_ground(pixels) + np.array([-1.5, 0.8]), atol=1e-9)
    np.testing.assert_allclose(offset.ranges(offset.to_ground(pixels)), plain.ranges(plain.to_ground(pixels)))
    np.testing.assert_allclose(offset.to_pixels(offset.to_ground(pixels)), pixels, atol=1e-6)


def test_measured_ground_points_give_the_mounts_homography():
    view = GroundProjection(Mount(height=1.6, pitch=15, yaw=80, roll=2, hfov=100), FULL_HD)
    ground = [[-3.0, 3.0], [4.0, 3.5], [6.0, 9.0], [-2.0, 10.0], [1.0, 5.0]]
    pairs = [[list(uv), xy] for uv, xy in zip(view.to_pixels(ground), ground, strict=True)]
    measured = GroundProjection(Mount(ground_points=pairs, offset=(0.5, 0.0)), FULL_HD)
    probe = [[200, 900], [1700, 800], [960, 600]]
    np.testing.assert_allclose(measured.to_ground(probe), view.to_ground(probe) + np.array([0.5, 0.0]), atol=0.01)
    assert np.isnan(measured.to_ground([[960, 0]])).all()  # above this mount's horizon too
    np.testing.assert_allclose(measured.to_pixels(measured.to_ground(probe)), probe, atol=1e-6)


@pytest.mark.parametrize(("mount", "words"), [
    (Mount(ground_points=[[[0, 0], [1, 1]]] * 3), "4 or more"),
    (Mount(ground_points=[[[u, 2 * u], [u, 0.0]] for u in (1, 2, 3, 4)]), "no three in a line"),
    (Mount(height=1.6, pitch=12), "mount.hfov"),
    (Mount(pitch=12, hfov=95), "mount.height"),
])
def test_a_mount_without_a_projection_says_what_to_give(mount, words):
    with pytest.raises(MountError, match=words) as error:
        GroundProjection(mount, FULL_HD)
    assert str(error.value).endswith(".") and ". " not in str(error.value)


def test_the_footprint_is_the_ground_in_view_within_the_trust_range():
    view = GroundProjection(PATROL, FULL_HD)
    footprint = view.footprint(20.0)
    area = shapely.Polygon(footprint)
    assert area.is_valid and area.contains(shapely.Point(7.5, 0)) and area.contains(shapely.Point(15, 3))
    assert not area.contains(shapely.Point(1.0, 0)) and not area.contains(shapely.Point(-3, 0))  # below / behind
    assert view.ranges(footprint).max() == pytest.approx(20.0)
    pixels = view.to_pixels(footprint)
    assert (pixels >= -1e-6).all() and (pixels <= np.array(FULL_HD) + 1e-6).all()
    nadir = GroundProjection(NADIR, (1000, 1000)).footprint(1000.0)
    np.testing.assert_allclose(shapely.Polygon(nadir).area, 20.0 * 20.0)  # 2 h tan(45 degrees) square
    looking_up = GroundProjection(Mount(height=1.6, pitch=-40, hfov=60), FULL_HD)
    assert looking_up.footprint(20.0).shape == (0, 2)


def test_range_error_matches_the_projection_one_pixel_or_half_a_degree_off():
    view = GroundProjection(PATROL, FULL_HD)
    up, down = (GroundProjection(Mount(height=1.6, pitch=pitch, hfov=95), FULL_HD) for pitch in (11.5, 12.5))
    for distance in (5.0, 10.0, 20.0):
        u, v = view.to_pixels([[distance, 0.0]])[0]
        nudged = view.to_ground([[u, v - 1], [u, v + 1]])[:, 0]
        measured = (nudged[0] - nudged[1]) / 2
        assert range_error(distance, PATROL, 1920, pixel_error=1, pitch_error=0) == pytest.approx(measured, rel=0.02)
        pitched = (up.to_ground([[u, v]])[0, 0] - down.to_ground([[u, v]])[0, 0]) / 2
        assert range_error(distance, PATROL, 1920, pixel_error=0, pitch_error=0.5) == pytest.approx(pitched, rel=0.05)


def test_the_trust_range_is_where_the_error_reaches_the_limit_and_shrinks_with_pitch_error():
    cut_off = trust_range(PATROL, 1920, max_error=0.5, pixel_error=1, pitch_error=0)
    assert range_error(cut_off, PATROL, 1920, pixel_error=1, pitch_error=0) == pytest.approx(0.5, rel=0.01)
    assert trust_range(PATROL, 1920, max_error=0.5, pixel_error=1, pitch_error=1.0) < cut_off / 2
    default = trust_range(PATROL, 1920)
    assert range_error(default, PATROL, 1920) == pytest.approx(1.5, rel=0.01)
    assert trust_range(Mount(height=3.0, pitch=12, hfov=95), 1920) > default  # higher sees farther


def test_a_ground_point_lands_where_the_geodesic_puts_it():
    frame = LocalFrame(120.6500, 28.0200)  # the track's first fix, about 3 km away
    lon, lat = 120.6712, 28.0011
    x, y = frame.to_xy(lon, lat)
    pose = Pose(0.0, lon, lat, float(x), float(y), heading=30.0, speed=8.0, alt=None, frame=frame)
    points = np.array([[5.0, 2.0], [12.0, -4.0], [0.0, 3.0]])
    geod = Geod(ellps="WGS84")
    azimuths = 30.0 + np.degrees(np.arctan2(points[:, 1], points[:, 0]))
    expect_lon, expect_lat, _ = geod.fwd([lon] * 3, [lat] * 3, azimuths, np.hypot(points[:, 0], points[:, 1]))
    got = to_world(points, pose)
    _, _, misses = geod.inv(got[:, 0], got[:, 1], expect_lon, expect_lat)
    assert np.max(misses) < 0.02
    np.testing.assert_allclose(to_local([[0.0, 0.0]], pose)[0], [x, y])


def test_a_drone_looking_straight_down_is_the_same_projection_at_its_height_above_the_ground():
    lon, lat, ground_alt = 120.6712, 28.0011, 10.0
    fixes = [Fix(t, lon, lat, heading=90.0, alt=70.0) for t in (0.0, 1.0)]  # hovering, nose east
    pose = Track(fixes, name="drone.csv", absolute=False, compass=True).pose_at(0.5)
    gimbal = Mount(pitch=90, hfov=90)
    view = GroundProjection(replace(gimbal, height=pose.alt - ground_alt), (1000, 1000))
    ground = view.to_ground([[500, 500], [500, 0], [1000, 500]])  # centre, top and right edge of the image
    np.testing.assert_allclose(ground, [[0, 0], [60, 0], [0, 60]], atol=1e-9)
    expect_lon, expect_lat, _ = Geod(ellps="WGS84").fwd([lon, lon], [lat, lat], [90, 180], [60, 60])
    np.testing.assert_allclose(to_world(ground[1:], pose), np.column_stack([expect_lon, expect_lat]), atol=1e-7)
