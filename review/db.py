"""The review tables, kept in the event store beside ``events`` and ``cameras``: an SQLite file or a PostgreSQL
server (``events.database``; the SQL is written once for both).

Store access is confined to the modules of review/ that take a ``Database`` (accounts, cases, verdicts, stats,
export, plates): the web layer never writes SQL. What differs between the two servers is kept here: the
append-only audit trail's triggers, case-insensitive account names (``COLLATE NOCASE`` on SQLite, a unique index
on ``lower(name)`` on PostgreSQL; lookups compare ``lower(name)`` on both), and how the events recorded since the
last look are found (``events.rowid``, an identity column on PostgreSQL).

``review_cases`` is the queue's own index of the events: one narrow row per event with the columns the filters
use and the event's review status, so counting and paging the queue reads small index entries instead of the
wide event rows, and a page costs the same with 50 or 50,000 events.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from events import database
from events.database import Connection, IntegrityError, Params, Result, Row, StoreMissingError
from events.store import prepare_events

__all__ = ["SCHEMA", "Database", "IntegrityError", "Row", "StoreMissingError", "iso", "utc_now"]

USERS_COLUMNS = """
    user_id       INTEGER PRIMARY KEY,
    name          TEXT NOT NULL UNIQUE COLLATE NOCASE,
    role          TEXT NOT NULL CHECK (role IN ('reviewer', 'dispatcher', 'officer', 'admin')),
    password_hash TEXT NOT NULL,
    created_at    TEXT NOT NULL,
    district      TEXT,                  -- officers only: the unit whose cases they see
    grid          TEXT
"""
SCHEMA = """
CREATE TABLE IF NOT EXISTS review_users ({USERS_COLUMNS});
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
CREATE TABLE IF NOT EXISTS review_dispatches (  -- a confirmed alarm's case after the verdict (review/lifecycle.py)
    event_id      TEXT PRIMARY KEY,
    camera_id     TEXT NOT NULL,
    rule          TEXT NOT NULL,
    district      TEXT,                            -- the event's unit, copied: officers' cases by one lookup
    grid          TEXT,
    state         TEXT NOT NULL CHECK (state IN ('dispatched', 'handled', 'verified', 'closed')),
    dispatched_at TEXT NOT NULL,
    due_at        TEXT NOT NULL,                   -- dispatched_at + the rule's deadline (dispatch.deadlines)
    handled_at    TEXT,
    handled_by    TEXT,
    handled_note  TEXT,
    handled_photo TEXT,                            -- relative to the camera's evidence folder
    verified_at   TEXT,
    verified_by   TEXT,
    closed_at     TEXT,
    closed_by     TEXT
);
CREATE INDEX IF NOT EXISTS review_dispatches_by_state ON review_dispatches (state, dispatched_at);
CREATE INDEX IF NOT EXISTS review_dispatches_by_unit ON review_dispatches (district, grid, state);
""".replace("{USERS_COLUMNS}", USERS_COLUMNS)


APPEND_ONLY = "the audit trail is append-only"
SQLITE_ONLY = f"""
CREATE TRIGGER IF NOT EXISTS review_audit_no_update BEFORE UPDATE ON review_audit
    BEGIN SELECT RAISE(ABORT, '{APPEND_ONLY}'); END;
CREATE TRIGGER IF NOT EXISTS review_audit_no_delete BEFORE DELETE ON review_audit
    BEGIN SELECT RAISE(ABORT, '{APPEND_ONLY}'); END;
"""
# No ``;`` ends a line of the function body: events.database splits a script there. Its error is an
# integrity violation (SQLSTATE 23000), so both servers refuse a change with ``IntegrityError``.
POSTGRESQL_ONLY = f"""
CREATE UNIQUE INDEX IF NOT EXISTS review_users_by_lower_name ON review_users (lower(name));
CREATE OR REPLACE FUNCTION review_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN RAISE EXCEPTION '{APPEND_ONLY}' USING ERRCODE = 'integrity_constraint_violation'; END
    $$;
CREATE OR REPLACE TRIGGER review_audit_no_update BEFORE UPDATE ON review_audit
    FOR EACH ROW EXECUTE FUNCTION review_audit_append_only();
CREATE OR REPLACE TRIGGER review_audit_no_delete BEFORE DELETE ON review_audit
    FOR EACH ROW EXECUTE FUNCTION review_audit_append_only();
CREATE OR REPLACE TRIGGER review_audit_no_truncate BEFORE TRUNCATE ON review_audit
    FOR EACH STATEMENT EXECUTE FUNCTION review_audit_append_only();
"""

ANALYZE_AFTER = 1000  # new events that make the planner's statistics worth refreshing
# On PostgreSQL, identity values are taken when a row is inserted but seen when it is committed: a writer may commit
# rowid 5 after another committed 6. Each look rescans this many rowids below the newest seen, so a late commit is
# indexed too (the unique ``event_id`` keeps every event once).
RESCAN_WINDOW = 1000


def utc_now() -> datetime:
    return datetime.now(UTC)


def iso(moment: datetime) -> str:
    """The one timestamp format of the review tables: sortable as text.

    >>> iso(datetime(2026, 5, 1, 8, 30, tzinfo=UTC))
    '2026-05-01T08:30:00.000000+00:00'
    """
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


class Database(database.Database):
    """The event store with the review tables: ``target`` is its SQLite file (which must exist) or a
    ``postgresql://`` URL. Statements as ``events.database.Database``: ``execute`` and ``transaction``.

    Example:
        >>> db = Database(":memory:")
        >>> with db.transaction() as tx:
        ...     _ = tx.execute("INSERT INTO review_login_failures VALUES ('t', 'ana', '10.0.0.1')")
        >>> db.execute("SELECT count(*) FROM review_login_failures").fetchone()[0]
        1
    """

    def __init__(self, target: str | Path):
        super().__init__(target, must_exist=True)
        prepare_events(self)
        self.apply(SCHEMA, sqlite_only=SQLITE_ONLY, postgresql_only=POSTGRESQL_ONLY)
        upgrade_users_table(self)

    def execute(self, sql: str, params: Params = ()) -> Result:
        return super().execute(sql, _storable(params) if self.dialect == "postgresql" else params)

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        with super().transaction() as tx:
            yield _Storing(tx.raw, tx.dialect) if self.dialect == "postgresql" else tx

    def sync_cases(self) -> None:
        """Index the events recorded since the last look into ``review_cases`` (two index lookups when none are).

        ``events.rowid`` only orders the scan: if it was renumbered (an SQLite VACUUM), everything is rescanned and
        the unique ``event_id`` keeps each event once.
        """
        newest = self.execute("SELECT coalesce(max(rowid), 0) FROM events").fetchone()[0]
        row = self.execute("SELECT value FROM review_meta WHERE key = 'events_seen'").fetchone()
        seen = int(row[0]) if row else 0
        start = 0 if newest < seen else seen if self.dialect == "sqlite" else max(0, seen - RESCAN_WINDOW)
        if newest == seen and (self.dialect == "sqlite" or not self._unindexed_after(start)):
            return
        with self.transaction() as tx:
            added = tx.execute(
                "INSERT INTO review_cases (event_id, camera_id, zone_id, rule, type, day) "
                "SELECT event_id, camera_id, zone_id, rule, type, substr(coalesce(ts, recorded_at), 1, 10) "
                "FROM events WHERE rowid > ? ORDER BY rowid ON CONFLICT (event_id) DO NOTHING", (start,)).rowcount
            tx.execute("INSERT INTO review_meta (key, value) VALUES ('events_seen', ?) "
                       "ON CONFLICT (key) DO UPDATE SET value = excluded.value", (str(newest),))
        total = self.execute("SELECT max(seq) FROM review_cases").fetchone()[0] or 0
        if added >= ANALYZE_AFTER and added * 10 >= total:  # the filters' best index depends on the data's shape
            self.execute("ANALYZE review_cases")

    def _unindexed_after(self, rowid: int) -> bool:
        """Whether an event after ``rowid`` is not in ``review_cases`` yet (one committed late, on PostgreSQL)."""
        return self.execute("SELECT 1 FROM events e WHERE e.rowid > ? AND NOT EXISTS (SELECT 1 FROM review_cases c "
                            "WHERE c.event_id = e.event_id) LIMIT 1", (rowid,)).fetchone() is not None


class _Storing(Connection):
    """A PostgreSQL connection whose text parameters are made storable first (see ``_storable``)."""

    def execute(self, sql: str, params: Params = ()) -> Result:
        return super().execute(sql, _storable(params))


def _storable(params: Params) -> Params:
    r"""PostgreSQL's text cannot hold NUL (SQLite's can): a NUL that a hostile request typed into an id, a note or a
    search becomes U+FFFD, so a lookup finds nothing and a write stores the text instead of failing.

    >>> _storable(["cam\x00a", 3]) == ["cam\ufffda", 3]
    True
    """
    def storable(value: Any) -> Any:
        return value.replace("\x00", "\ufffd") if isinstance(value, str) else value
    if isinstance(params, Mapping):
        return {key: storable(value) for key, value in params.items()}
    return [storable(value) for value in params]


def upgrade_users_table(db: Database) -> None:
    """Let a ``review_users`` table of an older store hold the dispatcher and officer roles and an officer's unit,
    in place and in one transaction (on SQLite the table is rebuilt, ids kept: sessions and verdicts refer to them)."""
    if db.dialect == "sqlite":
        row = db.execute("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'review_users'").fetchone()
        if "'officer'" in row[0]:
            return
        old = ", ".join(db.columns("review_users"))
        with db.transaction() as tx:  # the order SQLite documents: new table, copy, drop, rename
            tx.execute(f"CREATE TABLE review_users_upgraded ({USERS_COLUMNS})")
            tx.execute(f"INSERT INTO review_users_upgraded ({old}) SELECT {old} FROM review_users")
            tx.execute("DROP TABLE review_users")
            tx.execute("ALTER TABLE review_users_upgraded RENAME TO review_users")
        return
    check = db.execute("SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = 'review_users'::regclass "
                       "AND conname = 'review_users_role_check'").fetchone()
    if check and "officer" in check[0]:
        return
    with db.transaction() as tx:
        tx.execute("ALTER TABLE review_users DROP CONSTRAINT IF EXISTS review_users_role_check")
        tx.execute("ALTER TABLE review_users ADD CONSTRAINT review_users_role_check "
                   "CHECK (role IN ('reviewer', 'dispatcher', 'officer', 'admin'))")
        for column in ("district", "grid"):
            tx.execute(f"ALTER TABLE review_users ADD COLUMN IF NOT EXISTS {column} TEXT")


def lock_table(tx: Connection, table: str) -> None:
    """Queue this transaction behind every other writer of ``table`` until it ends, so a count read in it stays
    true until its write (SQLite's write transactions already queue: ``BEGIN IMMEDIATE``)."""
    if tx.dialect == "postgresql":
        tx.execute(f"LOCK TABLE {table} IN EXCLUSIVE MODE")


def lock_case(tx: Connection, event_id: str) -> None:
    """Queue this transaction behind every other one changing the case of ``event_id`` (its verdicts, its plate)."""
    if tx.dialect == "postgresql":
        tx.execute("SELECT 1 FROM review_cases WHERE event_id = ? FOR UPDATE", (event_id,))
