"""Replay a parked car through a whole camera pipeline (tracker, rules, timers, plate stage, recorder, store) with a
stand-in plate reader: what the plate and ladder tests share."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

import numpy as np

from events.evidence import EvidenceWriter
from events.record import Event
from events.recorder import EventRecorder
from events.store import EventStore
from plates.grammar import CHINA
from plates.reader import PlateRead
from plates.stage import PlateStage
from streams.frames import Frame
from streams.pipeline import CameraPipeline
from tests.replay import CAR, SIDEWALK, camera_config, detections
from zones.config import parse_config


class FixedReader:
    """A stand-in reader: says ``texts`` in turn (None: no plate found; after the last, no plate), with ``score``,
    the plate at the crop's lower middle; remembers the size of every crop it was given."""

    def __init__(self, texts: Sequence[str | None], score: float = 0.95) -> None:
        self.texts = list(texts)
        self.score = score
        self.crops: list[tuple[int, int]] = []

    def read(self, crop: np.ndarray) -> PlateRead | None:
        self.crops.append((crop.shape[1], crop.shape[0]))
        text = self.texts[len(self.crops) - 1] if len(self.crops) <= len(self.texts) else None
        if text is None:
            return None
        height, width = crop.shape[:2]
        return PlateRead(CHINA.normalise(text), self.score, (width // 3, height * 2 // 3, width * 2 // 3,
                                                             height * 5 // 6), text)


def parked_car_events(out: Path, store: EventStore, reader: FixedReader, origin: datetime | None = None,
                      stay: float = 40.0, every: float = 2.0, max_reads: int = 5, camera_id: str = "cam-01",
                      **top: object) -> list[Event]:
    """A car parks on the sidewalk at t=0 for ``stay`` seconds (warn_after 20s, clear_after 30s), then the road
    is empty for 40 s; the events of the run, its plates read by ``reader``."""
    raw = camera_config([{**SIDEWALK, "warn_after": "20s"}], start_time=origin.isoformat() if origin else None)
    raw["cameras"][0]["id"] = camera_id
    config = parse_config({**raw, "plates": {"enabled": False}, **top})
    camera = config.cameras[0]
    recorder = EventRecorder(camera.id, EvidenceWriter(out, camera), store)
    pipeline = CameraPipeline(config, camera, recorder)
    pipeline.plates = PlateStage(reader, every=every, max_reads=max_reads)
    image = np.full((360, 640, 3), 90, np.uint8)
    events: list[Event] = []
    frame = None
    for index in range(int((stay + 40) * 2)):
        t = index / 2
        frame = Frame(image, t, index, origin)
        events += pipeline.step(frame, detections([CAR] if t < stay else []))
    events += pipeline.finish(frame)
    return events
