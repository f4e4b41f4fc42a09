"""Object sprites cut from real frames: the pixels inside the real model's box that differ from the empty scene.

A sprite is a BGR crop with an alpha mask. The mask is the difference between the frame and the clip's temporal
median inside the detector's box, cleaned with morphology (close, open, holes filled, the largest blob and those
near its size kept) and feathered by one pixel. Boxes that touch the frame edge, overlap another detection or give
a mask that fills too little or too much of the box are not used: they would carry a piece of something else.

Example:
    >>> rgba = np.zeros((20, 10, 4), np.uint8); rgba[5:15, 2:8, 3] = 255
    >>> Sprite(rgba, "car", "clip.mp4@1.0s", 0.9).tight().rgba.shape
    (10, 6, 4)
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from detector.boxes import box_coverage
from detector.detections import Detections
from evaluation.scenes import SourceClip

DIFF_THRESHOLD = 28  # grey levels; below is background (sensor noise, compression)
MIN_FILL, MAX_FILL = 0.35, 0.97  # share of the box the mask must cover
MIN_HEIGHT_PX = 24


@dataclass
class Sprite:
    """An object's pixels and alpha, as cut from one real frame."""

    rgba: np.ndarray  # H x W x 4, BGR + alpha
    class_name: str
    source: str  # "clip.mp4@12.50s" — where the pixels came from
    score: float  # the real model's confidence on the original frame

    @property
    def height(self) -> int:
        return self.rgba.shape[0]

    @property
    def width(self) -> int:
        return self.rgba.shape[1]

    def tight(self) -> Sprite:
        """Crop to the alpha's bounding box."""
        ys, xs = np.nonzero(self.rgba[:, :, 3] > 127)
        if not len(ys):
            return self
        crop = self.rgba[ys.min(): ys.max() + 1, xs.min(): xs.max() + 1]
        return Sprite(crop.copy(), self.class_name, self.source, self.score)

    def resized(self, height: float) -> np.ndarray:
        """RGBA at ``height`` pixels tall, aspect kept."""
        h = max(round(height), 2)
        w = max(round(self.width * h / self.height), 2)
        return cv2.resize(self.rgba, (w, h), interpolation=cv2.INTER_AREA if h < self.height else cv2.INTER_LINEAR)


def cut_sprites(
    clip: SourceClip,
    background: np.ndarray,
    detections: list[Detections],
    classes: tuple[str, ...],
    min_score: float = 0.6,
) -> list[Sprite]:
    """Every clean sprite of ``classes`` in the clip's frames, best-scoring first."""
    sprites = []
    for image, t, found in zip(clip.frames, clip.times, detections, strict=True):
        for i in range(len(found)):
            name, score = str(found.class_name[i]), float(found.confidence[i])
            if name not in classes or score < min_score:
                continue
            others = np.delete(found.xyxy, i, axis=0)
            if len(others) and box_coverage(found.xyxy[i], others).max() > 0.02:
                continue
            sprite = cut_one(image, background, found.xyxy[i], name, f"{clip.path.name}@{t:.2f}s", score)
            if sprite is not None:
                sprites.append(sprite)
    sprites.sort(key=lambda s: -s.score)
    return sprites


def cut_one(image: np.ndarray, background: np.ndarray, xyxy, class_name: str, source: str,
            score: float) -> Sprite | None:
    """The sprite inside ``xyxy``, or None if the box is unusable."""
    h, w = image.shape[:2]
    x1, y1, x2, y2 = (round(v) for v in xyxy)
    if x1 <= 1 or y1 <= 1 or x2 >= w - 1 or y2 >= h - 1 or y2 - y1 < MIN_HEIGHT_PX:
        return None
    mask = object_mask(image[y1:y2, x1:x2], background[y1:y2, x1:x2])
    fill = float(mask.mean()) / 255
    if not MIN_FILL <= fill <= MAX_FILL or _blob_count(mask) > 1:
        return None  # too little or too much of the box, or in pieces (legs cut off from a body)
    alpha = cv2.GaussianBlur(mask, (3, 3), 0)
    rgba = np.dstack([image[y1:y2, x1:x2], alpha])
    return Sprite(rgba, class_name, source, score).tight()


def object_mask(crop: np.ndarray, empty: np.ndarray) -> np.ndarray:
    """0/255 mask of the pixels of ``crop`` that are not the empty scene, cleaned."""
    a = cv2.GaussianBlur(crop, (3, 3), 0).astype(np.int16)
    b = cv2.GaussianBlur(empty, (3, 3), 0).astype(np.int16)
    diff = np.abs(a - b).max(axis=2).astype(np.uint8)
    mask = np.where(diff > DIFF_THRESHOLD, 255, 0).astype(np.uint8)
    size = max(3, (min(mask.shape) // 12) | 1)
    mask = cv2.morphologyEx(mask, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (size, size)))
    mask = cv2.morphologyEx(mask, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (3, 3)))
    mask = _largest_blobs(mask)
    return _fill_holes(mask)


def _largest_blobs(mask: np.ndarray, keep_share: float = 0.25) -> np.ndarray:
    count, labels, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
    if count <= 1:
        return mask
    areas = stats[1:, cv2.CC_STAT_AREA]
    keep = 1 + np.flatnonzero(areas >= keep_share * areas.max())
    return np.where(np.isin(labels, keep), 255, 0).astype(np.uint8)


def _blob_count(mask: np.ndarray) -> int:
    count, _ = cv2.connectedComponents(mask, connectivity=8)
    return int(count - 1)


def _fill_holes(mask: np.ndarray) -> np.ndarray:
    """Fill enclosed holes (a windscreen as bright as the road behind it is still part of the car)."""
    padded = cv2.copyMakeBorder(mask, 1, 1, 1, 1, cv2.BORDER_CONSTANT, value=0)
    flood = padded.copy()
    cv2.floodFill(flood, None, (0, 0), 255)
    holes = cv2.bitwise_not(flood)[1:-1, 1:-1]
    return cv2.bitwise_or(mask, holes)


def cut_from_photo(image: np.ndarray, xyxy, class_name: str, source: str, score: float,
                   min_fill: float = 0.12) -> Sprite | None:
    """A sprite from a still photo, where there is no empty view to difference against: OpenCV's GrabCut,
    started from the detector's box, separates the object from the ground; small specks are removed but holes
    are kept (the pavement seen between a bicycle's spokes is not bicycle)."""
    h, w = image.shape[:2]
    x1, y1, x2, y2 = (round(v) for v in xyxy)
    if x1 <= 1 or y1 <= 1 or x2 >= w - 1 or y2 >= h - 1 or y2 - y1 < MIN_HEIGHT_PX:
        return None
    pad = max(8, (x2 - x1) // 10)
    cx1, cy1, cx2, cy2 = max(x1 - pad, 0), max(y1 - pad, 0), min(x2 + pad, w), min(y2 + pad, h)
    crop = np.ascontiguousarray(image[cy1:cy2, cx1:cx2])
    mask = np.zeros(crop.shape[:2], np.uint8)
    models = (np.zeros((1, 65), np.float64), np.zeros((1, 65), np.float64))
    cv2.grabCut(crop, mask, (x1 - cx1, y1 - cy1, x2 - x1, y2 - y1), *models, 5, cv2.GC_INIT_WITH_RECT)
    mask = np.where((mask == cv2.GC_FGD) | (mask == cv2.GC_PR_FGD), 255, 0).astype(np.uint8)
    mask = cv2.morphologyEx(mask, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (3, 3)))
    mask = _largest_blobs(mask, keep_share=0.1)
    inside = mask[y1 - cy1: y2 - cy1, x1 - cx1: x2 - cx1]
    if not min_fill <= float(inside.mean()) / 255 <= MAX_FILL:
        return None
    rgba = np.dstack([crop, cv2.GaussianBlur(mask, (3, 3), 0)])
    return Sprite(rgba, class_name, source, score).tight()
