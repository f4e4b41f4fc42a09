"""A straight street filmed by a side-facing patrol camera: exact ground and facade planes, sprites standing on the
ground at pinhole scale, and the GPS track of the drive with realistic noise.

Street coordinates: ``s`` metres along the street (east), ``d`` metres to the right of the patrol's lane line
(south). The patrol drives along ``d = 0`` heading east, so a ground point (s, d) is at (``s - s_vehicle``, ``d``)
in the vehicle frame of ``geo`` (x forward, y right) and every pixel's ground (or facade) point is fixed in that
frame: the maps are computed once and shifted along the street per frame, so parallax is exact.

Example:
    >>> street = Street()
    >>> [round(float(v), 6) for v in street.lonlat(0.0, 0.0)]
    [120.67, 28.001]
    >>> view = StreetCamera()
    >>> box = view.box((10.0, 5.0), 10.0, 1.5, 1.0)
    >>> round(box[3] - box[1]) == round(view.focal * 1.5 / view.depth((0.0, 5.0)))
    True
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import cv2
import gpxpy.gpx
import numpy as np

from evaluation.compose import paste
from geo import GroundProjection, LocalFrame, Mount

MOUNT = Mount(height=1.6, pitch=12, yaw=90, hfov=95)
FRAME = (960, 540)
KERB_D = 3.5  # the pavement starts here (metres right of the patrol's lane line)
FACADE_D = 10.5  # the building line
GROUND_PPM = 120.0  # texture pixels per metre of pavement
FACADE_HEIGHT = 7.0  # metres of real facade texture; above it the top row is repeated (awnings, sky)
# Texture sources in ../shared/data: (file, crop x1, y1, x2, y2 in source pixels, pixels per metre on the ground)
PAVEMENT = ("photos/sharedbike_plaza/14.jpg", (0, 1300, 3840, 2160), 350.0)  # the plaza's empty paving, near rows
ROAD = ("clips/pedestrian_street_1080p.mp4", (1040, 420, 1200, 640), 90.0)  # the shopping street's grey surface
FACADE = ("clips/tokyo_street_walk_handheld.mp4", (50, 0, 330, 232))  # a shop front, people and cars cropped off


@dataclass(frozen=True)
class Street:
    """Where the street is on Earth: its origin (s = 0 on the lane line) and its east-west axis."""

    lon: float = 120.67
    lat: float = 28.001
    frame: LocalFrame = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "frame", LocalFrame(self.lon, self.lat))

    def lonlat(self, s: float, d: float) -> tuple[float, float]:
        """Street coordinates -> (lon, lat)."""
        lon, lat = self.frame.to_lonlat(s, -d)
        return float(lon), float(lat)

    def rectangle(self, s1: float, s2: float, d1: float, d2: float) -> list[list[float]]:
        """A geo_polygon ([lon, lat] corners) of the street rectangle s1..s2, d1..d2."""
        corners = [(s1, d1), (s2, d1), (s2, d2), (s1, d2)]
        return [[round(v, 7) for v in self.lonlat(s, d)] for s, d in corners]


class StreetCamera:
    """The mount on the scenario's frames: projections of street points at a vehicle position ``s_v``."""

    def __init__(self, mount: Mount = MOUNT, size: tuple[int, int] = FRAME) -> None:
        self.mount, self.size = mount, size
        self.view = GroundProjection(mount, size)
        self.focal = mount.focal_px(size[0])
        self.rotation = mount.rotation()

    def depth(self, xy: tuple[float, float]) -> float:
        """Metres along the optical axis to a vehicle-frame ground point: the pinhole's scale (f * size / depth)."""
        forward, right = np.asarray(xy, dtype=float) - self.mount.offset
        return float(self.rotation[:, 2] @ np.array([forward, right, self.mount.height]))

    def box(self, spot: tuple[float, float], s_v: float, height_m: float, aspect: float,
            length_m: float | None = None) -> tuple[float, float, float, float] | None:
        """The pasted box (x1, y1, x2, y2) of an object whose ground contact is the street point ``spot``: bottom
        centre at ``to_pixels`` of it, height ``focal * height_m / depth``, width from the sprite's ``aspect`` or
        from ``length_m``; None behind the camera or off the frame."""
        xy = (spot[0] - s_v, spot[1])
        depth = self.depth(xy)
        if depth < 0.5:
            return None
        u, v = self.view.to_pixels([xy])[0]
        h = max(round(self.focal * height_m / depth), 2)
        w = max(round(self.focal * length_m / depth if length_m else h * aspect), 2)
        x1, y2 = round(u - w / 2), round(v)
        box = (float(x1), float(y2 - h), float(x1 + w), float(y2))
        width, height = self.size
        return box if box[2] > 0 and box[0] < width and box[1] < height else None


def ray_planes(camera: StreetCamera) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per pixel: ground (forward, right) metres (NaN where not ground), facade (forward, height) metres (NaN where
    not facade), and the mask of facade pixels. The ground is from ``GroundProjection.to_ground`` itself."""
    width, height = camera.size
    u, v = np.meshgrid(np.arange(width) + 0.5, np.arange(height) + 0.5)
    uv = np.column_stack([u.ravel(), v.ravel()])
    ground = camera.view.to_ground(uv).reshape(height, width, 2)
    intrinsics = np.array([[camera.focal, 0, width / 2], [0, camera.focal, height / 2], [0, 0, 1.0]])
    rays = (camera.rotation @ np.linalg.inv(intrinsics) @ np.column_stack([uv, np.ones(len(uv))]).T).T
    with np.errstate(divide="ignore", invalid="ignore"):
        t_facade = np.where(rays[:, 1] > 0, FACADE_D / rays[:, 1], np.inf)
        t_ground = np.where(rays[:, 2] > 0, camera.mount.height / rays[:, 2], np.inf)
    facade = (t_facade < t_ground).reshape(height, width)
    along = (t_facade * rays[:, 0]).reshape(height, width)
    up = (camera.mount.height - t_facade * rays[:, 2]).reshape(height, width)
    ground[facade] = np.nan
    return ground, np.stack([along, up], axis=-1), facade


@dataclass
class Textures:
    """Real pixels tiled along the street (each tile mirrored, so repeats have no seams)."""

    pavement: np.ndarray
    pavement_ppm: float
    road: np.ndarray
    road_ppm: float
    facade: np.ndarray
    facade_ppm: float

    @classmethod
    def load(cls, data: Path) -> Textures:
        pave = _crop(_read_image(data / PAVEMENT[0]), PAVEMENT[1])
        scale = GROUND_PPM / PAVEMENT[2]  # shrunk once to about the frames' ground resolution: no aliasing
        pave = cv2.resize(pave, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
        road = _crop(_read_frame(data / ROAD[0]), ROAD[1])
        facade = _crop(_read_frame(data / FACADE[0]), FACADE[1])
        return cls(_mirrored(pave), GROUND_PPM, _mirrored(road), ROAD[2], _mirrored(facade, vertical=False),
                   facade.shape[0] / FACADE_HEIGHT)


class StreetRenderer:
    """Frames of the empty street at a vehicle position, then sprites pasted far to near."""

    def __init__(self, camera: StreetCamera, textures: Textures) -> None:
        self.camera, self.textures = camera, textures
        self.ground, self.facade_xy, self.facade_mask = ray_planes(camera)
        self._road = self.ground[..., 1] < KERB_D

    def empty(self, s_v: float) -> np.ndarray:
        tx = self.textures
        forward, right = self.ground[..., 0] + s_v, self.ground[..., 1]
        pave = _lookup(tx.pavement, forward * tx.pavement_ppm, right * tx.pavement_ppm)
        road = _lookup(tx.road, forward * tx.road_ppm, right * tx.road_ppm)
        kerb = np.abs(right - KERB_D) < 0.12
        ground = np.where(self._road[..., None], road, pave)
        ground[kerb] = (ground[kerb] * 0.7).astype(np.uint8)  # the kerb stone's shadowed edge
        along, up = self.facade_xy[..., 0] + s_v, np.clip(self.facade_xy[..., 1], 0.0, FACADE_HEIGHT)
        rows = (FACADE_HEIGHT - up) * tx.facade_ppm
        wall = _lookup(tx.facade, along * tx.facade_ppm, rows, wrap_rows=False)
        return np.where(self.facade_mask[..., None], wall, ground)

    def frame(self, s_v: float, placed: list[tuple[tuple[float, float, float, float], np.ndarray, float]],
              gain: float, noise: np.ndarray) -> np.ndarray:
        """``placed``: (box, sprite RGBA at the box's size, depth); drawn far to near."""
        canvas = self.empty(s_v).astype(np.float32)
        for box, rgba, _ in sorted(placed, key=lambda item: -item[2]):
            paste(canvas, rgba, int(box[0]), int(box[1]))
        canvas = canvas * gain + noise
        return np.clip(canvas, 0, 255).astype(np.uint8)


# -- GPS ----------------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class GpsNoise:
    """A slowly varying bias (per axis an Ornstein-Uhlenbeck process) plus white noise; the total horizontal error
    never exceeds ``max_m``."""

    sigma_m: float = 2.1  # per axis: about 3 m of horizontal error (RMS)
    tau_s: float = 60.0  # correlation time of the bias
    white_m: float = 0.3
    max_m: float = 5.0

    def sample(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """(n, 2) east/north errors in metres at 1 Hz."""
        keep = np.exp(-1.0 / self.tau_s)
        bias = np.empty((n, 2))
        bias[0] = rng.normal(0, self.sigma_m, 2)
        for k in range(1, n):
            bias[k] = keep * bias[k - 1] + self.sigma_m * np.sqrt(1 - keep**2) * rng.normal(0, 1, 2)
        error = bias + rng.normal(0, self.white_m, (n, 2))
        size = np.hypot(error[:, 0], error[:, 1])
        return error * np.minimum(1.0, self.max_m / np.maximum(size, 1e-9))[:, None]


def write_gpx(path: Path, street: Street, start: datetime, s_at, seconds: range, errors: np.ndarray) -> list[dict]:
    """A GPX 1.1 track of fixes at ``start + k`` seconds for k in ``seconds``: the true lane position ``s_at(k)``
    plus ``errors`` (east, north metres). Returns the fixes with their true and noisy positions."""
    gpx = gpxpy.gpx.GPX()
    track = gpxpy.gpx.GPXTrack(name=path.parent.name)
    segment = gpxpy.gpx.GPXTrackSegment()
    gpx.tracks.append(track)
    track.segments.append(segment)
    fixes = []
    for k, (east, north) in zip(seconds, errors, strict=True):
        s = s_at(k)
        lon, lat = street.frame.to_lonlat(s + east, north)
        when = (start + timedelta(seconds=k)).astimezone(UTC)
        segment.points.append(gpxpy.gpx.GPXTrackPoint(float(lat), float(lon), time=when))
        fixes.append({"t": k, "s": round(s, 3), "error_m": [round(float(east), 3), round(float(north), 3)]})
    path.write_text(gpx.to_xml(version="1.1"), encoding="utf-8")
    return fixes


# -- texture helpers ------------------------------------------------------------------------------------------------

def _read_image(path: Path) -> np.ndarray:
    image = cv2.imread(str(path))
    if image is None:
        raise FileNotFoundError(f"{path}: the patrol street is textured with this real photo; it is missing")
    return image


def _read_frame(path: Path, index: int = 0) -> np.ndarray:
    capture = cv2.VideoCapture(str(path))
    capture.set(cv2.CAP_PROP_POS_FRAMES, index)
    ok, image = capture.read()
    capture.release()
    if not ok:
        raise FileNotFoundError(f"{path}: the patrol street is textured with this real clip; it is missing")
    return image


def _crop(image: np.ndarray, box: tuple[int, int, int, int]) -> np.ndarray:
    x1, y1, x2, y2 = box
    return np.ascontiguousarray(image[y1:y2, x1:x2])


def _mirrored(tile: np.ndarray, vertical: bool = True) -> np.ndarray:
    wide = np.hstack([tile, tile[:, ::-1]])
    return np.vstack([wide, wide[::-1]]) if vertical else wide


def _lookup(texture: np.ndarray, x: np.ndarray, y: np.ndarray, wrap_rows: bool = True) -> np.ndarray:
    """Bilinear texture lookup at pixel coordinates, tiled (NaN coordinates read pixel 0)."""
    h, w = texture.shape[:2]
    x = np.nan_to_num(np.mod(x, w), nan=0.0).astype(np.float32)
    y = np.nan_to_num(np.mod(y, h) if wrap_rows else np.clip(y, 0, h - 1), nan=0.0).astype(np.float32)
    return cv2.remap(texture, x, y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_WRAP)
