"""Where the CPU time goes, by stage, from a sampling profiler (py-spy, every thread, idle time left out).

    .venv/bin/pip install py-spy
    STREETORDER_MODEL_PATH=../shared/models .venv/bin/python scripts/profile_stages.py [--seconds 60]

Profiles three workloads on `streetorder bench`'s footage (made if missing): `streetorder process` on the 1080p
recording at analysis_fps 1 with the default settings, the same with key frames only and INT8, and the live loop
with 12 cameras of 640x360 sub-streams (key frames only, INT8). Prints each stage's share of the samples of Python
threads at work (the script's own start and waiting threads left out; FFmpeg's own decoder threads are not Python
threads, so multi-threaded decoding is under-counted). docs/PERFORMANCE.md's stage table is timed by
`streetorder bench`.
"""

from __future__ import annotations

import argparse
import collections
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# stage: substrings of a stack's frames, checked from the innermost frame outwards (the first hit wins)
STAGES = [
    ("inference", ("InferenceSession.run", "OnnxDetector.infer", "infer (")),
    ("NMS + boxes", ("NMSBoxes", "_raw (", "postprocess (")),
    ("resize + letterbox", ("letterbox", "blobFromImage", "OnnxDetector.preprocess")),
    ("colour conversion", ("to_bgr", "to_ndarray", "cvtColor", "reformat")),
    ("decode", ("Packet.decode", "decode (av", "demux", "VideoFile.__iter__", "LiveSource._read")),
    ("change gate", ("ChangeGate",)),
    ("tracking", ("Tracker.update", "BYTETracker")),
    ("resting memory + rules", ("RestingMemory", "ZoneMonitor", "RuleBook", "ZoneTimers")),
    ("evidence + store", ("EvidenceWriter", "EventRecorder", "EventStore", "imencode")),
    ("live loop bookkeeping", ("LiveRunner", "save (", "capture (")),
]

# not the workload: the profiled script's start (imports, footage, models, calibration) and threads waiting
SETUP = ("_find_and_load", "key_frames", "make_footage", "setting_detector", "setting_model", "load_detector")
IDLE = ("_worker", "Condition.wait", "Queue.get", "Event.wait", "Thread.join", "sleep", "wait (")

WORKLOADS = {
    "process, 1080p, default (all frames, fp32 640x640)": "process-default",
    "process, 1080p, key frames only, INT8 640 rect": "process-fast",
    "live loop, 12 x 640x360 sub-streams, key frames only, INT8 640 rect": "live",
}


def workload(kind: str, seconds: float) -> None:
    """Run one workload in this process (py-spy samples it)."""
    sys.path.insert(0, str(ROOT))
    from evaluation.bench import capacity_run, make_footage
    from evaluation.bench_speed import BY_NAME, DEFAULT, batch_run, key_frames, setting_detector, setting_model
    from models.registry import cache_dir

    clip = ROOT.parent / "shared" / "data" / "clips" / "pedestrian_street_1080p.mp4"
    work = cache_dir() / "bench"
    footage = make_footage(clip, work, seconds)
    if kind == "live":
        f = footage["360p"]
        detector = setting_detector(BY_NAME["int8-640"], "yolo11n", f.size, key_frames(f.path, 40), work)
        capacity_run(f, 12, True, detector, seconds=seconds - 35, workers=2)
        return
    f = footage["1080p"]
    setting = BY_NAME[DEFAULT if kind == "process-default" else "int8-640"]
    calibration = key_frames(f.path, 40)
    detector = setting_detector(setting, "yolo11n", f.size, calibration, work)
    model = setting_model(setting, "yolo11n", f.size, calibration, work)
    batch_run(setting.label, setting, f.path, kind != "process-default", lambda camera: detector, 2,
              setting.detect_config(model))


def shares(raw: Path) -> dict[str, float]:
    counts: collections.Counter = collections.Counter()
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        frames = stack.split(";")[::-1]
        if not frames or any(k in f for f in frames for k in SETUP) or frames[0].startswith(IDLE):
            continue
        stage = next((name for frame in frames for name, keys in STAGES if any(k in frame for k in keys)), "other")
        counts[stage] += int(count)
    total = sum(counts.values()) or 1
    return {stage: counts[stage] / total for stage in [*(s for s, _ in STAGES), "other"] if counts[stage]}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0, help="length of the footage (live: minus 35 s)")
    parser.add_argument("--workload", choices=tuple(WORKLOADS.values()), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.workload:
        workload(args.workload, args.seconds)
        return 0
    spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    for title, kind in WORKLOADS.items():
        with tempfile.TemporaryDirectory() as tmp:
            raw = Path(tmp) / "profile.txt"
            subprocess.run([spy, "record", "--format", "raw", "--rate", "50", "--output", str(raw), "--subprocesses",
                            "--", sys.executable, __file__, "--workload", kind, "--seconds", str(args.seconds)],
                           check=True, capture_output=True)
            print(f"{title}:")
            for stage, share in shares(raw).items():
                print(f"  {stage:26} {100 * share:5.1f} %")
    return 0


if __name__ == "__main__":
    sys.exit(main())
