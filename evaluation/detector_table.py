"""Compare models and backends on the labelled set: one row per (model, backend), plus Ultralytics' own validator
on the PyTorch weights as an independent check of the protocol.

Example:
    >>> rows = compare_detectors(read_labelled(Path("tests/data/labelled")))   # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from detector.load import load_detector
from evaluation.score_detections import DEFAULT_RUNS, DetectorScore, LabelledImage, score_detector
from models.registry import ModelNotFoundError, resolve_model

AP_CONFIDENCE = 0.001  # as every AP protocol: keep (almost) every box, the ranking does the rest
TABLE_CLASSES = ("person", "bicycle", "car")  # the classes with enough boxes in the set to say something


@dataclass
class DetectorRow:
    model: str
    backend: str
    score: DetectorScore | None
    note: str = ""


def compare_detectors(labelled: list[LabelledImage], runs: Iterable[tuple[str, str]] = DEFAULT_RUNS,
                      on_row: Callable[[DetectorRow], None] | None = None) -> list[DetectorRow]:
    rows = []
    for model, backend in runs:
        try:
            detector = load_detector(model, backend, confidence=AP_CONFIDENCE)
        except (ModelNotFoundError, ValueError, ImportError) as exc:
            row = DetectorRow(model, backend, None, f"not run: {exc}")
        else:
            row = DetectorRow(model, backend, score_detector(detector, labelled))
        rows.append(row)
        if on_row:
            on_row(row)
    return rows


def validator_row(model: str, labelled_folder: Path) -> DetectorRow:
    """Ultralytics' validator on ``model`` (mAP only; it uses its own letterbox and AP code)."""
    from evaluation.score_detections import ultralytics_validator

    map50, map50_95 = ultralytics_validator(resolve_model(model), labelled_folder)
    return DetectorRow(model, "Ultralytics validator", DetectorScore({}, map50, map50_95),
                       "reference: Ultralytics' own val() on the same labels")


HEADER = ["model", "backend", "mAP50", "mAP50-95", *(f"{c} AP50 / AP50-95" for c in TABLE_CLASSES)]


def detector_rows(rows: list[DetectorRow]) -> list[list[str]]:
    table = []
    for row in rows:
        if row.score is None:
            table.append([row.model, row.backend, row.note, "", *("" for _ in TABLE_CLASSES)])
            continue
        cells = []
        for name in TABLE_CLASSES:
            c = row.score.per_class.get(name)
            cells.append("-" if c is None or c.ap50 is None else f"{c.ap50:.3f} / {c.ap50_95:.3f}")
        table.append([row.model, row.backend, f"{row.score.map50:.3f}", f"{row.score.map50_95:.3f}", *cells])
    return table
