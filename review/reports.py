"""Reports on the cases after dispatch, per responsibility unit and per rule, over a range of days.

- **cases per day**: cases dispatched on each UTC day of the range (the chart), and per unit and rule on average;
- **to dispatch**: median time from the warn (its wall time ``ts``, else when it was recorded) to the dispatch;
- **to close**: median time from the dispatch to the close, over the cases closed;
- **overdue share**: cases not handled (nor verified) by their deadline, of all the range's cases;
- **repeat spots**: the places with several cases: a fixed camera's zone, or a moving camera's position rounded to
  0.0001 degrees (about 10 m).

One query reads the range's cases (narrow columns of ``review_dispatches`` and their events, by primary key); the
medians are taken in Python, because SQLite has no median.
"""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from review.cases import FilterError
from review.db import Database, iso, utc_now

MAX_DAYS = 366  # a longer range is refused: a report is read by people, and the chart has a bar per day
DEFAULT_DAYS = 30
SPOT_DIGITS = 4  # a moving camera's spot: its position rounded to 0.0001 degrees (about 10 m)
CSV_COLUMNS = ("day", "district", "grid", "rule", "cases", "overdue", "closed", "median_to_dispatch_s",
               "median_to_close_s")


class ReportRangeError(FilterError):
    """A date range that cannot be reported (a 400); the message names the parameter and the form it takes."""


@dataclass(frozen=True)
class DayRange:
    """The days reported, both included (UTC days)."""

    first: date
    last: date

    @classmethod
    def parse(cls, first: str | None, last: str | None, today: date) -> DayRange:
        """The range of the ``from`` and ``to`` parameters (YYYY-MM-DD; unset: the 30 days up to ``today``).

        >>> DayRange.parse("2026-10-01", "2026-10-31", date(2026, 12, 2)).days
        31
        >>> DayRange.parse("2026-10-01", "x", date(2026, 12, 2))
        Traceback (most recent call last):
        review.reports.ReportRangeError: to='x' is not a date; write it as YYYY-MM-DD, e.g. to=2026-12-02
        """
        end = _day("to", last, today) if last else today
        start = _day("from", first, today) if first else end - timedelta(days=DEFAULT_DAYS - 1)
        if start > end:
            raise ReportRangeError(f"from={start} is after to={end}; give the earlier day first")
        if (end - start).days + 1 > MAX_DAYS:
            raise ReportRangeError(f"from={start} to={end} is {(end - start).days + 1} days; report at most "
                                   f"{MAX_DAYS} days at a time")
        return cls(start, end)

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1

    def each(self) -> list[date]:
        return [self.first + timedelta(days=n) for n in range(self.days)]

    def bounds(self) -> tuple[str, str]:
        """The range as the store's timestamps: [first 00:00 UTC, the day after last 00:00 UTC)."""
        start = datetime.combine(self.first, datetime.min.time(), UTC)
        return iso(start), iso(start + timedelta(days=self.days))


@dataclass
class CaseFacts:
    """What a report needs of one case."""

    day: str
    district: str | None
    grid: str | None
    rule: str
    to_dispatch_s: float | None
    to_close_s: float | None
    overdue: bool
    spot: tuple
    spot_label: str
    event_id: str


@dataclass
class Group:
    """The cases of one unit or one rule in the range."""

    key: str
    days: int
    to_dispatch: list[float] = field(default_factory=list)
    to_close: list[float] = field(default_factory=list)
    cases: int = 0
    overdue: int = 0

    def add(self, case: CaseFacts) -> None:
        self.cases += 1
        self.overdue += case.overdue
        if case.to_dispatch_s is not None:
            self.to_dispatch.append(case.to_dispatch_s)
        if case.to_close_s is not None:
            self.to_close.append(case.to_close_s)

    @property
    def per_day(self) -> float:
        return self.cases / self.days

    @property
    def closed(self) -> int:
        return len(self.to_close)

    @property
    def median_to_dispatch_s(self) -> float | None:
        return statistics.median(self.to_dispatch) if self.to_dispatch else None

    @property
    def median_to_close_s(self) -> float | None:
        return statistics.median(self.to_close) if self.to_close else None

    @property
    def overdue_share(self) -> float | None:
        return self.overdue / self.cases if self.cases else None


@dataclass
class RepeatSpot:
    label: str
    unit: str
    rules: list[str]
    cases: int
    last_event_id: str


@dataclass
class Report:
    span: DayRange
    total: Group
    per_day: list[tuple[date, int]]
    by_unit: list[Group]
    by_rule: list[Group]
    repeat_spots: list[RepeatSpot]


class Reports:
    """Reports over the cases of ``review_dispatches``; ``clock`` says what now is (for cases still open)."""

    def __init__(self, db: Database, clock: Callable[[], datetime] = utc_now):
        self.db = db
        self.clock = clock

    def today(self) -> date:
        return self.clock().astimezone(UTC).date()

    def cases(self, span: DayRange) -> list[CaseFacts]:
        """The cases dispatched in ``span``, oldest first."""
        start, end = span.bounds()
        now = iso(self.clock())
        rows = self.db.execute(
            "SELECT d.event_id, d.camera_id, d.rule, d.district, d.grid, d.dispatched_at, d.due_at, d.handled_at, "
            "d.verified_at, d.closed_at, e.zone_id, e.ts, e.recorded_at, e.lon, e.lat, "
            "CASE WHEN e.sightings IS NULL THEN 0 ELSE 1 END AS moving FROM review_dispatches d "
            "JOIN events e ON e.event_id = d.event_id WHERE d.dispatched_at >= ? AND d.dispatched_at < ? "
            "ORDER BY d.dispatched_at", (start, end)).fetchall()
        return [_facts(tuple(row), now) for row in rows]

    def report(self, span: DayRange, repeat_limit: int = 20) -> Report:
        cases = self.cases(span)
        total = Group("all units", span.days)
        units: dict[str, Group] = {}
        rules: dict[str, Group] = {}
        per_day = Counter(case.day for case in cases)
        spots: dict[tuple, list[CaseFacts]] = defaultdict(list)
        for case in cases:
            total.add(case)
            for groups, key in ((units, _unit_label(case.district, case.grid)), (rules, case.rule)):
                if key not in groups:
                    groups[key] = Group(key, span.days)
                groups[key].add(case)
            spots[case.spot].append(case)
        repeats = [RepeatSpot(group[0].spot_label, _unit_label(group[0].district, group[0].grid),
                              sorted({c.rule for c in group}), len(group), group[-1].event_id)
                   for group in spots.values() if len(group) > 1]
        repeats.sort(key=lambda spot: (-spot.cases, spot.label))
        return Report(span, total, [(day, per_day[day.isoformat()]) for day in span.each()],
                      [units[k] for k in sorted(units)], [rules[k] for k in sorted(rules)], repeats[:repeat_limit])

    def csv_rows(self, span: DayRange) -> list[tuple]:
        """One row per day, unit and rule with cases (``CSV_COLUMNS``), in that order."""
        groups: dict[tuple, Group] = {}
        for case in self.cases(span):
            key = (case.day, case.district or "", case.grid or "", case.rule)
            if key not in groups:
                groups[key] = Group("", 1)
            groups[key].add(case)
        return [(*key, g.cases, g.overdue, g.closed, _seconds(g.median_to_dispatch_s), _seconds(g.median_to_close_s))
                for key, g in sorted(groups.items())]


def chart_bars(per_day: list[tuple[date, int]], width: float = 720.0, height: float = 160.0) -> dict:
    """The cases-per-day chart as SVG rectangles: one bar per day, scaled to the busiest day.

    >>> chart = chart_bars([(date(2026, 10, 1), 2), (date(2026, 10, 2), 4)], width=100, height=40)
    >>> [(b["x"], b["y"], b["height"]) for b in chart["bars"]], chart["top"]
    ([(0.0, 20.0, 20.0), (50.0, 0.0, 40.0)], 4)
    """
    top = max((count for _, count in per_day), default=0)
    step = width / max(1, len(per_day))
    bars = [{"x": round(n * step, 2), "width": round(max(1.0, step * 0.8), 2),
             "height": round(height * count / top, 2) if top else 0.0,
             "y": round(height - (height * count / top if top else 0.0), 2), "day": day.isoformat(), "count": count}
            for n, (day, count) in enumerate(per_day)]
    return {"bars": bars, "top": top, "width": width, "height": height}


def duration(seconds: float | None) -> str:
    """A median duration as people read it.

    >>> duration(95), duration(5400), duration(None)
    ('1m 35s', '1h 30m', '–')
    """
    if seconds is None:
        return "–"
    seconds = round(seconds)
    if seconds < 3600:
        return f"{seconds // 60}m {seconds % 60:02d}s" if seconds >= 60 else f"{seconds}s"
    return f"{seconds // 3600}h {seconds % 3600 // 60:02d}m"


def _day(name: str, text: str, today: date) -> date:
    try:
        if len(text) != 10:
            raise ValueError
        return date.fromisoformat(text)
    except ValueError:
        raise ReportRangeError(f"{name}={text[:40]!r} is not a date; write it as YYYY-MM-DD, e.g. "
                               f"{name}={today}") from None


def _facts(row: tuple, now: str) -> CaseFacts:
    """One case of ``Reports.cases``' query (read by position: 5,000 rows by name cost a tenth of a second)."""
    (event_id, camera_id, rule, district, grid, dispatched_at, due_at, handled_at, verified_at, closed_at, zone_id,
     ts, recorded_at, lon, lat, moving) = row
    warned = _moment(ts or recorded_at)
    dispatched = _moment(dispatched_at)
    closed = _moment(closed_at) if closed_at else None
    if moving and lon is not None and lat is not None:
        lon, lat = round(lon, SPOT_DIGITS), round(lat, SPOT_DIGITS)
        spot, label = ("geo", lon, lat), f"{camera_id} near {lon:.4f}, {lat:.4f}"
    else:
        spot, label = ("zone", camera_id, zone_id), f"{camera_id} · {zone_id}"
    return CaseFacts(dispatched_at[:10], district, grid, rule,
                     (dispatched - warned).total_seconds() if warned else None,
                     (closed - dispatched).total_seconds() if closed else None,
                     due_at < (handled_at or verified_at or now), spot, label, event_id)


def _moment(text: str | None) -> datetime | None:
    """A stored timestamp as an aware datetime (one without an offset is UTC); None if unreadable."""
    try:
        moment = datetime.fromisoformat(text) if text else None
    except ValueError:
        return None
    return moment.replace(tzinfo=UTC) if moment and moment.tzinfo is None else moment


def _unit_label(district: str | None, grid: str | None) -> str:
    return " · ".join(part for part in (district, grid) if part) or "no unit"


def _seconds(value: float | None) -> str:
    return "" if value is None else f"{value:.0f}"
