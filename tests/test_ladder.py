"""Repeat offences end to end: the same car parks again on later days (replayed detections through the whole
pipeline, a stand-in plate reader, one store), and each warn climbs the ladder."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest

from events.store import EventStore
from review.db import Database
from tests.plate_replay import FixedReader, parked_car_events
from zones.config import ConfigError, parse_config

CHINA_TIME = timezone(timedelta(hours=8))
DAY_1 = datetime(2026, 11, 22, 8, 0, tzinfo=CHINA_TIME)


def warn_on(tmp_path, store: EventStore, day: int, plate: str | None = "京E·MC139", camera_id: str | None = None,
            **top):
    """The warn of the car with ``plate`` parked on ``day`` (1 = DAY_1) in front of ``camera_id`` (default: a
    camera of that day: each day's recording numbers its objects from 1, and an event id names camera, zone and
    object, so one camera's recordings of several days would share ids)."""
    camera_id = camera_id or f"cam-day{day}"
    out = tmp_path / f"{camera_id}-day{day}"
    reader = FixedReader([plate] * 10)
    events = parked_car_events(out, store, reader, DAY_1 + timedelta(days=day - 1), camera_id=camera_id, **top)
    (warn,) = [e for e in events if e.type == "warn"]
    return warn


def ladder(tmp_path, days, target: str | None = None, **top):
    store = EventStore(target or tmp_path / "events.db")
    return [(w.offence, w.action) for w in (warn_on(tmp_path, store, day, **top) for day in days)]


def test_the_same_plate_on_three_days_is_advised_then_educated_then_enforced_and_the_last_step_repeats(
        tmp_path, store_target):
    steps = [(1, "advise"), (2, "educate"), (3, "enforce"), (4, "enforce")]
    assert ladder(tmp_path, [1, 2, 3, 4], store_target) == steps


def test_warns_of_every_camera_count_and_other_plates_do_not(tmp_path, store_target):
    store = EventStore(store_target)
    assert warn_on(tmp_path, store, 1, camera_id="cam-01").action == "advise"
    assert warn_on(tmp_path, store, 2, plate="沪A·D12345", camera_id="cam-03").offence == 1
    second = warn_on(tmp_path, store, 3, camera_id="cam-02")
    assert (second.offence, second.action, second.camera_id) == (2, "educate", "cam-02")


def test_a_warn_a_reviewer_rejected_does_not_count_and_a_pending_one_does(tmp_path, store_target):
    store = EventStore(store_target)
    first = warn_on(tmp_path, store, 1)
    second = warn_on(tmp_path, store, 2)
    review = Database(store_target)
    review.sync_cases()
    with review.transaction() as conn:  # what review.verdicts writes once the reviewers reject it
        conn.execute("UPDATE review_cases SET status = 'rejected' WHERE event_id = ?", (first.event_id,))
    assert (second.offence, warn_on(tmp_path, store, 3).offence) == (2, 2)  # day 1 rejected, day 2 still pending


def test_warns_older_than_the_lookback_do_not_count(tmp_path):
    assert ladder(tmp_path, [1, 3, 4], enforcement={"lookback": "36h"}) == [(1, "advise"), (1, "advise"),
                                                                           (2, "educate")]


def test_a_replay_of_the_same_footage_grades_its_warn_as_before(tmp_path, store_target):
    store = EventStore(store_target)
    warn_on(tmp_path, store, 1)
    again = warn_on(tmp_path, store, 1)  # the same event id: it is not an earlier warn of itself
    assert (again.offence, again.action) == (1, "advise")


def test_an_exempt_plate_is_exempt_and_its_offences_are_still_counted(tmp_path):
    police = {"enforcement": {"exempt": [".*警", "粤B·00001"]}}
    assert ladder(tmp_path, [1, 2], plate="京A·1234警", **police) == [(1, "exempt"), (2, "exempt")]
    assert ladder(tmp_path / "b", [1], plate="粤B00001", **police) == [(1, "exempt")]
    assert ladder(tmp_path / "c", [1], plate="京E·MC139", **police) == [(1, "advise")]


def test_a_permit_exempts_its_days_only(tmp_path):
    permit = {"enforcement": {"permits": [{"plate": "京E·MC139", "from": "2026-11-23", "until": "2026-11-23"}]}}
    assert ladder(tmp_path, [1, 2, 3], **permit) == [(1, "advise"), (2, "exempt"), (3, "enforce")]


def test_a_warn_without_a_plate_has_no_offence(tmp_path):
    assert ladder(tmp_path, [1, 2], plate=None) == [(None, None), (None, None)]


def test_a_custom_ladder_and_its_refusals():
    config = parse_config({"cameras": [{"id": "c", "source": "x.mp4"}],
                           "enforcement": {"ladder": ["warn", "fine"], "permits": [
                               {"plate": "京E·MC139", "from": "2026-01-01", "until": "2026-01-31"}]}})
    assert [config.enforcement.action(n) for n in (1, 2, 3)] == ["warn", "fine", "fine"]
    assert config.enforcement.is_exempt("京EMC139", date(2026, 1, 31))
    assert not config.enforcement.is_exempt("京EMC139", date(2026, 2, 1))
    for enforcement, message in (({"ladder": []}, "at least 1"), ({"ladder": ["advise", "exempt"]}, "exempt"),
                                 ({"exempt": ["(警"]}, "not a plate or a regular expression"),
                                 ({"permits": [{"plate": "A", "from": "2026-02-01", "until": "2026-01-01"}]},
                                  "swap from and until")):
        with pytest.raises(ConfigError, match=message):
            parse_config({"cameras": [{"id": "c", "source": "x.mp4"}], "enforcement": enforcement})
