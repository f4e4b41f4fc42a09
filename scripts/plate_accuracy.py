"""Measure the plate engines side by side on the plate sets of tests/data/plates.

For each engine and set: exact-match accuracy (every character a person could read is right), character accuracy,
the null rate (no plate, or what was read is not a plate of the grammar), the wrong rate (a plate presented that is
not the label) and the median time per read; then the vote over each real vehicle's frames. ``--conditions``
measures rendered plates by width, view angle and at night instead (``evaluation/plate_conditions.py``, drawn in a
temporary folder), with the default engine unless ``--engine`` is given.

    .venv/bin/python scripts/plate_accuracy.py [--engine NAME ...] [--verbose] [--conditions]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import cv2

from evaluation.plate_conditions import render_conditions
from plates.accuracy import character_accuracy, exact_match, load_set
from plates.engines import DEFAULT_ENGINE, ENGINES
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


def measure_conditions(engine: str, verbose: bool) -> None:
    """Print a table of ``engine``'s scores on each rendered condition (a Markdown table, for docs/PLATES.md)."""
    reader = PlateReader(engine)
    with tempfile.TemporaryDirectory(prefix="plate-conditions-") as out:
        folders = render_conditions(Path(out))
        reader.read(cv2.imread(str(next(iter(folders.values())) / "blue_00.jpg")))  # warm up
        print(f"{engine}:\n| condition | plate width (square on, seen) | plates | exact | chars | null | wrong "
              "| ms/read |\n|---|---|---|---|---|---|---|---|")
        for condition, folder in folders.items():
            scores, reads = measure(reader, folder)
            print(f"| {condition.name} | {condition.width}, {condition.seen_width} px | {scores['crops']} | "
                  f"{scores['exact']:.0%} | {scores['chars']:.0%} | {scores['null']:.0%} | {scores['wrong']:.0%} | "
                  f"{scores['ms']:.0f} |")
            if verbose:
                for (name, text, score), crop in zip(reads, load_set(folder), strict=True):
                    print(f"    {name:14} {crop.plate:10} {text!s:10} {score:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--engine", action="append", choices=ENGINES, help="engines to measure (default: all)")
    parser.add_argument("--verbose", action="store_true", help="print every read")
    parser.add_argument("--conditions", action="store_true",
                        help="rendered plates by width, view angle and at night instead of the plate sets")
    args = parser.parse_args()
    if args.conditions:
        for engine in args.engine or [DEFAULT_ENGINE]:
            measure_conditions(engine, args.verbose)
        return
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
