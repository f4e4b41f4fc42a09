"""Segment parallelism (``streams.segments``, ``streams.segment_workers``): the plan is cut at key frames and covers
the file; the segments' frames are exactly a whole-file run's (every sampling rate, key frames only, B-frames);
a truncated file gives the whole-file run's sentence; and with the real model, worker processes give exactly the
events of the sequential run (ids, type, t) on a rendered scenario and on a shared clip."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import av
import numpy as np
import pytest
import yaml

from detector.detections import Detections
from detector.load import load_detector
from events.store import EventStore
from streams import segment_workers
from streams.batch import process_recorded
from streams.files import Reading, VideoFile
from streams.frames import SourceError
from streams.segment_workers import DetectorSettings, SegmentResult, SegmentWorkers, merge_segments
from streams.segments import key_frame_times, plan_segments
from streetorder.cli import main
from tests.conftest import SHARED, shared_clip
from zones.config import load_config, parse_config

NOTHING = Detections.from_arrays(np.zeros((0, 4)), [], [], [], [])


def gop_video(path: Path, seconds: float, fps: int = 25, gop: int = 25, bframes: int = 0,
              size=(160, 96)) -> Path:
    """H.264 whose frames show their own index (a bar as wide as the index), a key frame every ``gop`` frames."""
    with av.open(str(path), "w", options={"movflags": "+faststart"}) as container:
        stream = container.add_stream("libx264", rate=fps, options={"g": str(gop), "keyint_min": str(gop),
                                                                      "sc_threshold": "0", "bf": str(bframes)})
        stream.width, stream.height, stream.pix_fmt = *size, "yuv420p"
        noise = np.random.default_rng(1)
        for index in range(round(seconds * fps)):
            image = noise.integers(0, 60, (size[1], size[0], 3), dtype=np.uint8)
            image[:, : index % size[0]] = 230
            for packet in stream.encode(av.VideoFrame.from_ndarray(image, format="bgr24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def by_segments(path: Path, fps: float, keyframes_only: bool, count: int) -> list[SegmentResult]:
    """What the workers would return, read here one segment after the other (no detector)."""
    results = []
    for segment in plan_segments(path, count):
        result = SegmentResult(segment, [], Reading())
        for frame in VideoFile(path, fps, keyframes_only=keyframes_only).read(result.reading, segment):
            result.frames.append((frame.t, frame.image, NOTHING))
        results.append(result)
    return results


@pytest.fixture(scope="module")
def videos(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("segments")
    return {"gop1s": gop_video(folder / "gop1s.mp4", 24.0), "bframes": gop_video(folder / "b.mp4", 20.0, 30, 40, 2)}


@pytest.mark.parametrize("name", ["gop1s", "bframes"])
def test_the_plan_is_cut_at_key_frames_and_covers_the_file(videos, name):
    times, _ = key_frame_times(videos[name])
    segments = plan_segments(videos[name], 4)
    assert len(segments) == 4
    assert segments[0].start == float("-inf") and segments[0].seek_pts is None and segments[-1].end == float("inf")
    assert all(a.end == b.start for a, b in itertools.pairwise(segments))  # no gap, no overlap
    assert all(s.start in times and times.index(s.start) > 0 for s in segments[1:])  # a key frame with one before
    lengths = np.diff([times[0], *(s.start for s in segments[1:]), times[-1]])
    assert lengths.max() - lengths.min() <= 2 * (times[1] - times[0])  # about equal, to a GOP or two


@pytest.mark.parametrize(("name", "fps", "keyframes_only"), [("gop1s", 1.0, False), ("gop1s", 3.0, False),
                                                             ("gop1s", 7.0, False), ("gop1s", 1.0, True),
                                                             ("bframes", 2.0, False), ("bframes", 0.7, True)])
def test_the_segments_take_exactly_the_frames_of_a_whole_file_run(videos, name, fps, keyframes_only):
    whole = list(VideoFile(videos[name], fps, keyframes_only=keyframes_only))
    results = by_segments(videos[name], fps, keyframes_only, 5)
    assert len(results) > 2 and all(r.frames for r in results)
    parts = [frame for frame, _ in merge_segments(results, VideoFile(videos[name], fps).probe())]
    assert [f.t for f in parts] == [f.t for f in whole]
    assert [f.index for f in parts] == list(range(len(whole)))
    assert all(np.array_equal(a.image, b.image) for a, b in zip(parts, whole, strict=True))


def test_a_truncated_file_gives_its_frames_and_the_same_sentence(tmp_path):
    whole = gop_video(tmp_path / "whole.mp4", 30.0, size=(320, 192))
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size * 6 // 10])
    seen = []
    with pytest.raises(SourceError) as sequential:
        for frame in VideoFile(cut, 2.0):
            seen.append(frame.t)
    results = by_segments(cut, 2.0, False, 4)
    assert len(results) == 4
    merged = []
    with pytest.raises(SourceError) as split:
        for frame, _ in merge_segments(results, VideoFile(cut, 2.0).probe()):
            merged.append(frame.t)
    assert str(split.value) == str(sequential.value)
    assert str(split.value).startswith(f"{cut}: damaged or truncated video: it ends at ")
    assert merged == seen and 10 <= len(seen) < 60




def with_gop(source: Path, target: Path, gop: int) -> Path:
    """``source`` re-encoded with a key frame every ``gop`` frames, every frame keeping its presentation time."""
    with av.open(str(source)) as src, av.open(str(target), "w") as out:
        decoded = src.streams.video[0]
        stream = out.add_stream("libx264", rate=decoded.average_rate, options={"g": str(gop), "bf": "0"})
        stream.width, stream.height, stream.pix_fmt = decoded.width, decoded.height, "yuv420p"
        stream.codec_context.time_base = decoded.time_base
        for frame in src.decode(decoded):
            copy = av.VideoFrame.from_ndarray(frame.to_ndarray(format="yuv420p"), format="yuv420p")
            copy.pts, copy.time_base = frame.pts, decoded.time_base
            for packet in stream.encode(copy):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return target


# -- the real model, in worker processes ------------------------------------------------------------------------

def events(config_path: Path, out: Path, segments: SegmentWorkers | None) -> list[tuple]:
    config = load_config(config_path)
    detector = load_detector("yolo11n", threads=1)
    store = EventStore(out / "events.db")
    try:
        (report,) = process_recorded(config, out, lambda camera: detector, store, workers=1, segments=segments)
    finally:
        store.close()
    assert report.error is None
    lines = [json.loads(line) for line in (out / "events.jsonl").read_text().splitlines()]
    return [(e["event_id"], e["type"], e["t"], e["since_t"]) for e in lines]


def compare(tmp_path: Path, config_path: Path, monkeypatch) -> list[tuple]:
    plans = []
    monkeypatch.setattr(segment_workers, "plan_segments", lambda *a: plans.append(plan_segments(*a)) or plans[-1])
    sequential = events(config_path, tmp_path / "sequential", None)
    # segments of 4 sampled frames: boundaries everywhere, around the scenario's gap too
    workers = SegmentWorkers(2, lambda camera: DetectorSettings("yolo11n"), split_from_s=0, segment_frames=4)
    try:
        split = events(config_path, tmp_path / "split", workers)
    finally:
        workers.close()
    assert len(plans) == 1 and len(plans[0]) >= 5  # it did run in segments
    assert split == sequential
    return sequential


def test_worker_processes_give_the_events_of_a_sequential_run_on_a_scenario(tmp_path, require_models, monkeypatch):
    from evaluation.make import make_scenarios
    from evaluation.material import Material
    from tests.evaluation.test_scenarios import TINY

    shared_clip("us_residential_street.mp4")
    material = Material(SHARED / "data", load_detector("yolo11n"),
                        sprite_sources={"car": [("clips/us_residential_street.mp4", 640)]}, photo_sources={})
    make_scenarios(tmp_path / "suite", material, scenarios=[TINY], verify_every=1.0)
    folder = tmp_path / "suite" / "tiny"
    config = yaml.safe_load((folder / "cameras.yaml").read_text())
    # the renderer's GOP (250 frames) outlasts the tiny scenario: give it a camera's (1 s), keeping timestamps, gap
    config["cameras"][0]["source"] = str(with_gop(folder / config["cameras"][0]["source"], folder / "gop5.mp4", 5))
    for zone in config["cameras"][0]["zones"]:
        zone |= {"warn_after": "3s", "clear_after": "2s"}  # the tiny car rests 8 s: warned, then cleared
    path = tmp_path / "suite" / "tiny" / "short-dwell.yaml"
    path.write_text(yaml.safe_dump(config))
    found = compare(tmp_path, path, monkeypatch)
    assert {kind for _, kind, _, _ in found} == {"warn", "clear"}


def test_worker_processes_give_the_events_of_a_sequential_run_on_a_shared_clip(tmp_path, require_models,
                                                                               monkeypatch):
    example = yaml.safe_load((Path(__file__).parents[1] / "examples" / "us_residential_street.yaml").read_text())
    example["cameras"][0]["source"] = str(shared_clip("us_residential_street.mp4"))
    example["detect"] = {"skip_unchanged": True, "reconfirm_every": "3s"}  # the gate runs in the main process
    parse_config(example)
    path = tmp_path / "example.yaml"
    path.write_text(yaml.safe_dump(example))
    found = compare(tmp_path, path, monkeypatch)
    assert [kind for _, kind, _, _ in found].count("warn") >= 2


def test_the_command_line_runs_long_files_in_segment_processes(tmp_path, require_models, monkeypatch):
    example = yaml.safe_load((Path(__file__).parents[1] / "examples" / "us_residential_street.yaml").read_text())
    example["cameras"][0]["source"] = str(shared_clip("us_residential_street.mp4"))
    path = tmp_path / "example.yaml"
    path.write_text(yaml.safe_dump(example))
    plans = []
    monkeypatch.setattr(segment_workers, "SPLIT_FROM_S", 0.0)
    monkeypatch.setattr(segment_workers, "SEGMENTS_FROM_WORKERS", 2)  # on this 2-core machine: from 3
    monkeypatch.setattr(segment_workers, "plan_segments", lambda *a: plans.append(plan_segments(*a)) or plans[-1])
    runs = {}
    for workers in (1, 2):
        out = tmp_path / f"workers-{workers}"
        assert main(["process", "--config", str(path), "--out", str(out), "--workers", str(workers)]) == 0
        runs[workers] = (out / "events.jsonl").read_text()
    assert len(plans) == 1  # only --workers 2 split the file
    assert runs[2] == runs[1] and runs[1].count('"warn"') >= 2
