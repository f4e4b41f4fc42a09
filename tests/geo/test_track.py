"""Track: interpolation, headings (across north, through stops), gaps, gps_offset and the error sentences."""

from datetime import UTC, datetime

import numpy as np
import pytest
from pyproj import Geod

from geo import Fix, LocalFrame, Track, TrackError

LON, LAT = 120.6712, 28.0011
METRE_LAT = 1 / 110_790  # degrees of latitude per metre here, near enough
HERE = LocalFrame(LON, LAT)


def fixes_along(points, *, t0=0.0, step=1.0, **fields):
    """Fixes at ``points`` (metres east, north of LON, LAT), ``step`` seconds apart."""
    lon, lat = HERE.to_lonlat(*np.array(points, dtype=float).reshape(-1, 2).T)
    return [Fix(t0 + i * step, float(lon[i]), float(lat[i]), **fields) for i in range(len(points))]


def turn(a, b):
    """The angle (degrees) from heading a to heading b, -180..180."""
    return (b - a + 180) % 360 - 180


def one_sentence(error, *words):
    message = str(error.value)
    assert message.endswith(".") and ". " not in message, message
    for word in words:
        assert word in message, message


def test_positions_interpolate_linearly_in_metres_and_speed_comes_from_the_fixes():
    track = Track(fixes_along([(0, 0), (10, 0), (20, 0)]), absolute=False)
    pose = track.pose_at(1.25)
    assert pose.x == pytest.approx(12.5, abs=0.05) and pose.y == pytest.approx(0, abs=0.05)
    assert pose.heading == pytest.approx(90, abs=0.5) and pose.speed == pytest.approx(10, rel=0.01)
    assert [pose.lon, pose.lat] == pytest.approx([float(v) for v in track.frame.to_lonlat(pose.x, pose.y)])
    east_lon, east_lat, _ = Geod(ellps="WGS84").fwd(LON, LAT, 90, 12.5)
    assert [pose.lon, pose.lat] == pytest.approx([east_lon, east_lat], abs=1e-7)


def test_heading_interpolates_across_north_not_through_south():
    fixes = [Fix(0, LON, LAT, heading=350, speed=10), Fix(1, LON, LAT + 10 * METRE_LAT, heading=10, speed=10)]
    track = Track(fixes, absolute=False)
    assert turn(track.pose_at(0.5).heading, 0) == pytest.approx(0, abs=1e-9)
    assert track.pose_at(0.25).heading == pytest.approx(355)
    assert track.pose_at(0.75).heading == pytest.approx(5)


def test_heading_comes_from_consecutive_fixes_when_there_is_no_course():
    track = Track(fixes_along([(0, 0), (5, 5), (10, 10), (10, 20)]), absolute=False)
    assert track.pose_at(1).heading == pytest.approx(45, abs=0.2)
    assert turn(track.pose_at(3).heading, 0) == pytest.approx(0, abs=0.2)


def test_a_vehicle_standing_still_keeps_its_last_heading_whatever_the_gps_says():
    stop = [(20 + dx, dy) for dx, dy in [(0.3, -0.2), (-0.2, 0.3), (0.1, 0.1), (-0.3, -0.1), (0.2, 0.2)]]
    points = [(0, 0), (10, 0), *stop, (30, 0), (40, 0)]
    noisy_course = [90, 90, 200, 17, 300, 45, 260, 90, 90]
    speeds = [10, 10, 0.2, 0.1, 0.3, 0.1, 0.2, 10, 10]
    fixes = [Fix(fix.t, fix.lon, fix.lat, heading=course, speed=speed)
             for fix, course, speed in zip(fixes_along(points), noisy_course, speeds, strict=True)]
    track = Track(fixes, absolute=False)
    for t in np.arange(2, 6.01, 0.5):
        assert track.pose_at(t).heading == pytest.approx(90), t
    assert track.pose_at(4).speed < 1


def test_a_vehicle_that_starts_standing_takes_its_first_heading_and_one_that_never_moves_needs_a_compass():
    track = Track(fixes_along([(0, 0), (0.2, 0.1), (0, 0), (0, 10), (0, 20)]), absolute=False)
    assert track.pose_at(0.5).heading == track.pose_at(2).heading  # backfilled from the first move
    assert turn(track.pose_at(0.5).heading, 0) == pytest.approx(0, abs=2)
    parked = fixes_along([(0, 0), (0.2, 0.1), (0.1, 0)], heading=135.0)
    with pytest.raises(TrackError) as error:
        Track([Fix(f.t, f.lon, f.lat) for f in parked], name="hover.csv", absolute=False)
    one_sentence(error, "hover.csv", "compass=True")
    assert Track(parked, absolute=False, compass=True).pose_at(1.5).heading == pytest.approx(135)


def test_a_gap_in_the_track_is_unknown_not_invented():
    fixes = fixes_along([(0, 0), (10, 0), (20, 0)]) + fixes_along([(80, 0), (90, 0)], t0=10.0)
    track = Track(fixes, absolute=False)
    assert track.pose_at(1.5) is not None and track.pose_at(10.5) is not None
    assert track.pose_at(2) is not None and track.pose_at(10) is not None  # the fixes either side of the gap
    assert track.pose_at(2.01) is None and track.pose_at(6) is None
    assert track.pose_at(-0.1) is None and track.pose_at(11.1) is None
    assert Track(fixes, absolute=False, max_gap_s=10).pose_at(6).x == pytest.approx(50, abs=0.1)


def test_gps_offset_shifts_the_video_clock_onto_the_gps_clock():
    track = Track(fixes_along([(i * 5.0, 0) for i in range(101)], t0=100.0), absolute=False)
    video = track.for_video(50.0, offset_s=120.0)
    assert video.gps_time(3.0) == 123.0
    assert video.pose_at(3.0) == track.pose_at(123.0)
    assert video.pose_at(3.0).x == pytest.approx(115, abs=0.05)


def test_a_wall_clock_track_starts_with_the_video_or_at_its_start_time():
    start = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)
    track = Track(fixes_along([(i * 5.0, 0) for i in range(61)], t0=start.timestamp()), name="drive.gpx")
    assert track.for_video(30.0).pose_at(0.0) == track.pose_at(start)
    later = track.for_video(30.0, video_start=datetime(2026, 11, 22, 10, 0, 20), offset_s=-10.0)
    assert later.gps_time(0.0) == start.timestamp() + 10
    assert later.pose_at(2.0) == track.pose_at(datetime(2026, 11, 22, 10, 0, 12))


def test_a_track_that_does_not_cover_the_video_names_both_spans():
    start = datetime(2026, 11, 22, 10, 0, tzinfo=UTC).timestamp()
    track = Track(fixes_along([(i * 5.0, 0) for i in range(61)], t0=start), name="drive.gpx")
    with pytest.raises(TrackError) as error:
        track.for_video(120.0)
    one_sentence(error, "drive.gpx", "2026-11-22T10:00:00Z to 2026-11-22T10:01:00Z",
                 "2026-11-22T10:00:00Z to 2026-11-22T10:02:00Z", "gps_offset")
    with pytest.raises(TrackError, match="gps_offset -5 s"):
        track.for_video(30.0, offset_s=-5.0)
    assert track.for_video(60.5).gps_time(60.5) == start + 60.5  # within a second's slack


def test_datetimes_need_a_wall_clock_track():
    track = Track(fixes_along([(0, 0), (10, 0)]), name="walk.csv", absolute=False)
    with pytest.raises(TrackError) as error:
        track.pose_at(datetime(2026, 11, 22, 10, 0))
    one_sentence(error, "walk.csv", "`time`")


def test_fewer_than_two_fixes_is_an_error():
    for fixes in ([], fixes_along([(0, 0)]), fixes_along([(0, 0), (1, 0)], step=0.0)):
        with pytest.raises(TrackError) as error:
            Track(fixes, name="short.csv")
        one_sentence(error, "short.csv", "at least 2")


def test_an_implausible_jump_says_where():
    start = datetime(2026, 11, 22, 10, 0, tzinfo=UTC).timestamp()
    fixes = fixes_along([(0, 0), (10, 0), (510, 0), (20, 0)], t0=start)
    with pytest.raises(TrackError) as error:
        Track(fixes, name="drive.nmea")
    one_sentence(error, "drive.nmea", "jumps 500 m in 1 s", "500 m/s", "2026-11-22T10:00:02Z", "fix 3")
    assert Track(fixes, max_speed=600).pose_at(start + 1.5) is not None


def test_a_position_off_the_earth_says_lat_and_lon_may_be_swapped():
    with pytest.raises(TrackError) as error:
        Track([Fix(0, 28.0, 120.6), Fix(1, 28.0, 120.6001)], name="swapped.csv")
    one_sentence(error, "swapped.csv", "fix 1", "swapped")
