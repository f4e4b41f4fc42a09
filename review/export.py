"""The reviewers' work as a labelled YOLO dataset, so a better detector can be trained from it.

- *Positives*: alarms (warn, escalate) whose reviewers confirmed them; the image is the event's evidence crop (the
  clean frame around the object, 20% margin), labelled with the object's class and box.
- *Hard negatives*: alarms rejected as ``wrong_object``; the same crop with an empty label file (YOLO's background
  image: "nothing of our classes here").

Why crops and not whole frames: a reviewer judged one object, not the frame. A whole frame with one box would teach
the detector that every other car in it is background; the crop keeps the label honest. The full-frame
snapshots also carry drawn zones and boxes, which must never reach a training set.

Layout (``yolo train data=/abs/path/data.yaml`` reads it as it is)::

    data.yaml  images/{train,val}/*.jpg  labels/{train,val}/*.txt  manifest.csv
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from PIL import Image

from contracts.boxes import CROP_MARGIN, crop_window
from contracts.paths import under
from review.db import Database
from review.evidence import EvidenceRefused, read_evidence

MIN_CROP_SIDE = 4  # pixels: a smaller crop cannot teach a detector anything
VAL_SHARE = 5  # one object in five goes to the validation split
MANIFEST_FIELDS = ("image", "split", "label", "event_id", "camera_id", "zone_id", "rule", "class", "score",
                   "reviewers")
PLATE_FIELDS = ("plate", "plate_image")  # only with ``with_plates``: plates are personal data (docs/PLATES.md)


@dataclass
class ExportSummary:
    positives: int = 0
    hard_negatives: int = 0
    missing: list[str] = field(default_factory=list)  # event ids whose crop is missing, unreadable or a speck
    names: list[str] = field(default_factory=list)

    def sentence(self) -> str:
        text = f"{self.positives} positive(s), {self.hard_negatives} hard negative(s)"
        if self.missing:
            text += (f"; {len(self.missing)} event(s) skipped because their crop is missing or too small, "
                     f"e.g. {self.missing[0]}")
        return text


@dataclass(frozen=True)
class _Sample:
    event_id: str
    camera_id: str
    zone_id: str
    object_id: str
    rule: str
    class_name: str
    score: float
    bbox: tuple[float, float, float, float]
    crop: str | None
    evidence_root: str | None
    positive: bool
    reviewers: int
    plate: str | None = None  # a reviewer's correction, else the camera's read
    plate_crop: str | None = None


def yolo_label(bbox: tuple[float, float, float, float], crop_size: tuple[int, int], class_index: int,
               margin: float = CROP_MARGIN) -> str:
    """The YOLO line of the object's box inside its evidence crop (cut where ``contracts.boxes.crop_window`` says).

    >>> yolo_label((100, 50, 200, 100), (140, 70), 0)
    '0 0.500000 0.500000 0.714286 0.714286'
    """
    x1, y1, x2, y2 = bbox
    left, top, _, _ = crop_window(bbox, margin=margin)
    width, height = crop_size
    bx1, by1 = max(0.0, x1 - left), max(0.0, y1 - top)
    bx2, by2 = min(float(width), x2 - left), min(float(height), y2 - top)
    cx, cy = (bx1 + bx2) / 2 / width, (by1 + by2) / 2 / height
    return f"{class_index} {cx:.6f} {cy:.6f} {(bx2 - bx1) / width:.6f} {(by2 - by1) / height:.6f}"


class DatasetExport:
    """Collect the samples once, then write them as ``(name, bytes)`` files to a folder or a zip stream.

    Example:
        >>> export = DatasetExport(Database(":memory:"))
        >>> [name for name, _ in export.files()]
        ['data.yaml', 'manifest.csv']
        >>> export.summary.sentence()
        '0 positive(s), 0 hard negative(s)'
    """

    def __init__(self, db: Database, with_plates: bool = False):
        self.samples = _samples(db)
        self.with_plates = with_plates  # else neither plate text nor plate crops are written
        self.summary = ExportSummary(names=sorted({s.class_name for s in self.samples if s.positive}))

    def files(self) -> Iterator[tuple[str, bytes]]:
        index = {name: i for i, name in enumerate(self.summary.names)}
        manifest = io.StringIO()
        writer = csv.DictWriter(manifest, MANIFEST_FIELDS + (PLATE_FIELDS if self.with_plates else ()),
                                lineterminator="\n")
        writer.writeheader()
        splits: set[str] = set()
        for sample in self.samples:
            photo = _read_crop(sample)
            if photo is None:
                self.summary.missing.append(sample.event_id)
                continue
            data, size = photo
            split = _split(sample)
            splits.add(split)
            stem = sample.event_id.replace("/", "__")
            label = yolo_label(sample.bbox, size, index[sample.class_name]) + "\n" if sample.positive else ""
            yield f"images/{split}/{stem}.jpg", data
            yield f"labels/{split}/{stem}.txt", label.encode()
            plate = _read_plate(sample, f"plates/{split}/{stem}.jpg") if self.with_plates else {}
            if plate.get("plate_image"):
                yield plate["plate_image"], plate.pop("data")
            if sample.positive:
                self.summary.positives += 1
            else:
                self.summary.hard_negatives += 1
            writer.writerow({"image": f"images/{split}/{stem}.jpg", "split": split,
                             "label": "positive" if sample.positive else "hard_negative",
                             "event_id": sample.event_id, "camera_id": sample.camera_id, "zone_id": sample.zone_id,
                             "rule": sample.rule, "class": sample.class_name, "score": sample.score,
                             "reviewers": sample.reviewers, **plate})
        yield "data.yaml", _data_yaml(self.summary, has_val="val" in splits).encode()
        yield "manifest.csv", manifest.getvalue().encode()

    def write_folder(self, folder: str | Path) -> ExportSummary:
        folder = Path(folder)
        for name, data in self.files():
            target = under(folder, name)  # names hold event ids: none may lead out of the folder
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
        return self.summary

    def zip_stream(self, chunk: int = 1 << 20) -> Iterator[bytes]:
        """The dataset as a zip file, produced in pieces of about ``chunk`` bytes (never whole in memory)."""
        pipe = _Pipe()
        with zipfile.ZipFile(pipe, "w", compression=zipfile.ZIP_STORED) as archive:
            for name, data in self.files():
                archive.writestr(name, data)
                if pipe.size >= chunk:
                    yield pipe.take()
        yield pipe.take()


_CHOSEN = ("s.type IN ('warn', 'escalate') "
           "AND (s.status = 'confirmed' OR (s.status = 'rejected' AND s.reason = 'wrong_object'))")


def export_counts(db: Database) -> tuple[int, int]:
    """(positives, hard negatives) an export would hold, before checking that their crops exist."""
    db.sync_cases()
    counts = dict(db.execute(f"SELECT s.status, count(*) FROM review_cases s WHERE {_CHOSEN} "
                             "GROUP BY s.status").fetchall())
    return counts.get("confirmed", 0), counts.get("rejected", 0)


def _samples(db: Database) -> list[_Sample]:
    db.sync_cases()
    rows = db.execute(
        "SELECT e.event_id, e.camera_id, e.zone_id, e.object_id, e.rule, e.class, e.score, e.bbox, e.evidence, "
        "s.status, s.reviewers, c.evidence_root, coalesce(p.plate, e.plate) AS plate FROM review_cases s "
        "JOIN events e ON e.event_id = s.event_id LEFT JOIN cameras c ON c.camera_id = e.camera_id "
        f"LEFT JOIN review_plate_corrections p ON p.event_id = e.event_id WHERE {_CHOSEN} ORDER BY s.seq").fetchall()
    samples = []
    for r in rows:
        evidence = json.loads(r["evidence"])
        samples.append(_Sample(r["event_id"], r["camera_id"], r["zone_id"], r["object_id"], r["rule"], r["class"],
                               r["score"], tuple(json.loads(r["bbox"])), evidence.get("crop"), r["evidence_root"],
                               r["status"] == "confirmed", r["reviewers"], r["plate"], evidence.get("plate_crop")))
    return samples


def _read_crop(sample: _Sample) -> tuple[bytes, tuple[int, int]] | None:
    if not sample.crop:
        return None
    try:
        data = read_evidence(sample.evidence_root, sample.crop)[0]
    except (EvidenceRefused, OSError):
        return None
    try:
        size = Image.open(io.BytesIO(data)).size  # reads the JPEG header only
    except (OSError, SyntaxError):
        return None
    if min(size) < MIN_CROP_SIDE:  # the pipeline's crop is 1x1 for specks
        return None
    return data, size


def _read_plate(sample: _Sample, name: str) -> dict[str, str | bytes]:
    """The manifest's plate columns of ``sample`` and, when its plate crop can be read, its bytes (``data``)."""
    try:
        data = read_evidence(sample.evidence_root, sample.plate_crop)[0] if sample.plate_crop else None
    except (EvidenceRefused, OSError):
        data = None
    return {"plate": sample.plate or "", "plate_image": name if data else "", **({"data": data} if data else {})}


def _split(sample: _Sample) -> str:
    """Train or val, fixed per object (its warn and escalate crops stay together)."""
    key = f"{sample.camera_id}/{sample.zone_id}/{sample.object_id}".encode()
    return "val" if int(hashlib.sha256(key).hexdigest()[:8], 16) % VAL_SHARE == 0 else "train"


def _data_yaml(summary: ExportSummary, has_val: bool) -> str:
    names = "".join(f"  {i}: {name}\n" for i, name in enumerate(summary.names)) or "  0: object\n"
    return (f"# streetorder review export: {summary.sentence()}.\n"
            "# Positives: confirmed alarms (evidence crops). Hard negatives: alarms rejected as 'wrong object'\n"
            "# (empty label files). Give Ultralytics this file's absolute path.\n"
            f"train: images/train\nval: images/{'val' if has_val else 'train'}\nnames:\n{names}")


class _Pipe(io.RawIOBase):
    """A write-only stream whose bytes are taken out as they come (for a zip written on the fly)."""

    def __init__(self):
        self._chunks: list[bytes] = []
        self.size = 0

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:
        self._chunks.append(bytes(data))
        self.size += len(data)
        return len(data)

    def take(self) -> bytes:
        data, self._chunks, self.size = b"".join(self._chunks), [], 0
        return data
