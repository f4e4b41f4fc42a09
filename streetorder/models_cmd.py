"""``streetorder models``: INT8 quantization calibrated on the deployment's footage, and input sizes per camera.

    streetorder models quantize --config cameras.yaml --out models/yolo11n-int8.onnx
    streetorder models sizes --config cameras.yaml
"""

from __future__ import annotations

import argparse
from pathlib import Path

import cv2
import numpy as np
from rich.console import Console
from rich.table import Table

from detector.boxes import box_iou
from detector.detections import Detections
from detector.load import load_detector
from detector.onnx_backend import OnnxDetector, letterbox
from models.quantize import quantize_int8
from models.registry import DEFAULT_MODEL, onnx_export, rect_shape, resolve_model
from models.sizes import CANDIDATES, MIN_SIDE_PX, object_sides, recommend_imgsz
from streams.files import sample_evenly
from zones.config import CameraConfig, Config, ConfigError, is_file_source, load_config
from zones.geometry import ZoneShape

RULE_CATEGORIES = ("vehicle", "two_wheeler", "bicycle", "stall", "stall_fixture")  # what the rules time
CHECK_CONFIDENCE = 0.5  # boxes this sure are what the INT8 model must still find


def add_parser(commands: argparse._SubParsersAction) -> None:
    p = commands.add_parser("models", help="INT8 quantization on the cameras' footage; input size per camera",
                            description="Prepare models for a deployment.")
    sub = p.add_subparsers(dest="models_command", required=True, metavar="WHAT")

    q = sub.add_parser("quantize", help="static INT8 (QDQ, per-channel) model calibrated on the cameras' footage",
                       description="Export MODEL at the cameras' letterbox shape and quantize it to static INT8 "
                                   "(QDQ, per-channel weights) with onnxruntime, calibrated on frames sampled evenly "
                                   "from the recorded footage of the config's cameras (and --source files).")
    q.add_argument("--config", type=Path, help="cameras whose recorded sources are the calibration footage")
    q.add_argument("--source", type=Path, action="append", default=[],
                   help="more footage (a video file or image folder; repeatable), e.g. a recording of a live camera")
    q.add_argument("--camera", action="append", help="only this camera id (repeatable)")
    q.add_argument("--model", default=DEFAULT_MODEL, help=f"a .pt model name or file (default {DEFAULT_MODEL})")
    q.add_argument("--imgsz", type=int, default=640, help="input size: the long side of the letterbox")
    q.add_argument("--frames", type=int, default=120, help="calibration frames in all (default 120)")
    q.add_argument("--out", type=Path, required=True, help="the INT8 .onnx file to write")
    q.set_defaults(run=run_quantize)

    s = sub.add_parser("sizes", help="recommend an input size per camera from the objects in its zones",
                       description="Detect objects at 640 on frames of each recorded camera, measure those whose "
                                   "ground point lies in a timed zone, and recommend the smallest input size (320, "
                                   f"480, 640) that keeps the small ones at >= {MIN_SIDE_PX:g} px at the network.")
    s.add_argument("--config", type=Path, required=True)
    s.add_argument("--camera", action="append", help="only this camera id (repeatable)")
    s.add_argument("--model", default=DEFAULT_MODEL)
    s.add_argument("--frames", type=int, default=30, help="frames sampled per camera (default 30)")
    s.set_defaults(run=run_sizes)


def footage(config: Config | None, cameras: list[str] | None, sources: list[Path]) -> list[tuple[str, str]]:
    """(name, path) of every recorded source to sample: the chosen file cameras, then ``sources``."""
    found = []
    for camera in config.cameras if config else []:
        if cameras and camera.id not in cameras:
            continue
        if not is_file_source(camera.source):
            raise ConfigError(f"camera {camera.id!r} is live; record a few minutes of it (ffmpeg -i URL -t 300 -c "
                              "copy cam.mp4) and pass the file with --source")
        found.append((camera.id, str(camera.source)))
    found += [(path.name, str(path)) for path in sources]
    if not found:
        raise ConfigError("no footage to sample; give --config with recorded cameras, or --source FILE")
    return found


def run_quantize(args: argparse.Namespace, console: Console) -> int:
    config = load_config(args.config) if args.config else None
    sources = footage(config, args.camera, args.source)
    weights = resolve_model(args.model)
    if weights.suffix != ".pt":
        raise ConfigError(f"--model {args.model}: quantize starts from PyTorch weights (.pt), got {weights.name}")
    first = next(sample_evenly(sources[0][1], 1))
    shape = rect_shape((first.shape[1], first.shape[0]), args.imgsz)
    fp32 = onnx_export(weights, shape)
    per_source = max(1, -(-args.frames // len(sources)))
    frames = [image for _, path in sources for image in sample_evenly(path, per_source)]
    calibration, check = frames[0::2] or frames, frames[1::2] or frames
    console.print(f"calibrating {weights.name} at {shape[1]}x{shape[0]} on {len(calibration)} frames of "
                  f"{len(sources)} source(s); checking on {len(check)} others", highlight=False)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    quantize_int8(fp32, (_blob(image, shape) for image in calibration), args.out)
    found, total = agreement(OnnxDetector(fp32), OnnxDetector(args.out), check)
    share = f"{found / total:.0%}" if total else "-"
    console.print(f"wrote {args.out}: INT8 finds {found} of the {total} boxes fp32 is sure of (score >= "
                  f"{CHECK_CONFIDENCE}; same class, IoU >= 0.5): {share}", highlight=False)
    console.print(f"use it with `detect: {{model: {args.out.resolve()}}}` (for all cameras, or per camera); measure "
                  "its accuracy with `streetorder evaluate detections --run PATH:onnxruntime`", highlight=False)
    return 0


def _blob(image: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    padded, _, _ = letterbox(image, shape)
    return cv2.dnn.blobFromImage(padded, 1 / 255.0, swapRB=True)


def agreement(reference: OnnxDetector, candidate: OnnxDetector, images: list[np.ndarray]) -> tuple[int, int]:
    """(found, total): the reference's confident boxes that the candidate also finds (same class, IoU >= 0.5)."""
    found = total = 0
    for image in images:
        sure = reference.detect(image)
        sure = sure[sure.confidence >= CHECK_CONFIDENCE]
        other = candidate.detect(image)
        total += len(sure)
        if len(sure) and len(other):
            same = sure.class_name[:, None] == other.class_name[None, :]
            found += int(((box_iou(sure.xyxy, other.xyxy) * same) >= 0.5).any(axis=1).sum())
    return found, total


def run_sizes(args: argparse.Namespace, console: Console) -> int:
    config = load_config(args.config)
    detector = load_detector(args.model, imgsz=640)
    table = Table(title=f"Input size per camera (smallest keeping the 10th-percentile object >= {MIN_SIDE_PX:g} px)")
    for column in ("camera", "frame", "objects in zones", "10th pct side px", *(f"at {c}" for c in CANDIDATES),
                   "recommended"):
        table.add_column(column, justify="left" if column == "camera" else "right")
    for camera in config.cameras:
        if (args.camera and camera.id not in args.camera) or not is_file_source(camera.source):
            continue
        sides, frame_size = zone_object_sides(camera, detector, args.frames)
        small = float(np.percentile(sides, 10)) if len(sides) else float("nan")
        best = recommend_imgsz(sides, frame_size)
        table.add_row(camera.id, f"{frame_size[0]}x{frame_size[1]}", str(len(sides)), f"{small:.0f}",
                      *(f"{small * c / max(frame_size):.0f} px" for c in CANDIDATES), str(best))
    console.print(table)
    console.print("set it per camera with `detect: {imgsz: N}`; measure the cost with `streetorder evaluate`",
                  highlight=False)
    return 0


def zone_object_sides(camera: CameraConfig, detector, frames: int) -> tuple[list[float], tuple[int, int]]:
    """Sides of the rule objects whose ground point lies in one of ``camera``'s timed zones, and the frame size."""
    zones = [ZoneShape(z) for z in camera.zones if z.type not in ("ignore", "bike_parking")]
    sides: list[float] = []
    frame_size = (0, 0)
    for image in sample_evenly(str(camera.source), frames):
        frame_size = (image.shape[1], image.shape[0])
        found: Detections = detector.detect(image)
        found = found[np.isin(found.category, RULE_CATEGORIES)]
        if not len(found) or not zones:
            continue
        inside = np.any([zone.contains_points(found.ground_points()) for zone in zones], axis=0)
        sides += object_sides(found.xyxy[inside]).tolist()
    return sides, frame_size
