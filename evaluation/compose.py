"""Compose frames: a real background, real sprites moving along paths at perspective-consistent scale, the camera's
aim (``evaluation.aim``), a lighting ramp, sensor noise; and encode them to H.264 with exact presentation timestamps
(gaps included).

Example:
    >>> path = Path_([(0.0, 100.0, 200.0), (10.0, 300.0, 200.0)])
    >>> path.at(5.0), path.at(11.0)
    ((200.0, 200.0), None)
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from evaluation.aim import Aim, view
from evaluation.scenes import ScaleLaw
from evaluation.sprites import Sprite

TIME_BASE = Fraction(1, 1000)  # presentation timestamps in milliseconds


@dataclass
class Path_:
    """Keyframes ``(t, x, y)`` of a ground point, linearly interpolated; absent before the first and after the last.

    (Named with an underscore so it does not shadow ``pathlib.Path``.)
    """

    keys: list[tuple[float, float, float]]

    def at(self, t: float) -> tuple[float, float] | None:
        keys = self.keys
        if t < keys[0][0] or t > keys[-1][0]:
            return None
        for (t0, x0, y0), (t1, x1, y1) in itertools.pairwise(keys):
            if t0 <= t <= t1:
                share = 0.0 if t1 == t0 else (t - t0) / (t1 - t0)
                return x0 + share * (x1 - x0), y0 + share * (y1 - y0)
        return keys[-1][1], keys[-1][2]

    @property
    def start(self) -> float:
        return self.keys[0][0]

    @property
    def end(self) -> float:
        return self.keys[-1][0]


def travel(points: list[tuple[float, float]], t0: float, speed_mps: float, law: ScaleLaw,
           step_px: float = 2.0) -> list[tuple[float, float, float]]:
    """Keyframes for moving along ``points`` from ``t0`` at ``speed_mps``: pixels per second follow the scale law,
    so things slow down in the distance as they would on camera."""
    keys = [(t0, *points[0])]
    t = t0
    for (x0, y0), (x1, y1) in itertools.pairwise(points):
        length = float(np.hypot(x1 - x0, y1 - y0))
        steps = max(1, int(length / step_px))
        for i in range(1, steps + 1):
            x, y = x0 + (x1 - x0) * i / steps, y0 + (y1 - y0) * i / steps
            t += (length / steps) / (speed_mps * law.pixels_per_metre(y))
            keys.append((t, x, y))
    return keys


def stay(points_in: list[tuple[float, float]], spot: tuple[float, float], points_out: list[tuple[float, float]],
         rest_start: float, rest_end: float, speed_mps: float, law: ScaleLaw) -> list[tuple[float, float, float]]:
    """Drive in along ``points_in`` to arrive at ``spot`` exactly at ``rest_start``, stay until ``rest_end``, then
    leave along ``points_out`` (empty lists: appear or vanish on the spot, e.g. at the start or end of the video)."""
    keys: list[tuple[float, float, float]] = []
    if points_in:
        arrive = travel([*points_in, spot], 0.0, speed_mps, law)
        shift = rest_start - arrive[-1][0]
        keys += [(t + shift, x, y) for t, x, y in arrive[:-1]]
    keys += [(rest_start, *spot), (rest_end, *spot)]
    if points_out:
        keys += travel([spot, *points_out], rest_end, speed_mps, law)[1:]
    return keys


@dataclass
class Actor:
    """A sprite following a path. Its box height comes from the scale law at its ground row."""

    name: str
    sprite: Sprite
    path: Path_
    law: ScaleLaw
    height_scale: float = 1.0  # this sprite's size against the class's typical height
    _cache: dict[int, np.ndarray] = field(default_factory=dict, repr=False)

    def box_at(self, t: float) -> tuple[float, float, float, float] | None:
        """The pasted sprite's exact box (x1, y1, x2, y2) at ``t``, or None if it is not in the scene."""
        where = self.path.at(t)
        if where is None:
            return None
        x, y = where
        h = round(self.law.height_px(self.sprite.class_name, y) * self.height_scale)
        w = max(round(self.sprite.width * h / self.sprite.height), 2)
        x1 = round(x - w / 2)
        y2 = round(y)
        return float(x1), float(y2 - h), float(x1 + w), float(y2)

    def image(self, height: int) -> np.ndarray:
        if height not in self._cache:
            if len(self._cache) > 64:
                self._cache.clear()
            self._cache[height] = self.sprite.resized(height)
        return self._cache[height]


def paste(canvas: np.ndarray, rgba: np.ndarray, x1: int, y1: int) -> None:
    """Alpha-blend ``rgba`` onto the float canvas with its top-left at (x1, y1), clipped to the frame."""
    h, w = rgba.shape[:2]
    H, W = canvas.shape[:2]
    cx1, cy1, cx2, cy2 = max(x1, 0), max(y1, 0), min(x1 + w, W), min(y1 + h, H)
    if cx1 >= cx2 or cy1 >= cy2:
        return
    part = rgba[cy1 - y1: cy2 - y1, cx1 - x1: cx2 - x1].astype(np.float32)
    alpha = part[:, :, 3:4] / 255.0
    region = canvas[cy1:cy2, cx1:cx2]
    region *= 1.0 - alpha
    region += alpha * part[:, :, :3]


Lighting = Callable[[float], tuple[float, tuple[float, float, float]]]  # t -> (gain, BGR tint multipliers)


def daylight(t: float) -> tuple[float, tuple[float, float, float]]:
    return 1.0, (1.0, 1.0, 1.0)


def dusk(start: float, end: float, darkest: float = 0.35) -> Lighting:
    """Light falling linearly from full to ``darkest`` between ``start`` and ``end``, turning bluer."""

    def light(t: float) -> tuple[float, tuple[float, float, float]]:
        share = min(max((t - start) / (end - start), 0.0), 1.0)
        gain = 1.0 - share * (1.0 - darkest)
        return gain, (1.0 + 0.15 * share, 1.0, 1.0 - 0.2 * share)

    return light


@dataclass
class Composer:
    """Draw the scene at any time ``t``: background, actors far to near, seen through the camera's ``aim``,
    lighting, noise."""

    background: np.ndarray
    actors: list[Actor]
    lighting: Lighting = daylight
    noise_sigma: float = 2.5
    seed: int = 0
    aim: list[Aim] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._base = self.background.astype(np.float32)
        rng = np.random.default_rng(self.seed)
        # a few noise fields drawn in turn at random: as good as fresh noise for a detector, much cheaper
        self._noise = [rng.normal(0.0, self.noise_sigma, self._base.shape).astype(np.float32) for _ in range(8)]

    def frame(self, t: float, index: int) -> np.ndarray:
        canvas = self._base.copy()
        placed = [(box, actor) for actor in self.actors if (box := actor.box_at(t)) is not None]
        for box, actor in sorted(placed, key=lambda item: item[0][3]):  # far (small y) first, near drawn over it
            x1, y1, _, y2 = (int(v) for v in box)
            paste(canvas, actor.image(y2 - y1), x1, y1)
        canvas = view(canvas, self.aim, t)  # the camera moves, the world does not
        gain, tint = self.lighting(t)
        canvas *= gain * np.asarray(tint, dtype=np.float32)
        canvas += self._noise[int(np.random.default_rng((self.seed, index)).integers(len(self._noise)))]
        return np.clip(canvas, 0, 255).astype(np.uint8)


def frame_times(duration: float, fps: float, gaps: list[tuple[float, float]] = ()) -> Iterator[float]:
    """Frame times on the ``fps`` grid from 0 to ``duration``, skipping the gaps (no frame strictly inside one)."""
    for i in range(int(duration * fps) + 1):
        t = round(i / fps, 3)
        if not any(a < t < b for a, b in gaps):
            yield t


def encode(frames: Iterator[tuple[float, np.ndarray]], path: Path, fps: float, crf: int = 26) -> int:
    """Write ``(t, image)`` frames to an H.264 MP4 with their exact times as presentation timestamps."""
    count = 0
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=Fraction(fps).limit_denominator(1000))
        stream.time_base = TIME_BASE
        stream.codec_context.time_base = TIME_BASE
        stream.pix_fmt = "yuv420p"
        stream.options = {"crf": str(crf), "preset": "ultrafast"}
        for t, image in frames:
            if count == 0:
                stream.height, stream.width = image.shape[:2]
            frame = av.VideoFrame.from_ndarray(image, format="bgr24")
            frame.pts = round(t / TIME_BASE)
            frame.time_base = TIME_BASE
            container.mux(stream.encode(frame))
            count += 1
        container.mux(stream.encode())
    return count
