"""A confirmed alarm's case after the verdict: dispatched -> handled -> verified -> closed.

- **dispatched**: the reviewers confirm a warn or escalate (in the verdict's transaction, beside the outbox rows
  of the dispatch sinks); its deadline is the rule's (``dispatch.deadlines``) from then.
- **handled**: an officer of the case's unit (or a dispatcher, an admin) reports what was done: a note and
  optionally a photo (``review/uploads.py``).
- **verified**: found by itself once the same object's ``clear`` event is in the store (the spot seen empty), or
  said by a reviewer, a dispatcher or an admin (from dispatched or handled).
- **closed**: by a dispatcher or an admin, once verified.

A case is *overdue* when it is not handled by its deadline. Each step is one conditional ``UPDATE`` (two people
acting at once: one wins, the other is told the case moved on) with its line in the append-only audit trail.
Officers see and act on their unit's cases only: any other case id is ``CaseForbidden`` (403), whether or not it
exists.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from contracts.errors import UserError
from events.database import Connection, Row
from events.record import Event
from events.store import event_from_row
from review.accounts import User
from review.db import Database, iso, utc_now

STATES = ("dispatched", "handled", "verified", "closed")
OPEN_STATES = STATES[:-1]
STEPS = {  # the state a step leads to: (the roles that take it, the states it starts from)
    "handled": (("officer", "dispatcher", "admin"), ("dispatched",)),
    "verified": (("reviewer", "dispatcher", "admin"), ("dispatched", "handled")),
    "closed": (("dispatcher", "admin"), ("verified",)),
}
_DOING = {"handled": "report a case handled", "verified": "verify a case", "closed": "close a case"}
MAX_HANDLED_NOTE = 1000
DEFAULT_DEADLINE_S = 1800.0  # dispatch.default_deadline's default; `review serve` passes the config's deadlines
SYSTEM = "streetorder"  # the audit's name for steps nobody took by hand
_COLUMNS = ("d.state, d.district, d.grid, d.dispatched_at, d.due_at, d.handled_at, d.handled_by, d.handled_note, "
            "d.handled_photo, d.verified_at, d.verified_by, d.closed_at, d.closed_by, e.*")


class LifecycleError(UserError, ValueError):
    """A step that cannot be taken (no such case, no note); the message says why."""

    status = 400


class NoSuchCase(LifecycleError):
    """No dispatched case of that id (for the roles that may see every case)."""

    status = 404


class CaseMovedOn(LifecycleError):
    """The case is not in a state this step starts from (someone else took a step first)."""

    status = 409


class CaseForbidden(Exception):
    """The user may not see or act on this case; the message says why."""

    def __init__(self, message: str = "This case is not one of your unit's; you can see and act on your unit's "
                                      "cases only."):
        super().__init__(message)


@dataclass(frozen=True)
class Dispatched:
    """One case after dispatch, with its event."""

    event: Event
    state: str
    district: str | None
    grid: str | None
    dispatched_at: str
    due_at: str
    handled_at: str | None
    handled_by: str | None
    handled_note: str | None
    handled_photo: str | None
    verified_at: str | None
    verified_by: str | None
    closed_at: str | None
    closed_by: str | None
    overdue: bool

    @property
    def unit_label(self) -> str:
        return " · ".join(part for part in (self.district, self.grid) if part) or "no unit"

    def to_json(self) -> dict:
        fields = {name: getattr(self, name) for name in self.__dataclass_fields__ if name != "event"}
        return {"event_id": self.event.event_id, **fields, "event": self.event.to_json()}


class Lifecycle:
    """The cases after dispatch, over ``review_dispatches``; ``deadline`` gives a rule's seconds from dispatch to
    its deadline (the config's ``dispatch.deadlines``), ``clock`` tells overdue cases (tests inject one)."""

    def __init__(self, db: Database, deadline: Callable[[str], float] | None = None,
                 clock: Callable[[], datetime] = utc_now):
        self.db = db
        self.deadline = deadline or (lambda _rule: DEFAULT_DEADLINE_S)
        self.clock = clock

    def open(self, tx: Connection, event: Event, confirmed_by: str, ip: str | None = None) -> str | None:
        """Dispatch a confirmed alarm in the verdict's transaction ``tx``; its due time, None if it was already."""
        now = self.clock()
        due = iso(now + timedelta(seconds=self.deadline(event.rule)))
        unit = event.unit or {}
        opened = tx.execute(
            "INSERT INTO review_dispatches (event_id, camera_id, rule, district, grid, state, dispatched_at, due_at) "
            "VALUES (?, ?, ?, ?, ?, 'dispatched', ?, ?) ON CONFLICT (event_id) DO NOTHING",
            (event.event_id, event.camera_id, event.rule, unit.get("district"), unit.get("grid"), iso(now),
             due)).rowcount
        if not opened:
            return None
        label = " · ".join(unit.get(k) for k in ("district", "grid") if unit.get(k)) or "none"
        _audit(tx, now, confirmed_by, "case_dispatched", event.event_id, f"unit {label}; due {due[:16]} UTC", ip=ip)
        return due

    def cases(self, user: User, states: tuple[str, ...] = OPEN_STATES, limit: int = 200) -> list[Dispatched]:
        """The cases ``user`` may see in these states, newest dispatch first."""
        self.verify_cleared()
        where, params = _visible(user)
        marks = ", ".join("?" * len(states))
        rows = self.db.execute(
            f"SELECT {_COLUMNS} FROM review_dispatches d JOIN events e ON e.event_id = d.event_id "
            f"WHERE d.state IN ({marks}) AND {where} ORDER BY d.dispatched_at DESC, d.event_id LIMIT ?",
            [*states, *params, limit]).fetchall()
        return [self._case(r) for r in rows]

    def case(self, event_id: str, user: User) -> Dispatched | None:
        """The case of ``event_id`` (None: no such case), or ``CaseForbidden`` for an officer of another unit (an
        officer is refused any id not theirs, so a refusal does not tell whether it exists)."""
        self.verify_cleared()
        where, params = _visible(user)
        row = self.db.execute(f"SELECT {_COLUMNS} FROM review_dispatches d JOIN events e ON e.event_id = d.event_id "
                              f"WHERE d.event_id = ? AND {where}", [event_id, *params]).fetchone()
        if row is None and user.is_officer:
            raise CaseForbidden
        return self._case(row) if row else None

    def handled(self, event_id: str, user: User, note: str, photo: str | None = None, ip: str | None = None) -> None:
        """``user`` reports what was done (``photo``: its path under the evidence folder, already stored)."""
        note = check_note(note)
        self.allowed(event_id, user, "handled")
        now = self.clock()
        with self.db.transaction() as tx:
            self._step(tx, event_id, ("dispatched",), "handled_at = ?, handled_by = ?, handled_note = ?, "
                       "handled_photo = ?", [iso(now), user.name, note, photo], "handled")
            _audit(tx, now, user.name, "case_handled", event_id, f"photo {photo}" if photo else "no photo", note, ip)

    def verify(self, event_id: str, user: User, ip: str | None = None) -> None:
        """A person says the spot is clear now."""
        self.allowed(event_id, user, "verified")
        now = self.clock()
        with self.db.transaction() as tx:
            self._step(tx, event_id, ("dispatched", "handled"), "verified_at = ?, verified_by = ?",
                       [iso(now), user.name], "verified")
            _audit(tx, now, user.name, "case_verified", event_id, "by hand", ip=ip)

    def close(self, event_id: str, user: User, ip: str | None = None) -> None:
        self.allowed(event_id, user, "closed")
        now = self.clock()
        with self.db.transaction() as tx:
            self._step(tx, event_id, ("verified",), "closed_at = ?, closed_by = ?", [iso(now), user.name], "closed")
            _audit(tx, now, user.name, "case_closed", event_id, ip=ip)

    def verify_cleared(self) -> int:
        """Verify the handled cases whose object's ``clear`` event is in the store; how many were."""
        rows = self.db.execute(
            "SELECT d.event_id, c.event_id AS clear_id FROM review_dispatches d "
            "JOIN events w ON w.event_id = d.event_id JOIN events c ON c.camera_id = w.camera_id "
            "AND c.zone_id = w.zone_id AND c.object_id = w.object_id AND c.type = 'clear' "
            "WHERE d.state = 'handled'").fetchall()
        verified = 0
        for row in rows:
            now = self.clock()
            with self.db.transaction() as tx:
                moved = tx.execute("UPDATE review_dispatches SET state = 'verified', verified_at = ?, verified_by = ? "
                                   "WHERE event_id = ? AND state = 'handled'",
                                   (iso(now), SYSTEM, row["event_id"])).rowcount
                if moved:
                    _audit(tx, now, SYSTEM, "case_verified", row["event_id"], f"clear event {row['clear_id']}")
                    verified += 1
        return verified

    def allowed(self, event_id: str, user: User, step: str) -> Dispatched:
        """The case, if ``user`` may take ``step`` on it now; else ``CaseForbidden`` or ``LifecycleError``."""
        roles, sources = STEPS[step]
        if user.role not in roles:
            raise CaseForbidden(f"A {user.role} may not {_DOING[step]}.")
        case = self.case(event_id, user)
        if case is None:
            raise NoSuchCase(f"no dispatched case {event_id!r}; reload the page")
        if case.state not in sources:
            raise CaseMovedOn(f"case {event_id!r} is {case.state}, so it cannot be {step} now; reload the page")
        return case

    def _step(self, tx: Connection, event_id: str, sources: tuple[str, ...], sets: str, params: list, state: str):
        moved = tx.execute(f"UPDATE review_dispatches SET state = ?, {sets} WHERE event_id = ? AND state IN "
                           f"({', '.join('?' * len(sources))})", [state, *params, event_id, *sources]).rowcount
        if not moved:
            now = tx.execute("SELECT state FROM review_dispatches WHERE event_id = ?", (event_id,)).fetchone()[0]
            raise CaseMovedOn(f"case {event_id!r} is {now}, so it cannot be {state} now; reload the page")

    def _case(self, row: Row) -> Dispatched:
        overdue = row["handled_at"] is None and row["state"] == "dispatched" and row["due_at"] <= iso(self.clock())
        return Dispatched(event_from_row(row), row["state"], row["district"], row["grid"], row["dispatched_at"],
                          row["due_at"], row["handled_at"], row["handled_by"], row["handled_note"],
                          row["handled_photo"], row["verified_at"], row["verified_by"], row["closed_at"],
                          row["closed_by"], overdue)


def check_note(note: str | None) -> str:
    """The officer's note, stripped, or ``LifecycleError`` when it is empty or too long."""
    note = (note or "").strip()
    if not note:
        raise LifecycleError("say what was done in the note (e.g. 'driver moved the car')")
    if len(note) > MAX_HANDLED_NOTE:
        raise LifecycleError(f"the note is longer than {MAX_HANDLED_NOTE} characters; shorten it")
    return note


def _visible(user: User) -> tuple[str, list]:
    """An officer's cases are those of their unit: every part their account names is equal."""
    if not user.is_officer:
        return "1 = 1", []
    clauses, params = [], []
    for column, value in (("d.district", user.district), ("d.grid", user.grid)):
        if value:
            clauses.append(f"{column} = ?")
            params.append(value)
    return " AND ".join(clauses) or "1 = 0", params


def _audit(tx: Connection, at: datetime, user_name: str, action: str, event_id: str, detail: str | None = None,
           note: str | None = None, ip: str | None = None) -> None:
    tx.execute("INSERT INTO review_audit (at, user_name, action, event_id, note, detail, ip) "
               "VALUES (?, ?, ?, ?, ?, ?, ?)", (iso(at), user_name, action, event_id, note, detail, ip))
