"""The benchmark's parts that can be checked exactly: its footage, its decode counts and its capacity search.
(The figures themselves are measured by ``streetorder bench``, never asserted by a test.)"""

from __future__ import annotations

import av

from evaluation.bench import FPS, GOP_S, CapacityRun, decode_cost, find_capacity, make_footage
from tests.test_sources import write_video


def test_footage_is_cctv_like_and_key_frames_only_decodes_one_frame_per_gop(tmp_path):
    clip = write_video(tmp_path / "clip.mp4", [i / 25 for i in range(25)], size=(320, 180))  # 1 s of real H.264
    footage = make_footage(clip, tmp_path / "work", seconds=2)
    assert set(footage) == {"1080p", "360p"}
    with av.open(str(footage["360p"].path)) as container:
        stream = container.streams.video[0]
        assert (stream.codec_context.width, stream.codec_context.height) == (640, 360)
        keys = [p.pts * p.time_base for p in container.demux(stream) if p.is_keyframe]
    assert keys == [i * GOP_S for i in range(2 // GOP_S)]  # looped to 2 s, a key frame every GOP_S seconds
    mtime = footage["1080p"].path.stat().st_mtime_ns
    assert make_footage(clip, tmp_path / "work", seconds=2)["1080p"].path.stat().st_mtime_ns == mtime  # cached

    full, keyframes = decode_cost(footage["1080p"], False), decode_cost(footage["1080p"], True)
    assert (full.frames, keyframes.frames) == (2 * FPS, 2 // GOP_S)
    assert full.video_s == keyframes.video_s == 2


def run_with(capacity: int, flaky: set[int] = frozenset()):
    """A stand-in for a capacity measurement: cameras up to ``capacity`` keep up; each count in ``flaky`` falls
    behind on its first run only (a hiccup of a shared machine)."""
    calls: list[int] = []

    def run(n: int) -> CapacityRun:
        calls.append(n)
        hiccup = n in flaky and calls.count(n) == 1
        analysed = 30 * n if n <= capacity and not hiccup else 20 * n
        return CapacityRun(n, 30 * n, analysed, 30 * n - analysed, 0.0, 100.0, 1.0, 30.0)

    return run, calls


def test_capacity_search_doubles_bisects_and_confirms_the_boundary_with_repeated_runs():
    run, calls = run_with(capacity=5)
    best, groups = find_capacity(run, repeats=3, max_cameras=32)
    assert best == 5
    assert calls[:4] == [1, 2, 4, 8] and calls.count(5) == 3 and calls.count(6) == 3
    assert [g[0].cameras for g in groups] == sorted({*calls})


def test_capacity_is_judged_by_the_median_not_by_one_unlucky_run():
    run, calls = run_with(capacity=5, flaky={4})  # 4 falls behind once: the doubling stops there ...
    best, groups = find_capacity(run, repeats=3, max_cameras=32)
    assert calls[:3] == [1, 2, 4] and 8 not in calls
    assert best == 5  # ... but its repeated runs keep up, and so do those of 5
    assert [len(g) for g in groups if g[0].cameras in (4, 5, 6)] == [3, 3, 3]
    run, _ = run_with(capacity=0)
    assert find_capacity(run, repeats=3, max_cameras=32)[0] == 0
