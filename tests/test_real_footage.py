"""The real model on real footage from ../shared/data.

What the frames of ``us_residential_street.mp4`` (640x352, 24 fps, 37.7 s) show, checked by eye on frames
extracted with ffmpeg every second:

- a dark car stands on the driveway at the right edge (box about x 600-640, y 148-189) for the whole clip;
- a dark sedan is parked at the kerb across the road (box about x 350-415, y 133-164) from the start, pulls out
  at about 21 s and drives away up the road (gone from its spot by 23 s);
- all other cars in the near lane drive through without stopping.
"""

from __future__ import annotations

import json
import re

import cv2
import numpy as np
import pytest
import yaml

from detector.boxes import box_iou
from detector.load import load_detector
from events.store import EventStore
from streetorder.cli import main
from tests.conftest import shared_clip

pytestmark = pytest.mark.slow

DRIVEWAY = [[560, 150], [640, 150], [640, 200], [560, 200]]
KERB = [[340, 125], [430, 125], [430, 172], [340, 172]]
NEAR_LANE = [[230, 200], [470, 200], [600, 352], [240, 352]]


def frames_of(path, seconds):
    capture = cv2.VideoCapture(str(path))
    frames = []
    for s in seconds:
        capture.set(cv2.CAP_PROP_POS_MSEC, s * 1000)
        ok, image = capture.read()
        assert ok, f"could not read {path} at {s} s"
        frames.append(image)
    return frames


def assert_agree(a_detector, b_detector, frames, min_iou: float, max_score_gap: float) -> None:
    """Every confident (>= 0.5) box of each detector has a same-class box in the other's output."""
    compared = 0
    for image in frames:
        a, b = a_detector.detect(image), b_detector.detect(image)
        for first, second in ((a, b), (b, a)):
            strong = first[first.confidence >= 0.5]
            compared += len(strong)
            iou = box_iou(strong.xyxy, second.xyxy)
            for i in range(len(strong)):
                candidates = np.where(second.class_name == strong.class_name[i], iou[i], -1.0)
                best = int(np.argmax(candidates)) if len(candidates) else None
                assert best is not None and iou[i, best] >= min_iou, f"{strong.class_name[i]} {strong.xyxy[i]}"
                assert abs(second.confidence[best] - strong.confidence[i]) <= max_score_gap
    assert compared >= 20  # the comparison covered real work, not two empty lists


@pytest.fixture(scope="module")
def real_frames():
    frames = frames_of(shared_clip("us_residential_street.mp4"), [0, 8, 16, 24, 32])
    return frames + frames_of(shared_clip("pedestrian_street_1080p.mp4"), [1, 6])


def test_our_onnx_pre_and_post_processing_matches_ultralytics_on_the_same_network(require_models, real_frames):
    # the export has a free input shape, which Ultralytics feeds the smallest stride-32 rectangle: so do we
    ours = load_detector("yolo11n", "onnxruntime", letterbox="rect")
    theirs = load_detector(ours.path, "ultralytics")  # Ultralytics running the very same ONNX file
    assert_agree(ours, theirs, real_frames, min_iou=0.97, max_score_gap=0.02)


def test_onnxruntime_and_pytorch_backends_agree_on_real_frames(require_models, real_frames):
    # The PyTorch path letterboxes to the smallest stride-32 rectangle (640x384 for 16:9), the ONNX export to a
    # 640x640 square: the same network sees slightly different pixels, so boxes agree a little less tightly.
    assert_agree(load_detector("yolo11n", "onnxruntime"), load_detector("yolo11n", "ultralytics"), real_frames,
                 min_iou=0.75, max_score_gap=0.15)


def test_end_to_end_yolo26_int8_model_loads_and_finds_the_same_cars(require_models):
    (image,) = frames_of(shared_clip("us_residential_street.mp4"), [0])
    e2e = load_detector("yolo26n_int8")
    assert e2e.end_to_end
    cars = e2e.detect(image)
    reference = load_detector("yolo11n").detect(image)
    strong = reference[reference.confidence >= 0.6]
    assert len(strong) >= 2
    assert (box_iou(strong.xyxy, cars.xyxy).max(axis=1) >= 0.7).all()


def write_config(tmp_path, zones, source):
    path = tmp_path / "cameras.yaml"
    path.write_text(yaml.safe_dump({"cameras": [{"id": "us-res", "source": str(source), "zones": zones}]}))
    return path


def test_process_real_clip_warns_the_parked_cars_and_clears_the_one_that_leaves(tmp_path, require_models, capsys):
    clip = shared_clip("us_residential_street.mp4")
    zones = [
        {"id": "driveway", "type": "sidewalk", "polygon": DRIVEWAY, "warn_after": "10s"},
        {"id": "kerb", "type": "sidewalk", "polygon": KERB, "warn_after": "10s", "clear_after": "5s"},
        {"id": "near-lane", "type": "sidewalk", "polygon": NEAR_LANE, "warn_after": "10s"},
    ]
    config = write_config(tmp_path, zones, clip)
    out = tmp_path / "out"
    assert main(["process", "--config", str(config), "--out", str(out)]) == 0

    events = [json.loads(line) for line in (out / "events.jsonl").read_text().splitlines()]
    by_zone = {(e["zone_id"], e["type"]): e for e in events}
    assert sorted(by_zone) == [("driveway", "warn"), ("kerb", "clear"), ("kerb", "warn")], events

    driveway = by_zone["driveway", "warn"]
    assert driveway["class"] == "car" and driveway["rule"] == "sidewalk_parking"
    assert driveway["since_t"] == 0.0 and 10.0 <= driveway["t"] <= 11.0
    assert box_iou(driveway["bbox"], [600, 148, 640, 189])[0, 0] > 0.7

    warn, clear = by_zone["kerb", "warn"], by_zone["kerb", "clear"]
    assert warn["since_t"] == 0.0 and 10.0 <= warn["t"] <= 11.0
    assert clear["object_id"] == warn["object_id"] and clear["event_id"] == f"us-res/kerb/{warn['object_id']}/clear"
    assert 19.5 <= clear["t"] <= 23.0  # last seen on its spot before it drove off
    assert box_iou(warn["bbox"], [350, 133, 415, 164])[0, 0] > 0.7

    for name in ("snapshot", "crop", "rest_snapshot", "rest_crop"):
        photo = cv2.imread(str(out / driveway["evidence"][name]))
        assert photo is not None and photo.size > 0, name
    assert cv2.imread(str(out / driveway["evidence"]["snapshot"])).shape == (352, 640, 3)
    assert "us-res" in capsys.readouterr().out

    # A re-run into the same folder finds the same events and writes none of them again.
    assert main(["process", "--config", str(config), "--out", str(out)]) == 0
    assert len((out / "events.jsonl").read_text().splitlines()) == 3
    assert len(list(EventStore(out / "events.db").events())) == 3
    assert "3 event(s) were already in the store" in capsys.readouterr().out


def test_a_damaged_file_is_reported_and_the_next_camera_still_runs(tmp_path, require_models, capsys):
    good = shared_clip("Testvideo_Cars-Truck_FR20_2020-01-01_00-00-00.mp4")
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(good.read_bytes()[:5000])
    path = tmp_path / "cameras.yaml"
    path.write_text(yaml.safe_dump({"cameras": [
        {"id": "broken", "source": str(broken)},
        {"id": "good", "source": str(good)},
    ]}))
    assert main(["process", "--config", str(path), "--out", str(tmp_path / "out")]) == 1
    printed = capsys.readouterr().out
    assert "broken.mp4: cannot be read as a video" in " ".join(printed.split())
    assert re.search(r"│ good\s+│\s+6 │", printed)  # its 3 s at 2 fps were analysed


def test_a_missing_model_is_one_clear_sentence(tmp_path, capsys):
    path = write_config(tmp_path, [], "video.mp4")
    assert main(["process", "--config", str(path), "--out", str(tmp_path / "out"), "--model", "yolo99z"]) == 2
    message = " ".join(capsys.readouterr().err.split())
    assert "model 'yolo99z' was not found in" in message
    assert "put yolo99z.pt (or yolo99z.onnx) in one of those folders" in message
