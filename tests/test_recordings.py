"""Object ids across recordings of one camera: a re-run of a recording keeps its ids (no event twice), the next
day's recording of the same camera gets new ones (its events are not taken for the old ones)."""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest
import yaml

from streetorder.cli import main
from tests.conftest import shared_clip

pytestmark = pytest.mark.slow

DRIVEWAY = [[560, 150], [640, 150], [640, 200], [560, 200]]  # a car stands here the whole clip


def config(tmp_path, video) -> str:
    path = tmp_path / f"{video.stem}.yaml"
    path.write_text(yaml.safe_dump({"analysis_fps": 2, "cameras": [{
        "id": "pole-3", "source": str(video),
        "zones": [{"id": "driveway", "type": "sidewalk", "polygon": DRIVEWAY, "warn_after": "10s"}]}]}))
    return str(path)


def events(out) -> list[dict]:
    return [json.loads(line) for line in (out / "events.jsonl").read_text().splitlines()]


def test_a_new_recording_of_a_camera_gets_new_object_ids_and_a_rerun_keeps_them(tmp_path, require_models):
    clip = shared_clip("us_residential_street.mp4")
    day1 = tmp_path / "day-1.mp4"
    shutil.copy(clip, day1)
    day2 = tmp_path / "day-2.mp4"  # the same street another day: another file (here the first 20 s, remuxed)
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", str(clip), "-t", "20", "-c", "copy", str(day2)], check=True)
    out = tmp_path / "out"
    assert main(["process", "--config", config(tmp_path, day1), "--out", str(out)]) == 0
    first = events(out)
    (warn1,) = [e for e in first if e["type"] == "warn"]
    assert main(["process", "--config", config(tmp_path, day1), "--out", str(out)]) == 0
    assert events(out) == first  # a re-run writes nothing new
    assert main(["process", "--config", config(tmp_path, day2), "--out", str(out)]) == 0
    (warn2,) = [e for e in events(out)[len(first):] if e["type"] == "warn"]
    assert int(warn2["object_id"]) > int(warn1["object_id"])  # day 2's car is a new object ...
    assert warn2["event_id"] != warn1["event_id"]  # ... so its warn is stored, not dropped as a replay
