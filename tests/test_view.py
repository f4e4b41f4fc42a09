"""Where the camera looks (detector.view): known homographies applied to a real frame, and a real zooming clip."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from detector.view import ViewCheck, ViewReference, reanchor
from tests.conftest import shared_clip


def frame_at(name: str, seconds: float) -> np.ndarray:
    capture = cv2.VideoCapture(str(shared_clip(name)))
    capture.set(cv2.CAP_PROP_POS_MSEC, seconds * 1000)
    ok, frame = capture.read()
    capture.release()
    if not ok:
        pytest.skip(f"could not read {name} at {seconds} s with OpenCV")
    return frame


@pytest.fixture(scope="module")
def street() -> np.ndarray:
    return frame_at("us_residential_street.mp4", 5.0)


@pytest.fixture(scope="module")
def check(street) -> ViewCheck:
    return ViewCheck(ViewReference.from_frame(street))


def about_centre(frame: np.ndarray, zoom: float = 1.0, degrees: float = 0.0) -> np.ndarray:
    """The 3x3 homography zooming and rotating a view about the frame's centre."""
    h, w = frame.shape[:2]
    return np.vstack([cv2.getRotationMatrix2D((w / 2, h / 2), degrees, zoom), [0, 0, 1]])


def corners(frame: np.ndarray) -> np.ndarray:
    h, w = frame.shape[:2]
    return np.float64([[0, 0], [w, 0], [w, h], [0, h]])


def viewed_through(frame: np.ndarray, reference_to_view: np.ndarray) -> np.ndarray:
    return cv2.warpPerspective(frame, reference_to_view, (frame.shape[1], frame.shape[0]))


def test_the_reference_frame_itself_is_ok_by_the_thumbnail_and_by_the_features(street, check):
    state = check.check(street)
    assert state.state == "ok" and state.precheck
    full = check.check(street, precheck=False)
    assert full.state == "ok" and not full.precheck and full.displacement_share < 0.001 and full.inliers >= 100


@pytest.mark.parametrize("name, truth", [
    ("2 % shift", lambda f: np.array([[1, 0, 0.02 * f.shape[1]], [0, 1, 0.02 * f.shape[0]], [0, 0, 1]])),
    ("1.3x zoom", lambda f: about_centre(f, zoom=1.3)),
    ("2 degree rotation", lambda f: about_centre(f, degrees=2.0)),
])
def test_a_known_small_move_is_shifted_and_its_homography_recovered(street, check, name, truth):
    reference_to_view = truth(street)
    state = check.check(viewed_through(street, reference_to_view))
    assert state.state == "shifted", (name, state)
    recovered = reanchor(corners(street), state.homography)
    expected = reanchor(corners(street), np.linalg.inv(reference_to_view))
    assert np.abs(recovered - expected).max() < 2.0, name
    zone = [(340, 125), (430, 125), (430, 172), (340, 172)]  # the README's far-kerb zone
    assert np.abs(state.to_frame(zone) - reanchor(zone, reference_to_view)).max() < 2.0, name


def test_a_zoom_seen_through_a_strip_of_the_frame_is_fitted_without_a_perspective_swing(street, check):
    """Only the top 3/8 is static background (the rest covered by a box): a homography fitted there would be
    free to swing the bottom of the frame anywhere; the zoom is recovered at the far corners too."""
    reference_to_view = about_centre(street, zoom=1.3)
    h, w = street.shape[:2]
    state = check.check(viewed_through(street, reference_to_view), [(0, h * 3 // 8, w, h)])
    assert state.state == "shifted", state
    recovered = reanchor(corners(street), state.homography)
    assert np.abs(recovered - reanchor(corners(street), np.linalg.inv(reference_to_view))).max() < 3.0


def test_a_40_percent_shift_is_moved(street, check):
    shift = np.array([[1, 0, 0.4 * street.shape[1]], [0, 1, 0], [0, 0, 1]])
    state = check.check(viewed_through(street, shift))
    assert state.state == "moved", state


def test_another_scene_is_moved(check):
    state = check.check(frame_at("cn_shared_bikes_roadside.mp4", 2.0))
    assert state.state == "moved" and state.reason, state


def test_sensor_noise_and_dimmer_light_are_ok(street, check):
    noise = np.random.default_rng(0).normal(0, 6, street.shape)
    noisy = np.clip(street + noise, 0, 255).astype(np.uint8)
    assert check.check(noisy, precheck=False).state == "ok"
    dimmer = cv2.convertScaleAbs(street, alpha=0.7)
    state = check.check(dimmer)
    assert state.state == "ok" and not state.precheck, state  # the thumbnail changed: the features decided


def test_a_large_moving_object_masked_by_its_box_is_ok(street, check):
    """The object covers 45 % of the frame and is textured like the scene 6 % to the right (a bus wrapped in an
    advertisement of the street): unmasked, its features would outvote the rest of the frame's."""
    h, w = street.shape[:2]
    lookalike = viewed_through(street, np.array([[1, 0, 0.06 * w], [0, 1, 0], [0, 0, 1]]))
    box = (int(0.3 * w), int(0.05 * h), w, int(0.7 * h))  # 45 % of the frame
    pasted = street.copy()
    pasted[box[1]:box[3], box[0]:box[2]] = lookalike[box[1]:box[3], box[0]:box[2]]
    assert check.check(pasted, precheck=False).state != "ok"  # what the box is for
    masked = check.check(pasted, [box], precheck=False)
    assert masked.state == "ok", masked
    assert check.check(pasted, [box]).state == "ok"


def test_refresh_follows_the_light_only_when_the_view_is_ok(street):
    check = ViewCheck(ViewReference.from_frame(street))
    dusk = cv2.convertScaleAbs(street, alpha=0.6)
    assert check.refresh(dusk, None, check.check(dusk))
    assert check.reference.brightness < 0.9 * ViewReference.from_frame(street).brightness
    assert check.check(dusk).state == "ok"
    shifted = viewed_through(cv2.convertScaleAbs(street, alpha=0.3), about_centre(street, zoom=1.3))
    state = check.check(shifted)
    assert state.state == "shifted" and not check.refresh(shifted, None, state)


# The detector's boxes (yolo11n) on the curbside clip's frames: the parked cars and the car driving past.
CURBSIDE_BOXES = {
    2: [[0, 291, 314, 686], [359, 149, 525, 298], [24, 44, 115, 95], [356, 492, 575, 994], [350, 97, 463, 176]],
    15: [[90, 183, 325, 371], [377, 182, 576, 370], [372, 648, 575, 995], [369, 113, 537, 220], [57, 64, 121, 108],
         [339, 30, 428, 71], [0, 59, 121, 110], [308, 14, 374, 55], [353, 32, 449, 74]],
    25: [[167, 232, 536, 433], [357, 519, 575, 993], [361, 182, 517, 304], [341, 131, 458, 219], [21, 87, 111, 135],
         [244, 79, 267, 95], [21, 86, 146, 136]],
}


@pytest.mark.parametrize("seconds, reference_point, seen_at", [
    (15.0, (350, 322), (367, 416)),
    (25.0, (525, 378), (525, 410)),
])
def test_the_curbside_zoom_is_shifted_and_carries_the_kerb_to_where_it_is(seconds, reference_point, seen_at):
    """cn_curbside_parking.mp4 (576x996) zooms in by about 1.4x between 2 s and 6 s and back out between about
    16 s and 20 s, to a view near but not at the first one. The reference is the frame at 2 s, its boxes left out.

    Checked by eye (frames read with OpenCV, crops enlarged 3x with a 25 px grid):
    - 15 s: the kerb behind the black parked car (BC KR023) is outside the zoomed-in frame, so the point is on the
      ground beside it: the left end of the white bay line behind that car, where it meets the dashed centre line,
      at (350, 322) at 2 s and (367, 416) at 15 s (the homography put it at about (366, 416)).
    - 25 s: the drain cover by the kerb behind the same car, centre (525, 378) at 2 s and (525, 410) at 25 s, half
      hidden by the white car driving past (the homography put it at about (520, 408)).
    """
    reference = ViewReference.from_frame(frame_at("cn_curbside_parking.mp4", 2.0), CURBSIDE_BOXES[2])
    state = ViewCheck(reference).check(frame_at("cn_curbside_parking.mp4", seconds), CURBSIDE_BOXES[int(seconds)])
    assert state.state == "shifted", state
    assert np.linalg.norm(state.to_frame([reference_point])[0] - seen_at) < 12.0, state  # 2 % of the frame's width


def test_reanchor_moves_a_zone_polygon_through_a_known_homography():
    zone = [(100, 200), (300, 200), (300, 250), (100, 250)]
    pan_and_zoom = np.array([[1.5, 0, -40], [0, 1.5, 10], [0, 0, 1]])
    assert reanchor(zone, pan_and_zoom).tolist() == [[110, 310], [410, 310], [410, 385], [110, 385]]
    tilt = np.array([[1, 0, 0], [0, 1, 0], [0, 0.001, 1]])  # perspective: farther rows shrink
    far, near = reanchor([(200, 100), (200, 400)], tilt)
    assert far.tolist() == pytest.approx([200 / 1.1, 100 / 1.1])
    assert near.tolist() == pytest.approx([200 / 1.4, 400 / 1.4])
    assert reanchor([], pan_and_zoom).shape == (0, 2)
