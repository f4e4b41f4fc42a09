"""One moving camera's recording through the stages (``kind: vehicle`` or ``drone``)::

    source -> Frame -> detector.detect -> GPS pose at the frame's t (moved sideways to the kerb seen: geo.kerb)
           -> each box's ground contact -> the map (geo)
           -> MapTracker.update (ids by place) -> PassWatch.update (sightings, their plates, spot views)
           -> ChalkBook -> events (the ladder grades warns of read plates)

A moving camera cannot watch a spot for minutes, so its dwell rule is digital chalking (``zones.chalk``): the
marks are kept in the store between runs, so each recording of a patrol is one ``process`` run into the same
output folder.
"""

from __future__ import annotations

import logging
import math
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import cv2
import numpy as np

from detector.appearance import appearance
from detector.detections import Detections
from events.chalk_marks import ChalkMarkStore
from events.ladder import Ladder
from events.patrol_evidence import PatrolEvidence, draw_map, footer_text
from events.record import Event, SightingRecord, event_id
from events.recorder import EventRecorder
from geo import (
    GroundProjection,
    KerbAlign,
    MountError,
    Pose,
    VideoTrack,
    read_track,
    to_local,
    to_vehicle,
    trust_range,
)
from geo.altitude import FlightViews, ground_altitude
from geo.errors import TrackError
from plates.stage import open_stage
from plates.views import BestViews
from streams.frames import Frame
from streams.pipeline import StageClock
from zones.chalk import ChalkChange, ChalkParams, Sighting
from zones.config import CameraConfig, Config, ConfigError
from zones.patrol import GeoZones, MapTracker, PassWatch, Placement

COVER_MARGIN = 0.05  # a box covers a ground pixel this share of its height below its bottom edge too
# Ground seen empty must show detail: a blank or motion-blurred patch at the spot is something near the lens that the
# detector did not find (a bus in the next lane filling the frame), so the spot counts as hidden, not empty. Variance
# of the Laplacian of the grey patch; paving measured 240-1150 in the patrol scenarios, a passing bus 1-17.
MIN_GROUND_DETAIL = 30.0
DETAIL_PATCH = 16  # pixels either side of the spot
DEFAULT_TRUST_RANGE_M = 16.0  # a ground_points mount has no error model: the default mount's figure

log = logging.getLogger(__name__)


class PatrolPipeline:
    """One moving camera's stages after detection, for one recording."""

    def __init__(self, config: Config, camera: CameraConfig, frame_size: tuple[int, int], duration: float,
                 origin: datetime | None, recorder: EventRecorder, marks: ChalkMarkStore, out_dir: Path):
        self.camera, self.recorder, self.marks = camera, recorder, marks
        self.recording = str(camera.source)
        self.track = video_track(camera, duration, origin)
        self.clock = _wall_clock(self.track, origin)
        mount = camera.mount.to_mount()
        self.flight = flight_views(camera, self.track, frame_size, duration)  # a drone at its GPS altitude
        if self.flight is not None:
            self.view, self.trust = self.flight.at(self.track.gps_time(0.0))
        else:
            self.view = GroundProjection(mount, frame_size)
            self.trust = camera.patrol.trust_range or _trust_range(mount, frame_size[0])
        self.tracker = MapTracker(link_radius=camera.patrol.match_radius)
        frame = self.track.track.frame
        self.zones = GeoZones(camera.zones, frame, config.rules)
        kerbs = [self.zones.outlines[z] for z in self.zones.of_type("sidewalk")] if camera.patrol.align_to_kerb else []
        self.kerb = KerbAlign(self.view, kerbs, self.trust) if kerbs else None
        params = ChalkParams(match_radius=camera.patrol.match_radius, forget_after=camera.patrol.forget_after)
        self.book = marks.load(camera.id, params, {z.id: z.dwell.warn_after for z in camera.zones})
        self.book.forget_older_than(self.clock(0.0))
        self.plates = open_stage(camera.plates)  # None: this camera reads no plates
        self.views = BestViews(self.plates.max_reads if self.plates is not None else 0)  # vehicles' largest views
        self._plate_photos: dict[int, np.ndarray] = {}  # track -> its plate region, until its photos are written
        self.ladder = Ladder(config.enforcement, recorder.store)
        self.watch = PassWatch(camera.id, self.recording, self.zones, self.book, camera.patrol, self.clock,
                               read_plate=self._read_plate)
        self.evidence = PatrolEvidence(out_dir, camera.id)
        self.path: list[tuple[float, float]] = []  # the vehicle's positions, for the maps
        self._best: dict[int, tuple[np.ndarray, Pose | None]] = {}  # track -> its best frame and pose
        self._empty: dict[str, tuple[np.ndarray, Pose | None, float]] = {}  # mark -> first empty view of its spot

    def step(self, frame: Frame, detections: Detections, seconds: dict[str, float] | None = None) -> list[Event]:
        clock = StageClock(seconds)
        pose = self.track.pose_at(frame.t)
        self.view, self.trust = self._view_at(pose)  # this frame's: a drone's height follows its altitude
        if pose is not None and self.kerb is not None:
            pose = self.kerb.correct(pose, frame.image, detections.xyxy)
        clock.lap("view")
        placements = self._place(detections, pose, frame.image) if pose is not None else []
        placements = self.tracker.update(placements, frame.t)
        self._keep_views(placements, frame.image, frame.t)
        clock.lap("track")
        if pose is not None:
            self.path.append((pose.x, pose.y))
            standing = to_local(self.view.to_ground(_ground_contacts(detections)), pose)  # NaN above the horizon

        def spot(x: float, y: float):
            return None if pose is None else self._spot(x, y, pose, detections, standing, frame.image)

        changes, best_now, empty_now = self.watch.update(frame.t, placements, spot)
        self.views.forget_unseen_since(frame.t - self.watch.end_after)  # their tracks ended, read or not
        for track_id in best_now:
            self._best[track_id] = (frame.image, pose)
        for mark_id in empty_now:
            self._empty[mark_id] = (frame.image, pose, frame.t)
        clock.lap("rules")
        events = self._record(changes)
        clock.lap("events")
        return events

    def finish(self, frame: Frame | None) -> list[Event]:
        """The recording ended: tracks become sightings, visits are judged, the marks are saved."""
        events = self._record(self.watch.finish(frame.t if frame is not None else 0.0))
        self.marks.save(self.camera.id, self.book)
        if self.plates is not None:
            log.info("camera %s: %s", self.camera.id, self.plates.cost())
        return events

    def _keep_views(self, placements: list[Placement], image: np.ndarray, t: float) -> None:
        """Keep the largest views of the vehicles standing in a zone whose rule reads plates (sidewalk parking)."""
        if self.plates is None:
            return
        for p in placements:
            found = self.zones.violation(p.category, *p.xy)
            if found is not None and found[0] in self.plates.rules:
                self.views.see(p.track_id, image, p.xyxy, t)
            else:
                self.views.seen(p.track_id, t)

    def _read_plate(self, track_id: int, rule: str) -> tuple[str | None, float | None]:
        """The voted plate of a track becoming a sighting, read on its largest views of the pass; the photo of its
        plate region is kept for the sighting's evidence."""
        views = self.views.pop(track_id)
        if self.plates is None or rule not in self.plates.rules or not views:
            return None, None
        plate = self.plates.read_views(f"track-{track_id}", views)
        if plate is None:
            return None, None
        if plate.image is not None:
            self._plate_photos[track_id] = plate.image
        return plate.text, plate.score

    def _view_at(self, pose: Pose | None) -> tuple[GroundProjection, float]:
        """The projection and trusted range at a pose: a drone's change with its height, a vehicle's are fixed."""
        if self.flight is None or pose is None:
            return self.view, self.trust
        return self.flight.at(pose.t)

    def _place(self, detections: Detections, pose: Pose, image: np.ndarray) -> list[Placement]:
        """Detections on the map: their ground contact, within the trusted range, outside ignore zones (track ids
        come from the map tracker after this)."""
        if not len(detections):
            return []
        x1, _, x2, y2 = detections.xyxy.T
        ground = self.view.to_ground(_ground_contacts(detections))
        corners = [self.view.to_ground(np.column_stack([x, y2])) for x in (x1, x2)]
        placed = []
        ranges = self.view.ranges(ground)
        local = to_local(ground, pose)
        lon, lat = self.track.track.frame.to_lonlat(local[:, 0], local[:, 1])
        for i in range(len(detections)):
            if not ranges[i] <= self.trust or self.zones.ignored(*local[i]):  # NaN (above the horizon) too
                continue
            width = float(np.hypot(*(corners[1][i] - corners[0][i])))
            xyxy = tuple(float(v) for v in detections.xyxy[i])
            category = str(detections.category[i])
            # only an object in a violation zone can become a sighting, whose look is compared
            counted = self.zones.violation(category, *local[i]) is not None
            placed.append(Placement(-1, str(detections.class_name[i]), category, xyxy,
                                    float(detections.confidence[i]), (float(local[i, 0]), float(local[i, 1])),
                                    (float(lon[i]), float(lat[i])), width if math.isfinite(width) else None,
                                    appearance(image, detections.xyxy[i]) if counted else None))
        return placed

    def _spot(self, x: float, y: float, pose: Pose, detections: Detections, standing: np.ndarray,
              image: np.ndarray):
        """Whether the map point ``x, y`` is in view on this frame: None (not in the trusted footprint), "hidden"
        (something stands within the match distance of it, as placed this pass, a box covers its pixel, or its
        pixels show no ground detail: a bus in front of it) or "seen" (clear ground). The match distance allows for
        this pass's GPS error."""
        ground = to_vehicle([[x, y]], pose)
        if not self.view.ranges(ground)[0] <= self.trust:
            return None
        u, v = self.view.to_pixels(ground)[0]
        width, height = self.view.image_size
        if not (0 <= u < width and 0 <= v < height):  # NaN too: behind the camera
            return None
        near = self.camera.patrol.match_radius + self.camera.patrol.gps_error
        with np.errstate(invalid="ignore"):
            if (np.hypot(standing[:, 0] - x, standing[:, 1] - y) <= near).any():
                return "hidden"
        boxes = detections.xyxy
        low = boxes[:, 3] + COVER_MARGIN * (boxes[:, 3] - boxes[:, 1])
        covered = (boxes[:, 0] <= u) & (u <= boxes[:, 2]) & (boxes[:, 1] <= v) & (v <= low)
        if covered.any() or ground_detail(image, u, v) < MIN_GROUND_DETAIL:
            return "hidden"
        return "seen"

    def _record(self, changes: list[ChalkChange]) -> list[Event]:
        events = []
        for change in changes:
            if change.kind == "chalk":
                self._chalk(change)
            elif change.kind == "drop":
                self.evidence.remove(change.mark.first.snapshot)
            else:
                events.append(self._event(change))
        self._plate_photos.clear()  # of sightings that changed nothing
        if changes:
            self.marks.save(self.camera.id, self.book)
        return events

    def _chalk(self, change: ChalkChange) -> None:
        mark, sighting = change.mark, change.sighting
        photo, _ = self._photo(sighting, mark.mark_id, "chalk")
        mark.first = mark.last = replace(sighting, snapshot=photo,
                                         plate_crop=self._plate_photo(sighting, mark.mark_id, "chalk"))

    def _event(self, change: ChalkChange) -> Event:
        mark, kind = change.mark, change.kind
        first = mark.first
        if kind == "warn":
            photo, crop = self._photo(change.sighting, mark.mark_id, "warn")
            sighting = mark.last = replace(change.sighting, snapshot=photo,
                                           plate_crop=self._plate_photo(change.sighting, mark.mark_id, "warn"))
            t, ts, bbox, score = sighting.t, sighting.ts, sighting.bbox, sighting.score
            evidence = {"snapshot": photo, "crop": crop}
        else:  # clear: the spot seen empty
            t = self.watch.empty_since.get(mark.mark_id, 0.0)
            ts, bbox, score = self.clock(t), mark.last.bbox, mark.last.score
            evidence = {"snapshot": self._empty_photo(mark.mark_id, mark.last)}
        evidence["first"] = first.snapshot
        evidence["map"] = self._map(mark.mark_id, first, mark.last)
        read = mark.read  # the plate read on this pass, else on the chalking one (a pass may not read it)
        evidence["plate_crop"] = (read or mark.last).plate_crop
        evidence = {k: v for k, v in evidence.items() if v}  # a photo the frame could not give is left out
        where = mark.last
        return self._publish(Event(
            event_id=event_id(self.camera.id, first.zone_id, mark.mark_id, kind), type=kind, rule=first.rule,
            camera_id=self.camera.id, zone_id=first.zone_id, object_id=mark.mark_id, class_name=first.class_name,
            t=round(t, 3), ts=ts.isoformat(), since_t=round(first.t, 3) if first.recording == self.recording else None,
            dwell_s=round(change.dwell_s, 3), bbox=[round(v, 1) for v in bbox or (0, 0, 0, 0)],
            score=round(score, 3), evidence=evidence, since_ts=first.ts.isoformat(), lon=round(where.lon, 7),
            lat=round(where.lat, 7), sightings=[self._record_of(s) for s in dict.fromkeys([first, mark.last])],
            plate=read.plate if read else None, plate_score=read.plate_score if read else None))

    def _publish(self, event: Event) -> Event:
        event = self.ladder.grade(self.recorder.placed(event))
        self.recorder.publish(event)
        return event

    def _record_of(self, sighting: Sighting) -> SightingRecord:
        return SightingRecord(t=round(sighting.t, 3) if sighting.recording == self.recording else None,
                              ts=sighting.ts.isoformat(), lon=round(sighting.lon, 7), lat=round(sighting.lat, 7),
                              snapshot=sighting.snapshot)

    def _photo(self, sighting: Sighting, mark_id: str, what: str) -> tuple[str | None, str | None]:
        """(photo, crop) of a sighting, from its track's best frame."""
        image, pose = self._best.pop(sighting.track_id, (None, None))
        if image is None:
            return None, None
        zone = self.camera.zone(sighting.zone_id)
        label = f"{sighting.class_name} {what} {sighting.ts.strftime('%H:%M:%S')}"
        photo = self.evidence.sighting_photo(
            image, pose, self._view_at(pose)[0], self.zones.outlines[zone.id], zone.type, zone.name or zone.id,
            sighting.bbox, label, footer_text(self.camera.id, sighting.t, sighting.ts, sighting.lon, sighting.lat))
        crop = self.evidence.write_crop(zone.id, mark_id, what, image, sighting.bbox)
        return self.evidence.write(zone.id, mark_id, what, photo), crop

    def _plate_photo(self, sighting: Sighting, mark_id: str, what: str) -> str | None:
        image = self._plate_photos.pop(sighting.track_id, None)
        return None if image is None else self.evidence.write(sighting.zone_id, mark_id, f"{what}-plate", image)

    def _empty_photo(self, mark_id: str, last: Sighting) -> str | None:
        image, pose, t = self._empty.pop(mark_id, (None, None, 0.0))
        if image is None:
            return None
        zone = self.camera.zone(last.zone_id)
        photo = self.evidence.sighting_photo(
            image, pose, self._view_at(pose)[0], self.zones.outlines[zone.id], zone.type, zone.name or zone.id,
            None, "", footer_text(self.camera.id, t, self.clock(t), last.lon, last.lat) + "  spot empty")
        return self.evidence.write(zone.id, mark_id, "clear", photo)

    def _map(self, mark_id: str, first: Sighting, last: Sighting) -> str:
        frame = self.zones.frame
        points = [tuple(float(v) for v in frame.to_xy(s.lon, s.lat)) for s in dict.fromkeys([first, last])]
        outlines = {z.id: (self.zones.outlines[z.id], z.type) for z in self.camera.zones}
        picture = draw_map(outlines, np.asarray(self.path), points, f"{self.camera.id} {first.zone_id} {mark_id}")
        return self.evidence.write(first.zone_id, mark_id, "map", picture)


def ground_detail(image: np.ndarray, u: float, v: float) -> float:
    """How much detail the picture shows around pixel ``(u, v)``: the variance of the Laplacian of the grey patch."""
    x, y = round(u), round(v)
    patch = image[max(y - DETAIL_PATCH, 0):y + DETAIL_PATCH, max(x - DETAIL_PATCH, 0):x + DETAIL_PATCH]
    if patch.size == 0:
        return 0.0
    grey = cv2.cvtColor(patch, cv2.COLOR_BGR2GRAY) if patch.ndim == 3 else patch
    return float(cv2.Laplacian(grey.astype(np.float32), cv2.CV_32F).var())


def _ground_contacts(detections: Detections) -> np.ndarray:
    """The bottom centre of each box (N, 2): where it touches the ground."""
    x1, _, x2, y2 = detections.xyxy.reshape(-1, 4).T
    return np.column_stack([(x1 + x2) / 2, y2])


def video_track(camera: CameraConfig, duration: float, origin: datetime | None) -> VideoTrack:
    """The camera's GPS track on its video's clock, checked to cover the video; a ``ConfigError`` naming the camera
    and the fix otherwise."""
    try:
        return read_track(camera.gps).for_video(duration, offset_s=camera.gps_offset, video_start=origin)
    except TrackError as exc:
        raise ConfigError(f"camera {camera.id!r}: {exc}") from None


def flight_views(camera: CameraConfig, track: VideoTrack, frame_size: tuple[int, int],
                 duration: float) -> FlightViews | None:
    """A drone's projections at its GPS altitude (``geo.altitude``); None for a fixed height (vehicles, ground
    points, a drone without altitudes or ground_alt). A ``ConfigError`` naming the camera and the fix otherwise."""
    mount = camera.mount
    if camera.kind != "drone" or mount.ground_points is not None:
        return None
    try:
        ground = ground_altitude(track, duration, height=mount.height, ground_alt=mount.ground_alt)
    except TrackError as exc:
        raise ConfigError(f"camera {camera.id!r}: {exc}") from None
    if ground is None:
        return None
    return FlightViews(mount.to_mount(), frame_size, track, ground_alt=ground, trust=camera.patrol.trust_range)


def _wall_clock(track: VideoTrack, origin: datetime | None):
    """Media time -> wall time: the chalk clock. From the GPS where its times are wall-clock, else the start."""
    if track.track.absolute:
        return lambda t: datetime.fromtimestamp(track.gps_time(t), tz=UTC)
    if origin is None:
        raise ConfigError(f"GPS track {track.track.name} has times in seconds, not wall-clock times, and the camera "
                          "has no start_time: give start_time (or --start-time) so passes can be compared")
    return lambda t: origin + timedelta(seconds=t)


def _trust_range(mount, width: int) -> float:
    try:
        return trust_range(mount, width)
    except MountError:  # ground_points: no height and pitch to model the error with
        return DEFAULT_TRUST_RANGE_M

