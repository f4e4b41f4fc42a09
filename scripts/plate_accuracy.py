"""Measure the plate engines side by side on the plate sets of tests/data/plates.

For each engine and set: exact-match accuracy (every character a person could read is right), character accuracy,
the null rate (no plate, or what was read is not a plate of the grammar), the wrong rate (a plate presented that is
not the label) and the median time per read; then the vote over each real vehicle's frames.

    .venv/bin/python scripts/plate_accuracy.py [--engine NAME ...] [--threads N]
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections import defaultdict
from pathlib import Path

import cv2

from plates.accuracy import character_accuracy, exact_match, load_set
from plates.engines import ENGINES
from plates.reader import PlateReader
from plates.vote import PlateVote

DATA = Path(__file__).resolve().parents[1] / "tests" / "data" / "plates"
SETS = {"real": DATA / "real", "rendered": DATA / "rendered"}


def measure(reader: PlateReader, folder: Path) -> tuple[dict[str, float], list[tuple[str, str | None, float]]]:
    """The scores of ``reader`` on one set, and each crop's (file, read, score)."""
    crops = load_set(folder)
    reads, seconds = [], []
    for crop in crops:
        image = cv2.imread(str(crop.path))
        start = time.perf_counter()
        read = reader.read(image)
        seconds.append(time.perf_counter() - start)
        reads.append((crop.path.name, read.text if read else None, read.score if read else 0.0))
    texts = [text for _, text, _ in reads]
    exact = [exact_match(text, crop.plate) for text, crop in zip(texts, crops, strict=True)]
    scores = {
        "crops": len(crops),
        "exact": sum(exact) / len(crops),
        "chars": statistics.mean(character_accuracy(t, c.plate) for t, c in zip(texts, crops, strict=True)),
        "null": sum(text is None for text in texts) / len(crops),
        "wrong": sum(text is not None and not ok for text, ok in zip(texts, exact, strict=True)) / len(crops),
        "ms": 1000 * statistics.median(seconds),
    }
    return scores, reads


def vote_per_vehicle(folder: Path, reads: list[tuple[str, str | None, float]]) -> dict[str, str]:
    """The voted plate of each vehicle of a set with a ``vehicle`` column."""
    vehicles = {crop.path.name: crop.row.get("vehicle", "") for crop in load_set(folder)}
    votes: dict[str, PlateVote] = defaultdict(PlateVote)
    for name, text, score in reads:
        votes[vehicles[name]].add(text, score)
    return {vehicle: str(vote.result()) for vehicle, vote in votes.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--engine", action="append", choices=ENGINES, help="engines to measure (default: all)")
    parser.add_argument("--verbose", action="store_true", help="print every read")
    args = parser.parse_args()
    print(f"{'engine':16} {'set':9} {'crops':>5} {'exact':>6} {'chars':>6} {'null':>6} {'wrong':>6} {'ms/read':>8}")
    for engine in args.engine or ENGINES:
        reader = PlateReader(engine)
        reader.read(cv2.imread(str(next(iter(SETS.values())) / "curbside_0300_dark.jpg")))  # warm up
        for set_name, folder in SETS.items():
            scores, reads = measure(reader, folder)
            print(f"{engine:16} {set_name:9} {scores['crops']:5d} {scores['exact']:6.0%} {scores['chars']:6.0%} "
                  f"{scores['null']:6.0%} {scores['wrong']:6.0%} {scores['ms']:8.0f}")
            if args.verbose:
                for name, text, score in reads:
                    print(f"    {name:28} {text!s:12} {score:.2f}")
            if set_name == "real":
                for vehicle, voted in vote_per_vehicle(folder, reads).items():
                    print(f"    vote {vehicle}: {voted}")


if __name__ == "__main__":
    main()
