"""``streetorder bench``: throughput figures on this machine, side by side in one run, the accuracy cost of every
speed setting, and docs/PERFORMANCE.md written from both (see ``evaluation.bench``, ``evaluation.bench_speed``,
``evaluation.bench_accuracy``, ``evaluation.perf_report``).

    streetorder bench                 # speed: stages, decode, inference, naive loop, live capacity, batch speed
    streetorder bench accuracy        # suite events and mAP per setting (long: one suite run per setting)
    streetorder bench doc             # docs/PERFORMANCE.md and its plot, from the saved JSON
    streetorder bench sinks           # events/s delivered per sink (local mosquitto and HTTP receiver)
"""

from __future__ import annotations

import argparse
import functools
import importlib.util
import json
import logging
import os
from dataclasses import asdict, replace
from datetime import datetime
from pathlib import Path

import av
import onnxruntime
from rich.console import Console
from rich.table import Table

from evaluation import perf_report
from evaluation.bench import (
    FPS,
    GOP_S,
    CapacityRun,
    Footage,
    capacity_config,
    capacity_run,
    find_capacity,
    machine,
    make_footage,
    median_decode,
)
from evaluation.bench_adaptive import QUIET, WARMUP_S, base_kind, quiet_batch, quiet_footage
from evaluation.bench_cluster import on_cluster, one_process, overhead_rows
from evaluation.bench_speed import (
    BY_NAME,
    DEFAULT,
    SETTINGS,
    Setting,
    batch_run,
    batch_series,
    inference_speed,
    key_frames,
    naive_fps,
    setting_detector,
    setting_model,
    stage_costs,
)
from models.registry import DEFAULT_MODEL, cache_dir
from streams.detectors import DetectorCache
from zones.schedule import parse_duration

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_CLIP = ROOT.parent / "shared" / "data" / "clips" / "pedestrian_street_1080p.mp4"
PERF = ROOT / "docs" / "perf"
DECODE_CASES = (("1080p", False), ("1080p", True), ("360p", False), ("360p", True))
PARTS = ("decode", "stages", "inference", "naive", "capacity", "batch", "cluster")
# name: (footage, key frames only, setting)
SERIES = {
    "360p-keyframes-default": ("360p", True, DEFAULT),
    "360p-keyframes-int8": ("360p", True, "int8-640"),
    "360p-keyframes-int8-480": ("360p", True, "int8-480"),
    "360p-keyframes-320": ("360p", True, "rect-320"),
    "1080p-all-int8": ("1080p", False, "int8-640"),
    "1080p-keyframes-int8": ("1080p", True, "int8-640"),
    # the adaptive rate (evaluation/bench_adaptive.py): on the busy street (its cost), on a quiet one (its gain)
    "360p-keyframes-int8-adaptive": ("360p", True, "int8-640-adaptive"),
    "360p-quiet-keyframes-int8": ("360p-quiet", True, "int8-640"),
    "360p-quiet-keyframes-int8-adaptive": ("360p-quiet", True, "int8-640-adaptive"),
}
BATCH = ((DEFAULT, False), (DEFAULT, True), ("int8-640", True), ("int8-480", True), ("rect-320", True),
         ("int8-640-adaptive", True))
BATCH_SEGMENTS = ("int8-640", True)  # the segment-worker series: this setting with 1, 2 and N segment workers
ACCURACY_SETTINGS = ("square-640", "rect-640", "int8-640", "rect-480", "int8-480", "rect-320", "skip-unchanged",
                     "adaptive", "int8-640-adaptive", "crop")


def add_parser(commands: argparse._SubParsersAction) -> None:
    p = commands.add_parser("bench", help="throughput and accuracy cost of each speed setting; docs/PERFORMANCE.md",
                            description="speed (default): measure, side by side in one run, where an analysed "
                                        "frame's time goes, decode cost, inference per setting, the naive "
                                        "YOLO().track loop, cameras sustained per source kind and setting, and batch "
                                        "speed. accuracy: the scenario suite's event scores and the labelled set's "
                                        "mAP per setting. doc: write docs/PERFORMANCE.md from the saved figures. "
                                        "sinks: events/s each sink delivers through the outbox.")
    p.add_argument("what", nargs="?", choices=("speed", "accuracy", "doc", "sinks"),
                   default="speed")
    p.add_argument("--clip", type=Path, default=DEFAULT_CLIP, help="real footage to make the benchmark video from")
    p.add_argument("--work", type=Path, help="folder for benchmark videos and INT8 models (default: the model cache)")
    p.add_argument("--repeats", type=int, default=5, help="decode runs per case (the median is reported)")
    p.add_argument("--capacity-repeats", type=int, default=3, help="runs at the capacity boundary (median)")
    p.add_argument("--window", type=parse_duration, default=20.0, help="measured seconds per capacity run")
    p.add_argument("--max-cameras", type=int, default=96)
    p.add_argument("--cluster-cameras", type=int, default=8, help="cluster: live cameras run in both places")
    p.add_argument("--only", choices=PARTS, action="append", help="only these measurements (repeatable)")
    p.add_argument("--series", choices=tuple(SERIES), action="append", help="only these capacity series")
    p.add_argument("--batch-seconds", type=parse_duration, default=300.0, help="length of the batch recording")
    p.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="detector threads (default: CPU count)")
    p.add_argument("--model", default=DEFAULT_MODEL, help=f"detector (default {DEFAULT_MODEL})")
    p.add_argument("--suite", type=Path, default=Path("out/scenarios"), help="accuracy: the rendered scenario suite")
    p.add_argument("--setting", choices=tuple(BY_NAME), action="append", help="accuracy: only these settings")
    p.add_argument("--no-suite", action="store_true", help="accuracy: the labelled set's mAP only")
    p.add_argument("--json", type=Path, help="figures file (default docs/perf/bench.json, or accuracy.json)")
    p.add_argument("--events", type=int, default=2000, help="sinks: events pushed per run (median of 3 runs)")
    p.add_argument("--doc", type=Path, default=ROOT / "docs" / "PERFORMANCE.md", help="doc: the file to write")
    p.set_defaults(run=run)


def run(args: argparse.Namespace, console: Console) -> int:
    if args.what == "doc":
        return write_doc(args, console)
    if args.what == "sinks":
        return measure_sinks(args, console)
    if not args.clip.is_file():
        console.print(f"[red]error:[/red] {args.clip}: no such clip; pass --clip with a video (the default is "
                      "../shared/data/clips/pedestrian_street_1080p.mp4)", highlight=False, soft_wrap=True)
        return 2
    return measure_accuracy(args, console) if args.what == "accuracy" else measure_speed(args, console)


def show(console: Console, title: str, table: tuple[list[str], list[list[str]]]) -> None:
    header, rows = table
    out = Table(title=title)
    for i, name in enumerate(header):
        out.add_column(name, justify="left" if i == 0 else "right")
    for row in rows:
        out.add_row(*row)
    console.print(out)


def measure_speed(args: argparse.Namespace, console: Console) -> int:
    parts = args.only or PARTS
    started = datetime.now().astimezone()
    console.print(f"streetorder bench {started:%Y-%m-%d %H:%M}: {machine()} (a shared machine's figures are noisy)",
                  highlight=False)
    work = args.work or cache_dir() / "bench"
    seconds = args.window + WARMUP_S + 30  # start-up, warm-up and window of a capacity run within the footage
    footage = make_footage(args.clip, work, seconds)
    console.print(f"footage: {args.clip.name} looped to {seconds:g} s, H.264 main profile, {FPS} fps, GOP {GOP_S} s, "
                  "no B-frames: " + ", ".join(f"{f.size[0]}x{f.size[1]} at {f.bitrate}bit/s" for f in
                                              footage.values()) +
                  f"; PyAV {av.__version__}, onnxruntime {onnxruntime.__version__}; {args.workers} detector workers",
                  highlight=False, soft_wrap=True)
    report: dict = {"started": started.isoformat(timespec="seconds"), "machine": machine(),
                    "cpu_count": os.cpu_count(), "workers": args.workers}
    calibration = {name: key_frames(f.path, 40) for name, f in footage.items()}
    if "capacity" in parts and any(SERIES[name][0].endswith(QUIET) for name in args.series or SERIES):
        footage |= quiet_footage(args.clip, work, seconds, ("360p",))
    if "decode" in parts:
        runs = [median_decode(footage[name], keyframes, args.repeats) for name, keyframes in DECODE_CASES]
        report["decode"] = [asdict(r) | {"cpu_share": r.cpu_share} for r in runs]
        show(console, f"Decode cost per live camera (one decoder thread; median of {args.repeats} runs)",
             perf_report.decode_rows(report["decode"]))
    if "stages" in parts:
        report["stages"] = stages(footage, calibration, args, work, report.get("decode"))
        show(console, "Where one analysed frame's time goes (default setting, ms, median of 20 key frames)",
             perf_report.stage_rows(report["stages"]))
    if "inference" in parts:
        report["inference"] = inference(footage, calibration, args, work)
        show(console, "Inference per setting (1080p key frames; letterbox, network and NMS)",
             perf_report.inference_rows(report["inference"], accuracy_by_setting(), args.workers))
    if "naive" in parts:
        fps = naive_fps(footage["360p"].path)
        report["naive"] = {"fps": fps, "cameras": fps / FPS}
        console.print(f"naive loop, YOLO('yolo11n.pt').track(stream=True) on every frame of the 640x360 {FPS} fps "
                      f"footage: {fps:.1f} frames/s = {fps / FPS:.2f} camera(s)", highlight=False)
    if "capacity" in parts:
        report["capacity"] = capacity(console, args, footage, calibration, work, report)
        show(console, "Cameras sustained at analysis_fps 1",
             perf_report.capacity_rows(report["capacity"], (report.get("naive") or {}).get("cameras")))
    if "cluster" in parts and (runs := cluster_overhead(console, args, footage["360p"], work)):
        report["cluster"] = runs
        show(console, "Live cameras, one process vs a 2-node local cluster on the same cores (360p key frames, "
             "analysis_fps 1)", overhead_rows(runs))
    if "batch" in parts:
        report["batch"] = batch(console, args, work)
        show(console, "Batch speed: `streetorder process` on a 1080p 25 fps recording at analysis_fps 1",
             perf_report.batch_rows(report["batch"]))
    report["finished_machine"] = machine()
    show(console, "Targets", (perf_report.TARGET_HEADER, perf_report.targets(report)))
    console.print(f"finished: {machine()}", highlight=False)
    path = args.json or PERF / "bench.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")
    console.print(f"figures: {path}", highlight=False)
    return 0


def stages(footage: dict[str, Footage], calibration, args, work: Path, decode: list[dict] | None) -> list[dict]:
    result = []
    for name in ("1080p", "360p"):
        f = footage[name]
        detector = setting_detector(BY_NAME[DEFAULT], args.model, f.size, calibration[name], work, threads=1)
        all_frames = next((1000 * d["cpu_share"] for d in decode or [] if d["footage"] == name
                           and not d["keyframes_only"]), None)
        config = capacity_config(f, 1, True)
        result.append(asdict(stage_costs(name, f.path, detector, config, decode_all_ms=all_frames)))
    return result


def inference(footage: dict[str, Footage], calibration, args, work: Path) -> list[dict]:
    images = calibration["1080p"][:12]
    runs = []
    for setting in SETTINGS:
        try:
            detector = setting_detector(setting, args.model, footage["1080p"].size, calibration["1080p"], work)
        except ImportError as exc:  # the optional OpenVINO backend is not installed
            logging.getLogger(__name__).warning("%s: %s", setting.name, exc)
            continue
        runs.append(asdict(inference_speed(setting, detector, images, args.workers)) | {"label": setting.label})
    return runs


def relabelled(runs: list[dict]) -> list[dict]:
    """Saved accuracy runs with today's label of their setting (a run saved before the defaults changed says
    "(default)" of another one)."""
    return [r | {"label": BY_NAME[r["setting"]].label} if r["setting"] in BY_NAME else r for r in runs]


def accuracy_by_setting() -> dict[str, dict]:
    path = PERF / "accuracy.json"
    return {r["setting"]: r for r in json.loads(path.read_text())} if path.is_file() else {}


def capacity(console: Console, args, footage: dict[str, Footage], calibration, work: Path, report: dict) -> list[dict]:
    logging.getLogger("streams.live_runner").setLevel(logging.WARNING)  # not every camera's online/stopped line
    summary = []
    for name in args.series or SERIES:
        kind, keyframes, setting_name = SERIES[name]
        setting = BY_NAME[setting_name]
        f = footage[kind]
        detector = setting_detector(setting, args.model, f.size, calibration[base_kind(kind)], work,
                                    threads=1 if args.workers > 1 else None)
        decoded = "key frames only" if keyframes else "all frames"
        console.print(f"cameras at analysis_fps 1, {kind} {decoded}, {setting.label} ({args.window:g} s per run):",
                      highlight=False)

        def one(n: int, f=f, keyframes=keyframes, detector=detector, setting=setting) -> CapacityRun:
            return capacity_run(f, n, keyframes, detector, args.window, workers=args.workers,
                                warmup=WARMUP_S if setting.idle_fps else 4.0,
                                detect={"idle_fps": setting.idle_fps} if setting.idle_fps else None)

        def progress(r: CapacityRun) -> None:
            console.print(f"  {r.cameras:3d} camera(s): {r.analysed}/{r.expected} analysed, {r.dropped} dropped, "
                          f"decode lag {r.decode_lag_growth:+.2f} s, CPU {r.cpu_cores:.2f} cores, "
                          f"{r.mb_per_camera:.1f} MiB per camera, {r.idle} idle -> "
                          f"{'ok' if r.sustained else 'behind'}", highlight=False)

        best, groups = find_capacity(one, args.capacity_repeats, args.max_cameras, progress,
                                     start=estimate(report, setting, kind, keyframes))
        summary.append({"series": name, "kind": kind, "source": f"{f.size[0]}x{f.size[1]}", "decoded": decoded,
                        "setting": setting.label, "sustained_cameras": best,
                        "runs": [asdict(r) | {"sustained": r.sustained} for g in groups for r in g]})
    return summary


def estimate(report: dict, setting: Setting, kind: str, keyframes: bool) -> int:
    """A first camera count to try: the cores a camera costs (inference and decoding) into 80 % of the machine. An
    adaptive setting infers as its fixed-rate twin, on the quiet street at its idle rate."""
    fixed = replace(setting, name="", label="", idle_fps=None)
    twin = next((s.name for s in BY_NAME.values() if replace(s, name="", label="") == fixed), setting.name)
    rate = next((r["fps_workers"] for r in report.get("inference", []) if r["setting"] == twin), None)
    decode = next((d["cpu_share"] for d in report.get("decode", []) if d["footage"] == base_kind(kind)
                   and d["keyframes_only"] == keyframes), 0.0)
    if not rate:
        return 1
    analysed = setting.idle_fps if setting.idle_fps and kind.endswith(QUIET) else 1.0  # frames/s per camera
    cores = os.cpu_count() or 1
    return max(1, int(0.8 * cores / (cores / rate * analysed + decode)))


def cluster_overhead(console: Console, args, footage: Footage, work: Path) -> list[dict]:
    """``--cluster-cameras`` cameras in one process (``--workers`` threads), then on a 2-node local Ray cluster."""
    if importlib.util.find_spec("ray") is None:
        console.print("cluster: Ray is not installed (the cluster extra); not measured", highlight=False)
        return []
    detectors = functools.partial(DetectorCache, model=args.model, backend=None, workers=2)  # one core each
    config = capacity_config(footage, 1, True)
    detector = detectors(config).for_camera(config.cameras[0])
    runs = [one_process(footage, args.cluster_cameras, detector, args.window, args.workers),
            on_cluster(footage, args.cluster_cameras, args.window, detectors)]
    for run in runs:
        console.print(f"  {run.where}: {run.cameras} cameras, {run.analysed} of {run.expected} slots analysed, "
                      f"{run.cpu_cores:.2f} cores, {run.cpu_ms_per_frame:.0f} CPU ms per frame", highlight=False)
    return [asdict(run) for run in runs]


def batch(console: Console, args, work: Path) -> list[dict]:
    (recording,) = make_footage(args.clip, work, args.batch_seconds, streams=("1080p",)).values()
    calibration = key_frames(recording.path, 40)
    note = functools.partial(console.print, highlight=False)
    runs = batch_series(recording, BATCH, args.model, calibration, work, args.workers, note)
    runs += quiet_batch(args, work, calibration, note)
    return runs + batch_segments(console, args, recording, calibration, work)


def batch_segments(console: Console, args, recording: Footage, calibration, work: Path) -> list[dict]:
    """Batch speed of the recording cut into segments, with 1, 2 and N (``--workers``) segment worker processes."""
    setting_name, keyframes = BATCH_SEGMENTS
    setting = BY_NAME[setting_name]
    model = setting_model(setting, args.model, recording.size, calibration, work)
    detector = setting_detector(setting, args.model, recording.size, calibration, work, threads=1)
    runs = []
    for count in sorted({1, 2, args.workers}):
        label = f"{setting.label}, {count} segment worker{'s' if count > 1 else ''}"
        result = batch_run(label, setting, recording.path, keyframes, lambda camera, d=detector: d, 1,
                           setting.detect_config(model), segment_workers=count)
        console.print(f"  {label}, {'key frames' if keyframes else 'all frames'}: {result.frames} frames of "
                      f"{result.video_s:.0f} s in {result.wall_s:.1f} s = {result.real_time:.1f}x real time",
                      highlight=False)
        runs.append(asdict(result))
    return runs


def measure_accuracy(args: argparse.Namespace, console: Console) -> int:
    from evaluation.bench_accuracy import code_digest, measure
    from evaluation.score_detections import read_labelled

    code = code_digest(ROOT)  # now: the code this process runs

    suite = None if args.no_suite else args.suite
    if suite is not None and not (suite / "suite.yaml").is_file():
        console.print(f"[red]error:[/red] {suite}/suite.yaml: no rendered suite; run `streetorder evaluate "
                      f"make-scenarios {suite}` first, or pass --no-suite", highlight=False, soft_wrap=True)
        return 2
    path = args.json or PERF / "accuracy.json"
    saved = {r["setting"]: r for r in json.loads(path.read_text())} if path.is_file() else {}
    labelled = read_labelled(ROOT / "tests" / "data" / "labelled")
    clips = sorted(args.clip.parent.glob("*.mp4"))
    work = args.work or cache_dir() / "bench"
    for name in args.setting or ACCURACY_SETTINGS:
        result = measure(BY_NAME[name], args.model, suite, labelled, clips, work, args.workers, code,
                         note=lambda text: console.print(text, highlight=False))
        previous = saved.get(name) or {}
        saved[name] = result.to_json()
        if result.events is None and previous.get("events"):  # --no-suite: keep the suite's scores
            saved[name]["events"] = previous["events"]
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(list(saved.values()), indent=1) + "\n", encoding="utf-8")  # after each setting
    show(console, "Accuracy cost of each setting", perf_report.accuracy_rows(relabelled(list(saved.values()))))
    console.print(f"figures: {path}", highlight=False)
    return 0


def measure_sinks(args: argparse.Namespace, console: Console) -> int:
    from evaluation.bench_sinks import bench_sinks, rows

    console.print(f"streetorder bench sinks: {machine()}; {args.events} events of 4 cameras per run, SQLite store, "
                  "servers on loopback", highlight=False)
    results = bench_sinks(args.events, 3, note=lambda text: console.print(text, highlight=False))
    show(console, "Sinks: events per second delivered (acknowledged), median of 3 runs", rows(results))
    return 0


def write_doc(args: argparse.Namespace, console: Console) -> int:
    speed, accuracy = PERF / "bench.json", PERF / "accuracy.json"
    if not speed.is_file():
        console.print(f"[red]error:[/red] {speed}: no figures yet; run `streetorder bench` first", highlight=False)
        return 2
    report = json.loads(speed.read_text())
    runs = relabelled(json.loads(accuracy.read_text())) if accuracy.is_file() else []
    intro, notes = (PERF / "intro.md"), (PERF / "notes.md")
    doc = perf_report.write_doc(args.doc, report, runs, intro.read_text() if intro.is_file() else "# Performance",
                                notes.read_text() if notes.is_file() else "")
    console.print(f"wrote {doc}", highlight=False)
    return 0
