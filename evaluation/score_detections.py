"""Detector accuracy on a YOLO-format labelled set: COCO mAP50 and mAP50-95 per class, computed by faster-coco-eval
(the COCO protocol, not our own AP), for any model and backend the pipeline can run.

Each backend is run exactly as the pipeline runs it (``detector.load.load_detector``), at confidence 0.001 as
usual for AP; its boxes become COCO results, the labels COCO ground truth.

Example:
    >>> labelled = read_labelled(Path("tests/data/labelled"))          # doctest: +SKIP
    >>> score = score_detector(load_detector("yolo11n"), labelled)      # doctest: +SKIP
    >>> score.per_class["car"].ap50                                     # doctest: +SKIP
    0.83
"""

from __future__ import annotations

import contextlib
import io
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from faster_coco_eval import COCO, COCOeval_faster

from contracts.errors import UserError
from detector.load import Detector

# The classes the set is labelled with (COCO ids as Ultralytics numbers them); nothing else is scored.
LABELLED_CLASSES = {0: "person", 1: "bicycle", 2: "car", 3: "motorcycle", 5: "bus", 7: "truck"}
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png")

# (model, backend) pairs compared by default: the default pipeline, its PyTorch original, the INT8 files.
DEFAULT_RUNS = (
    ("yolo11n", "onnxruntime"),
    ("yolo11n", "ultralytics"),
    ("yolo11n_int8.onnx", "onnxruntime"),
    ("yolov8n_int8.onnx", "onnxruntime"),
    ("yolo26n_int8.onnx", "onnxruntime"),
    ("yolo11n_int8_320.onnx", "onnxruntime"),
)


class LabelError(UserError, ValueError):
    """A labelled set that cannot be read; the message names the file and line."""


@dataclass(frozen=True)
class LabelledImage:
    path: Path
    width: int
    height: int
    boxes: np.ndarray  # (N, 4) xyxy pixels
    class_ids: np.ndarray  # (N,) COCO ids


def read_labelled(folder: Path) -> list[LabelledImage]:
    """``folder/images/*.jpg`` with ``folder/labels/<stem>.txt`` (YOLO format); an image without a label file has
    no objects."""
    images = sorted(p for p in (folder / "images").glob("*") if p.suffix.lower() in IMAGE_SUFFIXES)
    if not images:
        raise LabelError(f"{folder}/images: no images; a labelled set is images/*.jpg with labels/*.txt beside it")
    return [_labelled(path, folder / "labels" / f"{path.stem}.txt") for path in images]


def _labelled(path: Path, label_file: Path) -> LabelledImage:
    image = cv2.imread(str(path))
    if image is None:
        raise LabelError(f"{path}: not a readable image")
    h, w = image.shape[:2]
    boxes, ids = [], []
    lines = label_file.read_text(encoding="utf-8").splitlines() if label_file.is_file() else []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        parts = line.split()
        try:
            class_id, cx, cy, bw, bh = int(parts[0]), *(float(v) for v in parts[1:5])
        except (ValueError, IndexError):
            raise LabelError(f"{label_file}:{number}: expected 'class cx cy w h' (YOLO format, shares of the "
                             f"frame), got {line.strip()!r}") from None
        if class_id not in LABELLED_CLASSES or len(parts) != 5:
            raise LabelError(f"{label_file}:{number}: class {class_id} is not one of the labelled classes "
                             f"{LABELLED_CLASSES}")
        boxes.append([(cx - bw / 2) * w, (cy - bh / 2) * h, (cx + bw / 2) * w, (cy + bh / 2) * h])
        ids.append(class_id)
    return LabelledImage(path, w, h, np.asarray(boxes, np.float32).reshape(-1, 4), np.asarray(ids, np.int64))


@dataclass(frozen=True)
class ClassScore:
    ap50: float | None
    ap50_95: float | None
    labelled: int


@dataclass
class DetectorScore:
    per_class: dict[str, ClassScore]
    map50: float
    map50_95: float


def score_detector(detector: Detector, labelled: list[LabelledImage]) -> DetectorScore:
    """COCO mAP of ``detector`` on ``labelled`` (run with the detector's own confidence; use 0.001 for AP)."""
    truth = coco_truth(labelled)
    results = []
    for image_id, item in enumerate(labelled, start=1):
        found = detector.detect(cv2.imread(str(item.path)))
        names = {v: k for k, v in LABELLED_CLASSES.items()}
        for box, name, score in zip(found.xyxy, found.class_name, found.confidence, strict=True):
            if name in names:
                x1, y1, x2, y2 = (float(v) for v in box)
                results.append({"image_id": image_id, "category_id": names[name], "score": float(score),
                                "bbox": [x1, y1, x2 - x1, y2 - y1]})
    return _evaluate(truth, results, labelled)


def coco_truth(labelled: list[LabelledImage]) -> dict:
    images, annotations = [], []
    for image_id, item in enumerate(labelled, start=1):
        images.append({"id": image_id, "file_name": item.path.name, "width": item.width, "height": item.height})
        for box, class_id in zip(item.boxes, item.class_ids, strict=True):
            x1, y1, x2, y2 = (float(v) for v in box)
            annotations.append({"id": len(annotations) + 1, "image_id": image_id, "category_id": int(class_id),
                                "bbox": [x1, y1, x2 - x1, y2 - y1], "area": (x2 - x1) * (y2 - y1), "iscrowd": 0})
    present = sorted({a["category_id"] for a in annotations})
    categories = [{"id": c, "name": LABELLED_CLASSES[c]} for c in present]
    return {"images": images, "annotations": annotations, "categories": categories}


def _evaluate(truth: dict, results: list[dict], labelled: list[LabelledImage]) -> DetectorScore:
    counts = {c["name"]: sum(1 for a in truth["annotations"] if a["category_id"] == c["id"])
              for c in truth["categories"]}
    if not results:
        return DetectorScore({n: ClassScore(0.0, 0.0, k) for n, k in counts.items()}, 0.0, 0.0)
    with contextlib.redirect_stdout(io.StringIO()):  # the library prints (and logs) its summary table
        coco_truth_set = COCO(truth, print_function=_quiet)
        evaluation = COCOeval_faster(coco_truth_set, coco_truth_set.loadRes(results), "bbox",
                                     print_function=_quiet)
        evaluation.evaluate()
        evaluation.accumulate()
        evaluation.summarize()
        metrics = evaluation.extended_metrics
    per_class = {}
    for row in metrics["class_map"]:
        if row["class"] in counts:
            per_class[row["class"]] = ClassScore(row["map@50"], row["map@50:95"], counts[row["class"]])
    for name, count in counts.items():
        per_class.setdefault(name, ClassScore(None, None, count))
    stats = evaluation.stats_as_dict
    return DetectorScore(per_class, float(stats["AP_50"]), float(stats["AP_all"]))


def _quiet(*_args, **_kwargs) -> None:
    pass


def ultralytics_validator(weights: Path, labelled_folder: Path, imgsz: int = 640) -> tuple[float, float]:
    """(mAP50, mAP50-95) of ``weights`` from Ultralytics' own validator on a copy of the labelled set: a second,
    independent implementation of the same protocol, to check ours against."""
    import shutil
    import tempfile

    import yaml
    from ultralytics import YOLO
    from ultralytics.utils import YAML
    from ultralytics.utils.checks import check_yaml

    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / "set"
        shutil.copytree(labelled_folder / "images", copy / "images")
        shutil.copytree(labelled_folder / "labels", copy / "labels")
        data = Path(tmp) / "data.yaml"
        names = YAML.load(check_yaml("coco.yaml"))["names"]
        data.write_text(yaml.safe_dump({"path": str(copy), "train": "images", "val": "images", "names": names}))
        # square letterbox (rect=False), as our backends see the frames
        result = YOLO(str(weights)).val(data=str(data), imgsz=imgsz, batch=1, conf=0.001, iou=0.7, rect=False,
                                        plots=False, verbose=False, project=str(Path(tmp) / "runs"), name="val")
    return float(result.box.map50), float(result.box.map)
