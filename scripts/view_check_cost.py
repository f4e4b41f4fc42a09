"""What the view check (detector.view) costs per frame, beside the detector, on the same frames in one run.

    STREETORDER_MODEL_PATH=../shared/models YOLO_OFFLINE=1 .venv/bin/python scripts/view_check_cost.py \
        [--frames 30] [CLIP ...]

For each clip (default: three of ../shared/data/clips), reads ``--frames`` frames spread over it with OpenCV, makes
the first one the reference (its detection boxes left out) and prints the median milliseconds per frame of:
``detect`` (yolo11n, onnxruntime, every core), ``pre-check`` (the thumbnail comparison alone: each frame checked
against itself), ``full check`` (ORB features, matching and the homography, pre-check skipped) and ``check`` (what
the check costs as it runs: the pre-check, then the features when the thumbnail changed), with the states seen, and
``track`` (the phase correlation every analysed frame gets: ``ViewCheck.track``), with the median response-checked
translation it found against the reference and how many frames it left untracked (peak too low or shift too large).
"""

from __future__ import annotations

import argparse
import collections
import statistics
import sys
import time
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
CLIPS = ROOT.parent / "shared" / "data" / "clips"
DEFAULT_CLIPS = ("us_residential_street.mp4", "pedestrian_street_1080p.mp4", "cn_curbside_parking.mp4")


def frames_of(path: Path, count: int) -> list:
    capture = cv2.VideoCapture(str(path))
    total = int(capture.get(cv2.CAP_PROP_FRAME_COUNT))
    frames = []
    for index in range(count):
        capture.set(cv2.CAP_PROP_POS_FRAMES, index * max(1, total // count))
        ok, frame = capture.read()
        if ok:
            frames.append(frame)
    capture.release()
    return frames


def timed(function, *args, **kwargs) -> tuple[object, float]:
    start = time.perf_counter()
    result = function(*args, **kwargs)
    return result, (time.perf_counter() - start) * 1000


def measure(detector, path: Path, count: int) -> None:
    from detector.view import ViewCheck, ViewReference, ViewState

    frames = frames_of(path, count)
    if not frames:
        print(f"{path.name}: no frame could be read with OpenCV")
        return
    detector.detect(frames[0])  # warm-up: the first inference allocates
    detect_ms, boxes = [], []
    for frame in frames:
        detections, ms = timed(detector.detect, frame)
        detect_ms.append(ms)
        boxes.append(detections.xyxy)
    reference = ViewReference.from_frame(frames[0], boxes[0])
    pre_ms, full_ms, check_ms, track_ms, states = [], [], [], [], collections.Counter()
    shifts, untracked = [], 0
    for frame, frame_boxes in zip(frames, boxes, strict=True):
        itself = ViewCheck(ViewReference.from_frame(frame, frame_boxes))
        pre_ms.append(timed(itself.check, frame, frame_boxes)[1])
        full_ms.append(timed(ViewCheck(reference).check, frame, frame_boxes, precheck=False)[1])
    running = ViewCheck(reference)
    for frame, frame_boxes in zip(frames, boxes, strict=True):
        state, ms = timed(running.check, frame, frame_boxes)
        check_ms.append(ms)
        states[state.state + (" (pre-check)" if state.precheck else "")] += 1
        tracked, ms = timed(running.track, frame, frame_boxes, ViewState("ok", np.eye(3)))
        track_ms.append(ms)
        if tracked.tracked:
            shifts.append(float(np.hypot(*tracked.homography[:2, 2])))
        else:
            untracked += 1
    height, width = frames[0].shape[:2]
    print(f"{path.name} ({width}x{height}, {len(frames)} frames): detect {statistics.median(detect_ms):.1f} ms, "
          f"pre-check {statistics.median(pre_ms):.2f} ms, full check {statistics.median(full_ms):.1f} ms, "
          f"check {statistics.median(check_ms):.1f} ms, track {statistics.median(track_ms):.2f} ms "
          f"(shift {statistics.median(shifts) if shifts else float('nan'):.2f} px, {untracked} untracked); "
          f"states: {dict(states)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("clips", nargs="*", type=Path, default=[CLIPS / name for name in DEFAULT_CLIPS])
    parser.add_argument("--frames", type=int, default=30)
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    from detector import load_detector

    cv2.setNumThreads(1)  # the view check runs beside the detector: time it on one core
    detector = load_detector("yolo11n")
    for clip in args.clips:
        if not clip.is_file():
            print(f"{clip}: absent (the clips live in ../shared/data/clips)")
            continue
        measure(detector, clip, args.frames)


if __name__ == "__main__":
    main()
