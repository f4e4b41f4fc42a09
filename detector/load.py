"""Pick and build a detector backend from a model name or path."""

from __future__ import annotations

from pathlib import Path
from typing import Literal, Protocol

import numpy as np

from detector.detections import Detections
from models.registry import DEFAULT_MODEL, onnx_export, resolve_model
from models.taxonomy import Taxonomy

Backend = Literal["onnxruntime", "ultralytics"]
BACKENDS: tuple[str, ...] = ("onnxruntime", "ultralytics")


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
) -> Detector:
    """Resolve ``model`` and load it with ``backend``.

    With onnxruntime, a ``.pt`` is exported to fp32 ONNX once (cached); an ``.onnx`` is used as it is.
    """
    weights = resolve_model(model)
    if backend == "ultralytics":
        from detector.ultralytics_backend import UltralyticsDetector

        return UltralyticsDetector(weights, confidence, iou, taxonomy, imgsz)
    if backend != "onnxruntime":
        raise ValueError(f"unknown detector backend {backend!r}; use one of {', '.join(BACKENDS)}")
    if weights.is_dir():
        raise ValueError(
            f"model {weights.name} is an OpenVINO folder, which onnxruntime cannot load; "
            "use backend 'ultralytics' or a .pt/.onnx model"
        )
    if weights.suffix == ".pt":
        weights = onnx_export(weights, imgsz)
    from detector.onnx_backend import OnnxDetector

    return OnnxDetector(weights, confidence, iou, taxonomy)
