"""The per-frame Python work around inference in the live loop, for one 640x360 sub-stream key frame (the bench's
footage, the camera's ``frame_size`` 1920x1080 as `streetorder bench` configures it): ms per stage, and the share
of a core it costs at 150 cameras analysed once a second; and an idle camera's once-a-second check of the adaptive
rate (``detect.idle_fps``), on the frame as decoded and on it scaled up to the main stream's size.

    STREETORDER_MODEL_PATH=../shared/models python scripts/frame_overhead.py [--frames 30]

Inference itself is left out (it is timed per setting by `streetorder bench`); about 30 s.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import av
import cv2
import numpy as np

from detector.change import watched_region
from detector.load import load_detector
from detector.tracking import Tracker
from detector.view_watch import ViewWatch
from evaluation.bench import SIDEWALK, make_footage
from models.registry import cache_dir
from streams.files import to_bgr
from streams.rate import AnalysisRate

CLIP = Path(__file__).resolve().parents[2] / "shared" / "data" / "clips" / "pedestrian_street_1080p.mp4"
MAIN = (1920, 1080)
CAMERAS = 150


def key_frames(path: Path, count: int) -> list[av.VideoFrame]:
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        stream.codec_context.skip_frame = "NONKEY"
        frames = []
        for frame in container.decode(stream):
            frames.append(frame)
            if len(frames) == count:
                return frames
    return frames


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=30)
    args = parser.parse_args()
    footage = make_footage(CLIP, cache_dir() / "bench", 60.0, ("360p",))["360p"]
    frames = key_frames(footage.path, args.frames)
    detector = load_detector("yolo11n", threads=1, letterbox="rect")
    times: dict[str, list[float]] = {}

    def timed(stage: str, call):
        start = time.perf_counter()
        result = call()
        times.setdefault(stage, []).append(1000 * (time.perf_counter() - start))
        return result

    tracker, view_main, view_sub = Tracker(1.0), ViewWatch(), ViewWatch()
    # an idle camera's once-a-second check (streams.rate), on the frame as decoded and on it scaled up
    region = watched_region([SIDEWALK])
    idle_sub = AnalysisRate(1.0, 0.2, region=region, frame_size=MAIN)
    idle_main = AnalysisRate(1.0, 0.2, region=region)
    for index, frame in enumerate(frames):
        small = timed("colour conversion (360p)", lambda frame=frame: to_bgr(frame))
        image = timed("scale to frame_size (360p -> 1080p)",
                      lambda small=small: cv2.resize(small, MAIN, interpolation=cv2.INTER_LINEAR))
        if index == 0:
            idle_sub.analysed(0.0, small, confirmed=True)
            idle_main.analysed(0.0, image, confirmed=True)
        timed("idle check (as decoded, 360p)", lambda small=small: idle_sub.changed(small))
        timed("idle check (scaled to 1080p, + the scaling)", lambda small=small: idle_main.changed(
            cv2.resize(small, MAIN, interpolation=cv2.INTER_LINEAR)))
        blob, scale, pad = timed("letterbox + blob (from 1080p)", lambda image=image: detector.preprocess(image))
        timed("letterbox + blob (from 360p)", lambda small=small: detector.preprocess(small))
        output = detector.infer(blob)
        found = timed("NMS + boxes", lambda output=output, image=image, scale=scale, pad=pad:
                      detector.postprocess(output[0], image.shape, scale, pad))
        timed("tracking", lambda found=found, index=index: tracker.update(found, float(index)))
        timed("view check (1080p)", lambda image=image, found=found, index=index:
              view_main.update(image, found.xyxy, float(index)))
        small_boxes = found.xyxy * np.float32(small.shape[1] / image.shape[1])
        timed("view check (360p)", lambda small=small, boxes=small_boxes, index=index:
              view_sub.update(small, boxes, float(index)))
    print(f"{len(frames)} key frames of {footage.path.name}; ms per frame (median, mean), the mean's share of a core "
          f"at {CAMERAS} cameras x 1 fps; the view check matched features on {view_main.matched} (1080p) and "
          f"{view_sub.matched} (360p) of them")
    for stage, laps in times.items():
        laps = laps[1:] or laps
        mean = statistics.fmean(laps)
        print(f"  {stage:40} {statistics.median(laps):6.2f} {mean:6.2f} ms  {mean * CAMERAS / 1000:5.2f} cores")


if __name__ == "__main__":
    main()
