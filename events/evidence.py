"""Evidence photos: an annotated full frame and a crop, at rest start, at warn (the two-photo proof), at escalate
and at clear (the spot after the object left).

The rest-start photos are kept in memory as JPEG bytes until the timer decides: written next to the warn photos if
a warn comes, thrown away if the object leaves first.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path, PurePosixPath

import cv2
import numpy as np

from contracts.paths import under
from detector.boxes import crop
from events.drawing import ALERT, CALM, draw_box, draw_footer, draw_zones, format_dwell
from zones.config import CameraConfig
from zones.dwell import StateChange

JPEG_QUALITY = 88


@dataclass
class Photos:
    snapshot: bytes
    crop: bytes


class EvidenceWriter:
    """Photos for one camera's events, written under ``root/evidence/<camera>/``; paths are relative to ``root``."""

    def __init__(self, root: Path, camera: CameraConfig):
        self.root = Path(root)
        self.camera = camera
        self.zone_of = camera.zone  # a zone by id as drawn on the photos (re-anchored when the view shifted)
        self._pending: dict[tuple[str, str, str], Photos] = {}

    def take(self, change: StateChange, image: np.ndarray, t: float, origin: datetime | None) -> Photos:
        """Annotated snapshot and crop of ``change`` on ``image`` (the frame at time ``t``)."""
        snapshot = draw_zones(image.copy(), [self.zone_of(change.zone_id)])
        if change.kind == "clear":
            label = f"{change.class_name} #{change.object_id} left, last seen {format_dwell(change.t)}"
            draw_box(snapshot, change.xyxy, label, CALM)
        else:
            label = f"{change.class_name} #{change.object_id} {format_dwell(t - change.since_t)}"
            draw_box(snapshot, change.xyxy, label, ALERT)
        draw_footer(snapshot, self.camera.id, t, origin)
        return Photos(jpeg_bytes(snapshot), jpeg_bytes(crop(image, change.xyxy)))

    def hold(self, change: StateChange, photos: Photos) -> None:
        self._pending[_key(change)] = photos

    def discard(self, change: StateChange) -> None:
        self._pending.pop(_key(change), None)

    def held(self) -> dict[tuple[str, str, str], Photos]:
        """Rest-start photos waiting for their timer's decision, by (zone, rule, object): kept across restarts."""
        return dict(self._pending)

    def hold_again(self, held: dict[tuple[str, str, str], Photos]) -> None:
        """Take back photos from ``held`` (a restart), so a warn after it still has its rest-start photo."""
        self._pending.update(held)

    def save(self, change: StateChange, photos: Photos) -> dict[str, str]:
        """Write the photos of ``change`` (and, for a warn, the held rest-start photos); returns relative paths."""
        paths = {"snapshot": self._write(change, change.kind, photos.snapshot),
                 "crop": self._write(change, f"{change.kind}-crop", photos.crop)}
        if change.kind == "warn":
            rest = self._pending.pop(_key(change), None)
            if rest is not None:
                paths["rest_snapshot"] = self._write(change, "rest", rest.snapshot)
                paths["rest_crop"] = self._write(change, "rest-crop", rest.crop)
        return paths

    def save_plate(self, change: StateChange, plate: np.ndarray) -> str:
        """Write the photo of the plate region of ``change``'s object (BGR); returns its relative path."""
        return self._write(change, "plate", jpeg_bytes(plate))

    def _write(self, change: StateChange, suffix: str, data: bytes) -> str:
        parts = ("evidence", self.camera.id, change.zone_id, f"{change.object_id}-{suffix}.jpg")
        target = under(self.root, *parts)  # ids are path parts: none may lead out of the output folder
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
        return PurePosixPath(*parts).as_posix()


def _key(change: StateChange) -> tuple[str, str, str]:
    return change.zone_id, change.rule, change.object_id


def jpeg_bytes(image: np.ndarray) -> bytes:
    """The evidence JPEG of an image (every photo of every camera at one quality)."""
    ok, data = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
    if not ok:
        raise RuntimeError("JPEG encoding failed")
    return data.tobytes()
