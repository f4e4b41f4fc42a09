"""The one annotator: small drawing steps (zones, boxes, labels, a footer) that the evidence photos and the
annotated video compose. Each step draws on the image in place and returns it, so steps chain."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import cv2
import numpy as np

if TYPE_CHECKING:  # the reviewers' app uses format_dwell and need not load the config machinery
    from zones.config import ZoneConfig

ZONE_COLOURS = {  # BGR
    "sidewalk": (0, 165, 255),
    "no_vending": (203, 102, 255),
    "bike_parking": (80, 200, 80),
    "monitored_area": (255, 200, 0),
    "ignore": (128, 128, 128),
}
ALERT = (0, 0, 255)
CALM = (255, 255, 255)
FOOTER = (40, 40, 40)


def draw_zones(image: np.ndarray, zones: Iterable[ZoneConfig], thickness: int = 2) -> np.ndarray:
    """Each zone's outline in its type's colour, labelled with its name (or id)."""
    for zone in zones:
        draw_zone(image, zone.polygon, zone.type, zone.name or zone.id, thickness)
    return image


def draw_zone(image: np.ndarray, polygon: Sequence[Sequence[float]], zone_type: str, label: str = "",
              thickness: int = 2) -> np.ndarray:
    colour = ZONE_COLOURS.get(zone_type, CALM)
    points = np.round(np.asarray(polygon, dtype=np.float32)).astype(np.int32)
    cv2.polylines(image, [points], isClosed=True, color=colour, thickness=_scaled(image, thickness))
    if label:
        x, y = points.min(axis=0)
        put_label(image, label, (int(x), int(y)), colour)
    return image


def draw_boxes(image: np.ndarray, boxes: Iterable[Sequence[float]], colour=CALM, thickness: int = 2) -> np.ndarray:
    """Unlabelled boxes, all alike (say, every detection of a frame)."""
    for xyxy in boxes:
        draw_box(image, xyxy, "", colour, thickness)
    return image


def draw_box(image: np.ndarray, xyxy: Sequence[float], label: str = "", colour=ALERT,
             thickness: int = 2) -> np.ndarray:
    x1, y1, x2, y2 = (round(float(v)) for v in xyxy)
    cv2.rectangle(image, (x1, y1), (x2, y2), colour, _scaled(image, thickness))
    if label:
        put_label(image, label, (x1, y1), colour)
    return image


def draw_footer(image: np.ndarray, camera_id: str, t: float, origin: datetime | None = None) -> np.ndarray:
    """The camera and the media time (and the wall time, when the source's start is known) at the bottom left."""
    text = f"{camera_id}  t={t:.1f}s"
    if origin is not None:
        text += "  " + (origin + timedelta(seconds=t)).isoformat(sep=" ", timespec="seconds")
    put_label(image, text, (0, image.shape[0]), FOOTER)
    return image


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


def _scaled(image: np.ndarray, thickness: int) -> int:
    return max(1, round(thickness * max(image.shape[:2]) / 1000))
