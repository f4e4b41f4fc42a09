"""The speed settings `streetorder bench` compares, and the measurements beyond decode cost and live capacity
(``evaluation.bench``): where one analysed frame's time goes, inference per setting, the naive loop, batch speed.

A *setting* is what a deployment can choose per camera (``detect:`` in the config): input size, letterbox, INT8,
backend, skipping unchanged frames. ``streetorder bench accuracy`` measures the accuracy cost of the same settings.
"""

from __future__ import annotations

import hashlib
import resource
import statistics
import tempfile
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import av
import cv2
import numpy as np

from detector.detections import Detections
from detector.load import Detector, load_detector
from detector.onnx_backend import OnnxDetector, letterbox
from events.evidence import EvidenceWriter
from events.recorder import EventRecorder
from events.store import EventStore
from models.quantize import quantize_int8
from models.registry import onnx_export, rect_shape, resolve_model
from streams.batch import process_recorded
from streams.files import VideoFile, to_bgr
from streams.pipeline import CameraPipeline
from streams.segment_workers import DetectorSettings, SegmentWorkers
from zones.config import Config, parse_config
from zones.dwell import StateChange


@dataclass(frozen=True)
class Setting:
    """One way of running the detector; ``name`` is what tables and JSON call it."""

    name: str
    label: str
    imgsz: int = 640
    letterbox: str = "square"
    int8: bool = False
    backend: str = "onnxruntime"
    skip_unchanged: bool = False
    idle_fps: float | None = None  # the adaptive analysis rate (streams/rate.py)
    crop: str = "none"  # "zones": the network sees the zones' part of the frame (detector/zone_crop.py)

    def detect_config(self, model: str) -> dict:
        """The ``detect:`` block of a config that runs this setting with ``model`` (a name, or the INT8 file)."""
        block = {"model": model, "backend": self.backend, "imgsz": self.imgsz, "letterbox": self.letterbox,
                 "crop": self.crop}
        block |= {"idle_fps": self.idle_fps} if self.idle_fps else {}
        return block | ({"skip_unchanged": True} if self.skip_unchanged else {})


SETTINGS = (
    Setting("square-640", "fp32 640x640"),
    Setting("rect-640", "fp32 640 rect (default)", letterbox="rect"),
    Setting("int8-640", "INT8 640 rect", letterbox="rect", int8=True),
    Setting("rect-480", "fp32 480 rect", imgsz=480, letterbox="rect"),
    Setting("int8-480", "INT8 480 rect", imgsz=480, letterbox="rect", int8=True),
    Setting("rect-320", "fp32 320 rect", imgsz=320, letterbox="rect"),
    Setting("openvino-640", "OpenVINO fp32 640 rect", letterbox="rect", backend="openvino"),
)
SKIP_UNCHANGED = Setting("skip-unchanged", "fp32 640 rect, skip unchanged frames", letterbox="rect",
                         skip_unchanged=True)
ADAPTIVE = (Setting("adaptive", "fp32 640 rect, idle 0.2 fps", letterbox="rect", idle_fps=0.2),
            Setting("int8-640-adaptive", "INT8 640 rect, idle 0.2 fps", letterbox="rect", int8=True, idle_fps=0.2))
CROP = Setting("crop", "fp32 640 rect, zone crop", letterbox="rect", crop="zones")
BY_NAME = {s.name: s for s in (*SETTINGS, SKIP_UNCHANGED, *ADAPTIVE, CROP)}
DEFAULT = "rect-640"  # what a config without detect: options runs (zones.config_sections.DetectSettings)


def key_frames(path: Path, count: int) -> list[np.ndarray]:
    """The first ``count`` key frames of a video as BGR (calibration and timing material)."""
    images = []
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        stream.codec_context.skip_frame = "NONKEY"
        for frame in container.decode(stream):
            images.append(to_bgr(frame))
            if len(images) == count:
                break
    return images


def int8_model(model: str, shape: tuple[int, int], calibration: list[np.ndarray], work: Path) -> Path:
    """A static INT8 model of ``model`` at ``shape``, calibrated on ``calibration`` frames (cached in ``work``
    by model, shape and frames)."""
    weights = resolve_model(model)
    digest = hashlib.sha1(b"".join(image[::37, ::37].tobytes() for image in calibration)).hexdigest()[:10]
    target = work / f"{weights.stem}-int8-{shape[0]}x{shape[1]}-{digest}.onnx"
    if not target.is_file():
        work.mkdir(parents=True, exist_ok=True)
        blobs = (cv2.dnn.blobFromImage(letterbox(image, shape)[0], 1 / 255.0, swapRB=True) for image in calibration)
        quantize_int8(onnx_export(weights, shape), blobs, target)
    return target


def setting_model(setting: Setting, model: str, frame_size: tuple[int, int], calibration: list[np.ndarray],
                  work: Path) -> str:
    """What ``detect.model`` is for ``setting``: the model name, or the path of its INT8 file."""
    if not setting.int8:
        return model
    return str(int8_model(model, rect_shape(frame_size, setting.imgsz), calibration, work))


def setting_detector(setting: Setting, model: str, frame_size: tuple[int, int], calibration: list[np.ndarray],
                     work: Path, threads: int | None = 1) -> Detector:
    return load_detector(setting_model(setting, model, frame_size, calibration, work), setting.backend,
                         imgsz=setting.imgsz, threads=threads, letterbox=setting.letterbox)


# -- one analysed frame, stage by stage ----------------------------------------------------------------------


@dataclass
class StageCosts:
    """Median milliseconds per analysed frame (at ``analysis_fps`` 1) of each stage, on one footage."""

    footage: str
    ms: dict[str, float] = field(default_factory=dict)

    @property
    def total(self) -> float:
        return sum(self.ms.values())


def stage_costs(name: str, path: Path, detector: OnnxDetector, config: Config, frames: int = 20,
                decode_all_ms: float | None = None) -> StageCosts:
    """Time each stage of the pipeline on ``frames`` key frames of ``path`` (one analysed frame per second).

    ``decode_all_ms`` is the cost of decoding one second of video when every frame is decoded (from
    ``evaluation.bench.decode_cost``); key-frame decoding is timed here.
    """
    timings: dict[str, list[float]] = {}

    def lap(stage: str, start: float) -> float:
        now = time.perf_counter()
        timings.setdefault(stage, []).append(1000 * (now - start))
        return now

    camera = config.cameras[0]
    with tempfile.TemporaryDirectory() as out:
        store = EventStore(Path(out) / "events.db")
        writer = EvidenceWriter(Path(out), camera)
        pipeline = CameraPipeline(config, camera, EventRecorder(camera.id, writer, store))
        with av.open(str(path)) as container:
            stream = container.streams.video[0]
            stream.codec_context.thread_count = 1
            stream.codec_context.skip_frame = "NONKEY"
            decoded = container.decode(stream)
            for index in range(frames):
                start = time.perf_counter()
                frame = next(decoded)
                start = lap("decode (key frame)", start)
                image = to_bgr(frame)
                start = lap("colour conversion", start)
                blob, scale, pad = detector.preprocess(image)
                start = lap("resize + letterbox", start)
                output = detector.infer(blob)
                start = lap("inference", start)
                detections = detector.postprocess(output[0], image.shape, scale, pad)
                start = lap("NMS + boxes", start)
                seconds = dict.fromkeys(("track", "rules", "events"), 0.0)
                pipeline.step(_frame(image, float(index)), detections, seconds)
                timings.setdefault("tracking", []).append(1000 * seconds["track"])
                timings.setdefault("resting memory + rules", []).append(1000 * seconds["rules"])
                start = time.perf_counter()
                _evidence(writer, image, detections)
                lap("evidence photos (per event)", start)
        store.close()
    costs = StageCosts(name, {stage: statistics.median(values) for stage, values in timings.items()})
    if decode_all_ms is not None:
        costs.ms = {"decode (all frames of 1 s)": decode_all_ms, **costs.ms}
    return costs


def _frame(image: np.ndarray, t: float):
    from streams.frames import Frame

    return Frame(image, t, int(t))


def _evidence(writer: EvidenceWriter, image: np.ndarray, detections: Detections) -> None:
    """What one warn costs in photos: an annotated snapshot and a crop, JPEG-encoded (not written)."""
    box = tuple(float(v) for v in (detections.xyxy[0] if len(detections) else (10, 10, 60, 60)))
    change = StateChange("warn", "sidewalk_parking", writer.camera.zones[0].id, "1", "car", 8.0, 0.0, box, 0.9)
    writer.take(change, image, 8.0, None)


# -- inference per setting ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class InferenceRun:
    setting: str
    shape: tuple[int, int]
    ms: float  # median latency of one frame, one thread
    fps_workers: float  # frames per second with ``workers`` threads side by side


def inference_speed(setting: Setting, detector: Detector, images: list[np.ndarray], workers: int,
                    repeats: int = 3) -> InferenceRun:
    """Median single-frame latency (whole ``detect``: letterbox, network, NMS) and throughput of ``workers``
    threads sharing the detector."""
    from concurrent.futures import ThreadPoolExecutor

    detector.detect(images[0])  # the first run allocates
    latencies = []
    for image in images * repeats:
        start = time.perf_counter()
        detector.detect(image)
        latencies.append(time.perf_counter() - start)
    rates = []
    with ThreadPoolExecutor(workers) as pool:
        for _ in range(repeats):
            start = time.perf_counter()
            list(pool.map(detector.detect, images))
            rates.append(len(images) / (time.perf_counter() - start))
    shape = detector.shape_for(images[0]) if hasattr(detector, "shape_for") else (setting.imgsz, setting.imgsz)
    return InferenceRun(setting.name, tuple(shape), 1000 * statistics.median(latencies), statistics.median(rates))


# -- the naive loop ---------------------------------------------------------------------------------------------


def naive_fps(clip: Path, frames: int = 150, warmup: int = 10) -> float:
    """Frames per second of the usual open-source loop: ``YOLO("yolo11n.pt").track(source, stream=True)``, every
    frame decoded and detected (Ultralytics' defaults: PyTorch on every core, BoT-SORT)."""
    from ultralytics import YOLO

    model = YOLO(str(resolve_model("yolo11n")))
    count, start = 0, time.perf_counter()
    for _ in model.track(str(clip), stream=True, verbose=False):
        count += 1
        if count == warmup:
            start = time.perf_counter()
        if count == warmup + frames:
            break
    return (count - warmup) / (time.perf_counter() - start)


# -- batch speed ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BatchRun:
    label: str
    setting: str
    keyframes_only: bool
    frames: int
    video_s: float
    wall_s: float
    seconds: dict[str, float]
    segment_workers: int = 0  # 0: one decoder thread and ``workers`` detector threads
    cpu_s: float | None = None  # CPU seconds of the process and of its worker processes (shared machines: steadier)

    @property
    def real_time(self) -> float:
        return self.video_s / self.wall_s


def batch_config(path: Path, keyframes_only: bool, detect: dict) -> Config:
    return parse_config({"analysis_fps": 1, "detect": detect, "cameras": [{
        "id": "recording", "source": str(path), "keyframes_only": keyframes_only,
        "zones": [{"id": "walk", "type": "sidewalk", "polygon": [[0, 700], [1920, 700], [1920, 1080], [0, 1080]]}],
    }]})


def batch_run(label: str, setting: Setting, path: Path, keyframes_only: bool, detector_for: Callable,
              workers: int, detect: dict, segment_workers: int = 0) -> BatchRun:
    """``streetorder process`` on ``path`` at ``analysis_fps`` 1: how many times faster than real time; with
    ``segment_workers``, the file is cut into segments that this many processes decode and detect (their start-up,
    the model loaded in each, is timed too: a fresh ``process`` pays it)."""
    config = batch_config(path, keyframes_only, detect)
    segments = None
    if segment_workers:
        settings = DetectorSettings(detect["model"], setting.backend, imgsz=setting.imgsz, letterbox=setting.letterbox)
        segments = SegmentWorkers(segment_workers, lambda camera: settings, split_from_s=0)
    with tempfile.TemporaryDirectory() as out:
        store = EventStore(Path(out) / "events.db")
        start, cpu = time.perf_counter(), _cpu_seconds()
        try:
            (report,) = process_recorded(config, Path(out), detector_for, store, workers=workers, segments=segments)
        finally:
            if segments:
                segments.close()  # the workers are joined: their CPU time is counted
        wall, cpu = time.perf_counter() - start, _cpu_seconds() - cpu
        store.close()
    if report.error:
        raise RuntimeError(report.error)
    duration = VideoFile(path).probe().duration or report.media_seconds
    return BatchRun(label, setting.name, keyframes_only, report.frames, duration, wall, dict(report.seconds),
                    segment_workers, cpu)


def batch_series(footage, series: Iterable[tuple[str, bool]], model: str, calibration: list[np.ndarray], work: Path,
                 workers: int, note: Callable[[str], None], where: str = "") -> list[dict]:
    """``batch_run`` on ``footage`` (a 1080p ``Footage``) for each (setting name, key frames only) of ``series``,
    each run noted as it ends; ``where`` is added to the labels (", quiet street")."""
    runs = []
    for setting_name, keyframes in series:
        setting = BY_NAME[setting_name]
        weights = setting_model(setting, model, footage.size, calibration, work)
        detector = setting_detector(setting, model, footage.size, calibration, work,
                                    threads=1 if workers > 1 else None)
        result = batch_run(setting.label + where, setting, footage.path, keyframes, lambda camera, d=detector: d,
                           workers, setting.detect_config(weights))
        note(f"  {result.label}, {'key frames' if keyframes else 'all frames'}: {result.frames} frames of "
             f"{result.video_s:.0f} s in {result.wall_s:.1f} s = {result.real_time:.1f}x real time")
        runs.append(asdict(result))
    return runs


def _cpu_seconds() -> float:
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime
