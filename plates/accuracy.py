"""How a plate read compares with a label written by eye, where ``?`` stands for a character nobody could read."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

UNKNOWN = "?"


@dataclass(frozen=True)
class LabelledCrop:
    """One crop of a plate set: its image file and the plate it shows (``?`` where unreadable by eye)."""

    path: Path
    plate: str
    row: dict[str, str]


def load_set(folder: Path) -> list[LabelledCrop]:
    """The crops listed in ``folder/labels.csv`` (columns ``file`` and ``plate``, any others kept in ``row``)."""
    with open(folder / "labels.csv", encoding="utf-8", newline="") as handle:
        return [LabelledCrop(folder / row["file"], row["plate"], row) for row in csv.DictReader(handle)]


def exact_match(read: str | None, label: str) -> bool:
    """Whether ``read`` says ``label`` at every character a person could read.

    >>> exact_match("京E·MC139", "?E·MC139"), exact_match("京E·MC138", "?E·MC139"), exact_match(None, "?E·MC139")
    (True, False, False)
    """
    return read is not None and len(read) == len(label) and all(
        wanted in (UNKNOWN, got) for got, wanted in zip(read, label, strict=True))


def character_accuracy(read: str | None, label: str) -> float:
    """The share of the label's known characters the read gets right: 1 - edit distance / known characters, an
    unreadable ``?`` matching anything (and not counted); 0 for no read.

    >>> character_accuracy("京E·MC139", "?E·MC139"), character_accuracy("豫E·HC139", "?E·MC139")
    (1.0, 0.86)
    >>> character_accuracy("E·MC139", "?E·MC139"), character_accuracy(None, "?E·MC139")
    (1.0, 0.0)
    """
    known = sum(1 for character in label if character != UNKNOWN)
    if read is None or known == 0:
        return 0.0
    return round(max(0.0, 1 - _distance(read, label) / known), 2)


def _distance(read: str, label: str) -> int:
    """Levenshtein distance where a label's ``?`` costs nothing, matched, dropped or replaced."""
    previous = [0] * (len(read) + 1)
    for j in range(1, len(read) + 1):
        previous[j] = j
    for wanted in label:
        free = wanted == UNKNOWN
        current = [previous[0] + (0 if free else 1)]
        for j, got in enumerate(read, start=1):
            substitute = previous[j - 1] + (0 if free or got == wanted else 1)
            current.append(min(substitute, previous[j] + (0 if free else 1), current[j - 1] + 1))
        previous = current
    return previous[-1]
