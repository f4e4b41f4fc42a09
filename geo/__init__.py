"""Moving cameras on the map: GPS tracks, the camera's ground projection and world positions (DESIGN.md, "Patrol
and aerial cameras"). A leaf package: it imports only numpy, pyproj, gpxpy, pynmea2 and OpenCV.

GPS input (``gps``, ``gps_offset``):

- ``read_track(path, *, max_gap_s=5.0, max_speed=70.0, min_speed=1.0, compass=False) -> Track``: a GPX 1.1, NMEA
  0183 (RMC/GGA) or CSV (``t`` or ``time``, ``lat``, ``lon``[, ``heading``, ``speed``, ``alt``]) file.
- ``Track.pose_at(t: float | datetime) -> Pose | None``: the interpolated pose at a GPS time; None outside the
  track or in a gap longer than ``max_gap_s``. ``Track.skipped``: NMEA lines skipped (bad checksum, garbage).
- ``Track.for_video(duration_s, *, offset_s=0.0, video_start=None, slack_s=1.0) -> VideoTrack``: the track on
  the video's clock (GPS time = video time + ``gps_offset``), checked to cover the video;
  ``VideoTrack.pose_at(t)`` and ``VideoTrack.gps_time(t)`` take a frame's media time.
- ``Pose``: ``t, lon, lat, x, y, heading, speed, alt, frame`` (x east / y north metres in ``frame``, heading
  degrees clockwise from north, speed m/s, alt metres or None).
- ``TrackError``: unreadable file, no timestamps, fewer than 2 fixes, an implausible jump, a track not covering
  the video; its message is one sentence naming the file and the fix.

Ground projection (``mount``):

- ``Mount(height, pitch, yaw, roll, hfov, offset=(forward_m, right_m), ground_points=None)``; ``MountError``.
- ``GroundProjection(mount, (width, height))``: ``.homography`` (pixels -> vehicle ground: x forward, y right,
  metres, origin below the GPS antenna), ``.to_ground(uv)`` (NaN at or above the horizon), ``.to_pixels(xy)``,
  ``.ranges(xy)`` (metres from the camera), ``.footprint(max_range)`` (the polygon of ground in view).
- ``to_local(xy, pose)`` (metres east/north in ``pose.frame``), its inverse ``to_vehicle(east_north, pose)``, and
  ``to_world(xy, pose)`` (lon, lat).
- ``range_error(range_m, mount, width, *, pixel_error=2.0, pitch_error=0.5)``: metres of error at a range (it
  grows with the square of the range), and ``trust_range(mount, width, *, max_error=1.5, pixel_error=2.0,
  pitch_error=0.5)``: the cut-off range beyond which detections are not placed and spots not cleared (16.2 m
  for a 1.6 m, 12 degree, 95 degree-hfov mount on 1920-pixel frames; 26.8 m if only 1 px and 0.5 m counted).
- ``LocalFrame(lon, lat)``: ``.to_xy(lon, lat)`` and ``.to_lonlat(x, y)``, metres east/north (for geo_polygon);
  ``distance_m(lon1, lat1, lon2, lat2)``: the WGS84 geodesic between two positions.

A drone (``kind: drone``) is ``Mount(height=<height above the ground>, pitch=90, hfov=...)``; read its track with
``compass=True`` when its ``heading`` is the gimbal's yaw. At its GPS altitude (``geo.altitude``):

- ``ground_altitude(video_track, duration_s, *, height=None, ground_alt=None) -> float | None``: the ground's
  altitude in the track's datum (``ground_alt``, else the altitude at the video's start minus ``height``; None
  without altitudes); ``TrackError`` for ``ground_alt`` without altitudes or a camera 0.5 m or less above it.
- ``FlightViews(mount, image_size, video_track, ground_alt=..., trust=None).at(gps_t)``: the ``GroundProjection``
  and trusted range at the height there, rebuilt once per 5 cm of height; ``.height_at(gps_t)``.

Sideways correction from the kerb seen (``geo.kerb``, ``patrol.align_to_kerb``):

- ``KerbAlign(view, kerbs, max_range=16.0).correct(pose, image, boxes) -> Pose``: the pose moved sideways so the
  kerb the frame shows is where the zones' near edges (``kerbs``: outlines in local metres) put it.

>>> track = Track([Fix(1764583200, 120.6712, 28.0011), Fix(1764583201, 120.6713, 28.0011)], name="drive.gpx")
>>> pose = track.for_video(1.0).pose_at(0.5)
>>> view = GroundProjection(Mount(height=1.6, pitch=12, yaw=90, hfov=95), (1920, 1080))
>>> kerb = view.to_ground([[960, 900]])  # a box's bottom: the kerb right of the car
>>> [round(float(v), 2) for v in kerb[0]]
[0.0, 2.35]
>>> lon, lat = to_world(kerb, pose)[0]
>>> round(float(lon), 6), round(float(lat), 6)
(120.67125, 28.001079)
"""

from geo.altitude import FlightViews, ground_altitude
from geo.errors import MountError, TrackError
from geo.kerb import KerbAlign
from geo.local import LocalFrame, distance_m
from geo.projection import (
    MAX_ERROR_M,
    PITCH_ERROR_DEG,
    PIXEL_ERROR_PX,
    GroundProjection,
    Mount,
    range_error,
    to_local,
    to_vehicle,
    to_world,
    trust_range,
)
from geo.readers import Fix, Fixes, read_fixes
from geo.track import MAX_GAP_S, MAX_SPEED, MIN_SPEED, Pose, Track, VideoTrack, read_track

__all__ = [
    "MAX_ERROR_M", "MAX_GAP_S", "MAX_SPEED", "MIN_SPEED", "PITCH_ERROR_DEG", "PIXEL_ERROR_PX", "Fix", "Fixes",
    "FlightViews", "GroundProjection", "KerbAlign", "LocalFrame", "Mount", "MountError", "Pose", "Track", "TrackError",
    "VideoTrack", "distance_m", "ground_altitude", "range_error", "read_fixes", "read_track", "to_local",
    "to_vehicle", "to_world", "trust_range",
]
