"""The adaptive analysis rate (``detect.idle_fps``, streams/rate.py) in ``streetorder bench``: footage of a quiet
street beside the busy one, so the capacity and batch tables show both ends of what it gives.

The busy footage (the pedestrian street, walkers in the zone all the time) never lets a camera go idle: its
adaptive series measure what the rate costs. The quiet footage is the same street's first frame held, with fresh
sensor noise on every frame (a street with nothing moving, as at night): there the cameras are idle, and the
series measure what it saves. A real street spends its hours somewhere between the two.
"""

from __future__ import annotations

import hashlib
import subprocess
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from evaluation.bench import FPS, Footage, make_footage
from evaluation.bench_speed import batch_series

QUIET = "-quiet"  # the suffix of a quiet footage's name: "360p-quiet", "1080p-quiet"
HELD_S = 10  # seconds of the held, noisy frame; make_footage loops it
BATCH = (("int8-640", True), ("int8-640-adaptive", True))  # on the quiet recording
# warm-up of a live capacity run with the adaptive rate: every camera starts busy and goes idle after idle_after
# (10 s by default); the slots dropped in that start-up burst are not the steady state the window measures
WARMUP_S = 20.0


def quiet_clip(clip: Path, work: Path) -> Path:
    """The first frame of ``clip`` held for ``HELD_S`` seconds, with fresh sensor noise (3 grey levels) on every
    frame, nearly lossless (made once)."""
    key = hashlib.sha1(f"{clip.resolve()}|{clip.stat().st_size}|{HELD_S}".encode()).hexdigest()[:10]
    path = work / f"{clip.stem}-held-{key}.mp4"
    if not path.is_file():
        work.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(".part.mp4")
        subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", str(clip), "-vf",
                        f"select=eq(n\\,0),loop={HELD_S * FPS - 1}:1:0,setpts=N/{FPS}/TB,noise=alls=3:allf=t",
                        "-frames:v", str(HELD_S * FPS), "-r", str(FPS), "-c:v", "libx264", "-preset", "veryfast",
                        "-crf", "12", "-pix_fmt", "yuv420p", "-an", str(partial)], check=True)
        partial.rename(path)
    return path


def quiet_footage(clip: Path, work: Path, seconds: float, streams: tuple[str, ...]) -> dict[str, Footage]:
    """The quiet street encoded as a camera sends it (``make_footage``), named ``<stream>-quiet``."""
    made = make_footage(quiet_clip(clip, work), work, seconds, streams)
    return {f"{name}{QUIET}": replace(f, name=f"{name}{QUIET}") for name, f in made.items()}


def base_kind(kind: str) -> str:
    """The stream a footage kind was made as ("360p-quiet" -> "360p"): INT8 models are calibrated on it."""
    return kind.removesuffix(QUIET)


def quiet_batch(args, work: Path, calibration, note: Callable[[str], None]) -> list[dict]:
    """``process`` on a quiet 1080p recording of ``--batch-seconds``, at the full rate and with the adaptive rate
    (the INT8 model of the busy recording's calibration)."""
    (recording,) = quiet_footage(args.clip, work, args.batch_seconds, ("1080p",)).values()
    return batch_series(recording, BATCH, args.model, calibration, work, args.workers, note, ", quiet street")
