"""YOLO inference through Ultralytics itself: any format it loads (.pt, .onnx, OpenVINO folders)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from detector.detections import Detections
from models.taxonomy import Taxonomy


class UltralyticsDetector:
    """Detect objects in BGR frames with ``ultralytics.YOLO``.

    Example:
        >>> detector = UltralyticsDetector("yolo11n.pt")  # doctest: +SKIP
        >>> detector.detect(frame)                         # doctest: +SKIP
    """

    def __init__(
        self,
        path: str | Path,
        confidence: float = 0.25,
        iou: float = 0.7,
        taxonomy: Taxonomy | None = None,
        imgsz: int = 640,
    ):
        from ultralytics import YOLO

        self.path = Path(path)
        self.confidence = confidence
        self.iou = iou
        self.imgsz = imgsz
        self.taxonomy = taxonomy or Taxonomy()
        self.model = YOLO(str(path), task="detect")
        self.class_names = {int(k): str(v) for k, v in self.model.names.items()}

    def detect(self, image: np.ndarray) -> Detections:
        result = self.model.predict(image, conf=self.confidence, iou=self.iou, imgsz=self.imgsz, verbose=False)[0]
        boxes = result.boxes.cpu().numpy()
        class_ids = boxes.cls.astype(np.int32)
        names = [self.class_names[int(c)] for c in class_ids]
        return Detections.from_arrays(boxes.xyxy, boxes.conf, class_ids, names, self.taxonomy.categories(names))
