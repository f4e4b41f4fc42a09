"""One reader thread per camera (what ``streams.live`` does) against one thread decoding every camera's key frames
in turn, at N live cameras replayed at real-time pace: resident memory, CPU, context switches, frames, lag.

    STREETORDER_MODEL_PATH=../shared/models python scripts/decoder_threads.py [--cameras 150] [--seconds 30]

Each mode runs in a fresh process over the bench's 640x360 sub-stream footage (25 fps, a key frame a second; made
and cached as ``streetorder bench`` does), decoding key frames only with one decoder thread per stream, as the live
readers do; nothing is analysed, so the figures are the reading side alone. About 2 x (seconds + 20) s.
"""

from __future__ import annotations

import argparse
import heapq
import json
import resource
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import av

from evaluation.bench import make_footage
from models.registry import cache_dir
from streams.live import LiveClock, LiveSource

CLIP = Path(__file__).resolve().parents[2] / "shared" / "data" / "clips" / "pedestrian_street_1080p.mp4"
WARMUP = 5.0


def rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize() / 2**20


def switches() -> int:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_nvcsw + usage.ru_nivcsw


class SharedDecoder:
    """One thread for every stream: each stream's next key frame is decoded when its media time is due."""

    def __init__(self, path: str, cameras: int):
        self.containers = [av.open(path) for _ in range(cameras)]
        self.frames = [0] * cameras
        self.slots: list = [None] * cameras  # the newest frame of each, as a reader's slot
        self.pending: list = [None] * cameras
        self.lag = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> SharedDecoder:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)

    def _run(self) -> None:
        start = time.monotonic()
        streams = []
        for container in self.containers:
            stream = container.streams.video[0]
            stream.codec_context.thread_count = 1
            stream.codec_context.skip_frame = "NONKEY"
            streams.append(container.decode(stream))
        due = [(*self._next(streams, i), i) for i in range(len(streams))]
        heapq.heapify(due)
        while due and not self._stop.is_set():
            media_t, i = due[0]
            wait = start + media_t - time.monotonic()
            if wait > 0 and self._stop.wait(wait):
                break
            self.slots[i], self.frames[i] = self.pending[i], self.frames[i] + 1
            self.lag = max(self.lag, -wait)
            nxt = self._next(streams, i)
            if nxt[0] == float("inf"):
                heapq.heappop(due)
            else:
                heapq.heapreplace(due, (*nxt, i))

    def _next(self, streams, i) -> tuple[float]:
        """Decode stream ``i``'s next key frame (held until its media time is due); its media time."""
        frame = next(streams[i], None)
        self.pending[i] = frame
        return (float("inf"),) if frame is None else (float(frame.pts * frame.time_base),)


def measure(mode: str, cameras: int, seconds: float, path: str) -> dict:
    baseline, cpu0 = rss_mb(), time.process_time()
    if mode == "threads":
        origin = datetime.now(UTC)
        readers = [LiveSource(f"cam-{i}", path, LiveClock(origin), keyframes_only=True).start()
                   for i in range(cameras)]
        frames = lambda: sum(r.stats.frames_read for r in readers)  # noqa: E731
        lag = lambda: max(r.stats.stream_lag for r in readers)  # noqa: E731
        stop = lambda: [r.stop() for r in readers]  # noqa: E731
    else:
        shared = SharedDecoder(path, cameras).start()
        frames, lag, stop = (lambda: sum(shared.frames)), (lambda: shared.lag), shared.stop
    time.sleep(WARMUP)
    before = (frames(), time.process_time(), switches(), time.monotonic())
    time.sleep(seconds)
    after = (frames(), time.process_time(), switches(), time.monotonic())
    result = {"mode": mode, "cameras": cameras, "rss_baseline_mb": round(baseline, 1),
              "rss_mb": round(rss_mb(), 1), "threads": threading.active_count(),
              "frames_per_s": round((after[0] - before[0]) / (after[3] - before[3]), 1),
              "cpu_cores": round((after[1] - before[1]) / (after[3] - before[3]), 3),
              "switches_per_s": round((after[2] - before[2]) / (after[3] - before[3])),
              "worst_lag_s": round(lag(), 2), "startup_cpu_s": round(before[1] - cpu0, 2)}
    result["mb_per_camera"] = round((result["rss_mb"] - baseline) / cameras, 2)
    stop()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cameras", type=int, default=150)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--mode", choices=("threads", "shared"), help="(internal) run one mode in this process")
    parser.add_argument("--path")
    args = parser.parse_args()
    if args.mode:
        print(json.dumps(measure(args.mode, args.cameras, args.seconds, args.path)))
        return
    footage = make_footage(CLIP, cache_dir() / "bench", max(60.0, args.seconds + WARMUP + 10), ("360p",))["360p"]
    for mode in ("threads", "shared"):
        out = subprocess.run([sys.executable, __file__, "--mode", mode, "--cameras", str(args.cameras),
                              "--seconds", str(args.seconds), "--path", str(footage.path)],
                             capture_output=True, text=True, check=True).stdout
        print(out.strip().splitlines()[-1])


if __name__ == "__main__":
    main()
