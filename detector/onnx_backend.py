"""YOLO inference with onnxruntime: the default CPU backend.

Handles the two output layouts Ultralytics exports: ``1 x (4+C) x N`` raw predictions (YOLOv8/YOLO11, needing NMS)
and ``1 x 300 x 6`` end-to-end detections (YOLO26, NMS-free).
"""

from __future__ import annotations

import ast
import os
from pathlib import Path

import cv2
import numpy as np
import onnxruntime as ort

from detector.detections import Detections
from models.registry import ModelFileError, rect_shape
from models.taxonomy import Taxonomy

PAD_VALUE = 114  # what Ultralytics pads with, so both backends see the same pixels


def letterbox(image: np.ndarray, size: tuple[int, int]) -> tuple[np.ndarray, float, tuple[int, int]]:
    """Resize keeping the aspect ratio and pad to ``size`` (height, width), centred, as Ultralytics does.

    Returns the padded image, the scale applied and the (left, top) padding.
    """
    h, w = image.shape[:2]
    target_h, target_w = size
    scale = min(target_h / h, target_w / w)
    new_w, new_h = max(round(w * scale), 1), max(round(h * scale), 1)
    if (new_w, new_h) != (w, h):
        image = cv2.resize(image, (new_w, new_h), interpolation=cv2.INTER_LINEAR)
    dw, dh = (target_w - new_w) / 2, (target_h - new_h) / 2
    top, bottom = round(dh - 0.1), round(dh + 0.1)
    left, right = round(dw - 0.1), round(dw + 0.1)
    padded = cv2.copyMakeBorder(image, top, bottom, left, right, cv2.BORDER_CONSTANT, value=(PAD_VALUE,) * 3)
    return padded, scale, (left, top)


def session_options(threads: int | None = None) -> ort.SessionOptions:
    """CPU session options: all graph optimisations, a fixed thread count, no busy-waiting between runs.

    One session may be run from several threads at once; with ``threads=1`` each run stays on its caller's
    thread, so N worker threads use N cores without the intra-op pool's hand-offs (what ``workers`` does).
    """
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.intra_op_num_threads = threads or os.cpu_count() or 1
    options.inter_op_num_threads = 1
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return options


class OnnxDetector:
    """Detect objects in BGR frames with an Ultralytics ONNX export.

    Example:
        >>> detector = OnnxDetector("yolo11n.onnx")          # doctest: +SKIP
        >>> detections = detector.detect(cv2.imread("street.jpg"))  # doctest: +SKIP
    """

    def __init__(
        self,
        path: str | Path,
        confidence: float = 0.25,
        iou: float = 0.7,
        taxonomy: Taxonomy | None = None,
        threads: int | None = None,
        max_detections: int = 300,
        imgsz: int = 640,
        letterbox: str = "square",
    ):
        self.path = Path(path)
        self.confidence = confidence
        self.iou = iou
        self.max_detections = max_detections
        self.taxonomy = taxonomy or Taxonomy()
        self.imgsz = imgsz
        self.rect = letterbox == "rect"
        input_shape, output_shape, metadata = self._load(self.path, threads)
        h, w = input_shape[2:4]
        # a fixed-shape model is fed its own shape; a dynamic one the frame's rect (or square) letterbox
        self.input_size = (h, w) if isinstance(h, int) and isinstance(w, int) else None
        self.end_to_end = len(output_shape) == 3 and output_shape[-1] == 6
        try:
            self.class_names = _class_names(metadata, output_shape)
        except (ValueError, SyntaxError) as exc:
            raise ModelFileError(f"model file {self.path}: {exc}") from None
        self._categories = self.taxonomy.categories([self.class_names[i] for i in sorted(self.class_names)])

    def _load(self, path: Path, threads: int | None) -> tuple[list, list, dict[str, str]]:
        """Open the inference session; returns the input and output shapes (free dimensions as names) and the
        model's metadata. A file onnxruntime cannot load is a ``ModelFileError`` naming it."""
        try:
            self.session = ort.InferenceSession(str(path), session_options(threads),
                                                providers=["CPUExecutionProvider"])
            self.input_name = self.session.get_inputs()[0].name
            return (self.session.get_inputs()[0].shape, self.session.get_outputs()[0].shape,
                    self.session.get_modelmeta().custom_metadata_map)
        except Exception as exc:  # onnxruntime's InvalidProtobuf, Fail, InvalidGraph, ...; a model without inputs
            raise ModelFileError.unreadable(path, exc) from None

    def shape_for(self, image: np.ndarray) -> tuple[int, int]:
        """The (height, width) the network is fed for a frame like ``image``."""
        if self.input_size is not None:
            return self.input_size
        if self.rect:
            return rect_shape((image.shape[1], image.shape[0]), self.imgsz)
        return self.imgsz, self.imgsz

    def preprocess(self, image: np.ndarray, shape: tuple[int, int] | None = None
                   ) -> tuple[np.ndarray, float, tuple[int, int]]:
        """BGR frame -> the network's 1x3xHxW float input, the scale applied and the (left, top) padding.
        ``shape`` (height, width) overrides ``shape_for`` (a dynamic-shape model only: a crop of a frame)."""
        padded, scale, pad = letterbox(image, shape or self.shape_for(image))
        return cv2.dnn.blobFromImage(padded, 1 / 255.0, swapRB=True), scale, pad

    def detect(self, image: np.ndarray, shape: tuple[int, int] | None = None) -> Detections:
        blob, scale, pad = self.preprocess(image, shape)
        return self.postprocess(self.infer(blob)[0], image.shape, scale, pad)

    def infer(self, blob: np.ndarray) -> np.ndarray:
        """The network's raw output for an input batch (safe to call from several threads at once)."""
        return self.session.run(None, {self.input_name: blob})[0]

    def postprocess(self, output: np.ndarray, image_shape: tuple[int, ...], scale: float,
                    pad: tuple[int, int]) -> Detections:
        """One image's network output -> ``Detections`` in the frame's pixels (any backend with this network)."""
        if self.end_to_end:
            xyxy, scores, class_ids = self._end_to_end(output)
        else:
            xyxy, scores, class_ids = self._raw(output)
        pad_x, pad_y = pad
        xyxy = (xyxy - np.array([pad_x, pad_y, pad_x, pad_y], dtype=np.float32)) / scale
        h, w = image_shape[:2]
        np.clip(xyxy[:, 0::2], 0, w, out=xyxy[:, 0::2])
        np.clip(xyxy[:, 1::2], 0, h, out=xyxy[:, 1::2])
        names = np.array([self.class_names.get(int(c), str(c)) for c in class_ids], dtype=object)
        return Detections.from_arrays(xyxy, scores, class_ids, names, self._category_of(class_ids))

    def _category_of(self, class_ids: np.ndarray) -> np.ndarray:
        ids = np.clip(class_ids, 0, len(self._categories) - 1)
        return self._categories[ids] if len(ids) else np.array([], dtype=object)

    def _end_to_end(self, output: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        keep = output[:, 4] >= self.confidence
        output = output[keep]
        return output[:, :4].astype(np.float32), output[:, 4], output[:, 5].astype(np.int32)

    def _raw(self, output: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        predictions = output.T  # N x (4 + C)
        class_scores = predictions[:, 4:]
        class_ids = class_scores.argmax(axis=1)
        scores = class_scores[np.arange(len(class_ids)), class_ids]
        keep = scores >= self.confidence
        boxes, scores, class_ids = predictions[keep, :4], scores[keep], class_ids[keep]
        if not len(scores):
            return np.zeros((0, 4), np.float32), scores, class_ids.astype(np.int32)
        xyxy = np.empty_like(boxes)
        xyxy[:, :2] = boxes[:, :2] - boxes[:, 2:] / 2
        xyxy[:, 2:] = boxes[:, :2] + boxes[:, 2:] / 2
        xywh = np.concatenate([xyxy[:, :2], boxes[:, 2:]], axis=1)
        kept = cv2.dnn.NMSBoxesBatched(xywh.tolist(), scores.tolist(), class_ids.tolist(), self.confidence, self.iou)
        kept = np.asarray(kept, dtype=np.int64).reshape(-1)
        kept = kept[np.argsort(-scores[kept])][: self.max_detections]
        return xyxy[kept].astype(np.float32), scores[kept], class_ids[kept].astype(np.int32)


def _class_names(metadata: dict[str, str], output_shape) -> dict[int, str]:
    names = metadata.get("names")
    if names:
        return {int(k): str(v) for k, v in ast.literal_eval(names).items()}
    if len(output_shape) == 3 and output_shape[1] == 84:
        from ultralytics.utils import YAML
        from ultralytics.utils.checks import check_yaml

        return dict(YAML.load(check_yaml("coco.yaml"))["names"])
    raise ValueError("the ONNX model carries no class names (metadata 'names'); re-export it with Ultralytics")
