"""The accuracy cost of each speed setting: the scenario suite's event scores and the COCO mAP on the labelled set,
with the setting applied exactly as a deployment would apply it (a ``detect:`` block in the config).

INT8 settings are calibrated on the footage they are scored on, as ``streetorder models quantize`` does for a
deployment: the suite's own videos for the events; the labelled frames' own clips (not the labelled frames) for
the mAP, with one INT8 model per letterbox shape those frames need.
"""

from __future__ import annotations

import hashlib
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import yaml

from detector.detections import Detections
from detector.load import load_detector
from detector.onnx_backend import OnnxDetector
from evaluation.bench_speed import Setting, int8_model
from evaluation.detector_table import AP_CONFIDENCE
from evaluation.events_io import read_events, read_truth
from evaluation.score_detections import LabelledImage, score_detector
from evaluation.score_events import score_events
from models.registry import rect_shape
from streams.batch import process_recorded
from streams.detectors import DetectorCache
from streams.files import sample_evenly
from zones.config import load_config

# the files whose changes change the events; their digest is saved with every accuracy figure
PIPELINE_FILES = ("detector/resting.py", "detector/track_history.py", "detector/appearance.py", "detector/tracking.py",
                  "zones/rules.py", "zones/dwell.py", "zones/monitor.py", "detector/onnx_backend.py",
                  "detector/change.py", "streams/files.py", "streams/overlap.py", "streams/rate.py")


def code_digest(root: Path) -> str:
    """A short digest of the pipeline's code: figures with different digests were made by different code."""
    digest = hashlib.sha1()
    for name in PIPELINE_FILES:
        path = root / name
        digest.update(path.read_bytes() if path.is_file() else b"-")
    return digest.hexdigest()[:10]


def calibration_frames(videos: list[Path], count: int = 120) -> list[np.ndarray]:
    per_video = max(1, -(-count // max(len(videos), 1)))
    return [image for video in videos for image in sample_evenly(str(video), per_video)]


def suite_config(suite: Path, setting: Setting, model: str, name: str) -> Path:
    """``suite.yaml`` with the setting's ``detect:`` block, written beside it (its sources are relative)."""
    raw = yaml.safe_load((suite / "suite.yaml").read_text())
    raw["detect"] = {**raw.get("detect", {}), **setting.detect_config(model)}
    path = suite / f"suite-{name}.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    return path


def suite_scores(suite: Path, setting: Setting, model: str, out: Path, workers: int) -> dict:
    """Process the whole suite with ``setting`` and score its events against the ground truth."""
    config = load_config(suite_config(suite, setting, model, setting.name))
    detector_for = DetectorCache(config, None, None, workers).for_camera  # as `streetorder process` loads them

    from events.store import EventStore

    out.mkdir(parents=True, exist_ok=True)
    store = EventStore(out / "events.db")
    try:
        reports = process_recorded(config, out, detector_for, store, workers=workers)
    finally:
        store.close()
    failed = [f"{r.camera_id}: {r.error}" for r in reports if r.error]
    if failed:
        raise RuntimeError("; ".join(failed))
    scores = score_events(read_truth(suite), read_events(out / "events.jsonl")).to_json()
    frames, inferred = sum(r.frames for r in reports), sum(r.inferred for r in reports)
    return scores | {"frames": frames, "inferred": inferred}


class ShapedInt8:
    """An INT8 detector for frames of any aspect: one static INT8 model per rect letterbox shape, each calibrated on
    the calibration frames of that aspect (made the first time a shape is needed)."""

    def __init__(self, model: str, imgsz: int, calibration: list[np.ndarray], work: Path, confidence: float):
        self.model, self.imgsz, self.calibration, self.work = model, imgsz, calibration, work
        self.confidence = confidence
        self._by_shape: dict[tuple[int, int], OnnxDetector] = {}

    def detect(self, image: np.ndarray) -> Detections:
        shape = rect_shape((image.shape[1], image.shape[0]), self.imgsz)
        if shape not in self._by_shape:
            # as a deployment would: calibrated on frames of this aspect (landscape frames padded into a portrait
            # input leave its activation ranges uncalibrated, and the model misses most of a portrait scene)
            alike = [f for f in self.calibration if rect_shape((f.shape[1], f.shape[0]), self.imgsz) == shape]
            path = int8_model(self.model, shape, alike or self.calibration, self.work)
            self._by_shape[shape] = OnnxDetector(path, confidence=self.confidence)
        return self._by_shape[shape].detect(image)


def detector_map(setting: Setting, model: str, labelled: list[LabelledImage], clips: list[Path],
                 work: Path) -> dict:
    """COCO mAP50 and mAP50-95 of ``setting`` on the labelled set."""
    if setting.int8:
        detector = ShapedInt8(model, setting.imgsz, calibration_frames(clips), work, AP_CONFIDENCE)
    else:
        detector = load_detector(model, setting.backend, confidence=AP_CONFIDENCE, imgsz=setting.imgsz,
                                 letterbox=setting.letterbox)
    score = score_detector(detector, labelled)
    return {"map50": score.map50, "map50_95": score.map50_95}


@dataclass
class AccuracyRun:
    setting: str
    label: str
    events: dict | None
    detections: dict | None
    code: str

    def to_json(self) -> dict:
        return {"setting": self.setting, "label": self.label, "events": self.events, "detections": self.detections,
                "code": self.code}


def measure(setting: Setting, model: str, suite: Path | None, labelled: list[LabelledImage], clips: list[Path],
            work: Path, workers: int, code: str, note: Callable[[str], None] = print) -> AccuracyRun:
    """Both accuracy figures of one setting (the suite's when ``suite`` is given); ``code`` is the ``code_digest``
    taken when the process started (the code it runs)."""
    work.mkdir(parents=True, exist_ok=True)
    detections = detector_map(setting, model, labelled, clips, work / "int8")
    note(f"{setting.name}: mAP50-95 {detections['map50_95']:.3f}")
    events = None
    if suite is not None:
        suite_model = model
        if setting.int8:
            frames = calibration_frames(sorted(suite.glob("*/video.mp4")))
            first = frames[0]
            suite_model = str(int8_model(model, rect_shape((first.shape[1], first.shape[0]), setting.imgsz), frames,
                                         work / "int8"))
        with tempfile.TemporaryDirectory(dir=work) as out:
            events = suite_scores(suite, setting, suite_model, Path(out), workers)
        note(f"{setting.name}: suite scored")
    return AccuracyRun(setting.name, setting.label, events, detections, code)
