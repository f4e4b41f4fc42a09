"""Digital chalking with exact sightings: what a later pass warns, clears, drops or leaves alone."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

import numpy as np
import pytest
from pyproj import Geod

from zones.chalk import ChalkBook, ChalkParams, Sighting, SpotView, distance_m

T0 = datetime(2026, 11, 22, 8, 0, 0)
LON, LAT = 120.6712, 28.0011
GEOD = Geod(ellps="WGS84")


def look(hue_bin: int) -> np.ndarray:
    hist = np.zeros(18 * 8, np.float32)
    hist[hue_bin] = 1.0
    return hist


def seen(minutes: float, east_m: float = 0.0, *, plate: str | None = None, width: float = 1.8, hue: int = 3,
         recording: str = "drive-1", cls: str = "car", zone: str = "east-pavement") -> Sighting:
    lon, lat, _ = GEOD.fwd(LON, LAT, 90.0, east_m) if east_m else (LON, LAT, 0.0)
    return Sighting("patrol-07", zone, "sidewalk_parking", cls, lon, lat, T0 + timedelta(minutes=minutes),
                    minutes * 60.0, recording, width_m=width, look=look(hue), plate=plate, error_m=0.0)


def view(kind: str, minutes: float) -> SpotView:
    return SpotView(kind, T0 + timedelta(minutes=minutes))


def kinds(changes) -> list[str]:
    return [c.kind for c in changes]


@pytest.fixture
def book() -> ChalkBook:
    return ChalkBook(ChalkParams(warn_after=480.0, match_radius=3.0))


def test_distance_is_the_geodesic(book):
    assert distance_m(seen(0), seen(0, east_m=2.5)) == pytest.approx(2.5, abs=1e-6)


def test_second_pass_after_warn_after_warns_once_with_the_stay_between_the_sightings(book):
    assert kinds(book.pass_over([seen(0)], {})) == ["chalk"]
    first_mark = next(iter(book.marks))
    warn = book.pass_over([seen(9, east_m=1.0, recording="drive-2")], {})
    assert kinds(warn) == ["warn"]
    assert warn[0].mark.mark_id == first_mark and warn[0].dwell_s == 540.0
    assert kinds(book.pass_over([seen(15, east_m=0.5)], {})) == []  # still there: warned already, nothing new


def test_a_pass_before_warn_after_only_updates_the_mark(book):
    book.pass_over([seen(0)], {})
    assert kinds(book.pass_over([seen(5)], {})) == []
    assert kinds(book.pass_over([seen(8.5)], {})) == ["warn"]  # the clock runs from the first chalk, not the last


def test_spot_seen_empty_clears_a_warned_mark_and_drops_an_unwarned_one(book):
    book.pass_over([seen(0), seen(0, east_m=20.0, hue=9)], {})
    near, far = sorted(book.marks)
    book.pass_over([seen(9)], {far: view("unseen", 8.9)})  # warns the near one; the far one was outside the footprint
    changes = book.pass_over([], {near: view("seen", 20), far: view("seen", 20)})
    assert sorted(kinds(changes)) == ["clear", "drop"]
    assert not book.marks


def test_hidden_or_unseen_spots_change_nothing(book):
    book.pass_over([seen(0)], {})
    mark = next(iter(book.marks))
    assert book.pass_over([], {mark: view("hidden", 5)}) == []
    assert book.pass_over([], {}) == []
    assert kinds(book.pass_over([seen(10)], {})) == ["warn"]


def test_a_look_alike_on_the_same_spot_does_not_inherit_the_chalk(book):
    book.pass_over([seen(0, plate="浙C·12345")], {})
    changes = book.pass_over([seen(10, plate="浙C·67890")], {})
    assert kinds(changes) == ["drop", "chalk"]  # the first car left; the newcomer starts its own clock
    assert kinds(book.pass_over([seen(17, plate="浙C·67890")], {})) == []
    assert kinds(book.pass_over([seen(19, plate="浙C·67890")], {})) == ["warn"]


def test_another_colour_or_size_without_plates_is_another_object(book):
    book.pass_over([seen(0, hue=3)], {})
    assert kinds(book.pass_over([seen(10, hue=12)], {})) == ["drop", "chalk"]
    book.pass_over([seen(20, hue=12, width=1.8)], {})  # warns the newcomer
    assert kinds(book.pass_over([seen(30, hue=12, width=3.2)], {})) == ["clear", "chalk"]


def test_a_plate_read_at_the_chalk_still_tells_a_look_alike_apart_after_a_pass_that_could_not_read_it(book):
    book.pass_over([seen(0, plate="浙C·12345")], {})
    assert kinds(book.pass_over([seen(5)], {})) == []  # unread: matched by place, size and look
    (mark,) = book.marks.values()
    assert mark.last.plate is None and mark.read.plate == "浙C·12345"
    assert kinds(book.pass_over([seen(10, plate="浙C·67890")], {})) == ["drop", "chalk"]


def test_same_plate_matches_even_when_the_light_changed(book):
    book.pass_over([seen(0, plate="浙C·12345", hue=3)], {})
    assert kinds(book.pass_over([seen(10, plate="浙C·12345", hue=12)], {})) == ["warn"]


def test_outside_the_match_radius_or_another_zone_is_a_new_mark(book):
    book.pass_over([seen(0)], {})
    assert kinds(book.pass_over([seen(10, east_m=6.0)], {})) == ["chalk"]
    assert kinds(book.pass_over([seen(10, zone="west-pavement")], {})) == ["chalk"]
    assert len(book.marks) == 3


def test_position_errors_widen_the_match(book):
    book.pass_over([seen(0)], {})
    assert kinds(book.pass_over([replace(seen(10, east_m=4.5), error_m=2.0)], {})) == ["warn"]


def test_two_cars_side_by_side_keep_their_own_marks(book):
    book.pass_over([seen(0), seen(0, east_m=5.5)], {})
    changes = book.pass_over([seen(10, east_m=5.4), seen(10, east_m=0.2)], {})
    assert kinds(changes) == ["warn", "warn"]
    assert len({c.mark.mark_id for c in changes}) == 2


def test_marks_nobody_saw_for_a_week_are_forgotten(book):
    book.pass_over([seen(0)], {})
    assert book.forget_older_than(T0 + timedelta(days=6)) == []
    assert len(book.forget_older_than(T0 + timedelta(days=8))) == 1
    assert not book.marks


def test_a_spot_seen_empty_after_the_object_was_sighted_in_the_same_visit_keeps_its_mark(book):
    """The sighting of a pass may be settled before the view of its spot: the view must not end the mark."""
    book.pass_over([seen(0)], {})
    mark = next(iter(book.marks))
    assert kinds(book.pass_over([seen(10)], {})) == ["warn"]
    assert book.pass_over([], {mark: view("seen", 9.9)}) == []
    assert kinds(book.pass_over([], {mark: view("seen", 30)})) == ["clear"]


def test_a_zone_may_have_its_own_warn_after():
    book = ChalkBook(ChalkParams(warn_after=480.0), warn_after={"east-pavement": 120.0})
    book.pass_over([seen(0)], {})
    assert kinds(book.pass_over([seen(2.5)], {})) == ["warn"]
