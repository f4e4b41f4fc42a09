"""Rendered plate sets under controlled conditions: plate width, view angle and night, for
``scripts/plate_accuracy.py --conditions``.

The same valid plates (``plate_text``: blue, yellow and green) are drawn in every condition by
``evaluation/plate_art.py`` and placed on a plain car rear like the committed set of ``tests/data/plates``
(blur, sensor noise, JPEG), but at a fixed width and angle: the plate is turned about its vertical axis in front of
a pinhole camera, so it narrows by the cosine of the angle and its near side is taller than its far side. At
night the picture is darkened (gain 0.25-0.35), blurred by motion and noised, optionally with a headlight's glare
beside the plate.

    >>> from evaluation.plate_art import plate_width
    >>> [round(plate_width(turned_corners(120, angle, (200.0, 150.0)))) for angle in (0, 20, 35, 50)]
    [120, 113, 98, 77]
"""

from __future__ import annotations

import csv
import math
import random
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from evaluation.plate_art import draw_plate, plate_font, plate_text, vehicle_rear

FOCAL_PX = 1200.0  # a 1080p camera's focal length (about 77 degrees across): how strong the perspective is
PLATE_M = (0.44, 0.14)  # a plate's width and height in metres
KINDS = ("blue", "yellow", "green")


@dataclass(frozen=True)
class Condition:
    """One way of filming the plates: ``width`` is the plate's width in pixels seen square on, ``angle`` the
    degrees it is turned from the camera, ``night`` darkens it and ``glare`` adds a headlight beside it."""

    name: str
    width: int
    angle: float = 0.0
    night: bool = False
    glare: bool = False

    @property
    def seen_width(self) -> int:
        """The plate's width in the picture once turned (pixels)."""
        return round(self.width * math.cos(math.radians(self.angle)))


CONDITIONS = (
    *(Condition(f"{width} px", width) for width in (60, 80, 100, 120, 140)),
    *(Condition(f"{angle} deg", 120, angle) for angle in (20, 35, 50)),
    *(Condition(f"{angle} deg, as wide", round(120 / math.cos(math.radians(angle))), angle) for angle in (35, 50)),
    Condition("night 80 px", 80, night=True),
    Condition("night", 120, night=True),
    Condition("night, glare", 120, night=True, glare=True),
    Condition("night, 35 deg", 120, 35, night=True),
)


def turned_corners(width: float, angle: float, centre: tuple[float, float]) -> np.ndarray:
    """The image corners (top-left, top-right, bottom-right, bottom-left) of a plate ``width`` pixels wide when seen
    square on, turned ``angle`` degrees about its vertical axis (its right side away from the camera), centred on
    ``centre``."""
    distance = FOCAL_PX * PLATE_M[0] / width
    turn = math.radians(angle)
    corners = []
    for x, y in ((-1, -1), (1, -1), (1, 1), (-1, 1)):
        across, depth = x * PLATE_M[0] / 2 * math.cos(turn), distance + x * PLATE_M[0] / 2 * math.sin(turn)
        corners.append((centre[0] + FOCAL_PX * across / depth, centre[1] + FOCAL_PX * y * PLATE_M[1] / 2 / depth))
    return np.float32(corners)


def film(plate_rgb: np.ndarray, condition: Condition, rng: random.Random) -> np.ndarray:
    """The plate on a car rear as a vehicle crop (BGR) filmed in ``condition``, before JPEG."""
    scene = vehicle_rear(rng, (int(condition.width * 2.6), int(condition.width * 1.9)))
    centre = (scene.shape[1] / 2 + rng.uniform(-0.05, 0.05) * scene.shape[1], scene.shape[0] * 0.62)
    height, width = plate_rgb.shape[:2]
    source = np.float32([[0, 0], [width, 0], [width, height], [0, height]])
    warp = cv2.getPerspectiveTransform(source, turned_corners(condition.width, condition.angle, centre))
    size = scene.shape[1::-1]
    warped = cv2.warpPerspective(cv2.cvtColor(plate_rgb, cv2.COLOR_RGB2BGR), warp, size, flags=cv2.INTER_AREA)
    mask = cv2.warpPerspective(np.full((height, width), 255, np.uint8), warp, size) > 127
    scene[mask] = warped[mask]
    image = cv2.GaussianBlur(scene, (0, 0), rng.uniform(0.4, 1.1)).astype(np.float32)
    noise = rng.uniform(2, 7)
    if condition.night:
        image *= rng.uniform(0.25, 0.35)
        if condition.glare:
            image += _glare(image.shape[:2], centre, condition.width, rng)
        length = rng.randrange(3, 7)  # pixels of horizontal motion during the exposure
        image = cv2.filter2D(image, -1, np.full((1, length), 1 / length, np.float32))
        noise = rng.uniform(5, 9)
    image += np.random.default_rng(rng.randrange(1 << 30)).normal(0, noise, image.shape)
    return np.clip(image, 0, 255).astype(np.uint8)


def _glare(shape: tuple[int, int], centre: tuple[float, float], width: int, rng: random.Random) -> np.ndarray:
    """A headlight's halo beside the plate: a saturated spot fading over about a plate's height."""
    rows, cols = np.mgrid[0: shape[0], 0: shape[1]].astype(np.float32)
    side = rng.choice((-1, 1))
    x, y = centre[0] + side * width * rng.uniform(0.8, 1.0), centre[1] - width * 0.1
    spread = width * rng.uniform(0.25, 0.35)
    halo = 255 * np.exp(-((cols - x) ** 2 + (rows - y) ** 2) / (2 * spread**2))
    return np.repeat(halo[:, :, None], 3, axis=2)


def render_conditions(out: Path, plates_per_kind: int = 6, conditions: tuple[Condition, ...] = CONDITIONS
                      ) -> dict[Condition, Path]:
    """Each condition's set as a folder of ``out`` with a ``labels.csv`` (``plates/accuracy.py``); the same
    plates in every one. Seeded: the same call gives the same sets."""
    rng = random.Random(1212)
    font = plate_font()
    plates = [(kind, plate_text(kind, k * plates_per_kind + i, rng))
              for k, kind in enumerate(KINDS) for i in range(plates_per_kind)]
    drawn = [draw_plate(text, kind, font) for kind, text in plates]
    folders = {}
    for c, condition in enumerate(conditions):
        folder = out / f"{c:02d}"
        folder.mkdir(parents=True, exist_ok=True)
        rows = []
        for p, ((kind, text), plate_rgb) in enumerate(zip(plates, drawn, strict=True)):
            image_rng = random.Random(p)  # the same car, blur and noise in every condition
            name = f"{kind}_{p:02d}.jpg"
            cv2.imwrite(str(folder / name), film(plate_rgb, condition, image_rng),
                        [cv2.IMWRITE_JPEG_QUALITY, image_rng.randrange(45, 80)])
            rows.append({"file": name, "plate": text, "kind": kind})
        with open(folder / "labels.csv", "w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)
        folders[condition] = folder
    return folders
