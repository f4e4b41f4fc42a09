"""The plate reader stage: a BGR vehicle crop in, the plate it shows (normalised), a score and where it is out."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from plates.engines import DEFAULT_ENGINE, Engine, RawRead, load_engine
from plates.grammar import CHINA, PlateGrammar


@dataclass(frozen=True)
class PlateRead:
    """What the reader made of one crop: ``text`` is the normalised plate, or None when a plate was found but what
    it says does not fit the grammar (``raw`` keeps what the engine said); ``score`` is the engine's confidence
    (0-1) and ``box`` the plate's ``x1, y1, x2, y2`` in the crop."""

    text: str | None
    score: float
    box: tuple[int, int, int, int]
    raw: str


MIN_SCORE = 0.8  # below it, what an engine read is kept as ``raw`` but not presented as the plate


def best_read(candidates: list[RawRead], grammar: PlateGrammar = CHINA, min_score: float = MIN_SCORE
              ) -> PlateRead | None:
    """The best-scoring candidate that fits ``grammar`` with at least ``min_score``; else the best one, unread
    (``text`` None); None without candidates.

    >>> best_read([RawRead("CKR023", 0.9, (0, 0, 9, 3)), RawRead("皖C KR023", 0.8, (1, 1, 9, 3))]).text
    '皖C·KR023'
    >>> best_read([RawRead("VOLKSWAGEN", 0.99, (0, 0, 9, 3))])
    PlateRead(text=None, score=0.99, box=(0, 0, 9, 3), raw='VOLKSWAGEN')
    >>> best_read([RawRead("京E·MC139", 0.6, (0, 0, 9, 3))]).text is None
    True
    >>> best_read([]) is None
    True
    """
    if not candidates:
        return None
    readable = [(grammar.normalise(c.text), c) for c in candidates]
    readable = [(text, c) for text, c in readable if text is not None and c.score >= min_score]
    if readable:
        text, candidate = max(readable, key=lambda item: item[1].score)
        return PlateRead(text, candidate.score, candidate.box, candidate.text)
    candidate = max(candidates, key=lambda c: c.score)
    return PlateRead(None, candidate.score, candidate.box, candidate.text)


class PlateReader:
    """Locate and read the plate on vehicle crops with one engine and one grammar (load once, read many)."""

    def __init__(self, engine: str | Engine = DEFAULT_ENGINE, grammar: PlateGrammar = CHINA,
                 min_score: float = MIN_SCORE) -> None:
        self.engine = load_engine(engine) if isinstance(engine, str) else engine
        self.grammar = grammar
        self.min_score = min_score

    def read(self, crop: np.ndarray) -> PlateRead | None:
        """The plate on the BGR vehicle ``crop``, or None when no plate is found on it."""
        if crop.ndim != 3 or crop.shape[0] < 8 or crop.shape[1] < 8:
            return None
        return best_read(self.engine.read(crop), self.grammar, self.min_score)
