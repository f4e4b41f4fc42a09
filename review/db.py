"""The review tables, kept in the event store's SQLite file beside ``events`` and ``cameras``.

Store access is confined to the modules of review/ that take a ``Database`` (accounts, cases, verdicts, stats,
export): the web layer never writes SQL. The SQL is plain (``?`` placeholders; ``rowid`` is used only to find
the events recorded since the last look), so a PostgreSQL backend means a second ``Database`` whose ``connect``
returns a DB-API connection and whose ``sync_cases`` uses a serial column of ``events``.

``review_cases`` is the queue's own index of the events: one narrow row per event with the columns the filters
use and the event's review status, so counting and paging the queue reads small index entries instead of the
wide event rows, and a page costs the same with 50 or 50,000 events.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from contracts.errors import UserError
from events.store import SCHEMA as EVENTS_SCHEMA
from events.store import upgrade_events_table

SCHEMA = """
CREATE TABLE IF NOT EXISTS review_users (
    user_id       INTEGER PRIMARY KEY,
    name          TEXT NOT NULL UNIQUE COLLATE NOCASE,
    role          TEXT NOT NULL CHECK (role IN ('reviewer', 'admin')),
    password_hash TEXT NOT NULL,
    created_at    TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS review_sessions (
    token_hash TEXT PRIMARY KEY,             -- sha256 of the cookie's token: a copy of the file opens no session
    user_id    INTEGER NOT NULL REFERENCES review_users (user_id),
    csrf_token TEXT NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS review_verdicts (  -- each reviewer's current verdict on an event
    event_id   TEXT NOT NULL,
    user_id    INTEGER NOT NULL REFERENCES review_users (user_id),
    verdict    TEXT NOT NULL CHECK (verdict IN ('confirm', 'reject', 'unsure')),
    reason     TEXT,
    note       TEXT,
    decided_at TEXT NOT NULL,
    PRIMARY KEY (event_id, user_id)
);
CREATE TABLE IF NOT EXISTS review_cases (     -- the queue's index: one small row per event, with its status
    seq       INTEGER PRIMARY KEY,            -- the order in which the events were recorded
    event_id  TEXT NOT NULL UNIQUE,
    camera_id TEXT NOT NULL,
    zone_id   TEXT NOT NULL,
    rule      TEXT NOT NULL,
    type      TEXT NOT NULL,
    day       TEXT NOT NULL,                  -- the event's local date (ts), else the UTC date it was recorded
    status    TEXT NOT NULL DEFAULT 'pending',  -- pending | confirmed | rejected | unsure | disputed
    reason    TEXT,                           -- the reject reason the reviewers share, if they all rejected
    reviewers INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS review_cases_by_status ON review_cases (status, seq, type);
CREATE INDEX IF NOT EXISTS review_cases_by_type ON review_cases (type, seq, status);
CREATE INDEX IF NOT EXISTS review_cases_by_camera ON review_cases (camera_id, status, seq, type);
CREATE INDEX IF NOT EXISTS review_cases_by_rule ON review_cases (rule, status, seq, type);
CREATE INDEX IF NOT EXISTS review_cases_by_day ON review_cases (day, status, type);
CREATE TABLE IF NOT EXISTS review_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS review_audit (     -- append-only: who decided what, when, and what it replaced
    audit_id         INTEGER PRIMARY KEY,
    at               TEXT NOT NULL,
    user_name        TEXT NOT NULL,
    action           TEXT NOT NULL,
    event_id         TEXT,
    verdict          TEXT,
    reason           TEXT,
    note             TEXT,
    previous_verdict TEXT,
    previous_reason  TEXT,
    detail           TEXT,
    ip               TEXT
);
CREATE INDEX IF NOT EXISTS review_audit_by_event ON review_audit (event_id);
CREATE INDEX IF NOT EXISTS review_audit_by_user ON review_audit (user_name);
CREATE TRIGGER IF NOT EXISTS review_audit_no_update BEFORE UPDATE ON review_audit
    BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END;
CREATE TRIGGER IF NOT EXISTS review_audit_no_delete BEFORE DELETE ON review_audit
    BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END;
CREATE TABLE IF NOT EXISTS review_login_failures (
    at        TEXT NOT NULL,
    user_name TEXT NOT NULL,
    ip        TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS review_login_failures_by_user ON review_login_failures (user_name, at);
CREATE INDEX IF NOT EXISTS review_login_failures_by_ip ON review_login_failures (ip, at);
CREATE TABLE IF NOT EXISTS review_plate_corrections (  -- a reviewer's reading of a misread plate; the event row
    event_id     TEXT PRIMARY KEY,                     -- stays as the camera read it, the audit keeps each change
    plate        TEXT NOT NULL,
    user_id      INTEGER NOT NULL REFERENCES review_users (user_id),
    corrected_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS review_plate_corrections_by_plate ON review_plate_corrections (plate);
"""


ANALYZE_AFTER = 1000  # new events that make the planner's statistics worth refreshing


class StoreMissingError(UserError, FileNotFoundError):
    """The event store file does not exist (nothing was processed yet, or a wrong path)."""


def utc_now() -> datetime:
    return datetime.now(UTC)


def iso(moment: datetime) -> str:
    """The one timestamp format of the review tables: sortable as text.

    >>> iso(datetime(2026, 5, 1, 8, 30, tzinfo=UTC))
    '2026-05-01T08:30:00.000000+00:00'
    """
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


class Database:
    """The event store's file, opened by review/: one connection per thread (the web server's worker threads).

    Example:
        >>> db = Database(":memory:")
        >>> with db.transaction() as conn:
        ...     _ = conn.execute("INSERT INTO review_login_failures VALUES ('t', 'ana', '10.0.0.1')")
        >>> db.connect().execute("SELECT count(*) FROM review_login_failures").fetchone()[0]
        1
    """

    def __init__(self, path: str | Path):
        self.path = str(path)
        if self.path != ":memory:" and not Path(self.path).is_file():
            raise StoreMissingError(
                f"{self.path}: no such event store; give the events.db written by `streetorder process` with --db"
            )
        self._local = threading.local()
        self._shared: sqlite3.Connection | None = None  # ":memory:" is one database only within one connection
        self.connect().executescript(EVENTS_SCHEMA + SCHEMA)
        upgrade_events_table(self.connect())

    def sync_cases(self) -> None:
        """Index the events recorded since the last look into ``review_cases`` (two index lookups when none are).

        ``events.rowid`` only orders the scan: if it was renumbered (a VACUUM), everything is rescanned and the
        unique ``event_id`` keeps each event once.
        """
        conn = self.connect()
        newest = conn.execute("SELECT coalesce(max(rowid), 0) FROM events").fetchone()[0]
        row = conn.execute("SELECT value FROM review_meta WHERE key = 'events_seen'").fetchone()
        seen = int(row[0]) if row else 0
        if newest == seen:
            return
        with self.transaction() as conn:
            added = conn.execute(
                "INSERT OR IGNORE INTO review_cases (event_id, camera_id, zone_id, rule, type, day) "
                "SELECT event_id, camera_id, zone_id, rule, type, substr(coalesce(ts, recorded_at), 1, 10) "
                "FROM events WHERE rowid > ? ORDER BY rowid", (seen if newest > seen else 0,)).rowcount
            conn.execute("INSERT OR REPLACE INTO review_meta VALUES ('events_seen', ?)", (str(newest),))
        total = conn.execute("SELECT max(seq) FROM review_cases").fetchone()[0] or 0
        if added >= ANALYZE_AFTER and added * 10 >= total:  # the filters' best index depends on the data's shape
            conn.execute("ANALYZE review_cases")

    def connect(self) -> sqlite3.Connection:
        """This thread's connection (rows are ``sqlite3.Row``; autocommit unless in ``transaction``)."""
        if self.path == ":memory:":
            if self._shared is None:
                self._shared = self._open()
            return self._shared
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._local.conn = self._open()
        return conn

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """A write transaction, taken at once (``BEGIN IMMEDIATE``) so two writers queue instead of deadlocking."""
        conn = self.connect()
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    def _open(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=self.path != ":memory:")
        conn.row_factory = sqlite3.Row
        conn.execute("PRAGMA busy_timeout=10000")
        if self.path != ":memory:":
            conn.execute("PRAGMA journal_mode=WAL")
        return conn
