"""``streetorder process``: batch-analyse every recorded source of a config."""

from __future__ import annotations

import argparse
import os
import tempfile
from collections import Counter
from datetime import datetime
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from contracts.disk import disk_problem
from contracts.errors import UserError
from contracts.names import BACKENDS, EVENT_TYPES, RULES
from events.sender import stop_senders
from events.store import EventStore
from streams.batch import CameraReport, process_recorded
from streams.detectors import DetectorCache
from streams.pipeline import STAGES
from streams.segment_workers import SEGMENTS_FROM_WORKERS, SPLIT_FROM_S, SegmentWorkers
from streetorder.cluster_cmd import add_cluster_arguments, process_cluster
from streetorder.sinks_cmd import drain, open_senders
from zones.config import CameraConfig, Config, is_file_source, load_config


def add_parser(commands: argparse._SubParsersAction) -> None:
    p = commands.add_parser("process", help="analyse recorded video (every file or image-folder camera)",
                            description="Analyse every file or image-folder camera of a config and write "
                                        "OUT/events.jsonl, OUT/events.db and evidence photos.")
    p.add_argument("--config", required=True, type=Path, help="cameras and zones (YAML)")
    p.add_argument("--out", required=True, type=Path, help="output folder")
    p.add_argument("--model", help="model name (yolo11n, yolov8n, ...) or weight file; default: config or yolo11n")
    p.add_argument("--backend", choices=BACKENDS, help="inference backend (default: onnxruntime)")
    p.add_argument("--start-time", type=datetime.fromisoformat,
                   help="wall-clock time at the start of the files (ISO 8601), fills `ts` and enables schedules")
    p.add_argument("--camera", action="append", help="only this camera id (repeatable)")
    p.add_argument("--annotate", action="store_true", help="also write OUT/annotated/<camera>.mp4")
    p.add_argument("--store", help="SQLite file or postgresql:// URL for events (default: config `store:` or "
                                   "OUT/events.db)")
    p.add_argument("--sink-wait", type=float, default=30.0, metavar="SECONDS",
                   help="at the end, wait this long for the sinks to get every event (default 30; what is left is "
                        "sent by the next run or `streetorder sinks send`)")
    p.add_argument("--workers", type=worker_count, default=default_workers(),
                   help=f"workers side by side, one core each (default: the CPU count). From "
                        f"{SEGMENTS_FROM_WORKERS} workers on, a fixed camera's video file of {SPLIT_FROM_S:g} s or "
                        "more is cut into segments that this many processes decode and detect, one decoder each; "
                        "otherwise (fewer workers, shorter files, image folders, moving cameras) one decoder thread "
                        "feeds this many detector threads. Either way the events are the same")
    add_cluster_arguments(p)
    p.set_defaults(run=run)


MAX_WORKERS = 256  # more threads than this is a typo, not a machine


def default_workers() -> int:
    return os.cpu_count() or 1


def worker_count(text: str) -> int:
    """``--workers``: a whole number from 1 to ``MAX_WORKERS`` (argparse prints the sentence and exits 2)."""
    try:
        workers = int(text)
    except ValueError:
        workers = 0
    if not 1 <= workers <= MAX_WORKERS:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of threads; give a whole number from 1 to "
                                         f"{MAX_WORKERS} (about one per CPU core: this machine has "
                                         f"{default_workers()})")
    return workers


class OutputError(UserError):
    """An output folder that cannot be made or written."""


def output_folder(out: Path) -> Path:
    """``out``, created if need be and written to once (a byte, removed), or an ``OutputError`` saying why not:
    a read-only place, a full disk, a file where the folder should be."""
    if out.exists() and not out.is_dir():
        raise OutputError(f"{out} is a file, not a folder; give --out a folder (new or existing)")
    try:
        out.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=out, buffering=0) as probe:
            probe.write(b"\n")
            os.fsync(probe.fileno())  # a full disk fails here, not after an hour of video
    except OSError as exc:
        raise OutputError(f"output folder {out}: {disk_problem(exc, out)}") from None
    return out


def run(args: argparse.Namespace, console: Console) -> int:
    config = load_config(args.config)
    output_folder(args.out)
    store = EventStore(args.store or config.store or args.out / "events.db", sinks=config.sinks)
    chosen = [c.id for c in config.cameras if is_file_source(c.source) and (not args.camera or c.id in args.camera)]
    workers = getattr(args, "workers", None) or default_workers()
    detectors = DetectorCache(config, args.model, args.backend, workers)
    detectors.for_camera(config.cameras[0])  # a missing model fails here, once, before any camera starts
    senders = open_senders(config, store, chosen)  # they poll the outbox: nothing to hook into the batch

    if getattr(args, "cluster", None):
        reports = process_cluster(args, config, store.path)
    else:
        reports = _process_here(args, config, store, detectors, workers, console)
    try:
        drain(console, senders, getattr(args, "sink_wait", 30.0))
    finally:
        stop_senders(senders)
        store.close()
    print_summary(console, reports, args.out)
    return 1 if any(r.error for r in reports) else 0


def _process_here(args: argparse.Namespace, config: Config, store: EventStore, detectors: DetectorCache,
                  workers: int, console: Console) -> list[CameraReport]:
    """The recordings in this process, with a progress bar per camera."""
    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TextColumn("{task.fields[frames]} frames"),
        TextColumn("{task.fields[fps]:.1f} fps"),
        TimeRemainingColumn(),
        console=console,
    ) as progress:
        tasks: dict[str, int] = {}

        def on_start(camera: CameraConfig, duration: float | None) -> None:
            tasks[camera.id] = progress.add_task(camera.id, total=duration, frames=0, fps=0.0)

        def on_frame(camera: CameraConfig, frame) -> None:
            task = progress.tasks[tasks[camera.id]]
            frames = task.fields["frames"] + 1
            elapsed = task.elapsed or 1e-9
            progress.update(tasks[camera.id], completed=frame.t, frames=frames, fps=frames / elapsed)

        segments = SegmentWorkers.for_process(workers, detectors.settings_for)
        try:
            reports = process_recorded(config, args.out, detectors.for_camera, store, origin=args.start_time,
                                       annotate=args.annotate, cameras=args.camera, on_start=on_start,
                                       on_frame=on_frame, workers=workers, segments=segments)
        finally:
            if segments:
                segments.close()
    return reports


def print_summary(console: Console, reports: list[CameraReport], out: Path) -> None:
    table = Table(title="Events", show_lines=False)
    table.add_column("camera")
    table.add_column("frames", justify="right")
    table.add_column("video", justify="right")
    for rule in RULES:
        table.add_column(rule.replace("_", " "), justify="right")
    for report in reports:
        counts = Counter((e.rule, e.type) for e in report.events)
        cells = []
        for rule in RULES:
            parts = [f"{counts[rule, kind]} {kind}" for kind in EVENT_TYPES if counts[rule, kind]]
            cells.append(", ".join(parts) or "-")
        table.add_row(report.camera_id, str(report.frames), f"{report.media_seconds:.1f} s", *cells)
    console.print(table)

    timing = Table(title="Frames per second by stage (analysed frames)")
    timing.add_column("camera")
    for stage in STAGES:
        timing.add_column(stage, justify="right")
    timing.add_column("overall", justify="right")
    timing.add_column("x real time", justify="right")
    for report in reports:
        if not report.frames:
            continue
        total = sum(report.seconds.values())
        cells = [f"{report.frames / s:.0f}" if s > 0 else "-" for s in report.seconds.values()]
        speed = report.media_seconds / total if total else 0
        timing.add_row(report.camera_id, *cells, f"{report.frames / total:.1f}", f"{speed:.1f}")
    console.print(timing)

    skipped = [f"{r.camera_id} {r.frames - r.inferred} of {r.frames}" for r in reports if r.inferred < r.frames]
    if skipped:
        console.print("Unchanged frames that reused the last detections (skip_unchanged): " + ", ".join(skipped),
                      highlight=False)
    known = sum(r.already_known for r in reports)
    if known:
        console.print(f"{known} event(s) were already in the store from an earlier run and were not written again.")
    for report in reports:
        if report.error:
            console.print(f"[red]{report.camera_id}: {report.error}[/red]", soft_wrap=True, highlight=False)
    console.print(f"Events: {out / 'events.jsonl'}   evidence: {out / 'evidence'}")
