"""The drawn market umbrella: what it is made of, and that the real model sees it as an umbrella."""

from __future__ import annotations

import numpy as np
import pytest

from detector.load import load_detector
from evaluation.material import found_on
from evaluation.props import rendered_umbrellas
from evaluation.scenes import SourceClip
from tests.conftest import shared_clip


def test_rendered_umbrellas_have_a_canopy_on_a_pole():
    sprites = rendered_umbrellas()
    assert len(sprites) == 8 and all(s.class_name == "umbrella" and s.source.startswith("rendered:") for s in sprites)
    alpha = sprites[0].rgba[:, :, 3] > 127
    widths = alpha.sum(axis=1)
    assert widths[: len(widths) // 4].max() > 0.8 * alpha.shape[1]  # a wide canopy on top ...
    assert 0 < widths[-1] < 0.1 * alpha.shape[1]  # ... on a thin pole down to the ground


def test_an_umbrella_is_found_on_its_canopy_not_on_its_pole():
    sprite_box = [100, 100, 200, 210]
    assert found_on(sprite_box, np.array([[102, 101, 198, 150]], np.float32), "umbrella")
    assert not found_on(sprite_box, np.array([[140, 150, 160, 210]], np.float32), "umbrella")
    assert not found_on(sprite_box, np.array([[102, 101, 198, 150]], np.float32), "car")  # IoU 0.45 < 0.5


@pytest.mark.slow
def test_the_real_model_detects_most_rendered_umbrellas_on_a_real_street(require_models):
    clip = SourceClip.read(shared_clip("pedestrian_street_1080p.mp4"), 640)
    background = clip.median()
    detector = load_detector("yolo11n")
    found = 0
    for sprite in rendered_umbrellas():
        image = background.copy()
        rgba = sprite.resized(100)  # about its size on the suite's stall spot
        alpha = rgba[:, :, 3:] / 255.0
        y, x = 170, 440
        region = image[y: y + rgba.shape[0], x: x + rgba.shape[1]]
        region[:] = (region * (1 - alpha) + rgba[:, :, :3] * alpha).astype(np.uint8)
        hits = detector.detect(image)
        box = [x, y, x + rgba.shape[1], y + rgba.shape[0]]
        found += found_on(box, hits[hits.class_name == "umbrella"].xyxy, "umbrella")
    assert found >= 5  # most of the 8 variants; the scenario builder keeps only those found on their spot
