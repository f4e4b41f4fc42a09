"""The plate reader stage with a stand-in engine: what it presents as the plate and what it leaves unread."""

from __future__ import annotations

import numpy as np

from plates.engines import RawRead
from plates.grammar import grammar_for
from plates.reader import PlateReader


class ScriptedEngine:
    """Says the same candidates for every crop; counts its calls."""

    name = "scripted"

    def __init__(self, *candidates: RawRead) -> None:
        self.candidates = list(candidates)
        self.calls = 0

    def read(self, crop: np.ndarray) -> list[RawRead]:
        self.calls += 1
        return self.candidates


CROP = np.zeros((120, 200, 3), np.uint8)


def test_the_best_candidate_that_is_a_plate_is_read_and_normalised():
    plate_box = (50, 80, 130, 105)
    engine = ScriptedEngine(RawRead("VOLKSWAGEN", 0.99, (10, 10, 90, 30)), RawRead("京EMC139", 0.95, plate_box),
                            RawRead("京E·MC138", 0.85, plate_box))
    read = PlateReader(engine).read(CROP)
    assert (read.text, read.score, read.box, read.raw) == ("京E·MC139", 0.95, plate_box, "京EMC139")


def test_a_plate_found_but_not_readable_has_no_text():
    read = PlateReader(ScriptedEngine(RawRead("CKR023", 0.99, (5, 5, 40, 18)))).read(CROP)
    assert read.text is None and read.raw == "CKR023" and read.box == (5, 5, 40, 18)


def test_a_read_below_the_minimum_score_is_not_presented():
    engine = ScriptedEngine(RawRead("京E·MC139", 0.6, (5, 5, 40, 18)))
    assert PlateReader(engine).read(CROP).text is None
    assert PlateReader(engine, min_score=0.5).read(CROP).text == "京E·MC139"


def test_no_plate_found_or_no_image_is_none():
    assert PlateReader(ScriptedEngine()).read(CROP) is None
    engine = ScriptedEngine(RawRead("京E·MC139", 0.99, (0, 0, 4, 2)))
    assert PlateReader(engine).read(np.zeros((4, 200, 3), np.uint8)) is None  # a sliver: not worth a read
    assert engine.calls == 0


def test_the_grammar_is_the_readers():
    engine = ScriptedEngine(RawRead("京E·MC139", 0.99, (0, 0, 9, 3)), RawRead("AB12 CDE", 0.9, (0, 0, 9, 3)))
    assert PlateReader(engine, grammar=grammar_for(r"[A-Z]{2}[0-9]{2}[A-Z]{3}")).read(CROP).text == "AB12CDE"
