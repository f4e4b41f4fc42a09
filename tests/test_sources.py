"""Recorded sources: presentation timestamps, sampling, and what a damaged file does."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np
import pytest

from streams.files import ImageFolder, VideoFile, open_recorded
from streams.frames import SourceError


def write_video(path: Path, times: list[float], fps: int = 25, size=(160, 96), faststart: bool = False) -> Path:
    """An H.264 file whose frames carry exactly the presentation times ``times`` (seconds)."""
    options = {"movflags": "+faststart"} if faststart else {}
    with av.open(str(path), "w", options=options) as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.width, stream.height = size
        stream.pix_fmt = "yuv420p"
        stream.codec_context.time_base = Fraction(1, 1000)
        noise = np.random.default_rng(0)
        for t in times:
            image = noise.integers(0, 255, (size[1], size[0], 3), dtype=np.uint8)  # incompressible: a real mdat
            frame = av.VideoFrame.from_ndarray(image, format="bgr24")
            frame.pts = round(t * 1000)
            frame.time_base = Fraction(1, 1000)
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def test_samples_at_analysis_fps_on_presentation_time(tmp_path):
    video = write_video(tmp_path / "a.mp4", [i / 25 for i in range(250)])  # 10 s at 25 fps
    frames = list(VideoFile(video, analysis_fps=2))
    assert [f.t for f in frames] == pytest.approx([i / 2 for i in range(20)], abs=0.021)
    assert [f.index for f in frames] == list(range(20))
    assert frames[0].image.shape == (96, 160, 3)


def test_a_gap_in_the_timestamps_is_kept(tmp_path):
    times = [i / 25 for i in range(50)] + [60 + i / 25 for i in range(50)]  # 0-2 s, then 60-62 s
    frames = list(VideoFile(write_video(tmp_path / "gap.mp4", times), analysis_fps=1))
    assert [round(f.t) for f in frames] == [0, 1, 60, 61]


def test_wall_clock_from_start_time(tmp_path):
    from datetime import datetime

    origin = datetime(2026, 11, 22, 8, 0, 0)
    frames = list(VideoFile(write_video(tmp_path / "a.mp4", [i / 25 for i in range(50)]), 1, origin=origin))
    assert frames[1].ts == datetime(2026, 11, 22, 8, 0, 1)


def test_truncated_file_yields_its_frames_then_a_clear_error(tmp_path):
    whole = write_video(tmp_path / "whole.mp4", [i / 25 for i in range(200)], faststart=True)
    cut = tmp_path / "cut.mp4"
    data = whole.read_bytes()
    cut.write_bytes(data[: len(data) // 2])
    seen = []
    with pytest.raises(SourceError) as info:
        for frame in VideoFile(cut, analysis_fps=2):
            seen.append(frame.t)
    assert len(seen) >= 6  # about the first half (4 s of 8 s at 2 fps) was analysed
    assert str(info.value).startswith(f"{cut}: damaged or truncated video: it ends at ")
    assert "of 8.0 s" in str(info.value)


def test_file_without_an_index_cannot_be_opened(tmp_path):
    whole = write_video(tmp_path / "whole.mp4", [i / 25 for i in range(100)])  # index (moov) at the end
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(whole.read_bytes()[:20000])
    with pytest.raises(SourceError, match=r"cut.mp4: cannot be read as a video .* corrupt or truncated"):
        list(VideoFile(cut))


def test_missing_file_and_garbage(tmp_path):
    with pytest.raises(SourceError, match="no such video file"):
        list(VideoFile(tmp_path / "nope.mp4"))
    garbage = tmp_path / "garbage.mp4"
    garbage.write_bytes(bytes(range(256)) * 400)
    with pytest.raises(SourceError, match="cannot be read as a video"):
        list(VideoFile(garbage))


def test_image_folder(tmp_path):
    for i in range(3):
        cv2.imwrite(str(tmp_path / f"{i:02d}.jpg"), np.zeros((40, 60, 3), np.uint8))
    source = open_recorded(str(tmp_path), analysis_fps=0.5)
    assert isinstance(source, ImageFolder)
    assert [f.t for f in source] == [0.0, 2.0, 4.0]
    assert source.probe().frame_size == (60, 40)
