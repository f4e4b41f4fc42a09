"""The patrol pipeline with the real model on a real moving camera: ``tokyo_street_walk_handheld.mp4`` (640x360,
10.6 s, a hand-held camera walking up a side street) has no GPS, so it gets a synthetic straight track at walking
pace (1.4 m/s north) and a guessed mount (1.5 m, looking ahead, 4 degrees down, 70 degree field of view).

What the frames show, checked by eye on frames extracted every second: bicycles parked by the shop front on the
left of the first frames (their boxes about x 400-460, y 155-210 in the first 4 s); the camera turns left after
about 4 s, which a straight track cannot know, so places on the map drift once it turns; nobody stays long enough
for anything to be warned on one pass. The test asserts the shop-front bicycle is placed within 1 m of its median
in each of its tracks and its sightings within 3 m of each other (one run, instrumented by hand, showed 0.2-0.9 m
and about 2 m).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from streetorder.cli import main
from tests.conftest import shared_clip
from zones.chalk import ChalkBook, distance_m

pytestmark = pytest.mark.slow

START = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
LON, LAT = 139.7000, 35.6900


def write_walk(tmp_path, clip) -> None:
    rows = ["time,lat,lon"] + [f"{(START + timedelta(seconds=s)).isoformat()},{LAT + 1.4 * s / 111_000:.8f},{LON}"
                               for s in range(-2, 15)]
    (tmp_path / "walk.csv").write_text("\n".join(rows) + "\n")
    d = 0.0006  # a monitored area of about 110 x 80 m around the walk
    area = [[LON - d, LAT - d / 2], [LON + d, LAT - d / 2], [LON + d, LAT + d], [LON - d, LAT + d]]
    # the shop-front bicycle scores 0.18 to 0.49, around the default 0.25: the last decimal (rect or square
    # letterbox, +-0.01) decided whether the tracker held it in the first seconds; the test is about where it lies
    (tmp_path / "walk.yaml").write_text(f"""analysis_fps: 5
detect: {{confidence: 0.15}}
cameras:
  - id: tokyo-walk
    kind: vehicle
    source: {clip}
    gps: walk.csv
    start_time: "{START.isoformat()}"
    mount: {{height: 1.5, pitch: 4, yaw: 0, hfov: 70}}
    zones:
      - {{id: street, type: monitored_area, geo_polygon: {area}}}
""")


def test_a_parked_bicycle_keeps_one_place_on_the_map_and_one_pass_warns_nothing(tmp_path, monkeypatch,
                                                                               require_models):
    write_walk(tmp_path, shared_clip("tokyo_street_walk_handheld.mp4"))
    sightings = []
    real_pass_over = ChalkBook.pass_over

    def recording_pass_over(book, found, views):
        sightings.extend(found)
        return real_pass_over(book, found, views)

    monkeypatch.setattr(ChalkBook, "pass_over", recording_pass_over)
    assert main(["process", "--config", str(tmp_path / "walk.yaml"), "--out", str(tmp_path / "out")]) == 0
    assert (tmp_path / "out" / "events.jsonl").read_text() == ""  # one pass: chalk marks, never a warn
    shop_front = [s for s in sightings if s.class_name == "bicycle" and s.t < 4.0 and 380 < s.bbox[0] < 470]
    assert len(shop_front) >= 1, [(s.class_name, s.t, s.bbox) for s in sightings]
    assert all(s.spread_m <= 1.0 for s in shop_front)  # steady within each track
    assert all(distance_m(a, b) <= 3.0 for a in shop_front for b in shop_front)  # and across them


def test_check_says_when_the_gps_track_does_not_cover_the_recording(tmp_path, capsys):
    write_walk(tmp_path, shared_clip("tokyo_street_walk_handheld.mp4"))
    short = (tmp_path / "walk.csv").read_text().splitlines()[:6]  # 4 s of track for a 10.6 s video
    (tmp_path / "walk.csv").write_text("\n".join(short) + "\n")
    assert main(["check", "--config", str(tmp_path / "walk.yaml")]) == 1
    out = " ".join(capsys.readouterr().out.split())
    assert "camera 'tokyo-walk': GPS track" in out and "but the video needs" in out and "gps_offset" in out
