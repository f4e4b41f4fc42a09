"""An adaptive analysis rate per camera (``detect.idle_fps``): sample a quiet camera slower, back to full at once.

A camera is *busy* (analysed at ``analysis_fps``) until nothing changed in or near its zones (the change gate's
thumbnail of the watched region, against the last analysed frame) for ``idle_after`` seconds and every resting
object a dwell timer watches was confirmed recently (``AnalysisRate.recent``); then it is *idle* and analysed every
``1 / idle_fps`` seconds, never later than the next dwell timer's warn or escalation (so those come on the frame they
would come on at the full rate). An analysed frame that changed, a watched object not confirmed, or a view that is
not ``ok`` makes it busy again at once. While idle, the view check matches features as rarely per analysed frame as
at the full rate (a bump still shows in its thumbnail pre-check on the next analysed frame).

The cheap check between analyses differs by mode. Live (``streams.live_runner``): the freshest frame's thumbnail
is compared every full-rate period, on the frame as decoded (a sub-stream's, not scaled up to the main stream's
size), and a change makes the camera due at once. Batch (``streams.batch``): frames
between idle analyses are not decoded at all (``SkipAhead``: their packets are dropped, decoding resumes at a key
frame just before the next analysis), so a car arriving while idle is seen at the next idle analysis, within one
idle period.

Next analysis times lie on the full rate's grid, which keeps batch runs identical whatever frames the decoder,
running ahead, happened to decode before it learnt of a skip.

Example:
    >>> rate = AnalysisRate(busy_fps=1.0, idle_fps=0.2, idle_after=3.0)
    >>> still = np.full((360, 640, 3), 90, np.uint8)
    >>> [rate.analysed(t, still, confirmed=True) for t in (0.0, 1.0, 2.0, 3.0, 8.0)]
    [1.0, 2.0, 3.0, 8.0, 13.0]
    >>> rate.state
    'idle'
    >>> moved = still.copy(); moved[200:260, 300:340] = 200       # a car arrives
    >>> rate.analysed(13.0, moved, confirmed=True), rate.state
    (14.0, 'busy')
"""

from __future__ import annotations

import math
import threading
from collections.abc import Iterable, Iterator

import numpy as np

from detector.change import region_thumbnail, thumbnails_differ, watched_region
from streams.frames import Frame
from zones.config import CameraConfig

GRID_SLACK = 1e-3  # as ``streams.frames.Sampler``: a frame this much before a grid point is on it
DECODER_WAIT = 2.0  # seconds the decoder waits for the verdict on an idle frame at most (then it reads on)


class AnalysisRate:
    """The busy/idle state of one camera and when its next frame is to be analysed (see the module docstring)."""

    def __init__(self, busy_fps: float, idle_fps: float, idle_after: float = 10.0,
                 region: tuple[float, float, float, float] | None = None, on_grid: bool = True,
                 frame_size: tuple[int, int] | None = None):
        self.busy_period = 1.0 / busy_fps
        self.on_grid = on_grid  # batch: next times on the full rate's grid; live frames come when they come
        self.idle_period = max(1.0 / idle_fps, self.busy_period)
        self.idle_after = idle_after
        self.region = region  # in the pixels of frame_size (the main stream's), else of the images given
        self.frame_size = frame_size
        self.state = "busy"
        self.next_t = float("-inf")  # media time of the next analysis
        self.idle_frames = 0  # frames analysed while idle
        self._reference: np.ndarray | None = None  # thumbnail of the last analysed frame
        self._quiet_since: float | None = None

    @property
    def recent(self) -> float:
        """Seconds within which a resting object must have been confirmed: one idle period and one full-rate
        period, so a detection missed on one idle frame (a flickering bicycle) does not end the idle rate, two do.
        An object that left changes the thumbnail anyway."""
        return self.idle_period + self.busy_period

    @property
    def period(self) -> float:
        """Seconds between analyses in the current state."""
        return self.idle_period if self.state == "idle" else self.busy_period

    def changed(self, image: np.ndarray) -> bool:
        """The cheap check: did the watched region change against the last analysed frame? ``image`` and the
        analysed ones are given as decoded (``Frame.decoded``): a sub-stream's frame is not scaled up for it."""
        return thumbnails_differ(self._thumbnail(image), self._reference)

    def _thumbnail(self, image: np.ndarray) -> np.ndarray:
        region = self.region
        if region is not None and self.frame_size and (image.shape[1], image.shape[0]) != tuple(self.frame_size):
            sx, sy = image.shape[1] / self.frame_size[0], image.shape[0] / self.frame_size[1]
            region = (region[0] * sx, region[1] * sy, region[2] * sx, region[3] * sy)
        return region_thumbnail(image, region)

    def wants(self, t: float) -> bool:
        """Is the frame at ``t`` to be analysed (not one skipped while idle)?"""
        return t + GRID_SLACK >= self.next_t

    def analysed(self, t: float, image: np.ndarray, confirmed: bool, deadline: float | None = None) -> float:
        """Take the verdict on the frame just analysed at media time ``t``: ``confirmed`` says every resting object
        was confirmed on it (and the view is fine), ``deadline`` is the next dwell timer's due time. Returns the
        media time of the next analysis (also ``next_t``)."""
        thumb = self._thumbnail(image)
        changed = thumbnails_differ(thumb, self._reference)
        self._reference = thumb
        if self.state == "idle":
            self.idle_frames += 1
        if changed or not confirmed or self._quiet_since is None:
            self._quiet_since = t
            self.state = "busy"
        elif t - self._quiet_since >= self.idle_after:
            self.state = "idle"
        wait = self.period
        if deadline is not None and self.state == "idle":
            wait = min(wait, max(deadline - t, self.busy_period))
        self.next_t = self._on_grid(t + wait) if self.on_grid else t + wait
        return self.next_t

    def _on_grid(self, t: float) -> float:
        """The first full-rate grid point at or after ``t`` (``Sampler``'s grid)."""
        return math.ceil((t - GRID_SLACK) / self.busy_period) * self.busy_period


def camera_rate(camera: CameraConfig, rest_window: float, on_grid: bool = True) -> AnalysisRate | None:
    """The camera's adaptive rate, or None when ``detect.idle_fps`` is not set (or a moving camera). It goes idle
    after ``idle_after``, but never before ``rest_window`` and one frame: a car that just stopped must have come to
    rest (and be confirmed on every frame since) first."""
    idle_fps = camera.detect.idle_fps
    if idle_fps is None or camera.moving or idle_fps >= camera.analysis_fps:
        return None
    region = watched_region([z.polygon for z in camera.zones if z.type != "ignore" and z.polygon is not None])
    idle_after = max(camera.detect.idle_after, rest_window + 1.0 / camera.analysis_fps)
    return AnalysisRate(camera.analysis_fps, idle_fps, idle_after, region, on_grid, camera.frame_size)


def next_analysis(rate: AnalysisRate, pipeline, frame: Frame) -> float:
    """Give ``rate`` the verdict on the ``frame`` that ``pipeline`` (``streams.pipeline.CameraPipeline``) just
    analysed; returns the media time of the next analysis. The view check's periodic feature match follows the rate:
    every ``view_check_every`` worth of analysed frames (while idle, ``idle_fps`` times less often in seconds). A
    changed view still gets a match on the frame it is seen on (its thumbnail pre-check), and makes the camera busy."""
    next_t = rate.analysed(frame.t, frame.decoded, *verdict(pipeline, frame.t, rate.recent))
    if pipeline.view is not None:
        pipeline.view.every = pipeline.camera.detect.view_check_every * rate.period / rate.busy_period
    return next_t


def verdict(pipeline, t: float, within: float) -> tuple[bool, float | None]:
    """(every resting object a dwell timer watches was confirmed within ``within`` seconds of ``t`` and the view is
    ok or not checked, the next warn or escalation due among the camera's dwell timers) for
    ``AnalysisRate.analysed``. Objects no timer watches (outside the zones, or of no rule's categories) do not
    count: a detection flickering on one of them changes no event."""
    due, watched = [], set()
    for stages in pipeline.stages.values():
        for zone in stages.monitor.timers.values():
            escalate = zone.settings.escalate_after
            for (_, _, object_id), timer in zone.timers.items():
                watched.add(object_id)
                if not timer.warned:
                    due.append(timer.since_t + zone.settings.warn_after)
                elif escalate is not None and not timer.escalated:
                    due.append(timer.since_t + escalate)
    confirmed = pipeline.view_state in (None, "ok") and all(
        t - obj.last_seen_t <= within for obj in pipeline.memory.objects if str(obj.object_id) in watched)
    return confirmed, min(due, default=None)


def changed_idle(cameras: list, now: float, room: int) -> list[tuple]:
    """The live loop's cheap check: idle cameras (``streams.live_runner.LiveCamera``) not due whose freshest frame
    changed in the watched region, checked once per full-rate period without analysing it, up to ``room`` of them;
    each is made due now (and the analysis of that frame makes it busy)."""
    changed = []
    for cam in cameras:
        if len(changed) == room:
            break
        if cam.rate is None or cam.rate.state != "idle" or cam.error is not None or cam.next_due <= now \
                or now < cam.next_check:
            continue
        cam.next_check = now + cam.rate.busy_period
        frame = cam.source.latest(max(cam.last_index, cam.checked_index), scaled=False)
        if frame is None:
            continue
        cam.checked_index = frame.index
        if cam.rate.changed(frame.decoded):
            cam.last_index, cam.slot, cam.next_due = frame.index, now, now + cam.rate.busy_period
            changed.append((cam, frame))  # as decoded: the analysis scales it
    return changed


class SkipAhead:
    """Shared by the batch consumer (which decides) and the decoder thread (which skips): packets of frames before
    the next analysis are not decoded, and while the camera is idle the decoder waits for the verdict on each frame
    it handed over before reading on (it would only decode frames the verdict skips)."""

    def __init__(self, rate: AnalysisRate):
        self.rate = rate
        self._until = float("-inf")
        self._decided = float("-inf")
        self._idle = False
        self._changed = threading.Condition()
        self.skipped_packets = 0

    @property
    def idle(self) -> bool:
        return self._idle

    def decided(self, t: float) -> None:
        """The consumer analysed the frame at ``t`` and the rate took its verdict."""
        with self._changed:
            self._until, self._decided, self._idle = self.rate.next_t, t, self.rate.state == "idle"
            self._changed.notify_all()

    def handed_over(self, t: float) -> None:
        """The decoder handed over the frame at ``t``: while idle, wait until it was analysed (or skipped)."""
        with self._changed:
            self._changed.wait_for(lambda: not self._idle or self._decided >= t
                                   or self._until > t + GRID_SLACK, DECODER_WAIT)

    def packets(self, packets: Iterable, start: float, duration: float | None, tail: float,
                keyframes_only: bool = False) -> Iterator:
        """``packets`` without those of frames the consumer will skip, never in the last ``tail`` seconds (whose
        frames tell the completeness check where the file ends). Decoding every frame, it resumes at a key frame
        one to one and a half GOPs (the longest seen so far; nothing is dropped before two key frames were seen)
        before the next analysis; decoding key frames only, at the first key frame of the next analysis."""
        margin = 0.0 if keyframes_only else 1.5
        last_key: float | None = None
        gop = 0.0 if keyframes_only else None  # the longest key frame interval seen
        skipping = False
        for packet in packets:
            t = None if packet.pts is None else float(packet.pts * packet.time_base) - start
            if t is None:
                yield packet
                continue
            if packet.is_keyframe and not keyframes_only:
                if last_key is not None and t > last_key:
                    gop = max(gop or 0.0, t - last_key)
                last_key = t
            near_end = duration is not None and t >= duration - tail
            early = gop is not None and t < self._until - margin * gop - GRID_SLACK
            if not near_end and (early or (skipping and not packet.is_keyframe)):
                skipping = True
                self.skipped_packets += 1
                continue
            skipping = False
            yield packet
