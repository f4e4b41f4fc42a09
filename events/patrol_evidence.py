"""Evidence of moving cameras: each sighting's photo with the zone drawn where it lies on the ground, its time and
position, a crop, and a small drawn map of the zone, the patrol's path and the sightings (no tile server).

Paths are relative to the output folder, under ``evidence/<camera>/<zone>/<mark>-<what>.jpg`` like a fixed
camera's.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path, PurePosixPath

import cv2
import numpy as np
from shapely.geometry import Polygon

from contracts.paths import under
from detector.boxes import crop
from events.drawing import ALERT, CALM, ZONE_COLOURS, draw_box, draw_zone, put_label
from events.evidence import jpeg_bytes
from geo import GroundProjection, Pose, to_vehicle

MAP_SIZE = 480  # pixels, square
MAP_MARGIN_M = 25.0  # metres of surroundings shown around the sightings


class PatrolEvidence:
    """Photos and maps of one moving camera's chalk marks."""

    def __init__(self, root: Path, camera_id: str):
        self.root = Path(root)
        self.camera_id = camera_id

    def sighting_photo(self, image: np.ndarray, pose: Pose | None, view: GroundProjection, zone_outline: np.ndarray,
                       zone_type: str, zone_label: str, bbox, label: str, footer: str) -> np.ndarray:
        """The frame with the zone outlined on the ground, the object boxed and a footer (time, position)."""
        photo = image.copy()
        if pose is not None:
            outline = ground_outline_in_image(zone_outline, pose, view)
            if outline is not None:
                draw_zone(photo, outline, zone_type, zone_label)
        if bbox is not None:
            draw_box(photo, bbox, label, ALERT if "left" not in label else CALM)
        put_label(photo, footer, (0, photo.shape[0]), (40, 40, 40))
        return photo

    def write(self, zone_id: str, mark_id: str, what: str, image: np.ndarray) -> str:
        parts = ("evidence", self.camera_id, zone_id, f"{mark_id}-{what}.jpg")
        target = under(self.root, *parts)  # ids are path parts: none may lead out of the output folder
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(jpeg_bytes(image))
        return PurePosixPath(*parts).as_posix()

    def write_crop(self, zone_id: str, mark_id: str, what: str, image: np.ndarray, bbox) -> str:
        return self.write(zone_id, mark_id, f"{what}-crop", crop(image, bbox))

    def remove(self, relative: str | None) -> None:
        """Delete a photo, its crop and its plate photo nobody needs any more (a mark dropped before any warn)."""
        if relative:
            photo = under(self.root, relative)
            photo.unlink(missing_ok=True)
            for part in ("crop", "plate"):
                photo.with_name(f"{photo.stem}-{part}{photo.suffix}").unlink(missing_ok=True)


def ground_outline_in_image(outline_xy: np.ndarray, pose: Pose, view: GroundProjection) -> np.ndarray | None:
    """A zone's outline (metres east/north in ``pose.frame``) as pixels of this frame: the part of it on the ground
    the camera sees (cut to the footprint, so nothing behind the camera folds into the picture)."""
    footprint = view.footprint(200.0)
    if len(footprint) < 3:
        return None
    seen = Polygon(to_vehicle(outline_xy, pose)).intersection(Polygon(footprint))
    if seen.is_empty or seen.geom_type != "Polygon":
        return None
    pixels = view.to_pixels(np.asarray(seen.exterior.coords))
    return None if np.isnan(pixels).any() else pixels


def draw_map(outlines: dict[str, tuple[np.ndarray, str]], path_xy: np.ndarray, sightings: list[tuple[float, float]],
             title: str) -> np.ndarray:
    """A north-up map around the sightings: zone outlines (metres, by zone id: (outline, type)), the patrol's path
    (grey), the sightings (a blue ring: the first, red: the newest), a 10 m scale bar and ``title``."""
    canvas = np.full((MAP_SIZE, MAP_SIZE, 3), 255, np.uint8)
    points = np.asarray(sightings, dtype=float).reshape(-1, 2)
    box = points if len(points) else np.vstack([o for o, _ in outlines.values()] or [np.zeros((1, 2))])
    low, high = box.min(axis=0) - MAP_MARGIN_M, box.max(axis=0) + MAP_MARGIN_M
    scale = (MAP_SIZE - 40) / max(float((high - low).max()), 1.0)  # pixels per metre

    def px(xy: np.ndarray) -> np.ndarray:
        xy = np.asarray(xy, dtype=float).reshape(-1, 2)
        return np.column_stack([20 + (xy[:, 0] - low[0]) * scale, MAP_SIZE - 20 - (xy[:, 1] - low[1]) * scale])

    for outline, zone_type in outlines.values():
        cv2.polylines(canvas, [np.round(px(outline)).astype(np.int32)], True, ZONE_COLOURS.get(zone_type, CALM), 2)
    if len(path_xy) > 1:
        cv2.polylines(canvas, [np.round(px(path_xy)).astype(np.int32)], False, (160, 160, 160), 1)
    for i, point in enumerate(points):
        first = i == 0 and len(points) > 1
        centre = tuple(int(v) for v in np.round(px(point)[0]))
        cv2.circle(canvas, centre, 9 if first else 5, (200, 80, 0) if first else (0, 0, 220), 2 if first else -1)
    bar = round(10 * scale)
    cv2.line(canvas, (20, MAP_SIZE - 12), (20 + bar, MAP_SIZE - 12), (0, 0, 0), 2)
    cv2.putText(canvas, "10 m", (24 + bar, MAP_SIZE - 8), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (0, 0, 0), 1)
    cv2.putText(canvas, "N ^", (MAP_SIZE - 40, 24), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (0, 0, 0), 1)
    cv2.putText(canvas, title, (10, 20), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (0, 0, 0), 1)
    return canvas


def footer_text(camera_id: str, t: float, ts: datetime, lon: float, lat: float) -> str:
    return f"{camera_id}  t={t:.1f}s  {ts.isoformat(sep=' ', timespec='seconds')}  lat {lat:.6f} lon {lon:.6f}"
