"""Detector scoring: COCO mAP through faster-coco-eval on a YOLO-format labelled set."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from detector.detections import Detections
from detector.load import load_detector
from evaluation.detector_table import AP_CONFIDENCE
from evaluation.score_detections import LabelError, read_labelled, score_detector, ultralytics_validator
from models.taxonomy import Taxonomy

LABELLED = Path(__file__).resolve().parents[1] / "data" / "labelled"
NAMES = {0: "person", 1: "bicycle", 2: "car"}


class Boxes:
    """A detector that answers with given boxes per image size, for scores known in advance."""

    def __init__(self, answers: dict[tuple[int, int], list[tuple[str, list[float], float]]]):
        self.answers = answers
        self.class_names = NAMES

    def detect(self, image: np.ndarray) -> Detections:
        rows = self.answers.get(image.shape[:2], [])
        names = [n for n, _, _ in rows]
        ids = [next(k for k, v in NAMES.items() if v == n) for n in names]
        return Detections.from_arrays([b for _, b, _ in rows] or np.zeros((0, 4)), [s for _, _, s in rows], ids,
                                      names, Taxonomy().categories(names))


def small_set(tmp_path) -> Path:
    """Two frames: 3 cars and a person in one, 1 car in the other."""
    (tmp_path / "images").mkdir()
    (tmp_path / "labels").mkdir()
    cv2.imwrite(str(tmp_path / "images" / "a.jpg"), np.zeros((100, 200, 3), np.uint8))
    cv2.imwrite(str(tmp_path / "images" / "b.jpg"), np.zeros((120, 200, 3), np.uint8))
    (tmp_path / "labels" / "a.txt").write_text(
        "2 0.1 0.2 0.1 0.2\n2 0.5 0.5 0.2 0.2\n2 0.8 0.5 0.2 0.4\n0 0.5 0.85 0.05 0.2\n")
    (tmp_path / "labels" / "b.txt").write_text("2 0.5 0.5 0.5 0.5\n")
    return tmp_path


def truth_boxes(folder):
    return {(item.height, item.width): [(NAMES[int(c)], b.tolist(), 0.9) for b, c in zip(item.boxes, item.class_ids,
                                                                                       strict=True)]
            for item in read_labelled(folder)}


def test_perfect_boxes_score_one(tmp_path):
    folder = small_set(tmp_path)
    score = score_detector(Boxes(truth_boxes(folder)), read_labelled(folder))
    assert score.map50 == pytest.approx(1.0) and score.map50_95 == pytest.approx(1.0)
    assert score.per_class["car"].labelled == 4 and score.per_class["person"].labelled == 1


def test_finding_half_the_cars_gives_the_coco_area_for_recall_one_half(tmp_path):
    folder = small_set(tmp_path)
    answers = truth_boxes(folder)
    answers[(100, 200)] = [a for a in answers[(100, 200)] if a[0] == "person"] + answers[(100, 200)][:1]
    answers[(120, 200)] = answers[(120, 200)]
    score = score_detector(Boxes(answers), read_labelled(folder))
    # 2 of 4 cars at precision 1: COCO's 101-point precision curve is 1 up to recall 0.50 and 0 after
    assert score.per_class["car"].ap50 == pytest.approx(51 / 101, abs=1e-6)
    assert score.per_class["person"].ap50 == pytest.approx(1.0)


def test_no_boxes_score_zero(tmp_path):
    folder = small_set(tmp_path)
    score = score_detector(Boxes({}), read_labelled(folder))
    assert score.map50 == 0.0 and score.per_class["car"].ap50 == 0.0


def test_a_bad_label_line_is_refused_naming_file_and_line(tmp_path):
    folder = small_set(tmp_path)
    (folder / "labels" / "b.txt").write_text("2 0.5 0.5 0.5 0.5\n2 0.5 oops\n")
    with pytest.raises(LabelError, match=r"b\.txt:2: expected 'class cx cy w h'"):
        read_labelled(folder)


def test_the_labelled_set_in_the_repository_reads_whole():
    labelled = read_labelled(LABELLED)
    assert len(labelled) == 12 and sum(len(i.boxes) for i in labelled) == 102
    for item in labelled:
        assert (item.boxes[:, 2] > item.boxes[:, 0]).all() and (item.boxes[:, 3] > item.boxes[:, 1]).all()
        assert (item.boxes >= -0.5).all() and (item.boxes[:, 2] <= item.width + 0.5).all()


@pytest.mark.slow
def test_backends_agree_and_match_ultralytics_own_validator(require_models):
    labelled = read_labelled(LABELLED)
    ours = score_detector(load_detector("yolo11n", "onnxruntime", confidence=AP_CONFIDENCE), labelled)
    torch = score_detector(load_detector("yolo11n", "ultralytics", confidence=AP_CONFIDENCE), labelled)
    assert ours.map50 >= 0.6 and ours.per_class["car"].ap50 >= 0.7 and ours.per_class["person"].ap50 >= 0.8
    assert abs(ours.map50 - torch.map50) <= 0.03 and abs(ours.map50_95 - torch.map50_95) <= 0.03
    validator_map50, validator_map = ultralytics_validator(require_models / "yolo11n.pt", LABELLED)
    assert abs(validator_map50 - torch.map50) <= 0.02 and abs(validator_map - torch.map50_95) <= 0.02
