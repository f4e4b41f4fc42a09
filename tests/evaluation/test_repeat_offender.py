"""The repeat-offender scenario without rendering: its ladder truth, its day configs, and the scorer on its
gt.json with hand-made events on three days (wall-time matching, plates and actions checked)."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

from evaluation.events_io import read_events, read_truth
from evaluation.repeat_offender import PAVEMENT, day_config, expected_warns, ground_truth, repeat_offender
from evaluation.score_events import score_events
from evaluation.tables import ladder_line, outcome_rows
from zones.config import parse_config
from zones.config_enforcement import EnforcementSettings

BOX = [344.0, 188.0, 936.0, 680.0]
SCENARIO = repeat_offender()


def test_the_same_plate_climbs_the_ladder_day_by_day_and_another_plate_starts_at_advise():
    warns = expected_warns(SCENARIO)
    assert [(w["object"], w["plate"], w["offence"], w["action"]) for w in warns] == [
        ("car-A@day-1", "浙C·D1234", 1, "advise"), ("car-A@day-2", "浙C·D1234", 2, "educate"),
        ("car-B@day-2", "浙C·5F2K8", 1, "advise"), ("car-A@day-3", "浙C·D1234", 3, "enforce")]
    assert [w["t"] for w in warns] == [500.0, 500.0, 1040.0, 500.0]  # rest start + warn_after, media time


def test_the_ladder_follows_the_enforcement_settings():
    short = EnforcementSettings(lookback="192h", ladder=["warn", "fine"])
    assert [(w["offence"], w["action"]) for w in expected_warns(SCENARIO, short) if w["car"] == "car-A"] == [
        (1, "warn"), (2, "fine"), (2, "fine")]  # day 1 is 14 days before day 3: outside an 8-day lookback
    longer = replace(SCENARIO, cars=SCENARIO.cars, days=(*SCENARIO.days, SCENARIO.days[2] + timedelta(days=7)),
                     durations=(*SCENARIO.durations, 600.0),
                     visits=(*SCENARIO.visits, replace(SCENARIO.visits[-1], day=4)))
    assert [w["action"] for w in expected_warns(longer)][-1] == "enforce"  # the last step repeats


def test_each_day_is_one_camera_with_its_start_time_and_plates_on():
    configs = [parse_config(day_config(SCENARIO, k)) for k in (1, 2, 3)]
    assert {c.cameras[0].id for c in configs} == {SCENARIO.camera_id}
    assert [c.cameras[0].start_time for c in configs] == list(SCENARIO.days)
    assert all(c.plates.enabled is True for c in configs)
    assert [Path(c.cameras[0].source).parent.name for c in configs] == ["day-1", "day-2", "day-3"]


def rendered_days() -> list[dict]:
    """What ``Builder`` returns for each day, as far as the scenario's truth reads it."""
    days = []
    for k, duration in enumerate(SCENARIO.durations, start=1):
        objects = [{"id": v.car, "class_name": "car", "rule": "sidewalk_parking", "zone": PAVEMENT["id"],
                    "rest_start": v.rest_start, "rest_end": v.rest_end, "box": BOX, "hidden": [],
                    "detected_rate": 1.0, "sprite": "x", "note": "", "expected": {}}
                   for v in SCENARIO.visits if v.day == k]
        days.append({"objects": objects, "background": "clip.mp4", "frame_size": [1280, 720], "duration": duration})
    return days


def truth_folder(tmp_path):
    folder = tmp_path / "repeat-offender"
    folder.mkdir()
    truth = ground_truth(SCENARIO, rendered_days(), {"car-A": 143.0, "car-B": 143.0})
    (folder / "gt.json").write_text(json.dumps(truth, ensure_ascii=False), encoding="utf-8")
    return folder


def warn(day, media_t, plate, action, object_id, offence=None, ts=True):
    when = SCENARIO.days[day - 1] + timedelta(seconds=media_t)
    return {"event_id": f"{SCENARIO.camera_id}/{PAVEMENT['id']}/{object_id}/warn", "type": "warn",
            "rule": "sidewalk_parking", "camera_id": SCENARIO.camera_id, "zone_id": PAVEMENT["id"],
            "object_id": object_id, "class": "car", "t": media_t, "ts": when.isoformat() if ts else None,
            "since_t": media_t - 480, "dwell_s": 480.0, "bbox": BOX, "score": 0.9, "evidence": {},
            "plate": plate, "offence": offence, "action": action}


def score(tmp_path, events):
    path = tmp_path / "events.jsonl"
    path.write_text("".join(json.dumps(e, ensure_ascii=False) + "\n" for e in events), encoding="utf-8")
    return score_events(read_truth(truth_folder(tmp_path)), read_events(path))


A, B = "浙C·D1234", "浙C·5F2K8"


def test_warns_on_three_days_match_their_day_by_wall_time_and_their_ladder_is_checked(tmp_path):
    scores = score(tmp_path, [warn(1, 500.6, A, "advise", "1"), warn(2, 500.6, A, "educate", "4"),
                              warn(2, 1040.6, B, "advise", "5"), warn(3, 500.6, A, "enforce", "9")])
    overall = scores.overall
    assert (overall.expected, overall.matched, overall.false_alarms, overall.duplicates) == (4, 4, 0, 0)
    assert overall.plates == {"right": 4, "null": 0, "wrong": 0}
    assert overall.actions == {"right": 4, "wrong": 0, "missed": 0}
    assert [round(e, 1) for e in overall.warn_errors] == [0.6, 0.6, 0.6, 0.6]
    verdicts = {row[1]: row[-1] for row in outcome_rows(scores)}
    assert verdicts["car-A@day-3"] == "missed clear; plate right, action right"  # no clear was given


def test_a_null_plate_misses_its_action_and_a_wrong_step_is_wrong(tmp_path):
    scores = score(tmp_path, [warn(1, 500.6, A, "advise", "1"), warn(2, 500.6, A, "advise", "4"),
                              warn(2, 1040.6, "浙C·5F2K3", "advise", "5"), warn(3, 500.6, None, None, "9")])
    assert scores.overall.matched == 4
    assert scores.overall.plates == {"right": 2, "null": 1, "wrong": 1}
    assert scores.overall.actions == {"right": 2, "wrong": 1, "missed": 1}
    assert ladder_line(scores.overall) == ("Plates of matched warns: 2 right, 1 null, 1 wrong; actions (offence "
                                           "ladder): 2 right, 1 wrong, 1 missed")


def test_a_warn_at_the_right_media_time_on_another_day_or_without_wall_time_does_not_match(tmp_path):
    # day 3's warn written with day 1's wall time, and day 2's without ts: media times alone would match both
    day3_as_day1 = warn(1, 500.6, A, "enforce", "9")
    no_ts = warn(2, 500.6, A, "educate", "4", ts=False)
    scores = score(tmp_path, [warn(1, 500.6, A, "advise", "1"), day3_as_day1, no_ts, warn(2, 1040.6, B, "advise", "5")])
    verdicts = {row[1]: row[-1].split(";")[0] for row in outcome_rows(scores)}
    assert verdicts["car-A@day-2"] == "missed" and verdicts["car-A@day-3"] == "missed"
    assert scores.overall.matched == 2
    assert scores.overall.duplicates + scores.overall.false_alarms == 2
    assert scores.overall.actions["missed"] == 2  # the missed warns' ladder steps are missed too
