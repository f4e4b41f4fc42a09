"""Batch speed of one 1080p recording (the bench's, ``evaluation.bench.make_footage``) with today's threads (one
decoder thread, two detector threads) against two segment workers with a warm pool (spawned and loaded by a first
run, so the second shows the steady state), with the CPU of the main process and of the workers.

    STREETORDER_MODEL_PATH=../shared/models python scripts/segment_speed.py [--seconds 120]

About two minutes on two cores (more to make the recording the first time). ``streetorder bench`` measures the cold
case (a fresh ``process`` pays the workers' start-up) with 1, 2 and N segment workers.
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from pathlib import Path

from detector.load import Detector, load_detector
from evaluation.bench import machine, make_footage
from evaluation.bench_speed import batch_config
from events.store import EventStore
from models.registry import cache_dir
from streams.batch import CameraReport, process_recorded
from streams.segment_workers import DetectorSettings, SegmentWorkers

CLIP = Path(__file__).resolve().parents[2] / "shared" / "data" / "clips" / "pedestrian_street_1080p.mp4"


def cpu(who: int) -> float:
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


def run(path: Path, keyframes: bool, detector: Detector, workers: int,
        segments: SegmentWorkers | None) -> tuple[CameraReport, float, float]:
    """One ``process`` run: its report, wall seconds and the main process's CPU seconds."""
    config = batch_config(path, keyframes, {"model": "yolo11n"})
    with tempfile.TemporaryDirectory() as out:
        store = EventStore(Path(out) / "events.db")
        wall, own = time.perf_counter(), cpu(resource.RUSAGE_SELF)
        (report,) = process_recorded(config, Path(out), lambda camera: detector, store, workers=workers,
                                     segments=segments)
        store.close()
    return report, time.perf_counter() - wall, cpu(resource.RUSAGE_SELF) - own


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=120.0, help="length of the recording")
    args = parser.parse_args()
    (recording,) = make_footage(CLIP, cache_dir() / "bench", args.seconds, streams=("1080p",)).values()
    detector = load_detector("yolo11n", threads=1)
    print(machine(), flush=True)
    for keyframes in (True, False):
        kind = "key frames" if keyframes else "all frames"
        report, wall, own = run(recording.path, keyframes, detector, 2, None)
        print(f"{kind}, threads (1 decoder, 2 detectors): {report.frames} frames in {wall:.1f} s = "
              f"{args.seconds / wall:.1f}x; CPU {1000 * own / report.frames:.0f} ms/frame", flush=True)
        segments = SegmentWorkers(2, lambda camera: DetectorSettings("yolo11n"), split_from_s=0)
        run(recording.path, keyframes, detector, 1, segments)  # warm-up: workers spawned, the model loaded
        children = cpu(resource.RUSAGE_CHILDREN)
        report, wall, own = run(recording.path, keyframes, detector, 1, segments)
        segments.close()  # joined: the workers' CPU (of both runs) is counted now
        workers = cpu(resource.RUSAGE_CHILDREN) - children
        print(f"{kind}, 2 segment workers (warm): {report.frames} frames in {wall:.1f} s = "
              f"{args.seconds / wall:.1f}x; main CPU {1000 * own / report.frames:.0f} ms/frame, workers "
              f"{1000 * workers / (2 * report.frames):.0f} ms/frame (start-up spread over both runs); main process "
              "waited/worked: " + ", ".join(f"{k} {v:.1f} s" for k, v in report.seconds.items()), flush=True)
    print(machine())


if __name__ == "__main__":  # the workers are spawned: they import this module
    main()
