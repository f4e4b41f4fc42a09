"""Rendered props for classes the shared footage never shows: a striped market umbrella.

``../shared/data`` holds no umbrella, table or stall that any of the models detects, yet the vending rule needs an
anchor. These sprites are drawn (a dome of alternating panels with a scalloped valance, shaded towards the rim, on a
pole, with sensor noise) and are used only where the real model finds them: the scenario builder keeps a sprite
only if the model detects it on its spot, and ``gt.json`` records the measured detection rate and that the sprite
is rendered (its ``sprite`` field starts with ``rendered:``).

Example:
    >>> [s.class_name for s in rendered_umbrellas()][:2]
    ['umbrella', 'umbrella']
"""

from __future__ import annotations

import cv2
import numpy as np

from evaluation.sprites import Sprite

RENDER_HEIGHT = 240  # drawn large, scaled down by the builder to the scale law's height
SCHEMES = {  # BGR panel colours of common market umbrellas
    "red-white": ((40, 40, 200), (230, 230, 230)),
    "blue-white": ((180, 90, 30), (230, 230, 230)),
    "green-white": ((60, 150, 40), (230, 230, 230)),
    "yellow-red": ((30, 200, 230), (40, 40, 200)),
}


def rendered_umbrellas(seed: int = 0) -> list[Sprite]:
    """One umbrella per colour scheme and canopy depth."""
    rng = np.random.default_rng(seed)
    return [
        umbrella(colours, canopy, rng, f"rendered: {name} market umbrella, canopy {canopy:g} of its height")
        for name, colours in SCHEMES.items()
        for canopy in (0.35, 0.5)
    ]


def umbrella(colours: tuple, canopy: float, rng: np.random.Generator, source: str, panels: int = 8) -> Sprite:
    """A market umbrella seen from the side and a little above, ``canopy`` of its height the dome."""
    height = RENDER_HEIGHT
    width = round(0.95 * height)
    image = np.zeros((height, width, 3), np.uint8)
    alpha = np.zeros((height, width), np.uint8)
    rim_y, centre = max(4, round(canopy * height)), width // 2
    for i in range(panels):
        angles = np.linspace(np.pi * (1 + i / panels), np.pi * (1 + (i + 1) / panels), 12)
        panel = [(centre, rim_y)] + [(centre + round(width / 2 * np.cos(a)), rim_y + round(0.95 * rim_y * np.sin(a)))
                                     for a in angles]
        _fill(image, alpha, np.array(panel, np.int32), colours[i % len(colours)])
    for i in range(panels):  # the scalloped valance under the rim
        left, right = round(i * width / panels), round((i + 1) * width / panels)
        axes = (max(1, (right - left) // 2), max(1, round(0.06 * height)))
        cv2.ellipse(image, ((left + right) // 2, rim_y), axes, 0, 0, 180, colours[i % len(colours)], -1)
        cv2.ellipse(alpha, ((left + right) // 2, rim_y), axes, 0, 0, 180, 255, -1)
    columns = np.arange(width)
    shade = 1.0 - 0.35 * np.clip(np.abs(columns - centre) / (width / 2), 0, 1) ** 2
    image = (image * shade[None, :, None]).astype(np.uint8)
    pole = max(2, width // 40)
    cv2.rectangle(image, (centre - pole // 2, rim_y), (centre + pole // 2, height - 1), (90, 90, 90), -1)
    cv2.rectangle(alpha, (centre - pole // 2, rim_y), (centre + pole // 2, height - 1), 255, -1)
    image = np.clip(image + rng.normal(0, 6, image.shape), 0, 255).astype(np.uint8)
    return Sprite(np.dstack([image, alpha]), "umbrella", source, 0.0)


def _fill(image: np.ndarray, alpha: np.ndarray, polygon: np.ndarray, colour) -> None:
    cv2.fillPoly(image, [polygon], colour)
    cv2.fillPoly(alpha, [polygon], 255)
