"""A GPS track: the pose (position, heading, speed, altitude) of a moving camera at any time.

Positions are interpolated linearly in a local metric frame (``geo.LocalFrame`` centred on the first fix), headings
on the circle (350 and 10 degrees meet at 0, not at 180). A fix's heading is its GPS course when the course is
given and the vehicle moves (``min_speed``), else the bearing between its neighbouring fixes; while the vehicle
stands still the last good heading is kept. Between two fixes more than ``max_gap_s`` apart the pose is unknown
(``None``): nothing is invented across a tunnel.

>>> track = Track([Fix(0, 120.0, 28.0), Fix(4, 120.0, 28.0004), Fix(14, 120.0, 28.0014)], name="a.csv",
...               absolute=False)
>>> pose = track.pose_at(2)
>>> round(pose.y, 2), round(pose.heading, 1), round(pose.speed, 2)
(22.16, 0.0, 11.08)
>>> track.pose_at(5) is None  # 10 s without a fix
True
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from geo.errors import TrackError
from geo.local import LocalFrame
from geo.readers import Fix, read_fixes

MAX_GAP_S = 5.0  # a longer interval between fixes is a gap: the pose there is unknown
MAX_SPEED = 70.0  # m/s (252 km/h) between two fixes: faster is a jump of a bad fix, not driving
MIN_SPEED = 1.0  # m/s: slower is standing still, where GPS courses and bearings are noise


@dataclass(frozen=True)
class Pose:
    """Where the GPS antenna is at time ``t``: lon/lat (degrees), x east / y north (metres in ``frame``), heading
    (degrees clockwise from north), speed (m/s) and altitude (metres, None when the track has none)."""

    t: float
    lon: float
    lat: float
    x: float
    y: float
    heading: float
    speed: float
    alt: float | None
    frame: LocalFrame = field(repr=False, compare=False)


class Track:
    """Timed fixes of one GPS file; ``pose_at`` interpolates them.

    ``absolute``: the times are UNIX seconds (UTC), so ``pose_at`` also takes datetimes; else they are the file's
    own seconds. ``name`` (the file) starts every error sentence. ``compass``: the fixes' headings are the
    camera's compass heading (a drone's yaw), valid standing still too, not a course over ground.
    """

    def __init__(self, fixes: Sequence[Fix], *, name: str = "GPS track", absolute: bool = True, skipped: int = 0,
                 max_gap_s: float = MAX_GAP_S, max_speed: float = MAX_SPEED, min_speed: float = MIN_SPEED,
                 compass: bool = False) -> None:
        self.name, self.absolute, self.skipped, self.max_gap_s = name, absolute, skipped, max_gap_s
        fixes = _distinct_times(fixes)
        if len(fixes) < 2:
            raise TrackError(f"GPS track {name} has {len(fixes)} timed fix{'es' * (len(fixes) != 1)}; "
                             "a track needs at least 2 (record the drive with the GPS on).")
        for number, fix in enumerate(fixes, start=1):
            if not (-90 <= fix.lat <= 90 and -180 <= fix.lon <= 180):
                raise TrackError(f"GPS track {name} fix {number} has lat {fix.lat}, lon {fix.lon}, not a position on "
                                 "Earth; check that lat and lon are not swapped.")
        self.fixes = fixes
        self.t = np.array([fix.t for fix in fixes])
        self.frame = LocalFrame(fixes[0].lon, fixes[0].lat)
        x, y = self.frame.to_xy([fix.lon for fix in fixes], [fix.lat for fix in fixes])
        self.xy = np.column_stack([x, y])
        self._check_jumps(max_speed)
        chord, chord_s = self._chords()
        self.speed = self._speeds(chord, chord_s)
        self.heading = self._headings(chord, min_speed, compass)
        self.alt = np.array([np.nan if fix.alt is None else fix.alt for fix in fixes])

    @property
    def start(self) -> float:
        return float(self.t[0])

    @property
    def end(self) -> float:
        return float(self.t[-1])

    def seconds(self, moment: float | datetime) -> float:
        """A time on this track's clock: seconds as they are, a datetime (naive = UTC) as UNIX seconds."""
        if not isinstance(moment, datetime):
            return float(moment)
        if not self.absolute:
            raise TrackError(f"GPS track {self.name} has no wall-clock times (its `t` counts seconds); "
                             "give `time` (ISO-8601) or UNIX seconds to place it at a date.")
        return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()

    def when(self, t: float) -> str:
        """A time of this track as it reads in messages: ISO-8601 UTC or seconds."""
        if self.absolute:
            return datetime.fromtimestamp(t, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
        return f"{t:g} s"

    def pose_at(self, moment: float | datetime) -> Pose | None:
        """The interpolated pose at ``moment`` (track seconds or a datetime); None outside the track or in a gap."""
        t = self.seconds(moment)
        if not self.start <= t <= self.end:
            return None
        i = min(int(np.searchsorted(self.t, t, side="right")) - 1, len(self.t) - 2)
        span = self.t[i + 1] - self.t[i]
        share = (t - self.t[i]) / span
        if 0 < share < 1 and span > self.max_gap_s:
            return None
        x, y = self.xy[i] + share * (self.xy[i + 1] - self.xy[i])
        turn = (self.heading[i + 1] - self.heading[i] + 180) % 360 - 180
        alt = self.alt[i] + share * (self.alt[i + 1] - self.alt[i])
        lon, lat = self.frame.to_lonlat(x, y)
        return Pose(t, float(lon), float(lat), float(x), float(y), float((self.heading[i] + share * turn) % 360),
                    float(self.speed[i] + share * (self.speed[i + 1] - self.speed[i])),
                    None if np.isnan(alt) else float(alt), self.frame)

    def for_video(self, duration_s: float, *, offset_s: float = 0.0, video_start: datetime | None = None,
                  slack_s: float = 1.0) -> VideoTrack:
        """This track on a video's clock, checked to cover the video (up to ``slack_s`` short at either end).

        GPS time = video time + ``offset_s`` (``gps_offset``), where video time 0 is ``video_start`` when given
        (the recording's wall-clock start), else the track's first fix for a wall-clock track (a dashcam that
        started both together), else 0 s of the track's own seconds. Frames within the slack have no pose.
        """
        if video_start is not None:
            start = self.seconds(video_start) + offset_s
        else:
            start = (self.start if self.absolute else 0.0) + offset_s
        end = start + duration_s
        if start < self.start - slack_s or end > self.end + slack_s:
            raise TrackError(f"GPS track {self.name} covers {self.when(self.start)} to {self.when(self.end)} but the "
                             f"video needs {self.when(start)} to {self.when(end)} (gps_offset {offset_s:g} s); give "
                             "the track of the whole recording or correct gps_offset.")
        return VideoTrack(self, start)

    def _check_jumps(self, max_speed: float) -> None:
        steps = np.diff(self.xy, axis=0)
        speeds = np.hypot(steps[:, 0], steps[:, 1]) / np.diff(self.t)
        if (speeds > max_speed).any():
            i = int(np.argmax(speeds > max_speed))
            fix = self.fixes[i + 1]
            raise TrackError(f"GPS track {self.name} jumps {np.hypot(*steps[i]):.0f} m in {self.t[i + 1] - self.t[i]:g}"
                             f" s ({speeds[i]:.0f} m/s) at {self.when(fix.t)} (fix {i + 2}, lat {fix.lat:.6f}, lon "
                             f"{fix.lon:.6f}); remove that fix or split the track there.")

    def _chords(self) -> tuple[np.ndarray, np.ndarray]:
        """Each fix's displacement between its neighbouring fixes (itself at the ends) and their time apart."""
        n = len(self.t)
        before, after = np.maximum(np.arange(n) - 1, 0), np.minimum(np.arange(n) + 1, n - 1)
        return self.xy[after] - self.xy[before], self.t[after] - self.t[before]

    def _speeds(self, chord: np.ndarray, chord_s: np.ndarray) -> np.ndarray:
        """The GPS speed where given, else the chord's length over its time."""
        given = np.array([np.nan if fix.speed is None else fix.speed for fix in self.fixes])
        return np.where(np.isnan(given), np.hypot(chord[:, 0], chord[:, 1]) / chord_s, given)

    def _headings(self, chord: np.ndarray, min_speed: float, compass: bool) -> np.ndarray:
        """Course (else the chord's bearing) where the vehicle moves, a compass heading always; held through stops,
        backfilled before the first good one."""
        course = np.array([np.nan if fix.heading is None else fix.heading % 360 for fix in self.fixes])
        bearing = np.degrees(np.arctan2(chord[:, 0], chord[:, 1])) % 360
        moving = self.speed >= min_speed
        good = np.where(~np.isnan(course) & (moving | compass), course, np.where(moving, bearing, np.nan))
        if np.isnan(good).all():
            raise TrackError(f"GPS track {self.name} never moves faster than {min_speed:g} m/s and has no compass "
                             "heading; add a heading column and read it with compass=True.")
        last_good = np.maximum.accumulate(np.where(np.isnan(good), -1, np.arange(len(good))))
        first_good = int(np.flatnonzero(~np.isnan(good))[0])
        return good[np.where(last_good < 0, first_good, last_good)]


@dataclass(frozen=True)
class VideoTrack:
    """A track on a video's clock: ``pose_at(t)`` takes the frame's media time (seconds from the video's start)."""

    track: Track
    start: float  # GPS time of video time 0

    def gps_time(self, t: float) -> float:
        """The GPS (track) time of media time ``t``: the wall-clock ``ts`` of a sighting on a wall-clock track."""
        return self.start + t

    def pose_at(self, t: float) -> Pose | None:
        return self.track.pose_at(self.start + t)


def read_track(path: str | Path, **options: float | bool) -> Track:
    """The track of a GPX 1.1, NMEA 0183 (RMC/GGA) or CSV file; ``options`` are ``Track``'s keyword arguments
    (``max_gap_s``, ``max_speed``, ``min_speed``, ``compass``)."""
    fixes = read_fixes(path)
    return Track(fixes.fixes, name=str(path), absolute=fixes.absolute, skipped=fixes.skipped, **options)


def _distinct_times(fixes: Sequence[Fix]) -> list[Fix]:
    """The fixes in time order, the first of several with one time."""
    ordered = sorted(fixes, key=lambda fix: fix.t)
    return [fix for i, fix in enumerate(ordered) if i == 0 or fix.t != ordered[i - 1].t]
