"""A drone's gimbal camera at its GPS altitude (``kind: drone``): its height above the ground at each frame, and the
ground projection at that height.

The ground is flat at ``ground_alt`` metres in the track's own datum (GPX ``ele`` and NMEA GGA altitudes are above
sea level; a flight log of heights above the take-off point has the ground at 0). Without ``ground_alt``, the
mount's ``height`` is the camera's height at the video's first frame: ground_alt = the altitude there - height.
The altitude is interpolated between the fixes that have one (held before the first and after the last). A
projection is built once per ``HEIGHT_STEP_M`` of height, not once per frame.

>>> from geo import Fix
>>> fixes = [Fix(0, 120.0, 28.0, alt=32.0), Fix(10, 120.0, 28.0005, alt=52.0)]  # climbing 2 m/s, flying north
>>> track = Track(fixes, name="flight.csv", absolute=False).for_video(10.0)
>>> ground_altitude(track, 10.0, height=20.0)  # 20 m above the ground when the video starts
12.0
>>> views = FlightViews(Mount(pitch=90, hfov=90), (1000, 1000), track, ground_alt=12.0)
>>> view, trust = views.at(track.gps_time(5.0))  # a pose's t is its GPS time
>>> view.mount.height, round(trust, 1)  # the trusted range grows with the height
(30.0, 65.1)
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from geo.errors import TrackError
from geo.projection import GroundProjection, Mount, trust_range
from geo.track import Track, VideoTrack

HEIGHT_STEP_M = 0.05  # one projection per 5 cm of height: 2.5 cm off at most (4 mm at 6 m from the nadir at 40 m)
MIN_HEIGHT_M = 0.5  # lower, the camera stands on the ground (or ground_alt is wrong)
MAX_VIEWS = 256  # projections kept (12.8 m of heights); more are dropped and rebuilt when needed


def ground_altitude(track: VideoTrack, duration: float, *, height: float | None = None,
                    ground_alt: float | None = None) -> float | None:
    """The ground's altitude under a drone by the module's rule: ``ground_alt`` when given, else the altitude at the
    video's start minus ``height``; None when neither ``ground_alt`` is given nor the track has altitudes (the
    mount's height is then fixed). A ``TrackError`` when ``ground_alt`` is given to a track without altitudes, or
    the camera is ``MIN_HEIGHT_M`` or less above the ground at any time of the video."""
    times, alts = _altitudes(track.track)
    name = track.track.name
    if not len(times):
        if ground_alt is None:
            return None
        raise TrackError(f"GPS track {name} has no altitudes, so mount.ground_alt cannot give the drone camera's "
                         "height from them; record altitudes (GPX ele, NMEA GGA, a CSV alt column) or give "
                         "mount.height instead of ground_alt to keep the height fixed.")
    start, end = track.gps_time(0.0), track.gps_time(duration)
    derived = ground_alt is None
    ground = float(np.interp(start, times, alts)) - float(height) if derived else float(ground_alt)
    during = np.concatenate([[start], times[(times > start) & (times < end)], [end]])
    heights = np.interp(during, times, alts) - ground
    low = int(np.argmin(heights))
    if heights[low] <= MIN_HEIGHT_M:
        rule = ": the altitude at the video's start minus mount.height" if derived else ""
        side = "above" if heights[low] >= 0 else "below"
        raise TrackError(f"GPS track {name} puts the drone camera {abs(heights[low]):.1f} m {side} the ground at "
                         f"{track.track.when(during[low])} (altitude {heights[low] + ground:.1f} m, ground "
                         f"{ground:.1f} m{rule}); give mount.ground_alt, the ground's altitude in the track's datum "
                         "(0 for heights above the take-off point), or cut the video to the flight.")
    return ground


class FlightViews:
    """The ground projections of ``mount`` on frames of ``image_size`` at the heights a drone flies along ``track``
    (with altitudes): ``at(t)`` gives the projection and the trusted range (``trust``, else ``trust_range`` of each
    height) at GPS time ``t``."""

    def __init__(self, mount: Mount, image_size: tuple[int, int], track: VideoTrack, *, ground_alt: float,
                 trust: float | None = None) -> None:
        self.mount, self.image_size, self.ground_alt, self.trust = mount, image_size, ground_alt, trust
        self.times, self.alts = _altitudes(track.track)
        self._views: dict[int, tuple[GroundProjection, float]] = {}

    def height_at(self, t: float) -> float:
        """The camera's height above the ground (metres) at GPS time ``t``."""
        return float(np.interp(t, self.times, self.alts)) - self.ground_alt

    def at(self, t: float) -> tuple[GroundProjection, float]:
        """The projection and trusted range at GPS time ``t``, built once per ``HEIGHT_STEP_M`` of height."""
        level = round(self.height_at(t) / HEIGHT_STEP_M)
        if level not in self._views:
            if len(self._views) >= MAX_VIEWS:
                self._views.clear()
            mount = replace(self.mount, height=max(level, 1) * HEIGHT_STEP_M)
            view = GroundProjection(mount, self.image_size)
            self._views[level] = view, self.trust or trust_range(mount, self.image_size[0])
        return self._views[level]


def _altitudes(track: Track) -> tuple[np.ndarray, np.ndarray]:
    """The times and altitudes of the fixes that have one."""
    known = np.isfinite(track.alt)
    return track.t[known], track.alt[known]
