"""Speed settings that promise to change nothing must change no event: with the real model on real pixels, the
events are the same with one detector worker, with two side by side, with unchanged frames skipped, and with the
default rect letterbox against the 640x640 square one.

The clip for skipping is the residential street's first frame held for 15 s (with fresh sensor noise on every
frame, as a still street at night would give), then the street as filmed: the parked cars are warned during the
still part, where the gate skips frames, and the kerb car leaves in the moving part."""

from __future__ import annotations

import json
import re
from fractions import Fraction

import av
import numpy as np
import yaml

from streams.files import to_bgr
from streetorder.cli import main
from tests.conftest import shared_clip

ZONES = [
    {"id": "driveway", "type": "sidewalk", "polygon": [[560, 150], [640, 150], [640, 200], [560, 200]],
     "warn_after": "10s"},
    {"id": "kerb", "type": "sidewalk", "polygon": [[340, 125], [430, 125], [430, 172], [340, 172]],
     "warn_after": "10s", "clear_after": "5s"},
]
HOLD_S, FPS = 15, 12


def still_then_moving(path):
    """The clip's first frame for ``HOLD_S`` seconds (noisy), then its first 30 s, at ``FPS``."""
    rng = np.random.default_rng(0)
    with av.open(str(shared_clip("us_residential_street.mp4"))) as source:
        frames = [to_bgr(f) for i, f in enumerate(source.decode(video=0)) if i % 2 == 0][: 30 * FPS]
    images = [np.clip(frames[0] + rng.normal(0, 2, frames[0].shape), 0, 255).astype(np.uint8)
              for _ in range(HOLD_S * FPS)] + frames
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=FPS)
        stream.width, stream.height, stream.pix_fmt = 640, 352, "yuv420p"
        stream.codec_context.time_base = Fraction(1, FPS)
        for index, image in enumerate(images):
            frame = av.VideoFrame.from_ndarray(image, format="bgr24")
            frame.pts = index
            container.mux(stream.encode(frame))
        container.mux(stream.encode())
    return path


def events_of(tmp_path, source, name: str, workers: int, detect: dict | None = None) -> list[tuple]:
    config = {"analysis_fps": 2, "cameras": [{"id": "us-res", "source": str(source), "zones": ZONES}]}
    if detect:
        config["detect"] = detect
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(config))
    out = tmp_path / name
    assert main(["process", "--config", str(path), "--out", str(out), "--workers", str(workers)]) == 0
    lines = [json.loads(line) for line in (out / "events.jsonl").read_text().splitlines()]
    return [(e["zone_id"], e["type"], e["object_id"], e["since_t"], round(e["t"], 3), e["bbox"]) for e in lines]


def test_workers_and_skipping_unchanged_frames_give_the_same_events(tmp_path, require_models, capsys):
    source = still_then_moving(tmp_path / "still-then-moving.mp4")
    one = events_of(tmp_path, source, "one", workers=1)
    assert [(zone, kind) for zone, kind, *_ in one] == [("driveway", "warn"), ("kerb", "warn"), ("kerb", "clear")]
    assert events_of(tmp_path, source, "two", workers=2) == one
    capsys.readouterr()
    skip = {"skip_unchanged": True, "reconfirm_every": "3s"}
    skipping = events_of(tmp_path, source, "skip", workers=2, detect=skip)
    # the same events at the same times; the box at rest (an average of its detections) within a pixel
    assert [e[:5] for e in skipping] == [e[:5] for e in one]
    assert all(np.abs(np.subtract(a[5], b[5])).max() <= 1.0 for a, b in zip(skipping, one, strict=True))
    printed = " ".join(capsys.readouterr().out.split())
    skipped = re.search(r"reused the last detections \(skip_unchanged\): us-res (\d+) of (\d+)", printed)
    assert skipped and int(skipped[1]) >= 20  # most of the still part's 30 frames were not detected


def test_the_default_rect_letterbox_gives_the_events_of_the_square_one(tmp_path, require_models):
    # rect once boxed the driveway car's cut-off front again, nested in it, and warned it twice (issue 18): the
    # resting memory now takes a box inside an object on its ground line for that object
    source = still_then_moving(tmp_path / "still-then-moving.mp4")
    rect = events_of(tmp_path, source, "rect", workers=2)
    square = events_of(tmp_path, source, "square", workers=2, detect={"letterbox": "square"})
    assert [(zone, kind) for zone, kind, *_ in rect] == [("driveway", "warn"), ("kerb", "warn"), ("kerb", "clear")]
    assert [e[:2] + e[3:5] for e in rect] == [e[:2] + e[3:5] for e in square]
    assert all(np.abs(np.subtract(a[5], b[5])).max() <= 3.0 for a, b in zip(rect, square, strict=True))
