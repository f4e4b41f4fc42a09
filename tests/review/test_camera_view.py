"""Cameras that move, in the reviewers' app: the case page says how the camera looked at the event (shifted: zones
re-anchored; moved: timers waited), and the admin's cameras page lists each camera's status as the live writer of
``streetorder run`` left it in the store, with its age; no camera password on either."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import cv2
import numpy as np
import pytest

from detector.detections import Detections
from detector.view import ViewCheck, ViewReference, ViewState
from events.camera_status import CameraStatuses, CameraStatusRow
from events.record import ViewRecord, event_from_change
from events.store import EventStore
from streams.frames import Frame
from streams.live_runner import LiveRunner
from streams.state import StateStore
from tests.live.conftest import free_port, wait_for
from tests.review.site import DRIVEWAY_CAR, KERB_CAR
from zones.config import parse_config
from zones.dwell import StateChange

DOOR_PASSWORD = "d00r-cam-pass"
SHIFT_PX = 12  # the textured scene is seen 12 px to the left


def textured(shift: int = 0) -> np.ndarray:
    """A 640x352 frame with texture everywhere (keypoints to match), optionally seen ``shift`` px to the left."""
    frame = cv2.GaussianBlur(np.random.default_rng(7).integers(0, 255, (352, 640, 3), np.uint8), (5, 5), 0)
    return cv2.warpAffine(frame, np.float32([[1, 0, -shift], [0, 1, 0]]), (640, 352)) if shift else frame


def test_a_views_record_says_how_far_the_corners_were_off_and_none_without_a_homography():
    check = ViewCheck(ViewReference.from_frame(textured()))
    shifted = ViewRecord.of(check.check(textured(SHIFT_PX)))
    assert shifted.state == "shifted" and shifted.displacement_px == pytest.approx(SHIFT_PX, abs=1.0)
    assert ViewRecord.of(ViewState("moved", None, reason="no homography")) == ViewRecord(state="moved")


@pytest.fixture
def moved_camera_events(site) -> dict[str, str]:
    """Two events of the site's cam-a made while its view was shifted (at a PTZ preset) and moved, added as the
    pipeline adds them."""
    views = {"7": ViewRecord(state="shifted", displacement_px=34.0, preset="Gate-N"), "8": ViewRecord(state="moved")}
    store = EventStore(site.db_path)
    for obj, kind, box in (("7", "warn", DRIVEWAY_CAR), ("8", "clear", KERB_CAR)):
        change = StateChange(kind, "sidewalk_parking", "walk", obj, "car", 600.0, 20.0, box, 0.8)
        store.add(event_from_change(change, "cam-a", None, {}, view=views[obj]))
    store.close()
    return {"shifted": "cam-a/walk/7/warn", "moved": "cam-a/walk/8/clear"}


def view_note(html: str) -> str | None:
    found = re.search(r'<p class="view-note view-(\w+)">(.*?)</p>', html, re.S)
    return f"{found[1]}: {found[2]}" if found else None


def test_the_case_page_says_how_the_camera_looked_at_the_event_next_to_its_photos(as_user, site,
                                                                                    moved_camera_events):
    rita = as_user("rita")
    shifted = rita.get(f"/events/{moved_camera_events['shifted']}").text
    assert view_note(shifted) == ("shifted: Camera view at preset Gate-N shifted 34 px: zones re-anchored (the zone "
                                  "in the photo is drawn where it then lay).")
    assert shifted.index("view-note") < shifted.index('<section class="photos">')  # just above the evidence
    moved = rita.get(f"/events/{moved_camera_events['moved']}").text
    assert view_note(moved).startswith("moved: Camera view moved (re-aimed, zoomed or covered): the timers waited")
    assert view_note(rita.get(f"/events/{site.event_ids[0]}").text) is None  # no view recorded: no note


def door_config():
    """One camera whose server refuses (offline at once; its URL holds a password) and checks its view."""
    return parse_config({"analysis_fps": 2, "live": {"reconnect_min": "0.2s", "reconnect_max": "1s"},
                         "cameras": [{"id": "door", "name": "Back door",
                                      "source": f"rtsp://admin:{DOOR_PASSWORD}@127.0.0.1:{free_port()}/live",
                                      "zones": [{"id": "step", "type": "sidewalk",
                                                 "polygon": [[100, 100], [300, 100], [300, 300], [100, 300]]}]}]})


def test_the_cameras_page_lists_what_the_live_writer_left_with_its_age(site, as_user, tmp_path):
    store = EventStore(site.db_path)
    runner = LiveRunner(door_config(), tmp_path / "out", lambda camera: None, store, StateStore(tmp_path / "s.db"))
    try:
        runner.start()
        door = runner.cameras[0]
        wait_for(lambda: door.source.status.state == "offline", timeout=30, what="the refused camera offline")
        for t, shift in ((0.0, 0), (6.0, SHIFT_PX)):  # the pipeline's own view check: bumped 12 px
            door.pipeline.step(Frame(textured(shift), t, int(t)), Detections.empty())
        runner.write_status()
        (row,) = CameraStatuses(site.database()).all()
        assert (row.camera_id, row.name, row.state, row.view) == ("door", "Back door", "offline", "shifted")
        assert row.source.startswith("rtsp://***@127.0.0.1:") and "refused" in row.reason.lower()
        assert row.frame_age_s() is None and 0 <= row.age_s() < 60  # written by this run, no frame ever came
        assert DOOR_PASSWORD not in repr(row)
        ada = as_user("ada")
        page = ada.get("/admin/cameras").text
        line = re.search(r'<tr class="camera-status state-offline">(.*?)</tr>', page, re.S)[1]
        assert "Back door" in line and "rtsp://***@127.0.0.1" in line and "shifted" in line and "none yet" in line
        assert "not renewed" not in line and DOOR_PASSWORD not in page
        assert ada.get("/api/admin/cameras").json()["cameras"][0] | {"age_s": 0} == {
            "camera_id": "door", "name": "Back door", "source": row.source, "state": "offline",
            "reason": row.reason, "view": "shifted", "preset": None, "last_frame_at": None,
            "updated_at": row.updated_at, "age_s": 0, "frame_age_s": None, "stale": False}
    finally:
        runner.close()
        store.close()
    (stopped,) = CameraStatuses(site.database()).all()
    assert stopped.state == "stopped"  # the run's last write, when it stops


def test_a_status_not_renewed_for_a_while_is_marked_on_the_cameras_page(site, as_user):
    hour_ago = datetime.now(UTC) - timedelta(hours=1)
    CameraStatuses(site.database()).write([
        CameraStatusRow("gate", None, "rtsp://viewer:gate-pass@10.0.0.7/1", "online", "", "ok", "north",
                        (hour_ago - timedelta(seconds=2)).isoformat(), hour_ago.isoformat())])
    page = as_user("ada").get("/admin/cameras").text
    line = re.search(r'<tr class="camera-status state-online">(.*?)</tr>', page, re.S)[1]
    assert "1h00m ago (not renewed)" in line and "north" in line and "gate-pass" not in page
