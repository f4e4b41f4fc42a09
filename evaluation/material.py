"""The real material scenarios are made of: per scene, a background and its scale law; per class, a sprite bank.

Everything is computed from ``../shared/data`` with the real default model, once per run (about half a minute),
and kept in memory; nothing from the shared folder is copied into the repository.

Example:
    >>> material = Material(Path("../shared/data"), detector)          # doctest: +SKIP
    >>> scene = material.scene("residential")                          # doctest: +SKIP
    >>> car = material.sprites("car")[0]                               # doctest: +SKIP
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from detector.boxes import box_coverage, box_iou
from detector.detections import Detections
from detector.load import Detector
from evaluation.props import rendered_umbrellas
from evaluation.scenes import ScaleLaw, SourceClip, detect_all, even_size, zoom_view
from evaluation.sprites import Sprite, cut_from_photo, cut_sprites

# Where each class's sprites are cut from (clip, width to decode at: sprites are cut large and scaled down).
SPRITE_SOURCES: dict[str, list[tuple[str, int]]] = {
    "car": [("clips/us_residential_street.mp4", 640), ("clips/cn_curbside_parking.mp4", 576)],
    "truck": [("clips/Testvideo_Cars-Truck_FR20_2020-01-01_00-00-00.mp4", 800),
              ("clips/Testvideo_Cars-Cyclist_FR20_2020-01-01_00-00-00.mp4", 800)],
    "person": [("clips/pedestrian_street_1080p.mp4", 1920)],
}
# Classes no clip shows alone and unridden: cut from still photos.
PHOTO_SOURCES: dict[str, list[str]] = {
    "bicycle": [f"photos/sharedbike_plaza/{n}.jpg" for n in (5, 11, 12, 13, 15, 18, 19, 20)],
}
# Classes no shared footage shows at all: drawn (see evaluation/props.py), used only where the model finds them.
RENDERED_SOURCES = {"umbrella": rendered_umbrellas}


@dataclass
class Scene:
    """A fixed camera's empty view at the scenarios' frame size, with its perspective and named paths."""

    name: str
    source: str
    background: np.ndarray
    law: ScaleLaw
    static: Detections  # what the real model already sees in the empty view (parked cars, benches)

    @property
    def size(self) -> tuple[int, int]:
        return self.background.shape[1], self.background.shape[0]


@dataclass(frozen=True)
class SceneSpec:
    clip: str  # relative to the data folder
    width: int
    crop: tuple[int, int, int, int] | None = None  # x, y, width, height of the decoded view, enlarged ``zoom`` times
    zoom: float = 1.0


SCENES = {
    "residential": SceneSpec("clips/us_residential_street.mp4", 640),
    "pedestrian": SceneSpec("clips/pedestrian_street_1080p.mp4", 640),
    # the pedestrian street's near pavement through a 2x longer lens (1280x720): a car there shows a readable plate
    "pedestrian-near": SceneSpec("clips/pedestrian_street_1080p.mp4", 1920, crop=(1160, 700, 640, 360), zoom=2.0),
}


@dataclass
class Material:
    """Backgrounds and sprites from the shared footage, detected by ``detector``."""

    data: Path
    detector: Detector
    sprite_sources: dict[str, list[tuple[str, int]]] = field(default_factory=lambda: dict(SPRITE_SOURCES))
    photo_sources: dict[str, list[str]] = field(default_factory=lambda: dict(PHOTO_SOURCES))
    _clips: dict[tuple[str, int], tuple[SourceClip, np.ndarray, list[Detections]]] = field(default_factory=dict)
    _scenes: dict[str, Scene] = field(default_factory=dict)
    _sprites: dict[str, list[Sprite]] = field(default_factory=dict)

    def clip(self, relative: str, width: int) -> tuple[SourceClip, np.ndarray, list[Detections]]:
        """(frames, temporal median, the model's detections on every frame) of a clip."""
        key = (relative, width)
        if key not in self._clips:
            path = self.data / relative
            if not path.is_file():
                raise FileNotFoundError(f"{path}: the scenarios are made from this real clip; it is missing")
            clip = SourceClip.read(path, width)
            self._clips[key] = (clip, clip.median(), detect_all(self.detector, clip.frames))
        return self._clips[key]

    def scene(self, name: str) -> Scene:
        if name not in self._scenes:
            spec = SCENES[name]
            _clip, median, found = self.clip(spec.clip, spec.width)
            law = ScaleLaw.fit(found, median.shape[0])
            if spec.crop is not None:
                median, law = zoom_view(median, spec.crop, spec.zoom), law.zoomed(spec.crop[1], spec.zoom)
            background = even_size(median)
            static = self.detector.detect(background)
            self._scenes[name] = Scene(name, spec.clip, background, law, static)
        return self._scenes[name]

    def sprites(self, class_name: str) -> list[Sprite]:
        """Clean sprites of a class from all its sources, one per distinct object where possible, best first."""
        if class_name not in self._sprites:
            found: list[Sprite] = []
            for relative, width in self.sprite_sources.get(class_name, []):
                clip, median, detections = self.clip(relative, width)
                found += cut_sprites(clip, median, detections, (class_name,))
            for relative in self.photo_sources.get(class_name, []):
                found += self._photo_sprites(relative, class_name)
            if class_name in RENDERED_SOURCES:
                found += RENDERED_SOURCES[class_name]()
            found.sort(key=lambda s: (-sharpness(s), -s.score))
            self._sprites[class_name] = found
        return self._sprites[class_name]

    def _photo_sprites(self, relative: str, class_name: str, min_score: float = 0.5) -> list[Sprite]:
        """Isolated ``class_name`` objects of a still photo (found on a 1280-wide copy, cut at full size)."""
        path = self.data / relative
        image = cv2.imread(str(path))
        if image is None:
            raise FileNotFoundError(f"{path}: the scenarios are made from this real photo; it is missing")
        small = cv2.resize(image, (1280, round(image.shape[0] * 1280 / image.shape[1])), interpolation=cv2.INTER_AREA)
        found = self.detector.detect(small)
        scale = image.shape[1] / small.shape[1]
        sprites = []
        for i in np.flatnonzero((found.class_name == class_name) & (found.confidence >= min_score)):
            others = np.delete(found.xyxy, i, axis=0)
            if len(others) and box_coverage(found.xyxy[i], others).max() > 0.02:
                continue
            sprite = cut_from_photo(image, found.xyxy[i] * scale, class_name, f"{path.name} box {i}",
                                    float(found.confidence[i]))
            if sprite is not None:
                sprites.append(sprite)
        return sprites

    def detected(self, image: np.ndarray, box, class_names: tuple[str, ...]) -> bool:
        """Whether the real model finds a ``class_names`` object on ``box`` in ``image``."""
        found = self.detector.detect(image)
        return found_on(box, found[np.isin(found.class_name, class_names)].xyxy, class_names[0])


def found_on(box, found_xyxy: np.ndarray, class_name: str, min_iou: float = 0.5) -> bool:
    """Whether one of ``found_xyxy`` is the object whose sprite box is ``box``: an overlap of ``min_iou``; for an
    umbrella, a box over its canopy (the model does not box the thin pole under it)."""
    if not len(found_xyxy):
        return False
    box = np.asarray(box, dtype=np.float32)
    if class_name == "umbrella":
        inside = box_coverage(found_xyxy, box)[:, 0] >= 0.8
        wide = (found_xyxy[:, 2] - found_xyxy[:, 0]) >= 0.7 * (box[2] - box[0])
        near_top = found_xyxy[:, 1] <= box[1] + 0.15 * (box[3] - box[1])
        return bool((inside & wide & near_top).any())
    return float(box_iou(box, found_xyxy).max()) >= min_iou


def sharpness(sprite: Sprite) -> float:
    """Variance of the Laplacian per pixel of height: motion-blurred or upscaled cuts score low."""
    grey = cv2.cvtColor(sprite.rgba[:, :, :3], cv2.COLOR_BGR2GRAY)
    return float(cv2.Laplacian(grey, cv2.CV_32F).var())


def appearance(sprite: Sprite) -> np.ndarray:
    """Hue-saturation histogram of the opaque pixels, to pick sprites that look different from each other."""
    hsv = cv2.cvtColor(sprite.rgba[:, :, :3], cv2.COLOR_BGR2HSV)
    mask = (sprite.rgba[:, :, 3] > 127).astype(np.uint8)
    hist = cv2.calcHist([hsv], [0, 1], mask, [18, 8], [0, 180, 0, 256])
    return cv2.normalize(hist, hist).flatten()


def looks_different(a: Sprite, b: Sprite, threshold: float = 0.5) -> bool:
    return cv2.compareHist(appearance(a), appearance(b), cv2.HISTCMP_BHATTACHARYYA) > threshold
