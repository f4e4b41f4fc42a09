"""The scenarios' camera aim (``evaluation.aim``): rendered frames are warped as the schedule says, after the sprites
are pasted; the ground truth stays in the reference view and follows DESIGN.md while the camera is away; the scorer
finds a box where the aim put it; the suite's moves are what ``detector.view`` calls them. No model: cheap."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from detector.view import ViewCheck, ViewReference, reanchor
from evaluation.aim import Aim, frame_box, moved_intervals, view
from evaluation.compose import Actor, Composer, Path_
from evaluation.events_io import read_events, read_truth
from evaluation.scenario import Rest, expected_outcome
from evaluation.scenes import ScaleLaw
from evaluation.score_events import score_events
from evaluation.sprites import Sprite
from evaluation.suite import by_name, turn
from tests.evaluation.test_score_events import event, events_file, parked, truth_file

WORLD = cv2.GaussianBlur(np.random.default_rng(3).integers(0, 255, (352, 640, 3), np.uint8), (5, 5), 0)
LAW = ScaleLaw(0.0, 30.0)  # 30 px a metre everywhere: a car (1.5 m) is 45 px tall


def red_car() -> Actor:
    rgba = np.zeros((45, 90, 4), np.uint8)
    rgba[:, :, 2] = 255
    rgba[:, :, 3] = 255
    return Actor("car", Sprite(rgba, "car", "drawn", 1.0), Path_([(0.0, 300.0, 200.0), (100.0, 300.0, 200.0)]), LAW)


def render(aim: list[Aim], t: float) -> np.ndarray:
    return Composer(WORLD, [red_car()], noise_sigma=0.0, aim=aim).frame(t, 0)


def red_box(frame: np.ndarray) -> list[float]:
    ys, xs = np.nonzero((frame[:, :, 2] > 250) & (frame[:, :, 1] < 5) & (frame[:, :, 0] < 5))
    return [float(xs.min()), float(ys.min()), float(xs.max() + 1), float(ys.max() + 1)]


def test_a_shift_moves_the_whole_drawn_frame_and_only_while_its_piece_lasts():
    aim = [Aim(10.0, 20.0, turn(45.0, -22.0))]
    still, moved = render([], 15.0), render(aim, 15.0)
    assert np.array_equal(moved[40:300, 60:580], still[62:322, 15:535])  # frame(x, y) = drawn(x - 45, y + 22)
    assert np.array_equal(render(aim, 9.8), still) and np.array_equal(render(aim, 20.0), still)
    truth_box = red_car().box_at(15.0)
    assert red_box(still) == list(truth_box)  # the ground truth box is the reference view's
    assert red_box(moved) == frame_box(aim, 15.0, truth_box).tolist() == [
        truth_box[0] + 45, truth_box[1] - 22, truth_box[2] + 45, truth_box[3] - 22]


def test_a_rotation_and_zoom_put_the_pasted_sprite_where_the_transform_says():
    aim = [Aim(0.0, 50.0, turn(10.0, 5.0, degrees=2.0, zoom=1.2))]
    frame = render(aim, 5.0)
    matrix = np.vstack([turn(10.0, 5.0, degrees=2.0, zoom=1.2), [0, 0, 1]])
    centre = reanchor([(300.0, 200.0 - 22.5)], matrix)[0]  # the sprite's centre in the reference view
    x1, y1, x2, y2 = red_box(frame)
    assert abs((x1 + x2) / 2 - centre[0]) <= 1.0 and abs((y1 + y2) / 2 - centre[1]) <= 1.0
    assert (y2 - y1) == pytest.approx(1.2 * 45 * np.cos(np.radians(2)) + 1.2 * 90 * np.sin(np.radians(2)), abs=2)


def test_the_border_the_reference_never_saw_is_filled_by_reflection_not_black():
    frame = view(WORLD, [Aim(0.0, 1.0, turn(-96.0))], 0.5)
    assert np.array_equal(frame[:, :544], WORLD[:, 96:])
    assert np.array_equal(frame[:, 544:], WORLD[:, ::-1][:, :96])  # the last 96 columns, mirrored


def test_a_sway_stays_within_its_amplitude_and_swings_both_ways():
    aim = [Aim(0.0, 100.0, turn(), sway_px=4.0, sway_period=20.0)]
    shifts = [aim[0].at(t)[:2, 2] for t in np.arange(0.0, 20.0, 0.5)]
    assert max(abs(dx) for dx, _ in shifts) == pytest.approx(4.0)
    assert max(abs(dy) for _, dy in shifts) == pytest.approx(2.0)
    assert red_box(render(aim, 5.0))[0] == red_car().box_at(5.0)[0] + 4  # sin(2 pi 5 / 20) = 1


def test_truth_a_warn_due_while_the_camera_is_away_comes_when_it_is_back():
    rest = Rest("car-1", "car", (300.0, 200.0), 50.0, 650.0, zone="z", rule="sidewalk_parking")
    assert expected_outcome(rest, 700.0) == {"warn": 530.0, "clear": 650.0}
    assert expected_outcome(rest, 700.0, [(80.0, 150.0), (520.0, 605.0)]) == {"warn": 605.0, "clear": 650.0}
    # the absence clock stops while away: gone at 650 s, away 660-700 s, so clear_after is not over by 700 s
    assert expected_outcome(rest, 700.0, [(660.0, 700.0)])["clear"] is None
    with pytest.raises(ValueError, match="longer than max_gap"):
        expected_outcome(rest, 700.0, [(200.0, 330.0)])


def test_the_scorer_finds_the_warned_box_where_the_aim_put_it(tmp_path):
    box = [100.0, 100.0, 200.0, 160.0]
    gt = truth_file(tmp_path, [parked(box=box)])
    data = gt.read_text().replace('"objects"', '"aim": [{"start": 300.0, "end": 700.0, '
                                              '"transform": [[1, 0, -96], [0, 1, 0]]}], "objects"')
    gt.write_text(data)
    seen_there = [4.0, 100.0, 104.0, 160.0]  # the box 96 px left, as the re-aimed camera sees it at 510 s
    events = read_events(events_file(tmp_path, [event("warn", 510.0, box=seen_there), event("clear", 570.0)]))
    rule = score_events(read_truth(gt), events).rules["sidewalk_parking"]
    assert (rule.matched, rule.false_alarms) == (1, 0)
    unaimed = truth_file(tmp_path, [parked(box=box)], name="still")
    scores = score_events(read_truth(unaimed), [e.model_copy(update={"camera_id": "still"}) for e in events])
    assert (scores.overall.matched, scores.overall.false_alarms) == (0, 1)


@pytest.mark.parametrize("name", ["bumped", "re-aimed", "sway", "ptz-tour"])
def test_the_suite_says_moved_exactly_where_the_view_check_does(name):
    """The truth of the camera-move scenarios rests on each piece being shifted (timers go on) or moved (they
    wait): check that claim with the real view check on a textured frame seen through each piece."""
    (scenario,) = by_name([name])
    check = ViewCheck(ViewReference.from_frame(WORLD))
    for piece in scenario.aim:
        for t in (piece.start, piece.start + 5.0, piece.start + 12.5):
            state = check.check(view(WORLD, [piece], t), precheck=False).state
            assert (state == "moved") == piece.moved, (name, t, state)
    assert moved_intervals(scenario.aim) == [(p.start, p.end) for p in scenario.aim if p.moved]
