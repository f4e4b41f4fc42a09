"""Split one video file into key-frame-aligned segments that can be decoded (and detected) apart, in parallel.

The key frames come from the demuxer (packets flagged as key frames; nothing is decoded). Each segment starts at
a key frame and ends where the next one starts; it is decoded from the key frame before its start, so the
``Sampler`` is primed exactly as in a whole-file run (``VideoFile.read``). The segments together take exactly the
frames a whole-file run takes, in the same order. ``streams.segment_workers`` runs them in worker processes.

Example:
    >>> [(s.start, s.end) for s in split_times([0.0, 1.0, 2.0, 3.0, 4.0, 5.0], [0, 1, 2, 3, 4, 5], 3)]
    [(-inf, 2.0), (2.0, 4.0), (4.0, inf)]
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import av

from streams.files import VideoFile

MIN_SEGMENT_S = 2.0  # a segment shorter than this costs more to seek and prime than it saves


@dataclass(frozen=True)
class Segment:
    """Frames with ``start <= t < end`` of a file (seconds on its media timeline, as ``Frame.t``), decoded from the
    key frame at ``seek_pts`` (stream time base; None: from the beginning of the file)."""

    index: int
    start: float
    end: float
    seek_pts: int | None


def key_frame_times(path: str | Path) -> tuple[list[float], list[int]]:
    """The media times (as ``Frame.t``) and presentation timestamps of the video's key frames, in order, read
    from the demuxer only. A damaged tail ends the list where reading stops."""
    times: list[float] = []
    stamps: list[int] = []
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        start = float(stream.start_time * stream.time_base) if stream.start_time is not None else 0.0
        try:
            for packet in container.demux(stream):
                if packet.is_keyframe and packet.pts is not None:
                    times.append(float(packet.pts * packet.time_base) - start)
                    stamps.append(packet.pts)
        except av.FFmpegError:
            pass  # the segments cover what can be read; the last one reports the damage as a whole run does
    order = sorted(range(len(times)), key=times.__getitem__)
    return [times[i] for i in order], [stamps[i] for i in order]


def split_times(times: list[float], stamps: list[int], count: int) -> list[Segment]:
    """At most ``count`` segments of about equal duration, cut at key frames (``times``, ``stamps`` as from
    ``key_frame_times``); every segment but the first starts at a key frame with another key frame before it."""
    if count < 2 or len(times) < 3:
        return [Segment(0, float("-inf"), float("inf"), None)]
    first, last = times[0], times[-1]
    step = max((last - first) / count, MIN_SEGMENT_S)
    cuts: list[int] = []
    for k in range(1, count):
        target = first + k * step
        if target >= last:
            break
        nearest = min(range(1, len(times)), key=lambda i: abs(times[i] - target))
        if nearest not in cuts and (not cuts or times[nearest] - times[cuts[-1]] >= MIN_SEGMENT_S):
            cuts.append(nearest)
    starts = [float("-inf"), *(times[i] for i in cuts)]
    ends = [*(times[i] for i in cuts), float("inf")]
    seeks = [None, *(stamps[i - 1] for i in cuts)]
    return [Segment(i, s, e, p) for i, (s, e, p) in enumerate(zip(starts, ends, seeks, strict=True))]


def plan_segments(path: str | Path, count: int) -> list[Segment]:
    """``path`` split into at most ``count`` key-frame-aligned segments of about equal duration (one segment, the
    whole file, when it has too few key frames)."""
    return split_times(*key_frame_times(path), count)


def long_enough(source: VideoFile, seconds: float) -> bool:
    """Whether ``source`` (probed) is a video file of at least ``seconds``: worth splitting."""
    return isinstance(source, VideoFile) and source.duration is not None and source.duration >= seconds
