"""The rendered conditions of ``scripts/plate_accuracy.py --conditions``: the turned plate's geometry, and sets that
carry the same valid plates, darker at night."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from evaluation.plate_art import FONT, plate_width
from evaluation.plate_conditions import Condition, render_conditions, turned_corners
from plates.accuracy import load_set
from plates.grammar import CHINA


def test_a_plate_square_on_keeps_its_shape_and_a_turned_one_narrows_with_its_near_side_taller():
    square = turned_corners(120, 0, (100.0, 80.0))
    assert plate_width(square) == pytest.approx(120, abs=0.01)
    assert square[3, 1] - square[0, 1] == pytest.approx(120 * 140 / 440, abs=0.01)
    turned = turned_corners(120, 50, (100.0, 80.0))
    assert plate_width(turned) == pytest.approx(120 * np.cos(np.radians(50)), rel=0.02)
    near, far = turned[3, 1] - turned[0, 1], turned[2, 1] - turned[1, 1]
    assert near > far * 1.05


@pytest.mark.skipif(not FONT.is_file(), reason=f"{FONT} missing: apt-get install -y fonts-wqy-zenhei")
def test_every_condition_holds_the_same_valid_plates_and_night_is_dark(tmp_path):
    day, night = Condition("day", 120), Condition("night", 120, night=True)
    folders = render_conditions(tmp_path, plates_per_kind=2, conditions=(day, night))
    day_set, night_set = load_set(folders[day]), load_set(folders[night])
    assert [c.plate for c in day_set] == [c.plate for c in night_set]
    assert len({c.plate for c in day_set}) == 6 and all(CHINA.is_valid(c.plate) for c in day_set)
    for bright, dark in zip(day_set, night_set, strict=True):
        day_image, night_image = cv2.imread(str(bright.path)), cv2.imread(str(dark.path))
        assert day_image.shape == night_image.shape and day_image.shape[1] == int(120 * 2.6)
        assert 0.2 < night_image.mean() / day_image.mean() < 0.45
