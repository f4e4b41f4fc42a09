"""Throughput benchmarks behind ``streetorder bench``: one function per measurement, one table printer each.

- ``make_footage``: CCTV-like H.264 made from a real clip with ffmpeg (25 fps, no B-frames, a key frame every
  second: the I-frame interval a camera needs for key-frame-only analysis at 1 fps), at 1920x1080 (a main stream)
  and 640x360 (a sub-stream), cached by its parameters.
- ``decode_cost``: CPU time to decode one second of a camera's video, all frames or key frames only.
- ``capacity_run``: N cameras replayed at real-time pace through the live loop (``streams.live_runner``: one
  reader thread per camera, the shared detector, each camera's rules) at ``analysis_fps`` 1; does it keep up, and
  how much resident memory does each camera add?
- ``find_capacity``: the largest N that keeps up, by doubling, bisection, then repeated runs at the boundary.

Every figure is a median of several runs, and the machine's load is printed with them: timings on a shared machine
are noisy, ratios measured side by side in one run much less so.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import av

from detector.load import Detector
from events.store import EventStore
from streams.live_runner import LiveRunner
from streams.state import StateStore
from zones.config import Config, parse_config

FPS = 25
GOP_S = 1  # key frames only gives one frame per GOP: at most 1 / GOP_S analysed frames per second
STREAMS = {"1080p": ((1920, 1080), "4M"), "360p": ((640, 360), "512k")}  # size, bitrate of a typical camera
SIDEWALK = [[0, 700], [1920, 700], [1920, 1080], [0, 1080]]  # the lower third, in main-stream pixels
CPU_LIMIT = 0.9  # a sustained load must leave a tenth of the machine free


@dataclass(frozen=True)
class Footage:
    name: str  # "1080p" or "360p"
    path: Path
    size: tuple[int, int]
    bitrate: str
    seconds: float


def make_footage(clip: Path, work: Path, seconds: float = 60.0,
                 streams: tuple[str, ...] = tuple(STREAMS)) -> dict[str, Footage]:
    """``clip`` looped to ``seconds`` and re-encoded as a camera would send it (each of ``streams``), once per
    parameter set."""
    made = {}
    for name, (size, bitrate) in ((n, STREAMS[n]) for n in streams):
        args = ["-vf", f"fps={FPS},scale={size[0]}:{size[1]}", "-c:v", "libx264", "-preset", "veryfast",
                "-profile:v", "main", "-g", str(FPS * GOP_S), "-keyint_min", str(FPS * GOP_S), "-sc_threshold", "0",
                "-bf", "0", "-b:v", bitrate, "-maxrate", bitrate, "-bufsize", bitrate, "-pix_fmt", "yuv420p", "-an"]
        key = hashlib.sha1(f"{clip.resolve()}|{clip.stat().st_size}|{seconds}|{args}".encode()).hexdigest()[:10]
        path = work / f"{clip.stem}-{name}-{key}.mp4"
        if not path.is_file():
            work.mkdir(parents=True, exist_ok=True)
            partial = path.with_suffix(".part.mp4")
            subprocess.run(["ffmpeg", "-v", "error", "-y", "-stream_loop", "-1", "-i", str(clip), "-t", str(seconds),
                            *args, str(partial)], check=True)
            partial.rename(path)
        made[name] = Footage(name, path, size, bitrate, seconds)
    return made


@dataclass(frozen=True)
class DecodeRun:
    footage: str
    keyframes_only: bool
    frames: int
    video_s: float
    cpu_s: float

    @property
    def cpu_share(self) -> float:
        """Share of one CPU core a live camera of this kind keeps busy decoding."""
        return self.cpu_s / self.video_s


def decode_cost(footage: Footage, keyframes_only: bool) -> DecodeRun:
    """Decode the whole file as fast as possible with the live reader's settings (one decoder thread, ``NONKEY``
    for key frames only), measuring process CPU time: the cost per second of video is what a live camera costs."""
    with av.open(str(footage.path)) as container:
        stream = container.streams.video[0]
        stream.codec_context.thread_count = 1
        if keyframes_only:
            stream.codec_context.skip_frame = "NONKEY"
        start = time.process_time()
        frames = sum(1 for _ in container.decode(stream))
        cpu = time.process_time() - start
    return DecodeRun(footage.name, keyframes_only, frames, footage.seconds, cpu)


def median_decode(footage: Footage, keyframes_only: bool, repeats: int) -> DecodeRun:
    runs = [decode_cost(footage, keyframes_only) for _ in range(repeats)]
    return sorted(runs, key=lambda r: r.cpu_s)[len(runs) // 2]


@dataclass(frozen=True)
class CapacityRun:
    cameras: int
    expected: int  # analysis slots in the measured window (cameras x seconds x analysis_fps; adaptive: as scheduled)
    analysed: int
    dropped: int  # slots skipped because analysis fell behind
    decode_lag_growth: float  # worst growth of a reader's lag behind real time over the window, seconds
    detector_ms: float  # mean detector latency per frame
    cpu_cores: float  # process CPU time / wall time over the window
    seconds: float  # length of the measured window
    rss_mb: float = 0.0  # the process's resident memory at the window's end
    rss_baseline_mb: float = 0.0  # ... and just before the cameras started (the detector loaded)
    idle: int = 0  # cameras at the adaptive rate's idle rate at the window's end

    @property
    def mb_per_camera(self) -> float:
        """Resident memory each live camera added: its reader, decoder, newest frame and stages."""
        return (self.rss_mb - self.rss_baseline_mb) / max(self.cameras, 1)

    def fits(self, cameras: int = 150, gib: float = 4.0) -> bool:
        """Whether ``cameras`` such cameras would fit in ``gib`` of memory with this process's baseline."""
        return self.rss_baseline_mb + cameras * self.mb_per_camera <= gib * 1024

    @property
    def dropped_share(self) -> float:
        return self.dropped / max(self.analysed + self.dropped, 1)

    @property
    def sustained(self) -> bool:
        """Kept up: at least 95 % of the slots analysed, at most 5 % dropped (a hiccup of a shared machine, not a
        backlog: an overloaded detector drops a growing share), no reader falling behind real time, and the
        process using under ``CPU_LIMIT`` of the machine's cores."""
        return (self.analysed >= 0.95 * self.expected and self.dropped_share <= 0.05 and self.decode_lag_growth < 1.0
                and self.cpu_cores < CPU_LIMIT * (os.cpu_count() or 1))


def capacity_config(footage: Footage, cameras: int, keyframes_only: bool, detect: dict | None = None) -> Config:
    """``cameras`` cameras replaying ``footage``, analysed at 1 fps, with a sidewalk zone drawn on the main stream
    (``detect``: a ``detect:`` block, e.g. the adaptive rate's ``idle_fps``)."""
    return parse_config(capacity_raw(footage, cameras, keyframes_only, detect))


def capacity_raw(footage: Footage, cameras: int, keyframes_only: bool, detect: dict | None = None) -> dict:
    """The config of ``capacity_config`` as YAML data (what a cluster's actors get as text)."""
    return {
        "analysis_fps": 1,
        **({"detect": detect} if detect else {}),
        "live": {"save_every": "5s"},
        "cameras": [{"id": f"cam-{i + 1:02d}", "source": str(footage.path), "keyframes_only": keyframes_only,
                     "frame_size": [1920, 1080], "zones": [{"id": "walk", "type": "sidewalk", "polygon": SIDEWALK}]}
                    for i in range(cameras)],
    }


def capacity_run(footage: Footage, cameras: int, keyframes_only: bool, detector: Detector,
                 seconds: float = 30.0, warmup: float = 4.0, workers: int = 1,
                 detect: dict | None = None) -> CapacityRun:
    """Run the live loop on ``cameras`` paced replays of ``footage`` and measure a ``seconds`` window after all of
    them are online and ``warmup`` has passed."""
    if warmup + seconds + 5 > footage.seconds:
        raise ValueError(f"the footage lasts {footage.seconds:g} s; make it longer than warm-up plus the window")
    config = capacity_config(footage, cameras, keyframes_only, detect)
    baseline = resident_mb()
    with tempfile.TemporaryDirectory(prefix="streetorder-bench-") as out:
        store, state = EventStore(Path(out) / "events.db"), StateStore(Path(out) / "state.db")
        runner = LiveRunner(config, Path(out), lambda camera: detector, store, state, include_files=True,
                            workers=workers).start()
        stop = threading.Event()
        loop = threading.Thread(target=runner.run, args=(stop,), daemon=True)
        loop.start()
        try:
            _wait(lambda: all(c.source.status.state == "online" for c in runner.cameras), 60)
            time.sleep(warmup)
            before, lags, cpu, wall = _counts(runner), _lags(runner), time.process_time(), time.monotonic()
            latency = _latency(runner)
            time.sleep(seconds)
            after, cpu, wall = _counts(runner), time.process_time() - cpu, time.monotonic() - wall
            rss = resident_mb()
            idle = sum(1 for c in runner.cameras if c.rate_state == "idle")
            growth = max(b - a for a, b in zip(lags, _lags(runner), strict=True))
            latency = [b - a for a, b in zip(latency, _latency(runner), strict=True)]
        finally:
            stop.set()
            loop.join(30)
            store.close()
            state.close()
    analysed, dropped = after[0] - before[0], after[1] - before[1]
    # an idle camera's slots come at its idle rate: every slot scheduled was analysed or dropped
    slots = analysed + dropped if (detect or {}).get("idle_fps") else round(cameras * wall)
    return CapacityRun(cameras, slots, analysed, dropped, growth,
                       1000 * latency[0] / max(latency[1], 1), cpu / wall, wall, rss, baseline, idle)


def resident_mb() -> float:
    """This process's resident memory (RSS), MiB."""
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def find_capacity(run: Callable[[int], CapacityRun], repeats: int = 3, max_cameras: int = 64,
                  on_run: Callable[[CapacityRun], None] | None = None,
                  start: int = 1) -> tuple[int, list[list[CapacityRun]]]:
    """The largest camera count that keeps up: double from ``start`` (an estimate saves runs) until it fails,
    bisect, then confirm the boundary with ``repeats`` runs each, judged by their median (moving down, or up past a
    single unlucky run, until the count keeps up and one camera more does not). Returns it and every run, grouped
    by count."""
    tried: dict[int, list[CapacityRun]] = {}

    def ok(n: int, runs: int = 1) -> bool:
        while len(tried.setdefault(n, [])) < runs:
            tried[n].append(run(n))
            if on_run:
                on_run(tried[n][-1])
        return median_of(tried[n]).sustained

    good, n = 0, max(1, min(start, max_cameras))
    while ok(n):
        good = n
        if n == max_cameras:
            break
        n = min(2 * n, max_cameras)
    bad = None if good == max_cameras else n
    while bad is not None and bad - good > 1:
        middle = (good + bad) // 2
        good, bad = (middle, bad) if ok(middle) else (good, middle)
    while good > 0 and not ok(good, repeats):  # confirm: the median of several runs must keep up too ...
        good -= 1
    while good + 1 <= max_cameras and ok(good + 1, repeats):  # ... and of one camera more must not
        good += 1
    return good, [tried[n] for n in sorted(tried)]


def median_of(runs: list[CapacityRun]) -> CapacityRun:
    """The median run: by dropped share, then decode lag (of an even count, the better of the middle two)."""
    ordered = sorted(runs, key=lambda r: (r.dropped_share, r.decode_lag_growth, -r.analysed))
    return ordered[(len(ordered) - 1) // 2]


def _counts(runner: LiveRunner) -> tuple[int, int]:
    return sum(c.frames_analysed for c in runner.cameras), sum(c.frames_dropped for c in runner.cameras)


def _lags(runner: LiveRunner) -> list[float]:
    return [c.source.stats.stream_lag for c in runner.cameras]


def _latency(runner: LiveRunner) -> tuple[float, float]:
    """(sum of detector seconds, frames) so far, from the inference histogram."""
    total = count = 0.0
    for metric in runner.metrics.inference.collect():
        for sample in metric.samples:
            if sample.name.endswith("_sum"):
                total += sample.value
            elif sample.name.endswith("_count"):
                count += sample.value
    return total, count


def _wait(condition: Callable[[], bool], timeout: float) -> None:
    end = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > end:
            raise RuntimeError(f"the benchmark cameras did not all come online within {timeout:g} s")
        time.sleep(0.1)


def machine() -> str:
    """Cores and load, printed with every figure."""
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    return f"{os.cpu_count()} CPU cores, load average {load}"
