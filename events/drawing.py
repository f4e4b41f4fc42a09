"""Drawing on frames: zone outlines, boxes and labels, for evidence photos and annotated videos."""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

ZONE_COLOURS = {  # BGR
    "sidewalk": (0, 165, 255),
    "no_vending": (203, 102, 255),
    "bike_parking": (80, 200, 80),
    "monitored_area": (255, 200, 0),
    "ignore": (128, 128, 128),
}
ALERT = (0, 0, 255)
CALM = (255, 255, 255)


def draw_zone(image: np.ndarray, polygon: Sequence[Sequence[float]], zone_type: str, label: str = "",
              thickness: int = 2) -> None:
    colour = ZONE_COLOURS.get(zone_type, CALM)
    points = np.round(np.asarray(polygon, dtype=np.float32)).astype(np.int32)
    cv2.polylines(image, [points], isClosed=True, color=colour, thickness=_scaled(image, thickness))
    if label:
        x, y = points.min(axis=0)
        put_label(image, label, (int(x), int(y)), colour)


def draw_box(image: np.ndarray, xyxy: Sequence[float], label: str = "", colour=ALERT, thickness: int = 2) -> None:
    x1, y1, x2, y2 = (round(float(v)) for v in xyxy)
    cv2.rectangle(image, (x1, y1), (x2, y2), colour, _scaled(image, thickness))
    if label:
        put_label(image, label, (x1, y1), colour)


def put_label(image: np.ndarray, text: str, corner: tuple[int, int], colour) -> None:
    """Text on a filled band just above ``corner`` (inside the image)."""
    scale = max(image.shape[0], image.shape[1]) / 1400
    thickness = max(1, round(scale * 2))
    (w, h), base = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, thickness)
    x = min(max(corner[0], 0), max(image.shape[1] - w - 4, 0))
    y = max(corner[1], h + base + 4)
    cv2.rectangle(image, (x, y - h - base - 4), (x + w + 4, y), colour, -1)
    text_colour = (0, 0, 0) if sum(colour) > 380 else (255, 255, 255)
    cv2.putText(image, text, (x + 2, y - base - 2), cv2.FONT_HERSHEY_SIMPLEX, scale, text_colour, thickness,
                cv2.LINE_AA)


def format_dwell(seconds: float) -> str:
    """``542.0`` -> ``"9m02s"``."""
    seconds = max(0, round(float(seconds)))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}h{minutes:02d}m" if hours else f"{minutes}m{secs:02d}s"


def crop(image: np.ndarray, xyxy: Sequence[float], margin: float = 0.2) -> np.ndarray:
    """The box with ``margin`` of its size around it, clipped to the frame."""
    x1, y1, x2, y2 = (float(v) for v in xyxy)
    mx, my = margin * (x2 - x1), margin * (y2 - y1)
    h, w = image.shape[:2]
    left, top = int(max(0, x1 - mx)), int(max(0, y1 - my))
    right, bottom = int(min(w, x2 + mx)), int(min(h, y2 + my))
    if right - left < 2 or bottom - top < 2:
        return image[0:1, 0:1].copy()
    return image[top:bottom, left:right].copy()


def _scaled(image: np.ndarray, thickness: int) -> int:
    return max(1, round(thickness * max(image.shape[:2]) / 1000))
