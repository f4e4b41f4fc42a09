"""Keep the best plate over a resting object's frames: a character-wise vote of its reads, weighted by score.

One lucky (or unlucky) frame must not decide a plate: reads of the same layout (length) vote character by
character, each with its score as weight, and the result stands only when enough reads agree with it outright or
its score is high. Otherwise the plate is None: not read, never a guess presented as fact.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from plates.grammar import CHINA, PlateGrammar

MIN_AGREEING = 2  # reads that must say exactly the voted plate ...
MIN_SCORE = 0.9  # ... unless the voted plate scores at least this


@dataclass(frozen=True)
class VotedPlate:
    """The plate an object's reads agree on: ``score`` is the mean score of the reads of its layout times the
    weakest character's share of the vote; ``reads`` counts the readable reads, ``agreeing`` those that say
    exactly ``text``."""

    text: str
    score: float
    reads: int
    agreeing: int


@dataclass
class PlateVote:
    """The reads of one object, frame after frame; ``result()`` is the plate they vote for, or None.

    >>> vote = PlateVote()
    >>> for text, score in [("京E·MC139", 0.99), ("豫E·MC139", 0.83), ("京E·MC139", 0.98), (None, 0.6)]:
    ...     vote.add(text, score)
    >>> vote.result()
    VotedPlate(text='京E·MC139', score=0.66, reads=3, agreeing=2)
    >>> single = PlateVote(); single.add("京E·MC139", 0.8); single.result() is None  # one read of 0.8 is not enough
    True
    """

    grammar: PlateGrammar = CHINA
    min_agreeing: int = MIN_AGREEING
    min_score: float = MIN_SCORE
    _reads: list[tuple[str, float]] = field(default_factory=list, init=False, repr=False)

    def add(self, text: str | None, score: float) -> None:
        """One frame's read; unreadable ones (None, or not a plate of the grammar) do not vote."""
        plate = self.grammar.normalise(text)
        if plate is not None and score > 0:
            self._reads.append((plate, float(score)))

    def result(self) -> VotedPlate | None:
        """The voted plate, or None when no layout's vote is backed by ``min_agreeing`` reads or ``min_score``."""
        if not self._reads:
            return None
        by_length: dict[int, list[tuple[str, float]]] = defaultdict(list)
        for plate, score in self._reads:
            by_length[len(plate)].append((plate, score))
        layout = max(by_length.values(), key=lambda reads: sum(score for _, score in reads))
        text, share = _vote_characters(layout)
        if self.grammar.normalise(text) != text:  # characters of different reads that make no plate together
            text, share = _most_backed(layout)
        agreeing = sum(1 for plate, _ in layout if plate == text)
        score = round(sum(score for _, score in layout) / len(layout) * share, 2)
        if agreeing < self.min_agreeing and score < self.min_score:
            return None
        return VotedPlate(text, score, len(self._reads), agreeing)


def _vote_characters(reads: list[tuple[str, float]]) -> tuple[str, float]:
    """Per position, the character with the most score behind it; and the smallest such share over positions.

    >>> _vote_characters([("AB1", 1.0), ("AB7", 0.5), ("A81", 0.5)])
    ('AB1', 0.75)
    """
    text, weakest = [], 1.0
    total = sum(score for _, score in reads)
    for position in range(len(reads[0][0])):
        weights: dict[str, float] = defaultdict(float)
        for plate, score in reads:
            weights[plate[position]] += score
        character, weight = max(weights.items(), key=lambda item: item[1])
        text.append(character)
        weakest = min(weakest, weight / total)
    return "".join(text), weakest


def _most_backed(reads: list[tuple[str, float]]) -> tuple[str, float]:
    """The plate read most (by summed score) and its share of the score.

    >>> plate, share = _most_backed([("AB1", 0.5), ("A81", 0.4), ("A81", 0.3)])
    >>> plate, round(share, 2)
    ('A81', 0.58)
    """
    weights: dict[str, float] = defaultdict(float)
    for plate, score in reads:
        weights[plate] += score
    plate, weight = max(weights.items(), key=lambda item: item[1])
    return plate, weight / sum(weights.values())
