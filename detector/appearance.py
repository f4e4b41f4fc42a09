"""How an object looks, cheaply: enough to tell a red car from a white one, not to recognise a plate."""

from __future__ import annotations

import cv2
import numpy as np

from contracts.boxes import crop_window

INNER_RIM = 0.15  # share of the box's width (height) left out on each side


def appearance(image: np.ndarray | None, xyxy: np.ndarray) -> np.ndarray | None:
    """Hue-saturation histogram of the box's inner part (the rim is often background): stable under dimming light.

    Returns None when there is no image or the box is too small to say anything.
    """
    if image is None:
        return None
    left, top, right, bottom = crop_window(xyxy, (image.shape[1], image.shape[0]), margin=-INNER_RIM)
    if right - left < 4 or bottom - top < 4:
        return None
    hsv = cv2.cvtColor(image[top:bottom, left:right], cv2.COLOR_BGR2HSV)
    hist = cv2.calcHist([hsv], [0, 1], None, [18, 8], [0, 180, 0, 256])
    return cv2.normalize(hist, hist).flatten()


def appearance_distance(a: np.ndarray, b: np.ndarray) -> float:
    """Bhattacharyya distance between two histograms: 0 the same, 1 nothing in common."""
    return float(cv2.compareHist(a, b, cv2.HISTCMP_BHATTACHARYYA))


def blend(old: np.ndarray | None, new: np.ndarray, weight: float = 0.3) -> np.ndarray:
    """Move a stored look ``weight`` of the way towards a new one."""
    mixed = new if old is None else (1 - weight) * old + weight * new
    return cv2.normalize(mixed, mixed).flatten()
