"""Chalk marks kept in the store between runs: what one pass chalked, a later run (a new process) finds."""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np

from events.chalk_marks import ChalkMarkStore
from zones.chalk import ChalkParams, Sighting

T0 = datetime.fromisoformat("2026-11-22T08:00:00+08:00")


def sighting(minutes: float, plate: str | None = None) -> Sighting:
    look = np.zeros(144, np.float32)
    look[5] = 1.0
    return Sighting("patrol-07", "east-pavement", "sidewalk_parking", "car", 120.6712, 28.0011,
                    T0 + timedelta(minutes=minutes), 12.5, "drive-1.mp4", width_m=4.2, look=look, plate=plate,
                    error_m=2.0, snapshot="evidence/patrol-07/east-pavement/m1-chalk.jpg",
                    bbox=(10.0, 20.0, 30.0, 40.0), score=0.8, track_id=4)


def test_marks_and_the_next_mark_number_survive_a_new_store(tmp_path, store_target):
    path = store_target
    store = ChalkMarkStore(path)
    book = store.load("patrol-07", ChalkParams())
    book.pass_over([sighting(0, plate="浙C·12345")], {})
    store.save("patrol-07", book)
    store.close()

    again = ChalkMarkStore(path)
    book = again.load("patrol-07", ChalkParams())
    (mark,) = book.marks.values()
    assert book.next_id == 2 and mark.mark_id == "m1" and not mark.warned
    assert mark.first == sighting(0, plate="浙C·12345") and np.array_equal(mark.first.look, sighting(0).look)
    assert mark.first.ts.utcoffset() == timedelta(hours=8)
    (warn,) = book.pass_over([sighting(9, plate="浙C·12345")], {})
    assert warn.kind == "warn" and warn.dwell_s == 540.0
    again.save("patrol-07", book)
    assert again.load("patrol-07", ChalkParams()).marks["m1"].warned
    assert not again.load("patrol-08", ChalkParams()).marks  # marks are per camera


def test_ended_marks_are_deleted_on_save(tmp_path, store_target):
    store = ChalkMarkStore(store_target)
    book = store.load("patrol-07", ChalkParams())
    book.pass_over([sighting(0)], {})
    store.save("patrol-07", book)
    book.marks.clear()
    store.save("patrol-07", book)
    reloaded = store.load("patrol-07", ChalkParams())
    assert not reloaded.marks and reloaded.next_id == 2  # numbers are never reused: event ids stay unique
