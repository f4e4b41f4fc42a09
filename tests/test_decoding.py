"""Decoding: key frames only for recorded files (sampling at key frames, no false "truncated" report when the GOP
is longer than the analysis period), and OpenCV's colour conversion against swscale's."""

from __future__ import annotations

import subprocess

import av
import numpy as np

from streams.files import VideoFile, open_recorded, to_bgr
from tests.conftest import shared_clip
from tests.test_sources import write_video


def long_gop(tmp_path, gop_s: float, seconds: float = 12.0):
    """Real H.264 at 25 fps with a key frame exactly every ``gop_s`` seconds."""
    source = write_video(tmp_path / "src.mp4", [i / 25 for i in range(int(seconds * 25))], size=(320, 180))
    out = tmp_path / f"gop{gop_s:g}.mp4"
    keyint = round(25 * gop_s)
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", str(source), "-c:v", "libx264", "-g", str(keyint),
                    "-keyint_min", str(keyint), "-sc_threshold", "0", "-bf", "0", str(out)], check=True)
    return out


def test_key_frames_only_samples_each_gop_once_and_reads_a_long_gop_file_to_its_end(tmp_path):
    video = long_gop(tmp_path, gop_s=5.0)
    frames = list(open_recorded(str(video), analysis_fps=1.0, keyframes_only=True))  # no SourceError raised
    assert [round(f.t, 2) for f in frames] == [0.0, 5.0, 10.0]
    every = list(VideoFile(video, analysis_fps=1.0))
    assert [round(f.t) for f in every] == list(range(12))


def test_key_frames_only_at_a_one_second_gop_keeps_the_analysis_grid(tmp_path):
    video = long_gop(tmp_path, gop_s=1.0, seconds=6.0)
    keyed = [f.t for f in VideoFile(video, analysis_fps=1.0, keyframes_only=True)]
    grid = [f.t for f in VideoFile(video, analysis_fps=1.0)]
    assert keyed == grid == [float(i) for i in range(6)]


def test_opencv_colour_conversion_matches_swscale_within_rounding(require_models):
    with av.open(str(shared_clip("pedestrian_street_1080p.mp4"))) as container:
        frame = next(container.decode(video=0))
        assert frame.format.name == "yuv420p"
        ours, theirs = to_bgr(frame).astype(int), frame.to_ndarray(format="bgr24").astype(int)
    assert ours.shape == theirs.shape == (1080, 1920, 3)
    assert np.abs(ours - theirs).mean() < 2.0 and np.percentile(np.abs(ours - theirs), 99) <= 6


def test_other_pixel_formats_go_through_swscale():
    frame = av.VideoFrame.from_ndarray(np.full((32, 48, 3), (10, 20, 30), np.uint8), format="bgr24")
    frame = frame.reformat(format="yuv444p")
    assert np.abs(to_bgr(frame).astype(int) - [10, 20, 30]).max() <= 2
