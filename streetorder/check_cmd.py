"""``streetorder check``: validate a config and show what would run, without running it.

Exit 0 when every camera is ready, 1 when a camera has a problem (each one sentence; the other cameras are still
checked), 2 when the config itself cannot be used (the loader's sentence, with its YAML line).
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass, field
from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from contracts.names import BACKENDS, TIMED_ZONE_TYPES
from contracts.urls import mask_credentials
from models.registry import ModelNotFoundError, resolve_model
from streams.files import open_recorded
from streams.frames import SourceError
from streams.patrol import flight_views, video_track
from zones.config import CameraConfig, Config, ConfigError, is_file_source, load_config
from zones.geometry import check_in_frame
from zones.reference import duration_text


def add_parser(commands: argparse._SubParsersAction) -> None:
    p = commands.add_parser("check", help="validate a config and show what would run",
                            description="Load and validate a config, find each camera's model, probe every file "
                                        "source's frame size, check the zones against it and print what would run. "
                                        "Exit 0: all well; 1: a camera has a problem; 2: the config is unusable.")
    p.add_argument("--config", required=True, type=Path, help="cameras and zones (YAML)")
    p.add_argument("--model", help="model name or weight file for every camera, as `process --model` would use")
    p.add_argument("--backend", choices=BACKENDS, help="inference backend for every camera, as `process --backend`")
    p.set_defaults(run=run)


@dataclass
class CameraCheck:
    """What one camera would run with, and what stands in its way."""

    camera: CameraConfig
    source_kind: str  # file | folder | live
    model: str
    backend: str
    weights: Path | None = None
    frame_size: tuple[int, int] | None = None
    duration: float | None = None
    problems: list[str] = field(default_factory=list)


def run(args: argparse.Namespace, console: Console) -> int:
    config = load_config(args.config)  # an unusable config raises ConfigError: the command line exits with 2
    checks = [check_camera(config, camera, args.model, args.backend) for camera in config.cameras]
    for check in checks:
        show(console, check)
    problems = sum(len(c.problems) for c in checks)
    ready = sum(not c.problems for c in checks)
    console.print(f"{escape(str(args.config))}: {ready} of {len(checks)} camera(s) ready"
                  + (f", {problems} problem(s)" if problems else ""), highlight=False)
    return 1 if problems else 0


def check_camera(config: Config, camera: CameraConfig, model: str | None = None,
                 backend: str | None = None) -> CameraCheck:
    """Resolve the camera's model, probe its source (files only) and check its zones against the frame."""
    check = CameraCheck(camera, _source_kind(camera.source), model or camera.detect.model,
                        backend or camera.detect.backend)
    try:
        check.weights = resolve_model(check.model)
    except ModelNotFoundError as exc:
        check.problems.append(f"camera {camera.id!r}: {exc}")
    if check.source_kind == "live":
        check.frame_size = camera.frame_size  # a live camera is not connected to here; `run` checks it
    else:
        try:
            source = open_recorded(str(camera.source), camera.analysis_fps, None, camera.keyframes_only).probe()
            check.frame_size, check.duration = source.frame_size, source.duration
        except SourceError as exc:
            check.problems.append(f"camera {camera.id!r}: {exc}")
    if check.frame_size:
        try:
            check_in_frame(camera, *check.frame_size, config_name=str(config.path or "config"))
        except ConfigError as exc:
            check.problems.append(str(exc))
    if camera.moving:
        check.problems += _moving_camera_problems(camera, check)
    return check


def _moving_camera_problems(camera: CameraConfig, check: CameraCheck) -> list[str]:
    """A moving camera's GPS track must cover its recording (and a drone's put it above the ground; moving cameras
    are recordings, not live)."""
    if check.source_kind == "live":
        return [f"camera {camera.id!r}: a {camera.kind} camera is read from its recording by `streetorder process`; "
                "live moving cameras are not supported yet"]
    if check.duration is None:
        return []
    try:
        track = video_track(camera, check.duration, camera.start_time)
        flight_views(camera, track, check.frame_size or (1920, 1080), check.duration)  # a drone's heights
    except ConfigError as exc:
        return [str(exc)]
    return []


def show(console: Console, check: CameraCheck) -> None:
    camera = check.camera
    if check.frame_size:
        size = f"{check.frame_size[0]}x{check.frame_size[1]}"
    else:
        size = "not probed: `streetorder run` connects to it" if check.source_kind == "live" else "frame size unknown"
    length = f", {check.duration:.1f} s" if check.duration else ""
    console.print(f"[bold]{escape(camera.id)}[/bold] ({camera.kind}): {check.source_kind} "
                  f"{escape(mask_credentials(camera.source))} ({size}{length})", highlight=False)
    weights = escape(str(check.weights)) if check.weights else "not found"
    console.print(f"  analysis {camera.analysis_fps:g} fps; model {escape(check.model)} ({weights}) on "
                  f"{check.backend}, imgsz {camera.detect.imgsz}", highlight=False)
    if camera.zones:
        table = Table(box=None, padding=(0, 2), pad_edge=False)
        for column in ("  zone", "type", "warn_after", "clear_after"):
            table.add_column(column)
        for zone in camera.zones:
            timed = zone.type in TIMED_ZONE_TYPES
            table.add_row(f"  {zone.id}", zone.type, duration_text(zone.dwell.warn_after) if timed else "-",
                          duration_text(zone.dwell.clear_after) if timed else "-")
        console.print(table)
    else:
        console.print("  no zones: nothing to watch")
    for problem in check.problems:
        console.print(f"  [red]problem:[/red] {escape(mask_credentials(problem))}", highlight=False, soft_wrap=True)
    if not check.problems:
        console.print("  [green]ready[/green]")


def _source_kind(source: str | int) -> str:
    if not is_file_source(source):
        return "live"
    return "folder" if Path(source).is_dir() else "file"
