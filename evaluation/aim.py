"""Where a scenario's camera looks: pieces of time with a fixed transform of the reference view (a bump, a re-aim,
a PTZ preset), optionally swaying. The world is drawn in the reference view's pixels (zones and ground truth are
pixels of it); ``view`` then warps the drawn frame as the moved camera would see it.

A transform maps reference-view pixels to the frame's (2x3 affine or 3x3 homography); outside every piece the
camera looks at its reference view.

Example:
    >>> aim = [Aim(10.0, 20.0, [[1, 0, 5], [0, 1, 0]])]
    >>> float(transform_at(aim, 15.0)[0, 2]), transform_at(aim, 25.0) is None
    (5.0, True)
    >>> frame_box(aim, 15.0, (100, 50, 140, 80)).tolist()
    [105.0, 50.0, 145.0, 80.0]
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from detector.view import reanchor_boxes


@dataclass
class Aim:
    """From ``start`` to ``end`` the camera looks through ``transform`` (reference pixels -> frame pixels), swaying
    ``sway_px`` sideways (and half as much up and down) with a period of ``sway_period`` seconds. ``moved``: the
    view is beyond ``detector.view``'s limits, so the camera's timers wait (docs/CAMERA_MOVES.md)."""

    start: float
    end: float
    transform: list[list[float]]
    moved: bool = False
    sway_px: float = 0.0
    sway_period: float = 20.0

    def at(self, t: float) -> np.ndarray:
        matrix = np.eye(3)
        given = np.asarray(self.transform, dtype=np.float64)
        matrix[: given.shape[0]] = given
        if self.sway_px:
            phase = 2 * np.pi * t / self.sway_period
            matrix = np.array([[1, 0, self.sway_px * np.sin(phase)], [0, 1, 0.5 * self.sway_px * np.cos(phase)],
                               [0, 0, 1]]) @ matrix
        return matrix


def piece_at(aim: Sequence[Aim], t: float) -> Aim | None:
    """The piece of ``aim`` the camera is in at ``t`` (None: its reference view)."""
    return next((piece for piece in aim if piece.start <= t < piece.end), None)


def transform_at(aim: Sequence[Aim], t: float) -> np.ndarray | None:
    piece = piece_at(aim, t)
    return None if piece is None else piece.at(t)


def moved_intervals(aim: Sequence[Aim]) -> list[tuple[float, float]]:
    return [(piece.start, piece.end) for piece in aim if piece.moved]


def view(image: np.ndarray, aim: Sequence[Aim], t: float) -> np.ndarray:
    """``image`` (drawn in the reference view) as the camera sees it at ``t``; the ground the reference never saw
    is filled by reflecting the image at its borders."""
    matrix = transform_at(aim, t)
    if matrix is None:
        return image
    height, width = image.shape[:2]
    return cv2.warpPerspective(image, matrix, (width, height), flags=cv2.INTER_LINEAR,
                               borderMode=cv2.BORDER_REFLECT)


def frame_box(aim: Sequence[Aim], t: float, box) -> np.ndarray:
    """A reference-view box (x1, y1, x2, y2) where it is in the frame at ``t``: the box around its mapped corners."""
    matrix = transform_at(aim, t)
    box = np.asarray(box, dtype=np.float64)
    return box if matrix is None else reanchor_boxes(box, matrix)[0]
