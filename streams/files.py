"""Recorded sources: video files (decoded with PyAV) and folders of still images."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

import av
import cv2
import numpy as np

from streams.frames import Frame, Sampler, SourceError

if TYPE_CHECKING:
    from streams.segments import Segment

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".webp")
FINGERPRINT_BYTES = 1 << 20


def to_bgr(frame: av.VideoFrame) -> np.ndarray:
    """A decoded frame as BGR pixels.

    Limited-range YUV 4:2:0 (what H.264 cameras send) is converted by OpenCV, 2.4x faster than swscale's default
    path at 1080p (2.0 vs 4.9 ms; the two differ by about one grey level); anything else goes through swscale.
    """
    if frame.format.name == "yuv420p" and frame.width % 2 == 0 and frame.height % 2 == 0:
        return cv2.cvtColor(frame.to_ndarray(format="yuv420p"), cv2.COLOR_YUV2BGR_I420)
    return frame.to_ndarray(format="bgr24")


class VideoFile:
    """Frames of a video file at ``analysis_fps``, timed by their presentation timestamps.

    Every packet is decoded (H.264 cannot skip them), but only sampled frames are converted to BGR, which is where
    most of the per-frame cost of unused frames would go. ``keyframes_only`` makes the decoder skip everything but
    key frames (cheap, coarse sampling for long GOPs).

    A corrupt or truncated file yields the frames it has, then raises ``SourceError`` saying what was wrong.

    Example:
        >>> for frame in VideoFile("street.mp4", analysis_fps=2):  # doctest: +SKIP
        ...     print(frame.t, frame.image.shape)
    """

    def __init__(
        self,
        path: str | Path,
        analysis_fps: float = 2.0,
        origin: datetime | None = None,
        keyframes_only: bool = False,
    ):
        self.path = Path(path)
        self.analysis_fps = analysis_fps
        self.origin = origin
        self.keyframes_only = keyframes_only
        self.duration: float | None = None
        self.frame_size: tuple[int, int] | None = None  # width, height
        self.skip = None  # a streams.rate.SkipAhead: packets of frames the adaptive rate skips are not decoded

    def probe(self) -> VideoFile:
        """Read duration and frame size without decoding (for progress bars and zone checks)."""
        with self._open() as container:
            stream = container.streams.video[0]
            self.duration = _duration(container, stream)
            self.frame_size = (stream.codec_context.width, stream.codec_context.height)
        return self

    def __iter__(self) -> Iterator[Frame]:
        reading = Reading()
        yield from self.read(reading)
        self.check_complete([reading])

    def read(self, reading: Reading, segment: Segment | None = None) -> Iterator[Frame]:
        """The sampled frames of the whole file, or only those of ``segment`` (``streams.segments``); what went wrong
        is noted in ``reading`` for ``check_complete``.

        A segment is decoded from the key frame before it, so the sampler has seen a frame before the segment's
        start: its grid state is then the whole-file run's (it depends only on the last frame it took), and the
        segment's frames are exactly those a whole-file run takes between its start and end.
        """
        begin, end = (float("-inf"), float("inf")) if segment is None else (segment.start, segment.end)
        with self._open() as container:
            stream = container.streams.video[0]
            stream.thread_type = "AUTO"
            if self.keyframes_only:
                stream.codec_context.skip_frame = "NONKEY"
            self.duration = _duration(container, stream)
            start = float(stream.start_time * stream.time_base) if stream.start_time is not None else 0.0
            if segment is not None and segment.seek_pts is not None:
                container.seek(segment.seek_pts, stream=stream, backward=True)
            sampler = Sampler(self.analysis_fps)
            index, first = 0, True
            packets = container.demux(stream)
            if self.skip is not None:  # the tail is read: its frames tell the completeness check where the file ends
                packets = self.skip.packets(packets, start, self.duration, max(1.0, 3 / self.analysis_fps) + 2.0,
                                            self.keyframes_only)
            while True:
                try:
                    packet = next(packets)
                except StopIteration:
                    break
                except av.FFmpegError as exc:
                    reading.problem, reading.stopped = f"reading stopped with an error ({_reason(exc)})", True
                    break
                packet_t = None if packet.pts is None else float(packet.pts * packet.time_base) - start
                try:
                    decoded = packet.decode()
                except av.FFmpegError as exc:
                    if packet_t is None or packet_t >= begin:  # before it: the previous segment's to report
                        reading.problem = reading.problem or f"some packets could not be decoded ({_reason(exc)})"
                    continue
                if self.keyframes_only and reading.last_t is not None and packet_t is not None:
                    # skipped frames still reach the end of the file: the completeness check must know
                    reading.last_t = max(reading.last_t, packet_t)
                for frame in decoded:
                    if frame.pts is None:
                        continue
                    t = float(frame.pts * frame.time_base) - start
                    if first and t >= begin > float("-inf"):
                        raise SourceError(f"{self.path}: seeking to {begin:.1f} s landed after it; this file "
                                          "cannot be split into segments, analyse it with --workers 1")
                    first = False
                    if t >= end:
                        return
                    reading.last_t = t
                    if frame.is_corrupt:  # the decoder concealed damage: do not analyse guessed pixels
                        reading.damaged += t >= begin
                        continue
                    if sampler.take(t) and t >= begin:
                        yield Frame(to_bgr(frame), t, index, self.origin)
                        index += 1
                        if self.skip is not None:
                            self.skip.handed_over(t)

    def _open(self):
        if not self.path.is_file():
            raise SourceError(f"{self.path}: no such video file; check the camera's `source:` path")
        try:
            container = av.open(str(self.path))
        except av.FFmpegError as exc:
            raise SourceError(
                f"{self.path}: cannot be read as a video ({_reason(exc)}); the file is corrupt or truncated, "
                "copy or export it again"
            ) from None
        if not container.streams.video:
            container.close()
            raise SourceError(f"{self.path}: has no video stream; give a video file or an image folder")
        return container

    def check_complete(self, readings: list[Reading]) -> None:
        """Raise the ``SourceError`` of a damaged or truncated file, from the readings of its segments in order
        (one for a whole-file run), the same sentence either way."""
        last_t = max((r.last_t for r in readings if r.last_t is not None), default=None)
        if last_t is None:
            raise SourceError(f"{self.path}: no frame could be decoded; the file is corrupt, copy or export it again")
        stopped = readings[-1].problem if readings[-1].stopped else None
        problem = stopped or next((r.problem for r in readings if r.problem), None)
        damaged = sum(r.damaged for r in readings)
        if damaged:
            problem = (f"{problem}; " if problem else "") + f"{damaged} damaged frame(s) were skipped"
        truncated = self.duration is not None and last_t < self.duration - max(1.0, 3 / self.analysis_fps)
        if truncated:
            problem = f"it ends at {last_t:.1f} s of {self.duration:.1f} s" + (f"; {problem}" if problem else "")
        if problem:
            raise SourceError(
                f"{self.path}: damaged or truncated video: {problem}; everything readable was analysed"
            )


@dataclass
class Reading:
    """What reading a video (or one segment of it) found: its last timestamp and what was wrong."""

    last_t: float | None = None
    problem: str | None = None
    damaged: int = 0  # frames the decoder concealed damage in
    stopped: bool = False  # reading stopped with an error: nothing after it was read


class ImageFolder:
    """Still images in name order, spaced ``1 / analysis_fps`` seconds apart (patrol photos, test sets)."""

    def __init__(self, path: str | Path, analysis_fps: float = 1.0, origin: datetime | None = None):
        self.path = Path(path)
        self.analysis_fps = analysis_fps
        self.origin = origin
        self.files = sorted(p for p in self.path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        if not self.files:
            raise SourceError(f"{self.path}: the folder holds no images ({', '.join(IMAGE_SUFFIXES)})")
        self.duration = len(self.files) / analysis_fps
        self.frame_size: tuple[int, int] | None = None

    def probe(self) -> ImageFolder:
        first = cv2.imread(str(self.files[0]))
        self.frame_size = None if first is None else (first.shape[1], first.shape[0])
        return self

    def __iter__(self) -> Iterator[Frame]:
        unreadable = []
        for index, file in enumerate(self.files):
            image = cv2.imread(str(file))
            if image is None:
                unreadable.append(file.name)
                continue
            yield Frame(image, index / self.analysis_fps, index, self.origin)
        if unreadable:
            raise SourceError(f"{self.path}: {len(unreadable)} image(s) could not be read, e.g. {unreadable[0]}")


def fingerprint(source: str) -> str:
    """What a recording is, not where it lies: its size and the hash of its first and last megabyte (a folder of
    images: its file names and sizes). The same file copied or touched keeps it; another day's file does not.

    >>> fingerprint(__file__) == fingerprint(__file__)
    True
    """
    path = Path(source)
    digest = hashlib.sha256()
    if path.is_dir():
        for item in sorted(path.iterdir()):
            digest.update(f"{item.name}:{item.stat().st_size};".encode())
        return digest.hexdigest()[:32]
    size = path.stat().st_size
    digest.update(str(size).encode())
    with path.open("rb") as file:
        digest.update(file.read(FINGERPRINT_BYTES))
        file.seek(max(size - FINGERPRINT_BYTES, 0))
        digest.update(file.read(FINGERPRINT_BYTES))
    return digest.hexdigest()[:32]


def open_recorded(source: str, analysis_fps: float, origin: datetime | None = None,
                  keyframes_only: bool = False) -> VideoFile | ImageFolder:
    """A recorded source from a path: a folder of images or a video file (``keyframes_only``: see ``VideoFile``)."""
    path = Path(source)
    if path.is_dir():
        return ImageFolder(path, analysis_fps, origin)
    return VideoFile(path, analysis_fps, origin, keyframes_only)


def sample_evenly(source: str, count: int) -> Iterator[np.ndarray]:
    """About ``count`` BGR frames spread evenly over a recorded source (calibration and sizing material); a damaged
    file gives what it has, unless nothing."""
    duration = open_recorded(source, 1.0).probe().duration or count
    taken = 0
    try:
        for frame in open_recorded(source, max(count / max(duration, 1e-3), 1e-3)):
            yield frame.image
            taken += 1
            if taken >= count:
                return
    except SourceError:
        if not taken:
            raise


def _duration(container, stream) -> float | None:
    if stream.duration is not None:
        return float(stream.duration * stream.time_base)
    if container.duration is not None:
        return container.duration / av.time_base
    return None


def _reason(exc: av.FFmpegError) -> str:
    return getattr(exc, "strerror", None) or str(exc)
