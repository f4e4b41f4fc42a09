"""Verdicts: confirm, reject with a reason, or unsure; each one written with its audit line in one transaction.

A reviewer may change their mind: their verdict is replaced and the audit trail keeps both, the new line naming
the verdict it replaced. An event's *status* takes all its reviewers' verdicts together:

- ``confirmed`` / ``rejected``: every confirm-or-reject verdict agrees (an ``unsure`` beside them does not count);
- ``disputed``: some reviewers confirmed and others rejected;
- ``unsure``: nobody has decided yet, but someone looked.

A warn or escalate that becomes ``confirmed`` is dispatched, in the verdict's transaction: its case opens
(``review/lifecycle.py``: dispatched, with its deadline) and one outbox row is written per ``dispatch`` sink that
takes it (``sinks[].when: confirmed``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass

from contracts.errors import UserError
from events.outbox import SinkRoute, enqueue
from events.store import EVENT_COLUMNS, event_from_row
from review.accounts import User
from review.db import Database, iso, lock_case, utc_now
from review.lifecycle import Lifecycle

VERDICTS = ("confirm", "reject", "unsure")
REASONS = {  # key order is the 1-5 of the keyboard
    "wrong_object": "wrong object",
    "not_resting": "not resting",
    "outside_zone": "outside zone",
    "permitted": "permitted",
    "other": "other",
}
MAX_NOTE = 500


class VerdictError(UserError, ValueError):
    """A verdict that cannot be recorded; the message says what to change."""


@dataclass(frozen=True)
class Verdict:
    event_id: str
    user_name: str
    verdict: str
    reason: str | None
    note: str | None
    decided_at: str


@dataclass(frozen=True)
class AuditLine:
    audit_id: int
    at: str
    user_name: str
    action: str
    event_id: str | None
    verdict: str | None
    reason: str | None
    note: str | None
    previous_verdict: str | None
    previous_reason: str | None
    detail: str | None
    ip: str | None

    @property
    def changed_mind(self) -> bool:
        return self.previous_verdict is not None


def consolidate(verdicts: list[tuple[str, str | None]]) -> tuple[str, str | None]:
    """The status of an event from its (verdict, reason) pairs, and the shared reject reason if there is one.

    >>> consolidate([("confirm", None), ("unsure", None)])
    ('confirmed', None)
    >>> consolidate([("reject", "permitted"), ("reject", "other")])
    ('rejected', None)
    >>> consolidate([("confirm", None), ("reject", "wrong_object")])
    ('disputed', None)
    """
    decided = [(v, r) for v, r in verdicts if v != "unsure"]
    if not decided:
        return "unsure", None
    kinds = {v for v, _ in decided}
    if len(kinds) > 1:
        return "disputed", None
    reasons = {r for _, r in decided}
    status = "confirmed" if kinds == {"confirm"} else "rejected"
    return status, reasons.pop() if len(reasons) == 1 else None


class Verdicts:
    """Write verdicts and read them back, with the audit trail.

    Example:
        >>> db = Database(":memory:")
        >>> Verdicts(db).record("cam-01/walk/7/warn", User(1, "ana", "reviewer"), "reject", "permitted")
        Traceback (most recent call last):
        ...
        review.verdicts.VerdictError: no event 'cam-01/walk/7/warn' in the store; reload the queue
    """

    def __init__(self, db: Database, dispatch: Sequence[SinkRoute] = (), lifecycle: Lifecycle | None = None):
        self.db = db
        self.dispatch = list(dispatch)  # sinks that take confirmed alarms (``sinks[].when: confirmed``)
        self.lifecycle = lifecycle or Lifecycle(db)

    def record(self, event_id: str, user: User, verdict: str, reason: str | None = None, note: str | None = None,
               ip: str | None = None) -> bool:
        """Record ``user``'s verdict; returns False when it repeats their current verdict (nothing written)."""
        reason, note = (reason or None), (note or "").strip() or None
        _check(verdict, reason, note)
        now = iso(utc_now())
        self.db.sync_cases()
        with self.db.transaction() as tx:
            lock_case(tx, event_id)  # two reviewers deciding at once: the second reads the first's verdict
            if tx.execute("SELECT 1 FROM events WHERE event_id = ?", (event_id,)).fetchone() is None:
                raise VerdictError(f"no event {event_id!r} in the store; reload the queue")
            before = tx.execute("SELECT verdict, reason, note FROM review_verdicts WHERE event_id = ? "
                                "AND user_id = ?", (event_id, user.user_id)).fetchone()
            if before is not None and tuple(before) == (verdict, reason, note):
                return False
            tx.execute("INSERT INTO review_verdicts VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (event_id, user_id) "
                       "DO UPDATE SET verdict = excluded.verdict, reason = excluded.reason, note = excluded.note, "
                       "decided_at = excluded.decided_at", (event_id, user.user_id, verdict, reason, note, now))
            tx.execute(
                "INSERT INTO review_audit (at, user_name, action, event_id, verdict, reason, note, previous_verdict, "
                "previous_reason, ip) VALUES (?, ?, 'verdict', ?, ?, ?, ?, ?, ?, ?)",
                (now, user.name, event_id, verdict, reason, note, before["verdict"] if before else None,
                 before["reason"] if before else None, ip))
            pairs = tx.execute("SELECT verdict, reason FROM review_verdicts WHERE event_id = ?",
                               (event_id,)).fetchall()
            status, shared_reason = consolidate([tuple(p) for p in pairs])
            tx.execute("UPDATE review_cases SET status = ?, reason = ?, reviewers = ? WHERE event_id = ?",
                         (status, shared_reason, len(pairs), event_id))
            if status == "confirmed":
                self._dispatch(tx, event_id, now, user, ip)
        return True

    def _dispatch(self, tx, event_id: str, now: str, user: User, ip: str | None) -> None:
        """A confirmed alarm's case opens and goes to the dispatch sinks through the outbox, in the verdict's
        transaction: once (a later change of mind sends nothing more; the audit trail keeps it)."""
        event = event_from_row(tx.execute(f"SELECT {', '.join(EVENT_COLUMNS)} FROM events WHERE event_id = ?",
                                          (event_id,)).fetchone())
        if event.type not in ("warn", "escalate"):
            return
        due = self.lifecycle.open(tx, event, user.name, ip)
        if due is None or not self.dispatch:  # dispatched before
            return
        reviewers = [r[0] for r in tx.execute("SELECT u.name FROM review_verdicts v JOIN review_users u USING "
                                              "(user_id) WHERE v.event_id = ? AND v.verdict = 'confirm' "
                                              "ORDER BY v.decided_at", (event_id,))]
        case = {"status": "confirmed", "confirmed_at": now, "reviewers": reviewers}
        body = {**event.to_json(), "case": {**case, "due_at": due}}
        names = [sink.name for sink in self.dispatch if sink.accepts(body)]
        enqueue(tx, event.camera_id, event_id, json.dumps(body, ensure_ascii=False), names)

    def of_event(self, event_id: str) -> list[Verdict]:
        rows = self.db.execute(
            "SELECT v.event_id, u.name, v.verdict, v.reason, v.note, v.decided_at FROM review_verdicts v "
            "JOIN review_users u USING (user_id) WHERE v.event_id = ? ORDER BY v.decided_at", (event_id,)).fetchall()
        return [Verdict(*r) for r in rows]

    def audit(self, event_id: str | None = None, user_name: str | None = None, before: int | None = None,
              limit: int = 100, detail_has: Sequence[str] = ()) -> list[AuditLine]:
        """Audit lines, newest first; ``before`` (an ``audit_id``) pages back through the trail; ``detail_has``:
        only lines whose detail contains one of these texts."""
        clauses, params = ["1 = 1"], []
        for column, value in (("event_id", event_id), ("user_name", user_name)):
            if value:
                clauses.append(f"{column} = ?")
                params.append(value)
        if any(detail_has):
            texts = [text for text in detail_has if text]
            clauses.append("(" + " OR ".join("detail LIKE ? ESCAPE '\\'" for _ in texts) + ")")
            params += ["%" + re.sub(r"([\\%_])", r"\\\1", text) + "%" for text in texts]
        if before is not None:
            clauses.append("audit_id < ?")
            params.append(before)
        rows = self.db.execute(
            f"SELECT * FROM review_audit WHERE {' AND '.join(clauses)} ORDER BY audit_id DESC LIMIT ?",
            [*params, limit]).fetchall()
        return [AuditLine(*r) for r in rows]

    def log(self, user: User, action: str, detail: str, ip: str | None = None) -> None:
        """An audit line for an admin action that is not a verdict (zones saved, dataset exported)."""
        with self.db.transaction() as tx:
            tx.execute("INSERT INTO review_audit (at, user_name, action, detail, ip) VALUES (?, ?, ?, ?, ?)",
                       (iso(utc_now()), user.name, action, detail, ip))


def _check(verdict: str, reason: str | None, note: str | None) -> None:
    if verdict not in VERDICTS:
        raise VerdictError(f"verdict {verdict!r} is not known; use confirm, reject or unsure")
    if verdict == "reject" and reason not in REASONS:
        raise VerdictError(f"a rejection needs a reason, one of {', '.join(REASONS)}")
    if verdict != "reject" and reason is not None:
        raise VerdictError(f"only a rejection takes a reason, not a {verdict}")
    if note is not None and len(note) > MAX_NOTE:
        raise VerdictError(f"the note is longer than {MAX_NOTE} characters; shorten it")
