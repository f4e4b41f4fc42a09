"""A drone's height from its GPS altitude (geo.altitude): the ground's altitude rule, the refusals, and projections
built once per few centimetres of height."""

import numpy as np
import pytest

from geo import Fix, Mount, Track, TrackError, trust_range
from geo.altitude import HEIGHT_STEP_M, FlightViews, ground_altitude

NADIR = Mount(pitch=90, hfov=90)


def flight(alts, *, step=1.0):
    """A track flying north at 5.5 m/s with these altitudes (None: a fix without one), on a video of its span."""
    fixes = [Fix(i * step, 120.0, 28.0 + 0.00005 * i * step, alt=alt) for i, alt in enumerate(alts)]
    return Track(fixes, name="flight.csv", absolute=False).for_video((len(alts) - 1) * step)


def test_the_ground_is_ground_alt_or_the_altitude_at_the_start_minus_the_height():
    track = flight([52.0, 56.0, 60.0])
    assert ground_altitude(track, 2.0, ground_alt=12.0) == 12.0
    assert ground_altitude(track, 2.0, height=20.0) == 32.0  # 20 m up when the video starts
    assert ground_altitude(flight([None, None]), 1.0, height=20.0) is None  # no altitudes: the height stays fixed


def test_the_height_follows_the_altitude_between_fixes_that_have_one():
    track = flight([32.0, None, 52.0])  # an RMC-only fix in the middle
    views = FlightViews(NADIR, (1000, 1000), track, ground_alt=12.0)
    assert views.height_at(track.gps_time(1.0)) == pytest.approx(30.0)
    assert views.height_at(track.gps_time(5.0)) == pytest.approx(40.0)  # held after the last fix


def test_a_projection_is_rebuilt_only_when_the_height_changes_by_more_than_a_few_centimetres():
    track = flight([32.0, 32.02, 33.0])  # 2 cm, then a metre
    views = FlightViews(NADIR, (1000, 1000), track, ground_alt=12.0)
    first, trust = views.at(track.gps_time(0.0))
    assert views.at(track.gps_time(1.0))[0] is first
    higher, higher_trust = views.at(track.gps_time(2.0))
    assert higher is not first and higher.mount.height == pytest.approx(21.0)
    assert trust == pytest.approx(trust_range(first.mount, 1000)) and higher_trust > trust  # it grows with height
    for t in np.linspace(0.0, 2.0, 41):
        assert abs(views.at(track.gps_time(t))[0].mount.height - views.height_at(track.gps_time(t))) <= (
            HEIGHT_STEP_M / 2 + 1e-9)
    assert FlightViews(NADIR, (1000, 1000), track, ground_alt=12.0, trust=30.0).at(0.0)[1] == 30.0  # trust_range


def test_ground_alt_without_altitudes_and_a_camera_on_the_ground_are_refused_in_one_sentence():
    with pytest.raises(TrackError) as info:
        ground_altitude(flight([None, None]), 1.0, ground_alt=0.0)
    assert str(info.value) == (
        "GPS track flight.csv has no altitudes, so mount.ground_alt cannot give the drone camera's height from them; "
        "record altitudes (GPX ele, NMEA GGA, a CSV alt column) or give mount.height instead of ground_alt to keep "
        "the height fixed.")
    with pytest.raises(TrackError) as info:  # landing at 3 s, 0.3 m above the ground at the end of the video
        ground_altitude(flight([20.0, 10.0, 2.0, 0.3]), 3.0, height=20.0)
    assert str(info.value) == (
        "GPS track flight.csv puts the drone camera 0.3 m above the ground at 3 s (altitude 0.3 m, ground 0.0 m: the "
        "altitude at the video's start minus mount.height); give mount.ground_alt, the ground's altitude in the "
        "track's datum (0 for heights above the take-off point), or cut the video to the flight.")
    assert ground_altitude(flight([20.0, 10.0, 2.0, 0.3]), 2.0, height=20.0) == 0.0  # the video ends at 2 m
