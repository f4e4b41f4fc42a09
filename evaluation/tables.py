"""Scores as rows of text, shared by the terminal tables and the Markdown report.

Example:
    >>> print(markdown(["a", "b"], [["1", "2"]]))
    | a | b |
    |---|---|
    | 1 | 2 |
"""

from __future__ import annotations

from evaluation.score_events import EventScores, RuleScore

EVENT_HEADER = ["rule", "expected", "predicted", "matched", "P", "R", "F1", "warn err med / worst",
                "clear err med / worst", "dup", "FA", "FA/cam-h"]
OUTCOME_HEADER = ["scenario", "object", "rule", "expected warn", "warn", "expected clear", "clear", "verdict"]


def number(value: float | None, digits: int = 2) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def event_rows(scores: EventScores) -> list[list[str]]:
    return [_rule_row(r) for r in scores.rules.values()] + [_rule_row(scores.overall)]


def _rule_row(r: RuleScore) -> list[str]:
    s = r.summary()
    return [
        r.rule, str(r.expected), str(r.predicted), str(r.matched), number(s["precision"]), number(s["recall"]),
        number(s["f1"]), _pair(s["warn_error_median"], s["warn_error_worst"]),
        _pair(s["clear_error_median"], s["clear_error_worst"]), str(r.duplicates), str(r.false_alarms),
        number(s["false_alarms_per_camera_hour"], 1),
    ]


def _pair(median: float | None, worst: float | None) -> str:
    return "-" if median is None else f"{median:+.1f} / {worst:+.1f} s"


def outcome_rows(scores: EventScores) -> list[list[str]]:
    return [
        [o.scenario, o.object_id or "-", o.rule or "-", seconds(o.expected_warn), seconds(o.warn),
         seconds(o.expected_clear), seconds(o.clear), o.verdict + _ladder(o)]
        for o in scores.outcomes
    ]


def _ladder(outcome) -> str:
    """``; plate right, action wrong`` where the truth gives the warn's plate or action."""
    parts = [f"{name} {verdict}" for name, verdict in (("plate", outcome.plate), ("action", outcome.action))
             if verdict is not None]
    return "; " + ", ".join(parts) if parts else ""


def ladder_line(score: RuleScore) -> str | None:
    """The plates and actions of the warns whose truth gives them, in one sentence; None when there are none.

    >>> score = RuleScore("overall")
    >>> score.plates.update(right=2, null=1); score.actions.update(right=2, missed=1)
    >>> ladder_line(score)
    'Plates of matched warns: 2 right, 1 null, 0 wrong; actions (offence ladder): 2 right, 0 wrong, 1 missed'
    """
    if not any(score.plates.values()) and not any(score.actions.values()):
        return None
    plates = ", ".join(f"{n} {v}" for v, n in score.plates.items())
    actions = ", ".join(f"{n} {v}" for v, n in score.actions.items())
    return f"Plates of matched warns: {plates}; actions (offence ladder): {actions}"


def markdown(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)
