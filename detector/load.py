"""Pick and build a detector backend from a model name or path."""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

import numpy as np

from contracts.names import BACKENDS, Backend
from detector.detections import Detections
from models.registry import DEFAULT_MODEL, onnx_export, resolve_model
from models.taxonomy import Taxonomy

EXPORT_SIZE = 640  # the size a dynamic export is traced at; it runs at any stride-multiple shape


class Detector(Protocol):
    """What every backend offers: BGR frame in, ``Detections`` out."""

    class_names: dict[int, str]

    def detect(self, image: np.ndarray) -> Detections: ...


def load_detector(
    model: str | Path = DEFAULT_MODEL,
    backend: Backend = "onnxruntime",
    confidence: float = 0.25,
    iou: float = 0.7,
    imgsz: int = 640,
    taxonomy: Taxonomy | None = None,
    threads: int | None = None,
    letterbox: str = "square",
) -> Detector:
    """Resolve ``model`` and load it with ``backend``.

    With onnxruntime (or OpenVINO), a ``.pt`` is exported once (cached) to an fp32 ONNX with a free input shape,
    fed each frame at ``imgsz`` on its long side: a ``rect`` letterbox (640x384 for 16:9, about 40 % less work
    than the 640x640 ``square``). An ``.onnx`` with a fixed shape (an INT8 file from ``streetorder models
    quantize``) is fed its own shape. ``threads`` is onnxruntime's intra-op thread count (default: every core;
    1 when several workers share the cores).
    """
    weights = resolve_model(model)
    if backend == "ultralytics":
        from detector.ultralytics_backend import UltralyticsDetector

        return UltralyticsDetector(weights, confidence, iou, taxonomy, imgsz)
    if backend not in BACKENDS:
        raise ValueError(f"unknown detector backend {backend!r}; use one of {', '.join(BACKENDS)}")
    if weights.is_dir():
        raise ValueError(
            f"model {weights.name} is an OpenVINO folder, which the {backend} backend cannot load; "
            "use backend 'ultralytics' or a .pt/.onnx model"
        )
    if weights.suffix == ".pt":
        weights = onnx_export(weights, EXPORT_SIZE, dynamic=True)
    if backend == "openvino":
        from detector.openvino_backend import OpenVinoDetector

        return OpenVinoDetector(weights, confidence, iou, taxonomy, threads, imgsz=imgsz, letterbox=letterbox)
    from detector.onnx_backend import OnnxDetector

    return OnnxDetector(weights, confidence, iou, taxonomy, threads, imgsz=imgsz, letterbox=letterbox)
