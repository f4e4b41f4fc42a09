"""Sideways GPS correction from the kerb the camera sees (``patrol.align_to_kerb``).

A phone-grade GPS is 3-5 m off, a pavement zone 3-5 m wide: a car on the pavement is placed in the road or across
it. The camera itself measures the distance to the kerb beside the vehicle to a few centimetres (a point 3.5 m to
the side is ~0.02 m per pixel through the mount), and the zone's ``geo_polygon`` says where the kerb is: its edge
nearest the vehicle. ``KerbAlign`` finds the kerb in each frame as the first clear change of the ground's
brightness across the street seen from the road (the building line behind the pavement is often a stronger one),
within the GPS error of where the zone says it is, and moves the GPS position sideways so the two
agree: from the median distance to the kerb seen over the last ``window_s``, held for ``hold_s`` where no kerb is in
view.

The correction is only sideways: a kerb says nothing of how far along the street the vehicle is.

Example (a right-facing camera, a straight kerb 3.5 m to the right painted on a synthetic road):
    >>> from geo.local import LocalFrame
    >>> from geo.projection import GroundProjection, Mount
    >>> view = GroundProjection(Mount(height=1.6, pitch=12, yaw=90, hfov=95), (960, 540))
    >>> image = kerb_picture(view, 3.5)
    >>> frame = LocalFrame(120.67, 28.0)
    >>> zone = np.array([[-50.0, -3.5], [50.0, -3.5], [50.0, -8.0], [-50.0, -8.0]])  # east-west, south of y = 0
    >>> pose = Pose(0.0, 120.67, 28.0, 0.0, 1.2, 90.0, 6.0, None, frame)  # GPS 1.2 m north of the true lane
    >>> round(KerbAlign(view, [zone]).measure(image, np.zeros((0, 4)), pose), 1)  # metres to move it sideways
    1.2
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, replace

import cv2
import numpy as np

from geo.projection import GroundProjection, to_local
from geo.track import Pose

STEP_M = 0.04  # metres between samples of the ground strip, across and along the street
ALONG_M = 4.0  # metres either side of the camera's axis along the street that the strip covers
MIN_VALID = 0.4  # share of a strip row that must be open ground (not a detection, inside the frame)
MIN_CONTRAST = 4.0  # the kerb's brightness change over the strip's median change: weaker is not a kerb
SMOOTH_M = 0.12  # Gaussian smoothing of the brightness profile across the street
STEP_WIDTH_M = 0.15  # the brightness is compared this far either side of the kerb
# The kerb is the first clear edge seen from the road: the building line behind the pavement is often stronger.
MAX_SHARE_OF_STRONGEST = 0.3  # an edge this share as strong as the window's strongest counts as clear
MIN_STEP = 8.0  # grey levels the brightness must change by across the kerb (texture noise changes it by 1-3)
AGREEING_SHARE = 0.75  # of the window's measurements must agree with its median before it is applied
BOX_MARGIN = 0.1  # share of a box's size added around it when its pixels are left out


@dataclass(frozen=True)
class KerbSettings:
    search_m: float = 5.5  # how far (metres) the kerb may be from where the GPS and the zone say: the GPS error
    window_s: float = 3.0  # seconds of kerb distances whose median is taken (short: the vehicle may change lanes)
    hold_s: float = 30.0  # seconds the distance to the kerb is kept where none is seen (a lane is kept that long)
    min_measurements: int = 2
    max_spread_m: float = 0.5  # metres from the window's median that count as agreeing with it


class KerbAlign:
    """The sideways GPS correction of one recording (``correct`` each frame's pose).

    ``kerbs``: outlines (M, 2) in local metres (east, north) of the zones whose edge nearest the vehicle is a visible
    kerb. ``max_range``: metres beyond which the ground is too coarse to measure (the trusted range).
    """

    def __init__(self, view: GroundProjection, kerbs: list[np.ndarray], max_range: float = 16.0,
                 settings: KerbSettings = KerbSettings()):
        self.view, self.kerbs, self.max_range, self.settings = view, kerbs, max_range, settings
        self.side = 1.0 if np.sin(np.radians(view.mount.yaw)) > 0 else -1.0  # +1: the camera looks to the right
        self.sideways = abs(np.sin(np.radians(view.mount.yaw))) >= 0.5  # a forward camera sees kerbs end-on
        self.strip = GroundStrip(view, np.arange(0.3, max_range, STEP_M), self.side)
        self._found: deque[tuple[float, float]] = deque()  # (t, metres sideways from the vehicle to the kerb seen)
        self._distance, self._distance_t = 0.0, float("-inf")  # the agreed distance to the kerb, and when
        self._offset = 0.0  # metres the GPS position is moved towards the kerb
        self.measurements = 0  # frames whose kerb was found

    def correct(self, pose: Pose, image: np.ndarray, boxes: np.ndarray) -> Pose:
        """``pose`` moved sideways by the current correction (this frame's measurement included).

        What is smoothed is the distance to the kerb seen, which changes slowly as the vehicle keeps to its lane,
        not the GPS error, which jumps by a metre between fixes; the correction is where the GPS puts the kerb
        now minus that distance."""
        expected, found = self._measure(image, boxes, pose)
        if found is not None:
            self.measurements += 1
            self._found.append((pose.t, found))
        while self._found and self._found[0][0] < pose.t - self.settings.window_s:
            self._found.popleft()
        values = np.array([d for _, d in self._found])
        if len(values) >= self.settings.min_measurements:
            middle = float(np.median(values))
            if np.mean(np.abs(values - middle) <= self.settings.max_spread_m) >= AGREEING_SHARE:
                self._distance, self._distance_t = middle, pose.t
        if pose.t - self._distance_t > self.settings.hold_s:
            self._offset = 0.0
        elif expected is not None:  # the kerb hidden (parked cars, a bus): the vehicle is still that far from it
            self._offset = expected - self._distance
        return moved_sideways(pose, self.side * self._offset) if self._offset else pose

    def measure(self, image: np.ndarray, boxes: np.ndarray, pose: Pose) -> float | None:
        """Metres this frame alone says the GPS position is off towards the kerb (None: no kerb found)."""
        expected, found = self._measure(image, boxes, pose)
        return None if found is None else expected - found

    def _measure(self, image: np.ndarray, boxes: np.ndarray, pose: Pose) -> tuple[float | None, float | None]:
        """(metres to the kerb where the GPS and the zones put it, metres to the kerb seen); None where unknown."""
        expected = self._expected(pose) if self.sideways else None
        if expected is None:
            return None, None
        search = self.settings.search_m
        return expected, self.strip.kerb(image, boxes, expected - search, expected + search)

    def _expected(self, pose: Pose) -> float | None:
        """Metres from the GPS position sideways (the camera's side) to the nearest kerb edge a zone has beside it."""
        origin = np.array([pose.x, pose.y])
        direction = to_local([[0.0, self.side]], pose)[0] - origin
        best = None
        for outline in self.kerbs:
            entry = _entry_distance(outline, origin, direction)
            if entry is not None and -self.settings.search_m < entry < self.max_range and (
                    best is None or entry < best):
                best = entry
        return best


class GroundStrip:
    """The ground beside the vehicle resampled to a grid (rows: ``across`` metres sideways on the camera's ``side``;
    columns: along the street), computed once per view; ``kerb`` finds the kerb in a frame."""

    def __init__(self, view: GroundProjection, across: np.ndarray, side: float = 1.0):
        self.across = np.asarray(across, dtype=float)
        along = np.arange(-ALONG_M, ALONG_M + STEP_M / 2, 2 * STEP_M)
        forward, right = np.meshgrid(along, side * self.across)
        uv = view.to_pixels(np.column_stack([forward.ravel(), right.ravel()])).reshape(*forward.shape, 2)
        width, height = view.image_size
        with np.errstate(invalid="ignore"):
            self.inside = (uv[..., 0] >= 0) & (uv[..., 0] < width - 1) & (uv[..., 1] >= 0) & (uv[..., 1] < height - 1)
        self.map_x = np.where(self.inside, uv[..., 0], 0).astype(np.float32)
        self.map_y = np.where(self.inside, uv[..., 1], 0).astype(np.float32)

    def kerb(self, image: np.ndarray, boxes: np.ndarray, near: float = 0.0, far: float = np.inf) -> float | None:
        """Metres sideways, between ``near`` and ``far``, of the first clear change of the ground's brightness
        across the street, seen from the road, in ``image`` (the detection ``boxes`` left out); None when no change
        stands out."""
        valid = self.inside.copy()
        for x1, y1, x2, y2 in np.asarray(boxes, dtype=float).reshape(-1, 4):
            pad_x, pad_y = BOX_MARGIN * (x2 - x1), BOX_MARGIN * (y2 - y1)
            valid &= ~((self.map_x >= x1 - pad_x) & (self.map_x <= x2 + pad_x)
                       & (self.map_y >= y1 - pad_y) & (self.map_y <= y2 + pad_y))
        window = (self.across >= near) & (self.across <= far)
        enough = (valid.mean(axis=1) >= MIN_VALID) & window
        if enough.sum() < 10:
            return None
        grey = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY) if image.ndim == 3 else image
        strip = cv2.remap(grey, self.map_x, self.map_y, cv2.INTER_LINEAR).astype(np.float32)
        strip[~valid] = np.nan
        rows = np.flatnonzero(enough)
        profile = np.interp(np.arange(len(self.across)), rows, np.nanmedian(strip[rows], axis=1))  # bridges gaps
        profile = _smoothed(profile, SMOOTH_M / STEP_M)
        change = np.abs(np.gradient(profile))
        change[~enough] = 0.0
        background = max(float(np.median(change[enough])), 1e-3)
        reach = round(STEP_WIDTH_M / STEP_M)
        for peak in _peaks(change, MAX_SHARE_OF_STRONGEST * change.max()):  # nearest the road first
            step = abs(profile[min(peak + reach, len(profile) - 1)] - profile[max(peak - reach, 0)])
            if change[peak] >= MIN_CONTRAST * background and step >= MIN_STEP and peak not in (rows[0], rows[-1]):
                return float(self.across[peak])
        return None


def moved_sideways(pose: Pose, right_m: float) -> Pose:
    """``pose`` moved ``right_m`` metres to the vehicle's right (negative: left), its lon/lat recomputed."""
    x, y = to_local([[0.0, right_m]], pose)[0]
    lon, lat = pose.frame.to_lonlat(x, y)
    return replace(pose, x=float(x), y=float(y), lon=float(lon), lat=float(lat))


def kerb_picture(view: GroundProjection, kerb_m: float, side: float = 1.0,
                 building_m: float | None = None) -> np.ndarray:
    """A synthetic frame of textured ground with a road (dark) and a pavement (light) meeting at ``kerb_m`` metres
    to the side, and a white wall from ``building_m`` on: for examples and tests."""
    width, height = view.image_size
    u, v = np.meshgrid(np.arange(width) + 0.5, np.arange(height) + 0.5)
    ground = view.to_ground(np.column_stack([u.ravel(), v.ravel()])).reshape(height, width, 2)
    across = side * ground[..., 1]
    texture = np.random.default_rng(0).normal(0, 6, (height, width))
    image = np.where(across > kerb_m, 150.0, 90.0) + texture
    if building_m is not None:
        image[across > building_m] = 250.0
    image[np.isnan(across)] = 200.0  # sky
    return np.clip(image, 0, 255).astype(np.uint8)


def _peaks(values: np.ndarray, floor: float) -> np.ndarray:
    """Indices of the local maxima of ``values`` at or above ``floor``, in order."""
    inner = values[1:-1]
    return np.flatnonzero((inner >= values[:-2]) & (inner >= values[2:]) & (inner >= floor) & (inner > 0)) + 1


def _smoothed(values: np.ndarray, sigma: float) -> np.ndarray:
    radius = int(3 * sigma) + 1
    kernel = np.exp(-0.5 * (np.arange(-radius, radius + 1) / sigma) ** 2)
    padded = np.pad(values, radius, mode="edge")
    return np.convolve(padded, kernel / kernel.sum(), mode="valid")


def _entry_distance(outline: np.ndarray, origin: np.ndarray, direction: np.ndarray) -> float | None:
    """Where the line ``origin + s * direction`` first crosses the polygon ``outline``: the smallest ``s`` (None:
    it misses the polygon)."""
    starts, ends = outline, np.roll(outline, -1, axis=0)
    edges = ends - starts
    cross = direction[0] * edges[:, 1] - direction[1] * edges[:, 0]
    with np.errstate(divide="ignore", invalid="ignore"):
        offset = starts - origin
        s = (offset[:, 0] * edges[:, 1] - offset[:, 1] * edges[:, 0]) / cross
        u = (offset[:, 0] * direction[1] - offset[:, 1] * direction[0]) / cross
    hits = s[(np.abs(cross) > 1e-12) & (u >= 0) & (u <= 1)]
    return float(hits.min()) if len(hits) else None
