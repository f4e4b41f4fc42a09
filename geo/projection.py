"""Ground projection: image pixels -> the vehicle's ground plane (metres) -> the world (local metres, lon/lat).

The vehicle frame is on the (flat) road: ``x`` metres forward along the direction of travel, ``y`` metres to the
right, origin below the GPS antenna. The camera is a pinhole (no distortion, principal point at the image centre,
square pixels, focal length ``(width / 2) / tan(hfov / 2)``) at ``mount.height`` above the road and
``mount.offset`` = ``(forward, right)`` metres from the antenna; its view is turned by ``yaw`` clockwise (seen
from above) from the direction of travel, then tilted down by ``pitch``, then rolled by ``roll`` (clockwise seen
from behind the camera). A drone's gimbal camera is the same with ``height`` its altitude above the ground and
``pitch`` 90 (straight down: the top of the image looks forward).

>>> view = GroundProjection(Mount(height=1.6, pitch=12, hfov=95), (1920, 1080))
>>> uv = view.to_pixels([[5.0, 2.0]])
>>> [round(float(v), 3) for v in view.to_ground(uv)[0]]
[5.0, 2.0]
>>> bool(np.isnan(view.to_ground([[960, 300]])).all())  # above the horizon: no ground position
True
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np
from numpy.typing import ArrayLike

from geo.errors import MountError
from geo.track import Pose

FOOTPRINT_VERTICES = 128  # of the trust-range circle the footprint is cut from
# What ``trust_range`` allows by default: half the default chalk match radius (3 m), for a box bottom 2 pixels off
# and the mount's pitch 0.5 degree off (the vehicle nodding, the road's slope): 16.2 m for a 1.6 m, 12 degree mount.
MAX_ERROR_M = 1.5
PIXEL_ERROR_PX = 2.0
PITCH_ERROR_DEG = 0.5


@dataclass(frozen=True)
class Mount:
    """Where a camera sits and looks: angles in degrees, lengths in metres (see the module's conventions).

    ``ground_points``: 4+ ``((u, v), (x, y))`` pairs of pixels (in the video's frame size) and their measured
    ground positions (x forward, y right of the point on the road below the camera); they replace height, pitch,
    yaw, roll and hfov.
    """

    height: float | None = None
    pitch: float = 0.0
    yaw: float = 0.0
    roll: float = 0.0
    hfov: float | None = None
    offset: tuple[float, float] = (0.0, 0.0)
    ground_points: Sequence[Sequence[Sequence[float]]] | None = None

    def focal_px(self, width: int) -> float:
        """The focal length in pixels for frames ``width`` pixels wide."""
        if self.hfov is None or not 0 < self.hfov < 180:
            raise MountError(f"mount.hfov {self.hfov} is not a field of view; give the horizontal field of view in "
                             "degrees (0-180), or ground_points.")
        return (width / 2) / np.tan(np.radians(self.hfov) / 2)

    def rotation(self) -> np.ndarray:
        """The camera's axes (columns: image right, image down, optical axis) in (forward, right, down)."""
        yaw, pitch, roll = np.radians([self.yaw, self.pitch, self.roll])
        ahead = np.array([np.cos(yaw), np.sin(yaw), 0.0])
        right = np.array([-np.sin(yaw), np.cos(yaw), 0.0])
        down = np.array([0.0, 0.0, 1.0])
        axis = np.cos(pitch) * ahead + np.sin(pitch) * down
        image_down = -np.sin(pitch) * ahead + np.cos(pitch) * down
        image_right = np.cos(roll) * right + np.sin(roll) * image_down
        image_down = -np.sin(roll) * right + np.cos(roll) * image_down
        return np.column_stack([image_right, image_down, axis])


class GroundProjection:
    """A mount on frames of ``image_size`` = (width, height) pixels.

    ``homography`` maps homogeneous pixels (u, v, 1) to (x w, y w, w) in the vehicle frame, with ``w > 0`` exactly
    for pixels below the horizon (pixels at or above it have no ground position).
    """

    def __init__(self, mount: Mount, image_size: tuple[int, int]) -> None:
        self.mount, self.image_size = mount, (int(image_size[0]), int(image_size[1]))
        camera = _from_points(mount.ground_points) if mount.ground_points is not None else self._from_mount()
        shift = np.array([[1.0, 0.0, mount.offset[0]], [0.0, 1.0, mount.offset[1]], [0.0, 0.0, 1.0]])
        self.homography = shift @ camera
        self._to_image = np.linalg.inv(camera)  # camera-ground (x, y, 1) -> (u, v, 1) * depth, depth > 0 in front

    def _from_mount(self) -> np.ndarray:
        mount, (width, height) = self.mount, self.image_size
        if mount.height is None or mount.height <= 0:
            raise MountError(f"mount.height {mount.height} is not a height above the road; give it in metres (> 0), "
                             "or ground_points.")
        focal = mount.focal_px(width)
        intrinsics = np.array([[focal, 0.0, width / 2], [0.0, focal, height / 2], [0.0, 0.0, 1.0]])
        return np.diag([1.0, 1.0, 1.0 / mount.height]) @ mount.rotation() @ np.linalg.inv(intrinsics)

    def to_ground(self, uv: ArrayLike) -> np.ndarray:
        """Pixels (N, 2) -> vehicle-frame ground points (N, 2) in metres; NaN at or above the horizon."""
        points = _homogeneous(uv) @ self.homography.T
        w = points[:, 2:]
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(w > 0, points[:, :2] / w, np.nan)

    def to_pixels(self, xy: ArrayLike) -> np.ndarray:
        """Vehicle-frame ground points (N, 2) -> pixels (N, 2); NaN behind the camera. The forward model."""
        points = _homogeneous(np.asarray(xy, dtype=float) - self.mount.offset) @ self._to_image.T
        depth = points[:, 2:]
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(depth > 0, points[:, :2] / depth, np.nan)

    def ranges(self, xy: ArrayLike) -> np.ndarray:
        """Ground distance (N,) in metres of vehicle-frame points from the point on the road below the camera."""
        from_camera = np.asarray(xy, dtype=float).reshape(-1, 2) - self.mount.offset
        return np.hypot(from_camera[:, 0], from_camera[:, 1])

    def footprint(self, max_range: float) -> np.ndarray:
        """The ground the frame sees up to ``max_range`` metres from the camera: a convex polygon (M, 2) in the
        vehicle frame, empty (0, 2) when the camera sees no ground."""
        angles = np.linspace(0, 2 * np.pi, FOOTPRINT_VERTICES, endpoint=False)
        polygon = np.column_stack([max_range * np.cos(angles), max_range * np.sin(angles), np.ones_like(angles)])
        u, v, depth = self._to_image  # rows: u * depth, v * depth, depth of camera-ground (x, y, 1)
        width, height = self.image_size
        for edge in (depth, u, width * depth - u, v, height * depth - v):  # in front of the camera, inside the image
            polygon = _clip(polygon, edge)
        return polygon[:, :2] + self.mount.offset


def to_local(xy: ArrayLike, pose: Pose) -> np.ndarray:
    """Vehicle-frame ground points (N, 2) -> metres east and north (N, 2) in ``pose.frame``."""
    forward, right = np.asarray(xy, dtype=float).reshape(-1, 2).T
    heading = np.radians(pose.heading)
    east = pose.x + forward * np.sin(heading) + right * np.cos(heading)
    north = pose.y + forward * np.cos(heading) - right * np.sin(heading)
    return np.column_stack([east, north])


def to_vehicle(east_north: ArrayLike, pose: Pose) -> np.ndarray:
    """Metres east and north (N, 2) in ``pose.frame`` -> vehicle-frame ground points (N, 2): ``to_local``'s inverse.

    >>> from geo.local import LocalFrame
    >>> pose = Pose(0.0, 120.67, 28.0, 10.0, 20.0, 90.0, 5.0, None, LocalFrame(120.67, 28.0))
    >>> [round(float(v), 6) for v in to_vehicle(to_local([[5.0, 2.0]], pose), pose)[0]]
    [5.0, 2.0]
    """
    east, north = np.asarray(east_north, dtype=float).reshape(-1, 2).T
    heading = np.radians(pose.heading)
    de, dn = east - pose.x, north - pose.y
    forward = de * np.sin(heading) + dn * np.cos(heading)
    right = de * np.cos(heading) - dn * np.sin(heading)
    return np.column_stack([forward, right])


def to_world(xy: ArrayLike, pose: Pose) -> np.ndarray:
    """Vehicle-frame ground points (N, 2) -> longitude, latitude (N, 2), WGS84 degrees."""
    east, north = to_local(xy, pose).T
    return np.column_stack(pose.frame.to_lonlat(east, north))


def range_error(range_m: ArrayLike, mount: Mount, width: int, *, pixel_error: float = PIXEL_ERROR_PX,
                pitch_error: float = PITCH_ERROR_DEG) -> np.ndarray:
    """The expected ground error (metres, along the line of sight) of a point ``range_m`` metres from the camera
    whose pixel is ``pixel_error`` pixels off vertically, with the mount's pitch ``pitch_error`` degrees off (the
    road's slope, the vehicle nodding), in frames ``width`` pixels wide.

    A point at range d is seen at the angle a = atan(h / d) below the horizon, so d = h / tan(a) and an angle
    error da moves it by (h**2 + d**2) / h * da: the error grows with the square of the range. One pixel is
    da = cos(b)**2 / focal (b: its angle from the optical axis); pixel and pitch errors add in quadrature. First
    order: a pixel towards the horizon costs a little more than this, one away from it a little less.

    >>> patrol = Mount(height=1.6, pitch=12, hfov=95)
    >>> [round(float(e), 2) for e in range_error([5, 10, 20], patrol, 1920, pixel_error=1, pitch_error=0)]
    [0.02, 0.07, 0.28]
    >>> [round(float(e), 2) for e in range_error([5, 10, 20], patrol, 1920)]  # 2 px and 0.5 degree off
    [0.16, 0.58, 2.27]
    """
    if mount.height is None or mount.height <= 0:
        raise MountError("range_error needs the mount's height, pitch and hfov, not ground_points.")
    distance, height = np.asarray(range_m, dtype=float), mount.height
    off_axis = np.arctan2(height, distance) - np.radians(mount.pitch)
    pixel_angle = pixel_error * np.cos(off_axis) ** 2 / mount.focal_px(width)
    return np.hypot(pixel_angle, np.radians(pitch_error)) * (height**2 + distance**2) / height


def trust_range(mount: Mount, width: int, *, max_error: float = MAX_ERROR_M, pixel_error: float = PIXEL_ERROR_PX,
                pitch_error: float = PITCH_ERROR_DEG) -> float:
    """The range (metres) up to which ``range_error`` stays within ``max_error``: the cut-off beyond which
    detections are too far to place (and a spot too far to be seen empty).

    >>> patrol = Mount(height=1.6, pitch=12, hfov=95)
    >>> round(trust_range(patrol, 1920), 1)
    16.2
    >>> round(trust_range(patrol, 1920, max_error=0.5, pixel_error=1, pitch_error=0), 1)  # 1 px costs 0.5 m
    26.8
    """
    ranges = np.geomspace(0.01, 100_000, 40_001)
    too_far = range_error(ranges, mount, width, pixel_error=pixel_error, pitch_error=pitch_error) > max_error
    return float(ranges[np.argmax(too_far)] if too_far.any() else ranges[-1])


def _from_points(pairs: Sequence[Sequence[Sequence[float]]]) -> np.ndarray:
    """The homography of measured ``[[u, v], [x, y]]`` pairs, signed so that their pixels have ``w > 0``."""
    try:
        uv, xy = (np.array([pair[k] for pair in pairs], dtype=float).reshape(-1, 2) for k in (0, 1))
    except (TypeError, ValueError, IndexError):
        uv = xy = np.empty((0, 2))
    if len(pairs) < 4 or len(uv) != len(pairs):
        raise MountError(f"mount.ground_points needs 4 or more [[u, v], [x_m, y_m]] pairs; it has {len(pairs)} "
                         "usable ones.")
    homography, _ = cv2.findHomography(uv, xy, 0)
    if homography is None or abs(np.linalg.det(homography)) < 1e-12:
        raise MountError("mount.ground_points give no homography (3 or more of them on one line?); measure 4 "
                         "points spread over the road, no three in a line.")
    return homography if np.median(_homogeneous(uv) @ homography[2]) > 0 else -homography


def _homogeneous(points: ArrayLike) -> np.ndarray:
    points = np.asarray(points, dtype=float).reshape(-1, 2)
    return np.column_stack([points, np.ones(len(points))])


def _clip(polygon: np.ndarray, edge: np.ndarray) -> np.ndarray:
    """The part of a convex polygon (M, 3) of homogeneous points where ``edge @ point >= 0`` (Sutherland-Hodgman)."""
    if not len(polygon):
        return polygon
    side = polygon @ edge
    kept = []
    for i in range(len(polygon)):
        j = (i + 1) % len(polygon)
        if side[i] >= 0:
            kept.append(polygon[i])
        if (side[i] >= 0) != (side[j] >= 0):
            kept.append(polygon[i] + side[i] / (side[i] - side[j]) * (polygon[j] - polygon[i]))
    return np.array(kept).reshape(-1, 3)
