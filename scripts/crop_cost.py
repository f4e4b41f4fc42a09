"""What ``detect: {crop: zones}`` saves and loses on the shared clips: ms per frame (letterbox, network, NMS; one
thread) with and without the crop, and how many of the full frame's detections standing in a zone the crop finds
again (IoU >= 0.7, same class) and how many it adds.

    STREETORDER_MODEL_PATH=../shared/models python scripts/crop_cost.py [--frames 20]

Each case is a clip and the zones of a config the project uses on it (the bundled example, the bench's batch
recording): about a minute for both.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import cv2
import numpy as np

from detector.boxes import box_iou
from detector.load import load_detector
from detector.zone_crop import ZoneCrop, crop_region, zone_polygons
from zones.config import load_config, parse_config
from zones.geometry import ZoneShape

CLIPS = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "clips"
EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "us_residential_street.yaml"
BENCH_ZONES = [{"id": "walk", "type": "sidewalk", "polygon": [[0, 700], [1920, 700], [1920, 1080], [0, 1080]]}]


def cases() -> list[tuple[str, Path, list]]:
    bench = parse_config({"cameras": [{"id": "recording", "source": "x.mp4", "zones": BENCH_ZONES}]})
    return [("us_residential_street (example config)", CLIPS / "us_residential_street.mp4",
             load_config(EXAMPLE).cameras[0].zones),
            ("pedestrian_street_1080p (bench batch config)", CLIPS / "pedestrian_street_1080p.mp4",
             bench.cameras[0].zones)]


def frames(path: Path, count: int) -> list[np.ndarray]:
    capture, images = cv2.VideoCapture(str(path)), []
    total = int(capture.get(cv2.CAP_PROP_FRAME_COUNT))
    for index in np.linspace(0, total - 1, count).astype(int):
        capture.set(cv2.CAP_PROP_POS_FRAMES, int(index))
        ok, image = capture.read()
        if ok:
            images.append(image)
    return images


def timed(detect, images) -> tuple[float, list]:
    detect(images[0])
    laps, found = [], []
    for image in images:
        start = time.perf_counter()
        found.append(detect(image))
        laps.append(time.perf_counter() - start)
    return 1000 * statistics.median(laps), found


def in_zones(detections, shapes) -> np.ndarray:
    return np.array([any(s.contains_ground(b) for s in shapes) for b in detections.xyxy], dtype=bool)


def agreement(full, cropped, shapes) -> tuple[int, int, int]:
    """(full-frame detections in a zone, of them found by the crop, crop detections in a zone not in the full)."""
    wanted = kept = extra = 0
    for a, b in zip(full, cropped, strict=True):
        a, b = a[in_zones(a, shapes)], b[in_zones(b, shapes)]
        iou = box_iou(a.xyxy, b.xyxy) * (a.class_id[:, None] == b.class_id[None, :])
        wanted, kept = wanted + len(a), kept + int((iou >= 0.7).any(axis=1).sum())
        extra += int((~(iou >= 0.7).any(axis=0)).sum()) if len(a) else len(b)
    return wanted, kept, extra


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=20)
    args = parser.parse_args()
    for name, path, zones in cases():
        images = frames(path, args.frames)
        shapes = [ZoneShape(z) for z in zones if z.type != "ignore"]
        h, w = images[0].shape[:2]
        print(f"{name}: {w}x{h}, crop {crop_region(zone_polygons(zones), (w, h))}")
        for letterbox in ("square", "rect"):
            detector = load_detector("yolo11n", threads=1, letterbox=letterbox)
            crop = ZoneCrop(detector, zone_polygons(zones))
            full_ms, full = timed(detector.detect, images)
            crop_ms, cropped = timed(crop.detect, images)
            window = crop.window(images[0])
            shape = crop._shape(images[0], images[0][window[1]:window[3], window[0]:window[2]])
            wanted, kept, extra = agreement(full, cropped, shapes)
            print(f"  {letterbox:6} full {detector.shape_for(images[0])} {full_ms:5.1f} ms | crop {shape} "
                  f"{crop_ms:5.1f} ms ({full_ms / crop_ms:.2f}x) | in zones: {kept} of {wanted} found again, "
                  f"{extra} more")


if __name__ == "__main__":
    main()
