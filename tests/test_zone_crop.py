"""``detect: {crop: zones}``: the network sees the zones' crop at the whole frame's scale, boxes come back in the
frame's pixels, the crop follows zones the view check moved, and a view that moved gets the whole frame."""

from __future__ import annotations

import av
import cv2
import numpy as np
import pytest

from detector.boxes import box_iou
from detector.detections import Detections
from detector.load import load_detector
from detector.zone_crop import ZoneCrop, crop_region, zone_polygons
from streams.detectors import DetectorCache
from tests.conftest import shared_clip
from tests.replay import SIDEWALK, camera_config
from tests.test_camera_moves import Run
from zones.config import parse_config
from zones.geometry import ZoneShape


class Fake:
    """A dynamic-shape detector that finds one box at (10, 20, 50, 80) of whatever it is fed."""

    input_size = None

    def __init__(self):
        self.class_names = {0: "car"}
        self.fed: list[tuple[tuple[int, ...], tuple[int, int] | None]] = []

    def shape_for(self, image: np.ndarray) -> tuple[int, int]:
        return 384, 640  # rect 640 of a 16:9 frame

    def detect(self, image: np.ndarray, shape: tuple[int, int] | None = None) -> Detections:
        self.fed.append((image.shape, shape))
        return Detections.from_arrays([[10, 20, 50, 80]], [0.9], [0], ["car"], ["vehicle"])


ZONE = [(400.0, 500.0), (1000.0, 500.0), (1000.0, 700.0), (400.0, 700.0)]


def test_the_crop_is_fed_at_the_frames_scale_and_its_boxes_come_back_in_frame_pixels():
    fake = Fake()
    found = ZoneCrop(fake, [ZONE]).detect(np.zeros((1080, 1920, 3), np.uint8))
    left, top, right, bottom = crop_region([ZONE], (1920, 1080))
    assert (left, top, right, bottom) == (310, 270, 1090, 730)  # 15 % of 600 x 200 around, raised by 200
    (fed, shape), = fake.fed
    assert fed[:2] == (bottom - top, right - left)
    assert shape == (160, 288)  # 460 x 780 at 384/1080 = 0.356 (the whole frame's scale), up to a stride of 32
    assert found.xyxy.tolist() == [[320.0, 290.0, 360.0, 350.0]]


def test_without_zones_or_with_a_tiny_one_the_whole_frame_is_fed():
    fake = Fake()
    image = np.zeros((360, 640, 3), np.uint8)
    assert ZoneCrop(fake, []).detect(image).xyxy.tolist() == [[10.0, 20.0, 50.0, 80.0]]
    ZoneCrop(fake, [[(5, 5), (10, 5), (10, 8)]]).detect(image)
    assert [fed for fed, _ in fake.fed] == [(360, 640, 3)] * 2


def test_the_crop_follows_zones_the_view_check_shifted_and_a_moved_view_gets_the_whole_frame(tmp_path):
    run = Run(tmp_path).run(40, lambda t: (60.0, 20.0) if t >= 30 else (0.0, 0.0))
    crop = ZoneCrop(Fake(), zone_polygons(run.pipeline.camera.zones))
    image = np.zeros((360, 640, 3), np.uint8)
    configured = crop.window(image)
    crop.follow(run.pipeline.crop_zones)
    shifted = crop.window(image)
    moved_zone = np.asarray(run.pipeline.monitor.zone("walk").polygon)
    assert moved_zone == pytest.approx(np.asarray(SIDEWALK["polygon"]) + np.array([60, 20]), abs=3.0)
    left, top, right, bottom = shifted
    assert left <= moved_zone[:, 0].min() and right >= min(640, moved_zone[:, 0].max())
    assert top <= moved_zone[:, 1].min() and bottom >= min(360, moved_zone[:, 1].max())
    assert shifted != configured

    elsewhere = Run(tmp_path / "elsewhere").run(100, lambda t: (0.0, 0.0) if t < 80 else None)
    assert elsewhere.pipeline.view_state == "moved" and elsewhere.pipeline.crop_zones() is None
    crop.follow(elsewhere.pipeline.crop_zones)
    assert crop.window(image) is None


def test_the_config_key_wraps_each_cameras_detector_around_the_shared_one():
    zones = [{**SIDEWALK, "id": "walk"}, {"id": "trees", "type": "ignore",
                                         "polygon": [[0, 0], [100, 0], [100, 50], [0, 50]]}]
    config = parse_config(camera_config(zones, detect={"crop": "zones"}))
    def cache_for(config):
        cache, shared = DetectorCache(config, None, None), Fake()
        settings = config.cameras[0].detect
        cache._loaded[(settings.model, settings.backend, settings.confidence, settings.iou, settings.imgsz,
                       settings.letterbox)] = shared
        return cache.for_camera(config.cameras[0]), shared

    detector, shared = cache_for(config)
    assert isinstance(detector, ZoneCrop) and detector.detector is shared
    assert detector.zones() == [list(map(tuple, SIDEWALK["polygon"]))]  # the ignore zone does not widen it
    plain, shared = cache_for(parse_config(camera_config(zones)))
    assert plain is shared


def test_on_real_footage_the_crop_finds_the_objects_standing_in_the_zones_again():
    capture = cv2.VideoCapture(str(shared_clip("pedestrian_street_1080p.mp4")))
    capture.set(cv2.CAP_PROP_POS_FRAMES, 150)
    ok, image = capture.read()
    assert ok
    zone = [(0.0, 700.0), (1920.0, 700.0), (1920.0, 1080.0), (0.0, 1080.0)]
    detector = load_detector("yolo11n", threads=1)
    full, cropped = detector.detect(image), ZoneCrop(detector, [zone]).detect(image)
    shape = ZoneShape(parse_config(camera_config([{"id": "w", "type": "sidewalk", "polygon": zone}]))
                      .cameras[0].zones[0])
    wanted = full[np.array([shape.contains_ground(b) for b in full.xyxy], dtype=bool)]
    assert len(wanted) >= 3
    iou = box_iou(wanted.xyxy, cropped.xyxy) * (wanted.class_id[:, None] == cropped.class_id[None, :])
    assert (iou.max(axis=1) >= 0.7).mean() >= 0.8


def test_process_points_the_crop_at_its_pipelines_zones(tmp_path):
    from events.store import EventStore
    from streams.batch import process_recorded
    from tests.test_camera_moves import scene, view_of

    video = tmp_path / "street.mp4"
    with av.open(str(video), "w") as container:  # a still, textured street: the view check says ok
        stream = container.add_stream("libx264", rate=10)
        stream.width, stream.height, stream.pix_fmt = 640, 360, "yuv420p"
        image = view_of(scene(1), 0, 0)
        for index in range(30):
            frame = av.VideoFrame.from_ndarray(image, format="bgr24")
            frame.pts = index
            container.mux(stream.encode(frame))
        container.mux(stream.encode())
    zone = {"id": "walk", "type": "sidewalk", "polygon": [[100, 250], [400, 250], [400, 350], [100, 350]]}
    config = parse_config({"analysis_fps": 2, "plates": {"enabled": False}, "detect": {"crop": "zones"},
                           "cameras": [{"id": "cam-01", "source": str(video), "zones": [zone]}]})
    fake = Fake()
    crop = ZoneCrop(fake, [])  # the config's zones left out: only the pipeline's can give a crop
    store = EventStore(tmp_path / "events.db")
    (report,) = process_recorded(config, tmp_path / "out", lambda camera: crop, store)
    store.close()
    assert report.error is None and report.frames >= 5
    # 300 x 100 widened by 45 and 15 px, raised by 100, clipped at the frame's bottom: rows 135-360, columns 55-445
    assert {fed[:2] for fed, _ in fake.fed} == {(225, 390)}
