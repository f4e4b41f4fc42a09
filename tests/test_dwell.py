"""Dwell semantics of DESIGN.md, driven with replayed detections and explicit timestamps."""

from __future__ import annotations

from datetime import datetime

import pytest

from tests.replay import CAR, SIDEWALK, Replay, Thing, camera_config

FPS = 2.0
DT = 1 / FPS


def parked(since: float, until: float, thing: Thing = CAR):
    """A scene with ``thing`` resting from ``since`` to ``until`` (exclusive)."""
    return lambda t: [thing] if since <= t < until else []


def test_warn_fires_at_rest_start_plus_warn_after():
    replay = Replay(camera_config([SIDEWALK])).run(0, 100, parked(10, 1000))
    (warn,) = replay.of_kind("warn")
    assert warn.since_t == 10.0
    assert 70.0 <= warn.t <= 70.0 + 2 * DT
    assert warn.dwell_s == pytest.approx(warn.t - 10.0)
    assert warn.rule == "sidewalk_parking" and warn.zone_id == "walk" and warn.class_name == "car"


def test_rest_start_is_the_start_of_the_resting_window_not_its_confirmation():
    # The car drives in along the sidewalk and stops at t=20; the window is confirmed 5 s later.
    def scene(t):
        return [CAR.moved(dx=-15 * (20 - t))] if t < 20 else [CAR]

    replay = Replay(camera_config([SIDEWALK])).run(10, 90, scene)
    (rest,) = replay.of_kind("rest")
    assert rest.since_t == pytest.approx(20.0, abs=DT)
    assert rest.t >= rest.since_t + 5.0  # the rest window (5 s) confirmed it later
    (warn,) = replay.of_kind("warn")
    assert warn.t == pytest.approx(80.0, abs=2 * DT)


def test_leaving_before_warn_after_gives_no_event():
    replay = Replay(camera_config([SIDEWALK])).run(0, 150, parked(0, 50))
    assert replay.of_kind("warn") == [] and replay.of_kind("clear") == []
    assert [c.kind for c in replay.changes] == ["rest", "drop"]


def test_missed_detections_do_not_restart_the_timer():
    def scene(t):
        return [CAR] if round(t / DT) % 3 == 0 else []  # detected in one frame of three

    replay = Replay(camera_config([SIDEWALK])).run(0, 80, scene)
    (warn,) = replay.of_kind("warn")
    assert warn.since_t == 0.0 and warn.t == pytest.approx(60.0, abs=2 * DT)


def test_occlusion_by_a_stopped_bus_does_not_restart_the_timer():
    bus = Thing((60, 120, 260, 310), "bus", track=9)  # stops on the road in front of the car, off the sidewalk

    def scene(t):
        if 30 <= t < 100:
            return [bus]  # the car is hidden for 70 s, across the warn moment
        return [CAR]

    replay = Replay(camera_config([SIDEWALK])).run(0, 130, scene)
    warns = replay.of_kind("warn")
    assert [w.object_id for w in warns] == [warns[0].object_id]  # the bus never gets a warn of its own
    assert warns[0].since_t == 0.0 and warns[0].t == pytest.approx(60.0, abs=2 * DT)
    assert replay.of_kind("clear") == []


def test_a_truck_stopped_in_front_longer_than_max_gap_still_does_not_restart_the_timer():
    truck = Thing((60, 120, 260, 310), "truck", track=9)

    def scene(t):
        return [truck] if 30 <= t < 300 else [CAR]  # hidden for 270 s, more than max_gap (120 s)

    replay = Replay(camera_config([{**SIDEWALK, "warn_after": "8m"}])).run(0, 520, scene)
    (warn,) = replay.of_kind("warn")
    assert warn.since_t == 0.0 and warn.t == pytest.approx(480.0, abs=2 * DT)


def test_a_car_that_left_behind_a_stopped_truck_is_cleared_at_its_last_sighting():
    truck = Thing((60, 120, 260, 310), "truck", track=9)

    def scene(t):
        if t < 100:
            return [CAR]
        return [truck] if t < 300 else []  # the truck leaves at 300 s and the spot is empty

    replay = Replay(camera_config([SIDEWALK])).run(0, 400, scene)
    (warn,) = replay.of_kind("warn")
    (clear,) = replay.of_kind("clear")
    assert warn.t == pytest.approx(60.0, abs=2 * DT)
    assert clear.t == pytest.approx(100.0 - DT)


def test_partial_occlusion_by_passing_traffic_does_not_restart_the_timer():
    def scene(t):
        if int(t) % 10 >= 7:  # every 10 s a van passes in front for 3 s and the car's box is cut in half
            van = Thing((0 + 40 * (t % 10), 200, 160 + 40 * (t % 10), 280), "car", track=100 + int(t // 10))
            return [Thing((100, 180, 200, 215), "car", track=1), van]
        return [CAR]

    replay = Replay(camera_config([SIDEWALK])).run(0, 80, scene)
    (warn,) = replay.of_kind("warn")
    assert warn.since_t == 0.0 and warn.t == pytest.approx(60.0, abs=2 * DT)


def test_tracker_id_switch_does_not_restart_the_timer():
    def scene(t):
        return [CAR if t < 30 else CAR.moved(track=7)]

    replay = Replay(camera_config([SIDEWALK])).run(0, 80, scene)
    (warn,) = replay.of_kind("warn")
    assert warn.since_t == 0.0 and warn.t == pytest.approx(60.0, abs=2 * DT)


def test_a_gap_shorter_than_max_gap_does_not_restart_the_timer():
    replay = Replay(camera_config([SIDEWALK]))
    replay.run(0, 30, parked(0, 1000))
    replay.run(100, 140, parked(0, 1000))  # no frames from 30 to 100: a 70 s hole in the video
    (warn,) = replay.of_kind("warn")
    assert warn.since_t == 0.0 and warn.t == 100.0  # the first frame after the gap, the car still there


def test_a_gap_longer_than_max_gap_ends_the_timer_honestly():
    replay = Replay(camera_config([SIDEWALK]))
    replay.run(0, 50, parked(0, 1000))
    replay.run(300, 400, parked(0, 1000))
    (warn,) = replay.of_kind("warn")
    assert warn.since_t == 300.0 and warn.t == pytest.approx(360.0, abs=2 * DT)


def test_a_different_car_taking_the_spot_restarts_the_timer():
    other = CAR.moved(track=2)

    def scene(t):
        if t < 40:
            return [CAR]  # car A rests 0..40 s
        if t < 44:
            return [CAR.moved(dx=60 * (t - 39))]  # ... and drives off along the kerb
        if t < 50:
            return []
        if t < 54:
            return [other.moved(dx=-40 * (54 - t))]  # car B drives in from the right ...
        return [other]  # ... and parks on the same spot at 54 s

    replay = Replay(camera_config([SIDEWALK])).run(0, 130, scene)
    (warn,) = replay.of_kind("warn")
    assert warn.since_t == pytest.approx(54.0, abs=DT)
    assert warn.t == pytest.approx(114.0, abs=2 * DT)
    rests = replay.of_kind("rest")
    assert len({r.object_id for r in rests}) == 2


def test_a_car_that_vanishes_then_another_driving_into_the_empty_spot_is_a_new_object():
    other = CAR.moved(track=2)

    def scene(t):
        if t < 40:
            return [CAR]  # car A rests 0..40 s, then is simply gone (not seen leaving)
        if t < 46:
            return []
        if t < 50:
            return [other.moved(dx=-40 * (50 - t))]  # car B drives in while A would still be remembered
        return [other]

    replay = Replay(camera_config([SIDEWALK])).run(0, 130, scene)
    (warn,) = replay.of_kind("warn")
    assert warn.since_t == pytest.approx(50.0, abs=DT)


def test_a_much_bigger_vehicle_on_the_spot_after_an_occlusion_is_a_new_object():
    bus = Thing((60, 120, 260, 310), "bus", track=9)
    van = Thing((80, 140, 240, 252), "truck", track=4)  # appears on the spot when the bus leaves: twice the area

    def scene(t):
        if t < 30:
            return [CAR]
        if t < 50:
            return [bus]
        return [van]

    replay = Replay(camera_config([SIDEWALK])).run(0, 130, scene)
    (warn,) = replay.of_kind("warn")
    assert warn.class_name == "truck" and warn.since_t == pytest.approx(50.0, abs=DT)


def test_clear_after_clear_after_with_last_seen_time():
    zone = {**SIDEWALK, "clear_after": "30s"}
    replay = Replay(camera_config([zone])).run(0, 200, parked(0, 100))
    (warn,) = replay.of_kind("warn")
    (clear,) = replay.of_kind("clear")
    assert clear.object_id == warn.object_id
    assert clear.t == pytest.approx(100.0 - DT)  # the last time it was seen
    assert clear.dwell_s == pytest.approx(clear.t - warn.since_t)
    emitted_at = [c for c in replay.changes].index(clear)
    assert emitted_at == len(replay.changes) - 1


def test_escalate_after():
    zone = {**SIDEWALK, "escalate_after": "120s"}
    replay = Replay(camera_config([zone])).run(0, 200, parked(0, 1000))
    assert [c.kind for c in replay.changes] == ["rest", "warn", "escalate"]
    assert replay.of_kind("escalate")[0].t == pytest.approx(120.0, abs=2 * DT)


def test_schedule_turns_the_rule_off_outside_active_hours():
    zone = {**SIDEWALK, "active_hours": "08:00-21:00"}
    origin = datetime(2026, 11, 20, 7, 58, 0)  # the car parks at 07:58, the rule starts at 08:00 (t = 120)
    replay = Replay(camera_config([zone]), origin=origin).run(0, 240, parked(0, 1000))
    (warn,) = replay.of_kind("warn")
    assert warn.since_t == pytest.approx(120.0)
    assert warn.t == pytest.approx(180.0, abs=2 * DT)


def test_schedule_off_all_along_gives_no_event():
    zone = {**SIDEWALK, "active_hours": ["08:00-09:00"], "active_days": ["sat", "sun"]}
    origin = datetime(2026, 11, 20, 8, 0, 0)  # a Friday
    replay = Replay(camera_config([zone]), origin=origin).run(0, 200, parked(0, 1000))
    assert replay.changes == []


def test_a_person_alone_is_never_an_event():
    person = Thing((120, 150, 150, 250), "person", track=3)
    replay = Replay(camera_config([SIDEWALK])).run(0, 300, lambda t: [person])
    assert replay.changes == []


MONITORED = {"id": "plaza", "type": "monitored_area", "polygon": [[0, 0], [640, 0], [640, 480], [0, 480]],
             "warn_after": "60s"}
FENCE = {"id": "fence", "type": "bike_parking", "polygon": [[0, 300], [200, 300], [200, 400], [0, 400]]}


def test_bikes_inside_the_fence_are_fine_and_outside_are_misparked():
    inside = Thing((50, 320, 90, 360), "bicycle", track=1)
    outside = Thing((400, 320, 440, 360), "bicycle", track=2)
    replay = Replay(camera_config([MONITORED, FENCE])).run(0, 100, lambda t: [inside, outside])
    (warn,) = replay.of_kind("warn")
    assert warn.rule == "misparked_bike" and warn.zone_id == "plaza"
    assert warn.xyxy == pytest.approx(outside.xyxy)


def test_cars_are_not_misparked_bikes_and_bikes_are_not_sidewalk_parking():
    bike = Thing((300, 200, 340, 250), "bicycle", track=2)
    replay = Replay(camera_config([SIDEWALK])).run(0, 100, lambda t: [CAR, bike])
    assert sorted(w.rule for w in replay.of_kind("warn")) == ["misparked_bike", "sidewalk_parking"]


def test_ignore_zone_drops_detections():
    ignore = {"id": "lot", "type": "ignore", "polygon": [[0, 240], [640, 240], [640, 260], [0, 260]]}
    replay = Replay(camera_config([SIDEWALK, ignore])).run(0, 100, parked(0, 1000))
    assert replay.changes == []


def test_ground_point_not_box_centre_decides_the_zone():
    tall_truck = Thing((100, 20, 220, 190), "truck")  # centre (160, 105) in no zone, ground (160, 190) neither
    bus_on_walk = Thing((300, 20, 420, 210), "bus", track=2)  # centre above the sidewalk, ground on it
    replay = Replay(camera_config([SIDEWALK])).run(0, 100, lambda t: [tall_truck, bus_on_walk])
    (warn,) = replay.of_kind("warn")
    assert warn.class_name == "bus"


NO_VENDING = {"id": "square", "type": "no_vending", "polygon": [[0, 0], [640, 0], [640, 480], [0, 480]],
              "warn_after": "60s"}
UMBRELLA = Thing((100, 100, 220, 180), "umbrella", track=1)
TABLE = Thing((120, 200, 200, 260), "dining table", track=2)


def test_vending_setup_with_an_attendant_is_street_vending():
    vendor = Thing((210, 150, 250, 270), "person", track=3)
    replay = Replay(camera_config([NO_VENDING])).run(0, 100, lambda t: [UMBRELLA, TABLE, vendor])
    (warn,) = replay.of_kind("warn")
    assert warn.rule == "street_vending" and warn.class_name == "vending_setup"
    assert warn.xyxy == pytest.approx((100, 100, 250, 270))  # the umbrella, the table and their attendant
    assert warn.since_t == 0.0


def test_unattended_umbrella_and_benches_with_people_are_not_vending():
    bench = Thing((300, 300, 400, 340), "bench", track=4)
    sitter = Thing((330, 260, 360, 335), "person", track=5)
    replay = Replay(camera_config([NO_VENDING])).run(0, 150, lambda t: [UMBRELLA, bench, sitter])
    assert replay.of_kind("warn") == []


def test_an_umbrella_stall_is_placed_on_the_ground_by_its_attendant():
    canopy = Thing((100, 100, 200, 140), "umbrella", track=1)  # floats above the zone
    vendor = Thing((160, 110, 190, 230), "person", track=3)  # stands under it, on the zone
    zone = {**NO_VENDING, "polygon": [[0, 200], [640, 200], [640, 300], [0, 300]]}
    replay = Replay(camera_config([zone])).run(0, 100, lambda t: [canopy, vendor])
    (warn,) = replay.of_kind("warn")
    assert warn.xyxy == pytest.approx((100, 100, 200, 230))


def test_passers_by_do_not_attend_an_umbrella():
    def scene(t):
        walker = int(t // 6)  # a new walker every 6 s crosses past the umbrella in 4 s
        x = 100 + 60 * (t % 6)
        return [UMBRELLA, TABLE, Thing((x, 150, x + 40, 270), "person", track=100 + walker)]

    replay = Replay(camera_config([NO_VENDING])).run(0, 150, scene)
    assert replay.of_kind("warn") == []


def test_a_vendor_arriving_after_the_stall_starts_the_timer():
    vendor = Thing((210, 150, 250, 270), "person", track=3)
    replay = Replay(camera_config([NO_VENDING])).run(
        0, 150, lambda t: [UMBRELLA, TABLE] + ([vendor] if t >= 40 else []))
    (warn,) = replay.of_kind("warn")
    assert warn.since_t == 40.0 and warn.t == pytest.approx(100.0, abs=2 * DT)


def test_a_custom_stall_class_counts_directly():
    cart = Thing((100, 100, 220, 260), "vendor_cart", track=1)
    replay = Replay(camera_config([NO_VENDING])).run(0, 100, lambda t: [cart])
    (warn,) = replay.of_kind("warn")
    assert warn.rule == "street_vending" and warn.class_name == "vendor_cart"


def test_one_warn_per_object_even_when_it_comes_back_after_its_clear():
    zone = {**SIDEWALK, "clear_after": "10s"}
    replay = Replay(camera_config([zone]), forget_after=60).run(0, 200, lambda t: [CAR] if not 80 <= t < 100 else [])
    assert len(replay.of_kind("warn")) == 1 and len(replay.of_kind("clear")) == 1


def test_a_box_inside_a_bike_on_its_ground_line_is_that_bike_not_a_second_one():
    # The detector boxes a parked bike whole and, on some frames, its front half again (same bottom edge).
    bike = Thing((400, 300, 470, 360), "bicycle", track=1)
    half = Thing((410, 310, 452, 358), "bicycle", track=2)
    replay = Replay(camera_config([MONITORED])).run(0, 100, lambda t: [half, bike] if int(t) % 2 else [bike])
    (warn,) = replay.of_kind("warn")
    assert warn.xyxy == pytest.approx(bike.xyxy)


def test_a_bike_parked_behind_another_is_its_own_object():
    front = Thing((400, 300, 470, 360), "bicycle", track=1)
    behind = Thing((410, 290, 460, 330), "bicycle", track=2)  # inside the front bike's box, standing farther back
    replay = Replay(camera_config([MONITORED])).run(0, 100, lambda t: [behind, front])
    assert sorted(w.xyxy[3] for w in replay.of_kind("warn")) == pytest.approx([330, 360])
