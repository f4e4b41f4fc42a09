"""Box arithmetic: the one place where an evidence crop is cut and boxes are compared."""

from __future__ import annotations

import numpy as np
import pytest

from contracts.boxes import crop_window
from detector.boxes import box_area, box_coverage, box_iou, covering_window, crop

FRAME_W, FRAME_H = 640, 352


def _frame() -> np.ndarray:
    """Every pixel tells where it is: blue = x % 256, green = y % 256, red = x // 256."""
    ys, xs = np.mgrid[0:FRAME_H, 0:FRAME_W]
    return np.dstack([xs % 256, ys % 256, xs // 256]).astype(np.uint8)


def test_the_crop_window_grows_the_box_by_a_fifth_of_its_size_on_each_side():
    assert crop_window((100.0, 50.0, 200.0, 150.0), (FRAME_W, FRAME_H)) == (80, 30, 220, 170)


@pytest.mark.parametrize("bbox", [(600.0, 148.0, 640.0, 189.0), (0.0, 0.0, 50.5, 40.2), (590.3, 300.7, 640.0, 352.0)])
def test_the_crop_window_stays_inside_the_frame(bbox):
    left, top, right, bottom = crop_window(bbox, (FRAME_W, FRAME_H))
    assert 0 <= left < right <= FRAME_W and 0 <= top < bottom <= FRAME_H


def test_the_crop_window_without_a_frame_gives_the_same_origin():
    bbox = (10.9, 20.4, 14.8, 25.9)
    assert crop_window(bbox)[:2] == crop_window(bbox, (FRAME_W, FRAME_H))[:2]


@pytest.mark.parametrize("bbox", [(350.0, 133.0, 415.0, 164.0), (600.0, 148.0, 640.0, 189.0), (10.9, 20.4, 14.8, 25.9)])
def test_the_crop_is_the_frame_inside_its_window_and_holds_the_box(bbox):
    frame = _frame()
    cut = crop(frame, bbox)
    left, top, right, bottom = crop_window(bbox, (FRAME_W, FRAME_H))
    assert cut.shape[:2] == (bottom - top, right - left)
    x1, y1 = int(np.ceil(bbox[0])), int(np.ceil(bbox[1]))
    assert (int(cut[y1 - top, x1 - left, 0]), int(cut[y1 - top, x1 - left, 1])) == (x1 % 256, y1 % 256)
    cut[:] = 0
    assert np.array_equal(frame, _frame())  # a copy: drawing on the crop leaves the frame alone


def test_a_box_outside_the_frame_gives_a_speck():
    assert crop(_frame(), (700.0, 10.0, 720.0, 30.0)).shape[:2] == (1, 1)


def test_the_covering_window_holds_every_pixel_the_box_touches():
    assert covering_window((10.2, 20.8, 30.1, 40.0), (FRAME_W, FRAME_H)) == (10, 20, 31, 40)
    assert covering_window((-5.0, -1.0, 700.0, 400.0), (FRAME_W, FRAME_H)) == (0, 0, FRAME_W, FRAME_H)


def test_iou_and_coverage_of_nested_and_apart_boxes():
    outer, inner, apart = [0, 0, 20, 20], [5, 5, 15, 15], [30, 30, 40, 40]
    assert box_iou(outer, [inner, apart, outer]).tolist() == [[0.25, 0.0, 1.0]]
    assert box_coverage(inner, outer)[0, 0] == 1.0 and box_coverage(outer, inner)[0, 0] == 0.25
    assert box_area(np.array([outer, inner], np.float32)).tolist() == [400.0, 100.0]
