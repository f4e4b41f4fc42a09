"""What the verdicts say about the system and about the reviewers.

- Precision per camera and per rule: confirmed / (confirmed + rejected) over the judged alarms (warn and escalate
  events whose reviewers agree), with a 95% Wilson interval, because 12 of 15 is not the same evidence as 800 of
  1000. Disputed and unsure events are counted but left out of the ratio.
- Agreement between reviewers, for every pair who judged the same events: the share of equal verdicts and
  Cohen's kappa (agreement beyond what their verdict rates would give by chance).
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from dataclasses import dataclass, field

from review.db import Database
from review.verdicts import REASONS, VERDICTS

ALARM_TYPES = ("warn", "escalate")
Z95 = 1.959964


def wilson_interval(successes: int, trials: int, z: float = Z95) -> tuple[float, float] | None:
    """The Wilson score interval of a proportion (None without trials).

    >>> [round(x, 3) for x in wilson_interval(8, 10)]
    [0.49, 0.943]
    """
    if trials == 0:
        return None
    p = successes / trials
    denominator = 1 + z * z / trials
    centre = (p + z * z / (2 * trials)) / denominator
    half = z * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials)) / denominator
    return max(0.0, centre - half), min(1.0, centre + half)


def cohen_kappa(pairs: list[tuple[str, str]]) -> float | None:
    """Cohen's kappa of two raters' labels on the same items (None when chance agreement is total).

    >>> labels = [("confirm", "confirm"), ("reject", "reject"), ("confirm", "reject"), ("reject", "reject")]
    >>> round(cohen_kappa(labels), 3)
    0.5
    """
    n = len(pairs)
    if n == 0:
        return None
    observed = sum(a == b for a, b in pairs) / n
    first, second = Counter(a for a, _ in pairs), Counter(b for _, b in pairs)
    expected = sum(first[k] * second[k] for k in first) / (n * n)
    return None if expected >= 1 else (observed - expected) / (1 - expected)


@dataclass
class PrecisionRow:
    """The verdicts on one camera's or one rule's alarms."""

    key: str
    confirmed: int = 0
    rejected: int = 0
    disputed: int = 0
    unsure: int = 0
    pending: int = 0
    reasons: Counter = field(default_factory=Counter)

    @property
    def precision(self) -> float | None:
        decided = self.confirmed + self.rejected
        return self.confirmed / decided if decided else None

    @property
    def interval(self) -> tuple[float, float] | None:
        return wilson_interval(self.confirmed, self.confirmed + self.rejected)


@dataclass
class PairAgreement:
    first: str
    second: str
    shared: int
    agreement: float
    kappa: float | None


@dataclass
class Agreement:
    pairs: list[PairAgreement]
    events_seen_twice: int
    unanimous: int


@dataclass
class Report:
    by_camera: list[PrecisionRow]
    by_rule: list[PrecisionRow]
    agreement: Agreement
    verdicts_by_reviewer: dict[str, Counter]


class Stats:
    """Precision and agreement from the review tables.

    Example:
        >>> report = Stats(Database(":memory:")).report()
        >>> report.by_camera, report.agreement.events_seen_twice
        ([], 0)
    """

    def __init__(self, db: Database):
        self.db = db

    def report(self) -> Report:
        return Report(self.precision("camera_id"), self.precision("rule"), self.agreement(), self.by_reviewer())

    def precision(self, column: str) -> list[PrecisionRow]:
        """Per ``camera_id`` or per ``rule``: verdict counts and precision over alarms."""
        if column not in ("camera_id", "rule"):
            raise ValueError(f"cannot group precision by {column!r}")
        self.db.sync_cases()
        alarm = f"type IN ({', '.join('?' * len(ALARM_TYPES))})"
        rows: dict[str, PrecisionRow] = {}
        for key, status, reason, count in self.db.execute(
                f"SELECT {column}, status, reason, count(*) FROM review_cases WHERE {alarm} GROUP BY 1, 2, 3",
                ALARM_TYPES):
            row = rows.setdefault(key, PrecisionRow(key))
            setattr(row, status, getattr(row, status) + count)
            if status == "rejected":
                row.reasons[reason if reason in REASONS else "mixed"] += count
        return [rows[k] for k in sorted(rows)]

    def agreement(self) -> Agreement:
        by_pair: dict[tuple[str, str], list[tuple[str, str]]] = defaultdict(list)
        for first, second, a, b in self.db.execute(
                "SELECT ua.name, ub.name, a.verdict, b.verdict FROM review_verdicts a "
                "JOIN review_verdicts b ON a.event_id = b.event_id AND a.user_id < b.user_id "
                "JOIN review_users ua ON ua.user_id = a.user_id JOIN review_users ub ON ub.user_id = b.user_id"):
            by_pair[(first, second)].append((a, b))
        pairs = [PairAgreement(f, s, len(labels), sum(a == b for a, b in labels) / len(labels), cohen_kappa(labels))
                 for (f, s), labels in sorted(by_pair.items())]
        seen, unanimous = self.db.execute(
            "SELECT count(*), coalesce(sum(CASE WHEN kinds = 1 THEN 1 ELSE 0 END), 0) FROM (SELECT "
            "count(DISTINCT verdict) AS kinds FROM review_verdicts GROUP BY event_id HAVING count(*) >= 2) AS shared"
        ).fetchone()
        return Agreement(pairs, seen, unanimous)

    def by_reviewer(self) -> dict[str, Counter]:
        counts: dict[str, Counter] = defaultdict(Counter)
        for name, verdict, count in self.db.execute(
                "SELECT u.name, v.verdict, count(*) FROM review_verdicts v JOIN review_users u USING (user_id) "
                "GROUP BY 1, 2"):
            counts[name][verdict] += count
        return {name: Counter({v: counts[name][v] for v in VERDICTS}) for name in sorted(counts)}
