"""Plates for reviewers: a reviewer's correction of a misread, a plate's history across cameras, the repeat
offenders and the audited plate search.

The event row stays as the camera read it (immutable evidence); a correction is stored beside it in
``review_plate_corrections`` and is the plate every page and the ladder's count use from then on (the *effective*
plate). Offence numbers shown here are counted from the store with corrections and verdicts applied (DESIGN.md:
earlier warns of the plate within ``enforcement.lookback``, every camera, rejected ones not counted), so a
correction re-counts a plate's events at once without rewriting any event.

The plate grammar and the ladder live outside review/ (``plates.grammar``, ``zones.config_enforcement``): the app
is handed them as ``PlateRules``, composed by ``streetorder review serve``. A correction is checked against the
grammar of the event's camera (its ``plates.pattern``). The audit trail holds plate tokens, never plate text
(``review.plate_audit``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from contracts.errors import UserError
from events.record import Event
from events.store import store_time
from review.accounts import User
from review.cases import _CASE_COLUMNS, Case, _case
from review.db import Database, Row, iso, lock_case, utc_now
from review.patrol import evidence_url
from review.plate_audit import PlateTokens, compact

MAX_PLATE = 20  # characters a plate or a plate search may have; longer is not a plate
DEFAULT_LOOKBACK_S = 365 * 86400.0
DEFAULT_LADDER = ("advise", "educate", "enforce")
EXAMPLE = "京E·MC139"  # the plate a refusal offers as an example, where the camera's grammar takes it
VEHICLES = frozenset({"car", "truck", "bus", "motorcycle", "van", "tricycle"})
_EFFECTIVE = "coalesce(p.plate, e.plate)"
_JOINS = ("FROM events e JOIN review_cases c ON c.event_id = e.event_id "
          "LEFT JOIN review_plate_corrections p ON p.event_id = e.event_id")


class PlateError(UserError, ValueError):
    """A correction or a search that was refused; the message is the sentence to show."""

    def __init__(self, message: str, missing_event: bool = False):
        super().__init__(message)
        self.missing_event = missing_event


@dataclass(frozen=True)
class PlateRules:
    """What review/ needs of the plate and enforcement config: ``normalise`` (the plate grammar: the canonical
    plate, or None when the text is no plate), the lookback, the ladder step of an offence of a plate on a day
    (``exempt`` or a ladder step), and the grammars of cameras with plates of their own (``cameras``: camera id to
    its ``normalise``; the others use ``normalise``).

    >>> rules = PlateRules(str.upper, cameras={"uk-1": lambda text: None})
    >>> rules.normalise_on("cn-1")("ab"), rules.normalise_on("uk-1")("ab")
    ('AB', None)
    """

    normalise: Callable[[str], str | None]
    lookback_s: float = DEFAULT_LOOKBACK_S
    action: Callable[[str, int, date | None], str] = field(
        default=lambda _plate, offence, _day: DEFAULT_LADDER[min(offence, len(DEFAULT_LADDER)) - 1])
    cameras: Mapping[str, Callable[[str], str | None]] = field(default_factory=dict)

    def normalise_on(self, camera_id: str) -> Callable[[str], str | None]:
        """The plate grammar of ``camera_id``."""
        return self.cameras.get(camera_id, self.normalise)


@dataclass(frozen=True)
class PlateRead:
    """An event's plate as the reviewers see it: the effective plate, what the camera read, and the count."""

    plate: str | None
    read: str | None  # the camera's read (the event row's plate)
    score: float | None
    offence: int | None
    action: str | None
    crop_url: str | None  # the plate crop through the checked /evidence route
    corrected_by: str | None = None
    corrected_at: str | None = None

    @property
    def corrected(self) -> bool:
        return self.corrected_by is not None


@dataclass(frozen=True)
class PlateEntry:
    """One event of a plate's history, with its offence number as counted now."""

    case: Case
    offence: int | None
    action: str | None
    corrected: bool


@dataclass(frozen=True)
class Offender:
    plate: str
    warns: int
    cameras: int
    last: str


class Plates:
    """Plate corrections, histories and searches over one store.

    Example:
        >>> plates = Plates(Database(":memory:"), PlateRules(lambda text: text.upper() or None))
        >>> plates.history("京E·MC139")
        []
    """

    def __init__(self, db: Database, rules: PlateRules | None = None):
        self.db = db
        self.rules = rules
        self.tokens = PlateTokens(db)

    @property
    def lookback_s(self) -> float:
        return self.rules.lookback_s if self.rules else DEFAULT_LOOKBACK_S

    def read(self, event: Event) -> PlateRead | None:
        """The plate of ``event`` as shown beside its evidence; None for an event with no plate to show (not a
        vehicle, nothing read, no correction)."""
        return self.reads([event])[event.event_id]

    def reads(self, events: Sequence[Event]) -> dict[str, PlateRead | None]:
        """``read`` of each of ``events`` (a queue page), by event id: one look at the corrections, one history
        per plate."""
        ids = [event.event_id for event in events]
        rows = self.db.execute(
            "SELECT p.event_id, p.plate, p.corrected_at, u.name FROM review_plate_corrections p JOIN review_users u "
            f"USING (user_id) WHERE p.event_id IN ({', '.join('?' * len(ids))})", ids).fetchall() if ids else []
        corrections = {row["event_id"]: row for row in rows}
        warned = [row["plate"] if row else event.plate for event, row in
                  ((event, corrections.get(event.event_id)) for event in events) if event.type == "warn"]
        histories = {plate: {entry.case.event.event_id: entry for entry in entries}
                     for plate, entries in self.histories(warned if self.rules else ()).items()}
        return {event.event_id: self._read(event, corrections.get(event.event_id), histories) for event in events}

    def _read(self, event: Event, row: Row | None, histories: dict[str, dict[str, PlateEntry]]) -> PlateRead | None:
        crop = event.evidence.get("plate_crop")
        if row is None and event.plate is None and crop is None and event.class_name not in VEHICLES:
            return None
        plate = row["plate"] if row else event.plate
        offence, action = event.offence, event.action
        if plate is not None and event.type == "warn" and self.rules is not None:
            entry = histories.get(plate, {}).get(event.event_id)
            offence, action = (entry.offence, entry.action) if entry else (offence, action)
        elif plate is None:
            offence, action = None, None
        crop_url = evidence_url(event.camera_id, crop) if crop else None
        return PlateRead(plate, event.plate, event.plate_score, offence, action, crop_url,
                         row["name"] if row else None, row["corrected_at"] if row else None)

    def correct(self, event_id: str, user: User, text: str, ip: str | None = None) -> str:
        """Store ``user``'s reading of the event's plate (validated against the plate grammar of the event's
        camera) with its audit line (the tokens of the plate before and after); returns the plate as stored
        (canonical)."""
        if self.rules is None:
            raise PlateError("plate corrections need the plate grammar; serve the app with `streetorder review "
                             "serve`, which knows it")
        text = (text or "").strip()
        now = iso(utc_now())
        self.db.sync_cases()
        with self.db.transaction() as tx:
            lock_case(tx, event_id)  # two corrections at once: the second's audit line names the first's plate
            row = tx.execute("SELECT e.plate, e.camera_id, p.plate AS corrected FROM events e LEFT JOIN "
                             "review_plate_corrections p USING (event_id) WHERE e.event_id = ?",
                             (event_id,)).fetchone()
            if row is None:
                raise PlateError(f"no event {event_id!r} in the store; reload the queue", missing_event=True)
            plate = self._valid(text, row["camera_id"])
            before = row["corrected"] or row["plate"]
            if before == plate:
                return plate
            tx.execute("INSERT INTO review_plate_corrections VALUES (?, ?, ?, ?) ON CONFLICT (event_id) DO UPDATE "
                       "SET plate = excluded.plate, user_id = excluded.user_id, corrected_at = excluded.corrected_at",
                       (event_id, plate, user.user_id, now))
            tx.execute("INSERT INTO review_audit (at, user_name, action, event_id, detail, ip) "
                       "VALUES (?, ?, 'plate_correction', ?, ?, ?)",
                       (now, user.name, event_id,
                        f"{self.tokens.token(before) if before else 'unread'} -> {self.tokens.token(plate)}", ip))
        return plate

    def _valid(self, text: str, camera_id: str) -> str:
        """``text`` as a plate of ``camera_id``'s grammar (canonical), or a refusal saying so."""
        normalise = self.rules.normalise_on(camera_id)
        plate = normalise(text) if 0 < len(text) <= MAX_PLATE else None
        if plate is None:
            example = f", e.g. {EXAMPLE}" if normalise(EXAMPLE) else ""
            raise PlateError(f"{_shown(text)!r} is not a licence plate of the plate grammar of camera {camera_id!r} "
                             f"(its plates.pattern); type it as on the plate{example}")
        return plate

    def history(self, plate: str) -> list[PlateEntry]:
        """Every event of ``plate`` (effective plates, every camera), oldest first, warns with their offence."""
        return self.histories([plate]).get(plate, [])

    def histories(self, plates: Collection[str]) -> dict[str, list[PlateEntry]]:
        """``history`` of each of ``plates`` (a queue page's), in one look at the store: the events are found
        through the plate indexes of ``events`` and of the corrections."""
        wanted = sorted({plate for plate in plates if plate and len(plate) <= MAX_PLATE})
        if not wanted:
            return {}
        self.db.sync_cases()
        marks = ", ".join("?" * len(wanted))
        rows = self.db.execute(
            f"SELECT {_CASE_COLUMNS}, p.event_id AS corrected, {_EFFECTIVE} AS effective, e.* {_JOINS} "
            f"WHERE e.event_id IN (SELECT event_id FROM events WHERE plate IN ({marks}) UNION "
            f"SELECT event_id FROM review_plate_corrections WHERE plate IN ({marks})) AND {_EFFECTIVE} IN ({marks})",
            [*wanted, *wanted, *wanted]).fetchall()
        cases: dict[str, list[tuple[Case, bool]]] = {plate: [] for plate in wanted}
        for row in rows:
            cases[row["effective"]].append((_case(row), row["corrected"] is not None))
        return {plate: self._counted(plate, found) for plate, found in cases.items()}

    def _counted(self, plate: str, found: list[tuple[Case, bool]]) -> list[PlateEntry]:
        """The events of ``plate`` (case, corrected), oldest first, warns with their offence."""
        cases = sorted(found, key=lambda pair: _time(pair[0]))
        counted: list[datetime] = []  # times of the warns so far that count (not rejected)
        entries = []
        lookback = timedelta(seconds=self.lookback_s)
        for case, corrected in cases:
            offence = action = None
            if case.event.type == "warn":
                when = _time(case)
                offence = 1 + sum(1 for earlier in counted if when - lookback <= earlier < when)
                action = (self.rules.action(plate, offence, when.date()) if self.rules
                          else case.event.action if offence == case.event.offence else None)
                if case.status != "rejected":
                    counted.append(when)
            entries.append(PlateEntry(case, offence, action, corrected))
        return entries

    def repeat_offenders(self, limit: int = 50, now: datetime | None = None) -> list[Offender]:
        """The plates with the most non-rejected warns within the lookback before ``now``, most first."""
        self.db.sync_cases()
        now = now or datetime.now(UTC)
        since = now - timedelta(seconds=self.lookback_s)
        rows = self.db.execute(
            f"SELECT {_EFFECTIVE} AS plate, e.camera_id, coalesce(e.ts, e.recorded_at) AS at {_JOINS} "
            f"WHERE e.type = 'warn' AND c.status != 'rejected' AND {_EFFECTIVE} IS NOT NULL").fetchall()
        warns: Counter[str] = Counter()
        cameras: dict[str, set[str]] = {}
        last: dict[str, str] = {}
        for row in rows:
            if since <= store_time(row["at"]) <= now:
                warns[row["plate"]] += 1
                cameras.setdefault(row["plate"], set()).add(row["camera_id"])
                last[row["plate"]] = max(last.get(row["plate"], ""), row["at"])
        ranked = sorted(warns, key=lambda plate: (-warns[plate], plate))[:limit]
        return [Offender(plate, warns[plate], len(cameras[plate]), last[plate]) for plate in ranked]

    def search(self, text: str, user: User, ip: str | None = None, limit: int = 100) -> list[tuple[str, int]]:
        """(plate, events) of the effective plates containing ``text`` (case, spaces and the separator ignored),
        most events first; the search is written to the audit trail before it is answered, whatever it finds:
        the token of what was typed and those of the plates found."""
        text = (text or "").strip()
        if len(text) > MAX_PLATE:  # a refused search is recorded too: someone looked for a plate
            self._audit(user, "plate_search", f"{self.tokens.token(text[:MAX_PLATE])}; refused: too long", ip)
            raise PlateError(f"a plate has at most {MAX_PLATE} characters; search for part of one, e.g. MC139")
        wanted = compact(text)
        found: list[tuple[str, int]] = []
        if wanted:
            self.db.sync_cases()
            rows = self.db.execute(
                f"SELECT {_EFFECTIVE} AS plate, count(*) AS n {_JOINS} WHERE {_EFFECTIVE} IS NOT NULL "
                "GROUP BY 1").fetchall()
            found = sorted(((r["plate"], r["n"]) for r in rows if wanted in compact(r["plate"])),
                           key=lambda pair: (-pair[1], pair[0]))[:limit]
        searched = self.tokens.token(text) if wanted else "nothing"
        self._audit(user, "plate_search", f"{searched}; found {len(found)}: "
                                          f"{self.tokens.tokens(plate for plate, _ in found)}".rstrip(": "), ip)
        return found

    def audit_shown(self, user: User, plates: Sequence[str | None], ip: str | None = None,
                    event_id: str | None = None, action: str = "plate_view") -> None:
        """Record that ``user`` was shown ``plates`` (their tokens): by the API's ``?plates=1`` (``plate_view``),
        or a plate's page (``plate_history``)."""
        shown = list(dict.fromkeys(plate for plate in plates if plate))
        self._audit(user, action, f"{len(shown)} plate(s): {self.tokens.tokens(shown)}".rstrip(": "), ip, event_id)

    def audit_terms(self, text: str, user: User, ip: str | None = None) -> tuple[str, str]:
        """What the audit page looks for to find the lines of plate ``text``: its token, and the text itself as
        older stores audited it (before plates were tokens); the look-up is itself audited, by token."""
        text = (text or "").strip()[:MAX_PLATE]
        token = self.tokens.token(text)
        self._audit(user, "plate_audit_search", token, ip)
        return token, text

    def _audit(self, user: User, action: str, detail: str, ip: str | None, event_id: str | None = None) -> None:
        with self.db.transaction() as tx:
            tx.execute("INSERT INTO review_audit (at, user_name, action, event_id, detail, ip) "
                       "VALUES (?, ?, ?, ?, ?, ?)", (iso(utc_now()), user.name, action, event_id, detail, ip))


def _shown(text: str) -> str:
    """``text`` cut to a plate's length, to be shown or audited."""
    return text if len(text) <= MAX_PLATE else text[:MAX_PLATE] + "…"


def _time(case: Case) -> datetime:
    return store_time(case.event.ts or case.recorded_at)
