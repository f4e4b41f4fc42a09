"""The report's verdicts on the issue's targets, and the command line around the suite."""

from __future__ import annotations

from evaluation.events_io import read_events, read_truth
from evaluation.make import write_suite_config
from evaluation.report import shortfalls, targets_met
from evaluation.score_events import score_events
from evaluation.suite import suite
from streetorder.cli import main
from tests.evaluation.test_score_events import ELSEWHERE, SCENE, event, events_file, truth_file


def scores_for(tmp_path, events, name="near-miss"):
    return score_events(read_truth(truth_file(tmp_path, SCENE, name=name)),
                        read_events(events_file(tmp_path, events)))


def test_a_perfect_run_meets_every_target(tmp_path):
    met = targets_met(scores_for(tmp_path, [event("warn", 512.0, camera="near-miss"),
                                            event("clear", 570.0, camera="near-miss")]))
    assert [ok for _, ok, _ in met] == [True] * 5
    perfect = scores_for(tmp_path / "b", [event("warn", 510.0, camera="near-miss"),
                                          event("clear", 570.0, camera="near-miss")])
    assert "The pipeline did what the ground truth says on every scenario" in shortfalls(perfect)


def test_a_late_warn_and_a_false_alarm_on_a_no_event_scenario_fail_their_targets(tmp_path):
    scores = scores_for(tmp_path, [event("warn", 530.0, camera="near-miss"),
                                   event("warn", 300.0, object_id="9", box=ELSEWHERE, camera="near-miss")])
    met = {name: (ok, detail) for name, ok, detail in targets_met(scores)}
    assert met["median warn-time error within 5 s"] == (False, "+20.0 s")
    assert met["worst warn-time error within 15 s"][0] is False
    assert met["no event on the near-miss, pedestrian and short-stay scenarios"] == (
        False, "near-miss: false alarm at 300.0 s")
    assert met["warn F1 >= 0.95 for every rule"] == (False, "sidewalk_parking 0.67")
    assert ("**near-miss**: car-1: missed clear (warn at 530.0 s), near-miss: false alarm (warn at 300.0 s)"
            in shortfalls(scores))


def test_the_suite_config_lists_every_scenario_folder(tmp_path):
    for name in ("b-scene", "a-scene"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "cameras.yaml").write_text(
            f"cameras:\n- id: {name}\n  source: video.mp4\n  zones: []\n")
    text = write_suite_config(tmp_path).read_text()
    assert text.index("a-scene/video.mp4") < text.index("b-scene/video.mp4")


def test_make_scenarios_lists_the_suite(capsys):
    assert main(["evaluate", "make-scenarios", "unused", "--list"]) == 0
    printed = capsys.readouterr().out
    assert all(s.name in printed for s in suite())


def test_an_unknown_scenario_is_refused_with_the_known_names(tmp_path, capsys):
    assert main(["evaluate", "make-scenarios", str(tmp_path), "--only", "nope", "--data", str(tmp_path)]) == 2
    assert "unknown scenario 'nope'; the suite has sidewalk-long" in capsys.readouterr().err
