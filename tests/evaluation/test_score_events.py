"""The event scorer on hand-made cases, with exact expected numbers."""

from __future__ import annotations

import json

import pytest

from evaluation.events_io import ScoringInputError, read_events, read_truth
from evaluation.score_events import score_events
from streetorder.cli import main

BOX = [100.0, 100.0, 200.0, 160.0]
ELSEWHERE = [400.0, 100.0, 500.0, 160.0]


def truth_file(tmp_path, objects, duration=600.0, name="cam"):
    folder = tmp_path / "suite" / name
    folder.mkdir(parents=True)
    (folder / "gt.json").write_text(json.dumps({
        "scenario": name, "camera_id": name, "duration": duration, "objects": objects,
    }))
    return folder / "gt.json"


def parked(object_id="car-1", start=30.0, end=570.0, warn=510.0, clear=570.0, box=BOX, zone="walk",
           rule="sidewalk_parking"):
    return {"id": object_id, "class_name": "car", "rule": rule, "zone": zone, "rest_start": start,
            "rest_end": end, "box": box, "expected": {"warn": warn, "clear": clear}}


def event(kind, t, object_id="7", box=BOX, zone="walk", camera="cam", rule="sidewalk_parking", since=30.0):
    return {"event_id": f"{camera}/{zone}/{object_id}/{kind}", "type": kind, "rule": rule, "camera_id": camera,
            "zone_id": zone, "object_id": object_id, "class": "car", "t": t, "ts": None, "since_t": since,
            "dwell_s": t - since, "bbox": box, "score": 0.8, "evidence": {}}


def events_file(tmp_path, events):
    path = tmp_path / "events.jsonl"
    path.write_text("".join(json.dumps(e) + "\n" for e in events))
    return path


def score(tmp_path, objects, events, **kwargs):
    return score_events(read_truth(truth_file(tmp_path, objects)), read_events(events_file(tmp_path, events)),
                        **kwargs)


# A parked car that should be warned and cleared, and one just outside the zone that should give nothing.
SCENE = [parked(), parked("near-miss", 40.0, None, None, None, box=ELSEWHERE, zone=None, rule=None)]


def test_a_perfect_run_scores_one_with_no_error(tmp_path):
    s = score(tmp_path, SCENE, [event("warn", 510.0), event("clear", 570.0)])
    rule = s.rules["sidewalk_parking"]
    assert (rule.expected, rule.matched, rule.duplicates, rule.false_alarms) == (1, 1, 0, 0)
    assert (rule.precision, rule.recall, rule.f1) == (1.0, 1.0, 1.0)
    assert rule.warn_errors == [0.0] and rule.clear_errors == [0.0]
    assert s.overall.false_alarms_per_hour == 0.0
    assert [o.verdict for o in s.outcomes] == ["ok", "no event (ok)"]


def test_a_missed_event_costs_recall_not_precision(tmp_path):
    objects = [parked(), parked("car-2", 60.0, None, 540.0, None, box=ELSEWHERE)]
    s = score(tmp_path, objects, [event("warn", 511.0), event("clear", 569.5)])
    rule = s.rules["sidewalk_parking"]
    assert (rule.expected, rule.matched) == (2, 1)
    assert rule.precision == 1.0 and rule.recall == 0.5
    assert rule.f1 == pytest.approx(2 / 3)
    assert rule.warn_errors == [1.0] and rule.clear_errors == [-0.5]
    assert [o.verdict for o in s.outcomes] == ["ok", "missed"]


def test_a_late_warn_within_tolerance_is_matched_with_its_error(tmp_path):
    s = score(tmp_path, SCENE, [event("warn", 530.0), event("clear", 570.0)])
    summary = s.overall.summary()
    assert summary["f1"] == 1.0
    assert summary["warn_error_median"] == 20.0 and summary["warn_error_worst"] == 20.0


def test_a_warn_later_than_the_tolerance_is_a_miss_and_a_false_alarm(tmp_path):
    # 8 minutes late, as if the tracker had lost the car and the timer restarted
    s = score(tmp_path, SCENE, [event("warn", 990.0)])
    rule = s.rules["sidewalk_parking"]
    assert (rule.matched, rule.false_alarms, rule.duplicates) == (0, 1, 0)
    assert rule.precision == 0.0 and rule.recall == 0.0 and rule.f1 == 0.0


def test_a_second_warn_for_the_same_car_is_a_duplicate(tmp_path):
    s = score(tmp_path, SCENE, [event("warn", 510.0), event("warn", 512.0, object_id="8"),
                                event("clear", 570.0)])
    rule = s.rules["sidewalk_parking"]
    assert (rule.matched, rule.duplicates, rule.false_alarms) == (1, 1, 0)
    assert rule.precision == 0.5 and rule.recall == 1.0
    assert rule.f1 == pytest.approx(2 / 3)
    assert rule.warn_errors == [0.0]  # the closest warn is the match
    assert [o.verdict for o in s.outcomes] == ["ok", "duplicate", "no event (ok)"]


def test_a_false_alarm_on_the_near_miss_is_counted_per_camera_hour(tmp_path):
    s = score(tmp_path, SCENE, [event("warn", 510.0), event("clear", 570.0),
                                event("warn", 520.0, object_id="9", box=ELSEWHERE, zone="walk")])
    rule = s.rules["sidewalk_parking"]
    assert (rule.matched, rule.false_alarms) == (1, 1)
    assert rule.precision == 0.5
    assert rule.false_alarms_per_hour == pytest.approx(6.0)  # one in 600 s
    alarm = next(o for o in s.outcomes if o.verdict == "false alarm")
    assert alarm.object_id == "near-miss" and alarm.warn == 520.0


def test_clears_are_checked_against_the_last_moment_on_the_spot(tmp_path):
    still_there = [parked(end=None, clear=None)]
    s = score(tmp_path, still_there, [event("warn", 510.0), event("clear", 560.0)])
    assert s.rules["sidewalk_parking"].spurious_clears == 1
    s = score(tmp_path / "b", SCENE, [event("warn", 510.0)])
    assert s.rules["sidewalk_parking"].missed_clears == 1


def test_a_warn_in_another_zone_or_rule_does_not_match(tmp_path):
    s = score(tmp_path, SCENE, [event("warn", 510.0, zone="island")])
    assert s.rules["sidewalk_parking"].matched == 0 and s.rules["sidewalk_parking"].false_alarms == 1


def test_events_of_other_cameras_are_ignored_and_counted(tmp_path):
    s = score(tmp_path, SCENE, [event("warn", 510.0), event("clear", 570.0), event("warn", 100.0, camera="other")])
    assert s.ignored_events == 1 and s.overall.false_alarms == 0


@pytest.mark.parametrize(("line", "says"), [
    ("not json", "events.jsonl:2: not JSON"),
    (json.dumps({k: v for k, v in event("warn", 1.0).items() if k != "since_t"}),
     "events.jsonl:2: not a DESIGN.md event (key 'since_t' is missing)"),
    (json.dumps({k: v for k, v in event("warn", 1.0).items() if k != "class"}),
     "events.jsonl:2: not a DESIGN.md event (key 'class' is missing)"),
    (json.dumps({**event("warn", 1.0), "type": "alarm"}), "events.jsonl:2: not a DESIGN.md event (type:"),
    (json.dumps({**event("warn", 1.0), "bbox": [1.0, 2.0, 3.0]}), "events.jsonl:2: not a DESIGN.md event (bbox:"),
    (json.dumps({**event("warn", 1.0), "bbox": [1.0, 2.0, 3.0, "x"]}),
     "events.jsonl:2: not a DESIGN.md event (bbox.3:"),
    (json.dumps({**event("warn", 1.0), "evidence": {"snapshot": 5}}),
     "events.jsonl:2: not a DESIGN.md event (evidence.snapshot:"),
    ("[1, 2]", "events.jsonl:2: a line must be one JSON object"),
])
def test_anything_but_design_md_events_is_refused_naming_file_and_line(tmp_path, line, says):
    path = tmp_path / "events.jsonl"
    path.write_text(json.dumps(event("warn", 510.0)) + "\n" + line + "\n")
    with pytest.raises(ScoringInputError, match="^" + str(tmp_path).replace(".", r"\.")) as error:
        read_events(path)
    assert says in str(error.value)


def test_keys_an_event_does_not_know_are_ignored_as_design_md_says(tmp_path):
    later = {**event("warn", 510.0), "plate": None, "unit": {"district": "d1", "grid": None, "road": "Main St"}}
    (read,) = read_events(events_file(tmp_path, [later]))
    released = event("warn", 510.0)
    assert {k: v for k, v in read.to_json().items() if k in released} == released
    assert score(tmp_path, SCENE, [later, event("clear", 570.0)]).rules["sidewalk_parking"].matched == 1


def test_the_command_prints_the_table_and_writes_json(tmp_path, capsys):
    gt = truth_file(tmp_path, SCENE)
    pred = events_file(tmp_path, [event("warn", 513.0), event("clear", 571.0)])
    out = tmp_path / "scores.json"
    assert main(["evaluate", "events", "--gt", str(gt.parent.parent), "--pred", str(pred), "--json", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "sidewalk_parking" in printed and "+3.0 / +3.0 s" in printed
    overall = json.loads(out.read_text())["overall"]
    assert overall["f1"] == 1.0 and overall["warn_error_median"] == 3.0 and overall["clear_error_worst"] == 1.0


def test_the_command_refuses_a_bad_events_file_in_one_sentence(tmp_path, capsys):
    gt = truth_file(tmp_path, SCENE)
    pred = tmp_path / "events.jsonl"
    pred.write_text('{"t": 1}\n')
    assert main(["evaluate", "events", "--gt", str(gt), "--pred", str(pred)]) == 2
    err = capsys.readouterr().err
    assert "events.jsonl:1: not a DESIGN.md event" in err and "\n" not in err.strip()
