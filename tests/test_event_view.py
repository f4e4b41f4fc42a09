"""The camera's view in its events (issue 16): what the whole CameraPipeline writes to the store for a camera bumped
off its aim, one aimed elsewhere, one whose view is not checked, and a PTZ camera touring two presets."""

from __future__ import annotations

import numpy as np
import pytest

from events.store import EventStore
from tests.replay import SIDEWALK
from tests.test_camera_moves import Run
from tests.test_camera_presets import Tour, ptz_raw, tour


def stored(folder) -> dict[str, object]:
    store = EventStore(folder / "events.db")
    try:
        return {event.type: event.view for event in store.events()}
    finally:
        store.close()


def test_a_bumped_cameras_warn_carries_its_shift_and_a_clear_after_a_move_carries_moved(tmp_path):
    (tmp_path / "bumped").mkdir()
    Run(tmp_path / "bumped").run(90, lambda t: (60.0, 20.0) if t >= 30 else (0.0, 0.0))
    view = stored(tmp_path / "bumped")["warn"]  # warned at 60 s, the view shifted by (60, 20) since 30 s
    assert view.state == "shifted" and view.displacement_px == pytest.approx(np.hypot(60, 20), abs=3.0)
    assert view.preset is None

    (tmp_path / "away").mkdir()  # warned at 60 s while ok, then aimed elsewhere: cleared after max_gap, as moved
    Run(tmp_path / "away").run(230, lambda t: (0.0, 0.0) if t < 80 else None)
    views = stored(tmp_path / "away")
    assert views["warn"].state == "ok" and views["warn"].displacement_px == pytest.approx(0.0, abs=3.0)
    assert (views["clear"].state, views["clear"].displacement_px) == ("moved", None)


def test_a_camera_whose_view_is_not_checked_writes_a_null_view(tmp_path):
    Run(tmp_path, view_check=False).run(70, lambda t: (0.0, 0.0))
    assert stored(tmp_path) == {"warn": None}


def test_a_ptz_cameras_events_name_the_preset_they_were_made_at(tmp_path):
    stays = [(0, "north"), (50, "south"), (90, "north")]
    Tour(tmp_path, ptz_raw(tmp_path, {**SIDEWALK, "warn_after": "100s"})).run(130, tour(stays))
    store = EventStore(tmp_path / "events.db")
    views = {event.zone_id: event.view for event in store.events() if event.type == "warn"}
    store.close()
    assert {zone: (view.state, view.preset) for zone, view in views.items()} == {"walk": ("ok", "north"),
                                                                                   "kerb-s": ("ok", "south")}
