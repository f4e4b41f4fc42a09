"""Live cameras: one reader thread per camera that keeps only the freshest frame.

A ``LiveSource`` reads an RTSP stream (or a capture device, or a file replayed at real-time pace) with PyAV in a
thread of its own. The thread decodes as the stream arrives and keeps only the newest frame, so a slow detector
never builds a backlog: it takes whatever is freshest when it is ready. A dropped connection, a camera that does not
answer, or a stream that is connected but sends no frames (the watchdog) sets the camera offline with the reason;
the reader then reconnects with capped exponential backoff and jitter, until stopped. Other cameras never wait for
it: each has its own thread, and every blocking call is bounded by a timeout.

Time: a live frame's ``t`` is seconds since the camera's *origin* (the wall-clock time of its first start, which the
caller keeps across restarts), taken at arrival with a monotonic clock, so the dwell timers go on across restarts
and a wall-clock step never makes time run backwards within a run.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

import av
import cv2

from contracts.urls import mask_credentials
from streams.files import to_bgr
from streams.frames import Frame

log = logging.getLogger(__name__)

StatusListener = Callable[["LiveSource", "CameraStatus"], None]


class Backoff:
    """Delays between reconnection attempts: doubling from ``first`` up to ``cap``, each scaled by a random factor in
    ``[1 - jitter, 1]`` so that cameras dropped together (a switch reboots) do not all retry at the same instant.

    >>> backoff = Backoff(1.0, 8.0, jitter=0.0)
    >>> [backoff.next_delay() for _ in range(6)]
    [1.0, 2.0, 4.0, 8.0, 8.0, 8.0]
    >>> backoff.reset(); backoff.next_delay()
    1.0
    """

    def __init__(self, first: float = 1.0, cap: float = 60.0, jitter: float = 0.5, rng: random.Random | None = None):
        self.first, self.cap, self.jitter = first, max(cap, first), jitter
        self._rng = rng or random.Random()
        self._failures = 0

    def next_delay(self) -> float:
        base = min(self.cap, self.first * 2 ** min(self._failures, 30))
        self._failures += 1
        return base * (1 - self.jitter * self._rng.random())

    def reset(self) -> None:
        """The camera delivered frames again: the next failure starts from ``first``."""
        self._failures = 0


class LiveClock:
    """Seconds since ``origin`` for frames arriving now: wall clock once at the start, monotonic after that.

    ``not_before`` (the last ``t`` of an earlier run) keeps a camera's timeline from running backwards across a
    restart when the wall clock was set back meanwhile.

    >>> from datetime import timedelta, timezone
    >>> origin = datetime(2026, 11, 22, 8, 0, tzinfo=timezone.utc)
    >>> clock = LiveClock(origin, now=origin + timedelta(seconds=100))
    >>> 100.0 <= clock.t() < 101.0
    True
    """

    def __init__(self, origin: datetime, not_before: float = 0.0, now: datetime | None = None):
        now = now or datetime.now(origin.tzinfo)
        self.origin = origin
        self._offset = max((now - origin).total_seconds(), not_before)
        self._start = time.monotonic()

    def t(self) -> float:
        return self._offset + time.monotonic() - self._start


@dataclass(frozen=True)
class CameraStatus:
    """``starting`` (never connected yet), ``online`` (frames arrive), ``offline`` (with the reason) or ``stopped``;
    ``since`` is when the camera entered that state (retries of an offline camera do not move it)."""

    state: str
    reason: str
    since: datetime

    def to_json(self) -> dict:
        return {"state": self.state, "reason": self.reason, "since": self.since.isoformat(timespec="seconds")}


@dataclass
class LiveStats:
    """Counters a reader keeps (written by its thread only; others read them)."""

    frames_read: int = 0
    reconnects: int = 0
    damaged: int = 0  # frames or packets the decoder could not decode cleanly, skipped
    last_frame_at: float | None = None  # time.monotonic() of the newest frame
    stream_lag: float = 0.0  # how far decoding is behind the stream's own clock; grows if the reader cannot keep up
    keyframe_interval: float | None = None  # seconds between the last two key frames (the GOP)
    frame_size: tuple[int, int] | None = None  # width, height as decoded
    retry_delays: list[float] = field(default_factory=list)  # the latest backoff delays, newest last


class LiveSource:
    """One camera's reader thread; ``latest()`` gives the freshest frame not yet taken.

    ``source`` is an ``rtsp://`` (or other network) URL, a device index (``/dev/video<N>``) or a video file, which is
    then replayed at real-time pace as if it were a camera (benchmarks and demos).

    Example:
        >>> clock = LiveClock(datetime.now().astimezone())
        >>> camera = LiveSource("cam-01", "rtsp://user:pw@10.0.0.5/Streaming/102", clock)   # doctest: +SKIP
        >>> camera.start()                                                                   # doctest: +SKIP
        >>> frame = camera.latest()   # None until the first frame arrives                   # doctest: +SKIP
        >>> camera.status.state, camera.display                                             # doctest: +SKIP
        ('online', 'rtsp://***@10.0.0.5/Streaming/102')
        >>> camera.stop()                                                                    # doctest: +SKIP
    """

    def __init__(
        self,
        name: str,
        source: str | int,
        clock: LiveClock,
        *,
        keyframes_only: bool = False,
        transport: str = "tcp",
        open_timeout: float = 10.0,
        stall_timeout: float = 10.0,
        backoff: Backoff | None = None,
        frame_size: tuple[int, int] | None = None,
        on_status: StatusListener | None = None,
        wake: threading.Event | None = None,
    ):
        self.name = name
        self._source = source
        self.display = mask_credentials(f"/dev/video{source}" if isinstance(source, int) else source)
        self.clock = clock
        self.keyframes_only = keyframes_only
        self.transport = transport
        self.open_timeout = open_timeout
        self.stall_timeout = stall_timeout
        self.backoff = backoff or Backoff()
        self.frame_size = frame_size
        self.on_status = on_status
        self.wake = wake
        self.stats = LiveStats()
        self.status = CameraStatus("starting", "connecting", datetime.now().astimezone())
        self.last_status = self.status  # the status before ``stopped``, for summaries
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._slot: tuple[int, float, av.VideoFrame] | None = None
        self._thread: threading.Thread | None = None
        self._is_file = isinstance(source, str) and "://" not in source

    # -- the consumer's side --------------------------------------------------------------------------------

    def start(self) -> LiveSource:
        self._thread = threading.Thread(target=self._run, name=f"live-{self.name}", daemon=True)
        self._thread.start()
        return self

    def stop(self, wait: float = 0.0) -> None:
        """Ask the reader to stop; wait up to ``wait`` seconds for it (a blocked read ends within its timeout)."""
        self._stop.set()
        if wait and self._thread is not None:
            self._thread.join(wait)

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def latest(self, after: int = -1, scaled: bool = True) -> Frame | None:
        """The freshest frame if it is newer than frame index ``after``, as BGR pixels scaled to ``frame_size``
        (``scaled=False``: as decoded; ``scale`` scales it later)."""
        with self._lock:
            slot = self._slot
        if slot is None or slot[0] <= after:
            return None
        index, t, decoded = slot
        frame = Frame(to_bgr(decoded), t, index, self.clock.origin)  # only frames someone takes pay for it
        return self.scale(frame) if scaled else frame

    def scale(self, frame: Frame) -> Frame:
        """``frame`` (as decoded) scaled to ``frame_size``, the main stream's pixels the zones are drawn in."""
        image = frame.decoded
        if not self.frame_size or (image.shape[1], image.shape[0]) == tuple(self.frame_size):
            return frame
        scaled = cv2.resize(image, tuple(self.frame_size), interpolation=cv2.INTER_LINEAR)
        return Frame(scaled, frame.t, frame.index, frame.origin, native=image)

    # -- the reader thread ----------------------------------------------------------------------------------

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                reason = self._session()
            except Exception as exc:  # the thread must never die: report, back off, try again
                log.exception("camera %s: reader failed", self.name)
                reason = f"unexpected error ({mask_credentials(exc)})"
            if self._stop.is_set():
                break
            delay = self.backoff.next_delay()
            self.stats.retry_delays = [*self.stats.retry_delays[-31:], round(delay, 3)]
            self._set_status("offline", f"{reason}; retrying in {delay:.1f} s")
            if self._stop.wait(delay):
                break
            self.stats.reconnects += 1
        self.last_status = self.status
        self._set_status("stopped", "stopped")

    def _session(self) -> str:
        """Connect and read until the stream fails; returns why it ended."""
        started = time.monotonic()
        try:
            container = self._open()
        except av.FFmpegError as exc:
            return self._explain(exc, time.monotonic() - started, opening=True)
        try:
            if not container.streams.video:
                return "the stream has no video"
            return self._read(container)
        except av.FFmpegError as exc:
            return self._explain(exc, time.monotonic() - started, opening=False)
        finally:
            container.close()

    def _open(self):
        if isinstance(self._source, int):
            return av.open(f"/dev/video{self._source}", format="v4l2", timeout=(self.open_timeout, self.stall_timeout))
        if self._is_file:
            return av.open(self._source)
        options = {"rtsp_transport": self.transport} if str(self._source).lower().startswith("rtsp") else {}
        return av.open(self._source, options=options, timeout=(self.open_timeout, self.stall_timeout))

    def _read(self, container) -> str:
        stream = container.streams.video[0]
        stream.codec_context.thread_count = 1  # many cameras share few cores: one thread per decoder is cheapest
        if self.keyframes_only:
            stream.codec_context.skip_frame = "NONKEY"
        pace = _Pace() if self._is_file else None
        session = _StreamClock()
        last_frame = time.monotonic()
        for packet in container.demux(stream):
            if self._stop.is_set():
                return "stopped"
            try:
                decoded = packet.decode()
            except (av.InvalidDataError, av.PermissionError):  # a damaged packet: the next key frame recovers
                self.stats.damaged += 1
                decoded = []
            for frame in decoded:
                if frame.is_corrupt:  # the decoder concealed damage: do not analyse guessed pixels
                    self.stats.damaged += 1
                    continue
                media_t = None if frame.pts is None else float(frame.pts * frame.time_base)
                if pace is not None and media_t is not None and pace.wait(media_t, self._stop):
                    return "stopped"
                self._publish(frame, media_t, session)
                last_frame = time.monotonic()
            if time.monotonic() - last_frame > self.stall_timeout:
                return f"connected but no frame decoded for {self.stall_timeout:g} s (stalled stream)"
        return "the stream ended (the camera or its server closed it)"

    def _publish(self, frame: av.VideoFrame, media_t: float | None, session: _StreamClock) -> None:
        t = self.clock.t()
        with self._lock:
            index = self._slot[0] + 1 if self._slot else 0
            self._slot = (index, t, frame)
        stats = self.stats
        stats.frames_read += 1
        stats.last_frame_at = time.monotonic()
        stats.frame_size = (frame.width, frame.height)
        if media_t is not None:
            stats.stream_lag = session.lag(media_t)
            if frame.key_frame:
                stats.keyframe_interval = session.keyframe(media_t)
        if self.status.state != "online":
            self.backoff.reset()
            mode = ", key frames only" if self.keyframes_only else ""
            self._set_status("online", f"receiving {frame.width}x{frame.height}{mode}")
        if self.wake is not None:
            self.wake.set()

    def _set_status(self, state: str, reason: str) -> None:
        if (state, reason) == (self.status.state, self.status.reason):
            return
        since = self.status.since if state == self.status.state else datetime.now().astimezone()
        self.status = CameraStatus(state, reason, since)
        if self.on_status is not None:
            try:
                self.on_status(self, self.status)
            except Exception:  # a listener's bug must not stop the reader
                log.exception("camera %s: status listener failed", self.name)

    def _explain(self, exc: av.FFmpegError, elapsed: float, opening: bool) -> str:
        """One short, credential-free reason for an offline status."""
        message = str(getattr(exc, "strerror", None) or "")  # without the URL (a path may hold "401" itself)
        if isinstance(exc, av.HTTPUnauthorizedError) or "401" in message:
            return "the camera refused the user name or password (401); check the credentials in the config"
        if isinstance(exc, av.ConnectionRefusedError):
            return "connection refused (nothing listens at that address and port)"
        if isinstance(exc, av.FileNotFoundError) or "404" in message:
            return "no such stream at that address (404); check the path of the URL"
        if isinstance(exc, av.ExitError) or elapsed >= (self.open_timeout if opening else self.stall_timeout) - 0.5:
            if opening:
                return f"no answer within {self.open_timeout:g} s"
            return f"connected but no data for {self.stall_timeout:g} s (stalled stream)"
        what = "cannot open the stream" if opening else "reading the stream failed"
        return f"{what} ({mask_credentials(message or exc)})"


class _StreamClock:
    """The stream's own clock against the monotonic clock, from the first frame of a session."""

    def __init__(self):
        self._start: tuple[float, float] | None = None
        self._last_key: float | None = None

    def lag(self, media_t: float) -> float:
        now = time.monotonic()
        if self._start is None:
            self._start = (now, media_t)
        return max(0.0, (now - self._start[0]) - (media_t - self._start[1]))

    def keyframe(self, media_t: float) -> float | None:
        previous, self._last_key = self._last_key, media_t
        return None if previous is None else media_t - previous


class _Pace:
    """Hold a file's frames until their presentation time has come, as a camera would deliver them."""

    def __init__(self):
        self._start: tuple[float, float] | None = None

    def wait(self, media_t: float, stop: threading.Event) -> bool:
        """Sleep until ``media_t`` is due; True if asked to stop meanwhile."""
        now = time.monotonic()
        if self._start is None:
            self._start = (now, media_t)
        due = self._start[0] + (media_t - self._start[1])
        return due > now and stop.wait(due - now)
