"""The real reader (the default engine, weights from its wheels) on the plate sets of tests/data/plates.

What a person can check by eye (tests/data/plates/README.md): the white car in front of the curbside clip has a
blue plate ``?E·MC139`` (the province character is 10-12 px high: it looks like 京 in the sharpest frames, 0090,
0150 and 0960, and is a blob in the others); the dark car at the kerb has ``?C·KR023`` (its province character is a
blob of about 6 px in every frame: nobody can read it). So these tests assert the serials, that the plate box is
where a plate is, and that no read contradicts a character a person can read; they do not assert a province of the
real clip. The rendered set has known provinces.
"""

from __future__ import annotations

import logging
import socket
from collections import defaultdict
from pathlib import Path

import cv2
import pytest

from plates.accuracy import exact_match, load_set
from plates.engines import ENGINES, load_engine
from plates.grammar import PROVINCES
from plates.reader import PlateReader
from plates.vote import PlateVote

pytestmark = pytest.mark.slow
DATA = Path(__file__).resolve().parents[1] / "data" / "plates"
REAL = load_set(DATA / "real")
RENDERED = load_set(DATA / "rendered")


@pytest.fixture(scope="module")
def reader() -> PlateReader:
    return PlateReader()


@pytest.fixture(scope="module")
def real_reads(reader):
    return {crop.path.name: reader.read(cv2.imread(str(crop.path))) for crop in REAL}


def test_the_white_cars_serial_is_read_where_its_province_is_legible(real_reads):
    for frame in ("curbside_0090_white.jpg", "curbside_0150_white.jpg", "curbside_0960_white.jpg"):
        read = real_reads[frame]
        assert read.text is not None and read.text.endswith("E·MC139"), (frame, read)
        assert read.text[0] in PROVINCES


def test_no_real_read_contradicts_what_a_person_can_read(real_reads):
    wrong = {crop.path.name: real_reads[crop.path.name].text for crop in REAL
             if real_reads[crop.path.name] and real_reads[crop.path.name].text is not None
             and not exact_match(real_reads[crop.path.name].text, crop.plate)}
    assert wrong == {}


def test_the_plate_is_found_low_on_the_vehicle_and_plate_shaped(real_reads):
    for crop in REAL:
        read = real_reads[crop.path.name]
        assert read is not None, crop.path.name  # every crop shows its plate
        height, width = cv2.imread(str(crop.path)).shape[:2]
        x1, y1, x2, y2 = read.box
        assert 0 <= x1 < x2 <= width and 0 <= y1 < y2 <= height
        assert (y1 + y2) / 2 > height / 2, crop.path.name  # on the rear bumper, not the roof or the window
        assert 2.0 < (x2 - x1) / (y2 - y1) < 5.0, crop.path.name  # 440x140 mm, seen at an angle
        assert abs((x2 - x1) - int(crop.row["plate_width_px"])) <= 0.25 * int(crop.row["plate_width_px"])


def test_a_large_crop_is_read_the_same_with_its_box_in_its_own_pixels(reader, real_reads):
    # a 3x crop (933 px wide) is located at 480 px, then read at full size
    image = cv2.imread(str(DATA / "real" / "curbside_0960_white.jpg"))
    large = reader.read(cv2.resize(image, None, fx=3, fy=3, interpolation=cv2.INTER_CUBIC))
    small = real_reads["curbside_0960_white.jpg"]
    assert large.text == small.text
    assert all(abs(a - 3 * b) <= 12 for a, b in zip(large.box, small.box, strict=True)), (large.box, small.box)


def test_the_vote_over_each_cars_frames(real_reads):
    votes: dict[str, PlateVote] = defaultdict(PlateVote)
    for crop in REAL:
        read = real_reads[crop.path.name]
        votes[crop.row["vehicle"]].add(read.text, read.score)
    white = votes["white"].result()
    assert white is not None and white.text.endswith("E·MC139") and white.agreeing >= 2
    dark = votes["dark"].result()  # its province is never legible: no plate, or one that fits what is legible
    assert dark is None or exact_match(dark.text, "?C·KR023")


def test_rendered_plates_are_mostly_read_and_rarely_misread(reader):
    texts = [reader.read(cv2.imread(str(crop.path))) for crop in RENDERED]
    texts = [read.text if read else None for read in texts]
    exact = [exact_match(text, crop.plate) for text, crop in zip(texts, RENDERED, strict=True)]
    wrong = [(text, crop.plate) for text, crop, ok in zip(texts, RENDERED, exact, strict=True) if text and not ok]
    assert sum(exact) >= len(RENDERED) // 2, list(zip(texts, [c.plate for c in RENDERED], strict=True))
    assert len(wrong) <= 2, wrong
    kinds = {crop.row["kind"] for crop, ok in zip(RENDERED, exact, strict=True) if ok}
    assert kinds == {"blue", "yellow", "green"}  # every layout, the 8-character green one too


@pytest.mark.parametrize("engine", ENGINES)
def test_engines_load_and_read_offline_without_touching_logging_or_the_folder(engine, monkeypatch, tmp_path):
    def no_network(*args, **kwargs):
        raise AssertionError(f"the {engine} engine tried to open a network connection")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    monkeypatch.setattr(socket, "create_connection", no_network)
    monkeypatch.chdir(tmp_path)
    root = logging.getLogger()
    before = (root.level, list(root.handlers))
    loaded = load_engine(engine)
    reads = loaded.read(cv2.imread(str(DATA / "real" / "curbside_0960_white.jpg")))
    assert any("MC139" in read.text for read in reads)
    assert (root.level, list(root.handlers)) == before  # agentocr sets the root logger to DEBUG when imported
    assert list(tmp_path.iterdir()) == []  # no model downloaded into the working folder
