"""Real backgrounds for the scenarios, and the perspective of each: how tall a thing looks where it stands.

A background is the temporal median of a fixed-camera clip (moving things vanish, parked ones stay) or a still
photo, resized to the scenario's frame size. Its *scale law* says how many pixels one metre of height covers at
each ground row ``y``; it is fitted to the real model's own detections in that clip (cars are about 1.5 m tall,
people 1.7 m), so sprites pasted anywhere get the size the camera would give them.

Example:
    >>> law = ScaleLaw(slope=0.2, intercept=-10.0)
    >>> law.pixels_per_metre(150.0), law.height_px("car", 150.0)
    (20.0, 30.0)
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import av
import cv2
import numpy as np

from detector.detections import Detections
from detector.load import Detector

# Typical heights in metres, for turning pixels per metre into a sprite's height.
REAL_HEIGHT_M = {
    "car": 1.5,
    "truck": 3.0,
    "bus": 3.1,
    "person": 1.7,
    "bicycle": 1.05,
    "motorcycle": 1.2,
    "umbrella": 2.3,
    "dining table": 0.75,
    "chair": 0.9,
    "bench": 0.8,
}
LAW_CLASSES = ("car", "person")  # detections used to fit a scale law
MIN_SCALE_PX = 6.0


@dataclass(frozen=True)
class ScaleLaw:
    """Pixels per metre of height, linear in the ground row: ``slope * y + intercept``."""

    slope: float
    intercept: float

    def pixels_per_metre(self, y: float) -> float:
        return max(self.slope * y + self.intercept, 1.0)

    def height_px(self, class_name: str, y: float) -> float:
        """Box height in pixels of a ``class_name`` standing with its ground contact at row ``y``."""
        return max(REAL_HEIGHT_M[class_name] * self.pixels_per_metre(y), MIN_SCALE_PX)

    @classmethod
    def fit(cls, detections: list[Detections], frame_height: int, classes=LAW_CLASSES) -> ScaleLaw:
        """Robust (Huber) line fit of pixels-per-metre against ground row, from confident whole boxes."""
        ys, ppm = [], []
        for found in detections:
            for box, name, score in zip(found.xyxy, found.class_name, found.confidence, strict=True):
                touches_edge = box[1] <= 1 or box[3] >= frame_height - 1
                if name in classes and score >= 0.5 and not touches_edge:
                    ys.append(float(box[3]))
                    ppm.append(float(box[3] - box[1]) / REAL_HEIGHT_M[name])
        if len(ys) < 5 or np.ptp(ys) < 20:
            raise ValueError(f"only {len(ys)} usable detections to fit a scale law; use a clip with more traffic")
        vx, vy, x0, y0 = cv2.fitLine(np.float32(np.column_stack([ys, ppm])), cv2.DIST_HUBER, 0, 0.01, 0.01).ravel()
        slope = float(vy / vx) if abs(vx) > 1e-9 else 0.0
        return cls(slope, float(y0 - slope * x0))

    def zoomed(self, y0: float, zoom: float) -> ScaleLaw:
        """The law of a view cut at row ``y0`` and enlarged ``zoom`` times (a longer lens on the same camera):
        row ``y`` of the new view is row ``y0 + y / zoom`` of this one, and everything is ``zoom`` times taller.

        >>> ScaleLaw(0.2, -10.0).zoomed(100.0, 2.0).height_px("car", 100.0)  # row 150 of the old view, doubled
        60.0
        """
        return ScaleLaw(self.slope, zoom * (self.slope * y0 + self.intercept))


@dataclass
class SourceClip:
    """Decoded frames of a real clip (every ``step``-th), at the scenario's frame size."""

    path: Path
    frames: list[np.ndarray]
    times: list[float]
    scale: float  # output pixels per source pixel

    @classmethod
    def read(cls, path: str | Path, width: int, step_s: float = 0.25) -> SourceClip:
        path = Path(path)
        frames, times, scale = [], [], 1.0
        with av.open(str(path)) as container:
            stream = container.streams.video[0]
            next_t = 0.0
            for frame in container.decode(stream):
                t = float(frame.pts * frame.time_base) if frame.pts is not None else next_t
                if t + 1e-3 < next_t:
                    continue
                next_t = t + step_s
                image = frame.to_ndarray(format="bgr24")
                scale = width / image.shape[1]
                frames.append(_resize(image, scale))
                times.append(t)
        if not frames:
            raise ValueError(f"{path}: no frame could be decoded")
        return cls(path, frames, times, scale)

    def median(self) -> np.ndarray:
        """The empty scene: per-pixel temporal median, so anything that moves vanishes."""
        return np.median(np.stack(self.frames), axis=0).astype(np.uint8)


def zoom_view(image: np.ndarray, crop: tuple[int, int, int, int], zoom: float) -> np.ndarray:
    """The ``crop`` (x, y, width, height) of ``image`` enlarged ``zoom`` times (cubic): a zoomed camera's view."""
    x, y, width, height = crop
    return cv2.resize(image[y:y + height, x:x + width], (round(width * zoom), round(height * zoom)),
                      interpolation=cv2.INTER_CUBIC)


def even_size(image: np.ndarray) -> np.ndarray:
    """Crop to even width and height (H.264 with 4:2:0 chroma needs them)."""
    h, w = image.shape[:2]
    return image[: h - h % 2, : w - w % 2]


def detect_all(detector: Detector, frames: list[np.ndarray]) -> list[Detections]:
    return [detector.detect(image) for image in frames]


def _resize(image: np.ndarray, scale: float) -> np.ndarray:
    if abs(scale - 1.0) < 1e-6:
        return image
    size = (round(image.shape[1] * scale), round(image.shape[0] * scale))
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)
