"""The store's database: an SQLite file (the embedded default) or a PostgreSQL server, behind one small API.

SQL is written once, in the dialect both servers speak: ``?`` and ``:name`` placeholders, ``INSERT ... ON
CONFLICT (...) DO NOTHING / DO UPDATE SET col = excluded.col`` (never ``INSERT OR IGNORE/REPLACE``), ``coalesce``,
``substr``. On PostgreSQL the placeholders are translated to psycopg's, and a schema's SQLite column types to
PostgreSQL's (``INTEGER PRIMARY KEY`` -> an identity column, ``REAL`` -> ``DOUBLE PRECISION``, ``BLOB`` ->
``BYTEA``). What differs beyond that (triggers, ``GLOB``, table introspection) is asked of ``dialect``.

Results are fetched whole before ``execute`` returns, so a PostgreSQL connection goes back to the pool at once and
a thread never holds one between statements; ``transaction`` holds one connection for its block.

Example:
    >>> db = Database(":memory:", "CREATE TABLE IF NOT EXISTS notes (id INTEGER PRIMARY KEY, text TEXT);")
    >>> with db.transaction() as tx:
    ...     _ = tx.execute("INSERT INTO notes (text) VALUES (?)", ("first",))
    >>> db.execute("SELECT id, text FROM notes").fetchone()["text"]
    'first'
"""

from __future__ import annotations

import re
import sqlite3
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from contracts.disk import disk_problem, is_disk_full
from contracts.errors import UserError
from contracts.urls import mask_credentials

Dialect = Literal["sqlite", "postgresql"]
Params = Sequence[Any] | Mapping[str, Any]

SERVER_SCHEMES = ("postgresql://", "postgres://")
POOL_SIZE = 16  # connections a process opens to a PostgreSQL server at most (the web app's threads share them)
_SCHEMA_LOCK = 0x5354_4f52  # "STOR": a server-wide advisory lock serialising schema changes of several processes


class StoreError(UserError):
    """A store that cannot be opened or made (a folder, not SQLite, not writable, a full disk, a server that
    cannot be reached)."""


class IntegrityError(Exception):
    """A statement broke a constraint (a duplicate key, a CHECK) on either database."""


def is_server(target: str | Path) -> bool:
    """Whether ``target`` names a PostgreSQL server (``postgresql://...``) rather than an SQLite file."""
    return str(target).startswith(SERVER_SCHEMES)


class Row(tuple):
    """A result row readable by position and by column name, like ``sqlite3.Row``, on both databases."""

    _names: dict[str, int]

    def __new__(cls, names: dict[str, int], values: Sequence[Any]) -> Row:
        row = super().__new__(cls, values)
        row._names = names
        return row

    def __getitem__(self, key):  # type: ignore[override]
        return super().__getitem__(self._names[key] if isinstance(key, str) else key)

    def keys(self) -> list[str]:
        return list(self._names)


class Result:
    """The fetched rows of one statement, and how many rows it changed."""

    def __init__(self, rows: list[Row], rowcount: int):
        self.rows, self.rowcount = rows, rowcount

    def fetchone(self) -> Row | None:
        return self.rows[0] if self.rows else None

    def fetchall(self) -> list[Row]:
        return self.rows

    def __iter__(self) -> Iterator[Row]:
        return iter(self.rows)


class Connection:
    """One connection of either database, used inside ``Database.transaction``: ``execute`` as on the database."""

    def __init__(self, raw: Any, dialect: Dialect):
        self.raw, self.dialect = raw, dialect

    def execute(self, sql: str, params: Params = ()) -> Result:
        try:
            if self.dialect == "sqlite":
                cursor = self.raw.execute(sql, params)
                names = {d[0]: i for i, d in enumerate(cursor.description or ())}
                return Result([Row(names, r) for r in cursor.fetchall()], cursor.rowcount)
            cursor = self.raw.execute(to_pyformat(sql) if params else sql, params or None)
            names = {d.name: i for i, d in enumerate(cursor.description or ())}
            return Result([Row(names, r) for r in cursor.fetchall()] if cursor.description else [], cursor.rowcount)
        except sqlite3.IntegrityError as exc:
            raise IntegrityError(str(exc)) from exc
        except Exception as exc:
            if type(exc).__module__.startswith("psycopg") and _is_integrity(exc):
                raise IntegrityError(str(exc)) from exc
            raise


class Database:
    """One store: ``target`` is an SQLite path (``":memory:"`` for a private one) or a ``postgresql://`` URL.

    ``schema`` (SQLite's DDL, translated for PostgreSQL) is applied at once; ``sqlite_only`` / ``postgresql_only``
    DDL is applied on that database alone (triggers). ``must_exist``: refuse an SQLite file that is not there yet.
    """

    def __init__(self, target: str | Path, schema: str = "", *, sqlite_only: str = "", postgresql_only: str = "",
                 must_exist: bool = False):
        self.target = str(target)
        self.dialect: Dialect = "postgresql" if is_server(self.target) else "sqlite"
        self.label = mask_credentials(self.target)  # what messages and pages may show
        self._local = threading.local()
        self._shared: sqlite3.Connection | None = None  # ":memory:" is one database only within one connection
        self._memory_lock = threading.RLock()
        self._pool = None
        if self.dialect == "postgresql":
            self._pool = _open_pool(self.target, self.label)
        elif must_exist and self.target != ":memory:" and not Path(self.target).is_file():
            raise StoreMissingError(f"{self.target}: no such event store; give the events.db written by "
                                    "`streetorder process`, or a postgresql:// URL")
        self.apply(schema, sqlite_only=sqlite_only, postgresql_only=postgresql_only)

    # -- statements ---------------------------------------------------------------------------------------------
    def execute(self, sql: str, params: Params = ()) -> Result:
        """Run one statement in autocommit and return its fetched rows."""
        with self._connection() as conn:
            return conn.execute(sql, params)

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        """A write transaction on one connection: all of its statements or, on an error or a crash, none. On SQLite
        it is taken at once (``BEGIN IMMEDIATE``), so two writers queue instead of deadlocking."""
        with self._connection() as conn:
            if self.dialect == "postgresql":
                with conn.raw.transaction():
                    yield conn
                return
            conn.raw.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.raw.execute("ROLLBACK")
                raise
            conn.raw.execute("COMMIT")

    def apply(self, schema: str, *, sqlite_only: str = "", postgresql_only: str = "") -> None:
        """Apply DDL (idempotent ``CREATE ... IF NOT EXISTS``); several processes may do so at once."""
        if self.dialect == "sqlite":
            if schema or sqlite_only:
                self._run_script(schema + sqlite_only)
            return
        if not (schema or postgresql_only):
            return
        with self.transaction() as tx:
            tx.execute(f"SELECT pg_advisory_xact_lock({_SCHEMA_LOCK})")
            for statement in _statements(postgresql_ddl(schema) + postgresql_only):
                tx.execute(statement)

    def tables(self) -> set[str]:
        """The names of the store's tables."""
        if self.dialect == "sqlite":
            return {r[0] for r in self.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        return {r[0] for r in self.execute("SELECT table_name FROM information_schema.tables "
                                           "WHERE table_schema = current_schema()")}

    def columns(self, table: str) -> dict[str, bool]:
        """``table``'s columns, each with whether it is NOT NULL ({} when there is no such table)."""
        if self.dialect == "sqlite":
            return {r[1]: bool(r[3]) for r in self.execute(f"PRAGMA table_info({table})")}
        return {r[0]: r[1] == "NO" for r in self.execute(
            "SELECT column_name, is_nullable FROM information_schema.columns "
            "WHERE table_schema = current_schema() AND table_name = ?", (table,))}

    def close(self) -> None:
        if self._pool is not None:
            self._pool.close()
        if self._shared is not None:
            self._shared.close()
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None

    # -- connections --------------------------------------------------------------------------------------------
    @contextmanager
    def _connection(self) -> Iterator[Connection]:
        if self._pool is not None:
            with self._pool.connection() as raw:
                yield Connection(raw, "postgresql")
            return
        if self.target == ":memory:":
            with self._memory_lock:
                if self._shared is None:
                    self._shared = self._open_sqlite()
                yield Connection(self._shared, "sqlite")
            return
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._local.conn = self._open_sqlite()
        yield Connection(conn, "sqlite")

    def _open_sqlite(self) -> sqlite3.Connection:
        """An autocommit connection in WAL mode with every commit synced to disk (events and state must survive a
        power cut); the folder is made. Raises ``StoreError`` naming the file when it is no database."""
        conn = None
        try:
            if self.target != ":memory:":
                Path(self.target).parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(self.target, isolation_level=None, check_same_thread=False)
            conn.execute("PRAGMA busy_timeout=10000")
            if self.target != ":memory:":
                conn.execute("PRAGMA journal_mode=WAL")
                conn.execute("PRAGMA synchronous=FULL")
        except (sqlite3.Error, OSError) as exc:
            if conn is not None:
                conn.close()
            raise StoreError(_file_problem(self.target, exc)) from None
        return conn

    def _run_script(self, script: str) -> None:
        try:
            with self._connection() as conn:
                conn.raw.executescript(script)
        except (sqlite3.Error, OSError) as exc:
            raise StoreError(_file_problem(self.target, exc)) from None


class StoreMissingError(StoreError, FileNotFoundError):
    """The event store file does not exist (nothing was processed yet, or a wrong path)."""


# -- PostgreSQL ---------------------------------------------------------------------------------------------------
def _open_pool(url: str, label: str):
    try:
        import psycopg
        from psycopg_pool import ConnectionPool
    except ImportError:  # pragma: no cover - both are dependencies
        raise StoreError(f"{label}: a PostgreSQL store needs psycopg and psycopg-pool; pip install 'psycopg[binary]' "
                         "psycopg-pool") from None
    pool = ConnectionPool(url, min_size=1, max_size=POOL_SIZE, open=False, timeout=30,
                          kwargs={"autocommit": True, "connect_timeout": 10})
    try:
        pool.open(wait=True, timeout=15)
    except Exception as exc:  # psycopg_pool.PoolTimeout hides the cause: ask once more to name it
        pool.close()
        reason = str(exc)
        try:
            psycopg.connect(url, connect_timeout=5).close()
        except psycopg.Error as cause:
            reason = str(cause).strip().splitlines()[0] if str(cause).strip() else type(cause).__name__
        raise StoreError(f"{label}: cannot connect to the PostgreSQL store ({mask_credentials(reason)}); check that "
                         "the server runs and that the URL's host, port, user and database are right") from None
    return pool


def _is_integrity(exc: BaseException) -> bool:
    import psycopg
    return isinstance(exc, psycopg.IntegrityError)


_PLACEHOLDER = re.compile(r"'(?:[^']|'')*'|\"(?:[^\"]|\"\")*\"|%|\?|(?<![:\w]):([A-Za-z_]\w*)")


@lru_cache(maxsize=512)
def to_pyformat(sql: str) -> str:
    """SQLite's placeholders as psycopg's (``?`` -> ``%s``, ``:name`` -> ``%(name)s``, ``%`` -> ``%%``), outside
    quoted literals and identifiers.

    >>> to_pyformat("SELECT * FROM t WHERE a = ? AND b = :b AND c LIKE '%?'")
    "SELECT * FROM t WHERE a = %s AND b = %(b)s AND c LIKE '%%?'"
    """
    def swap(match: re.Match) -> str:
        token = match.group(0)
        if token == "?":
            return "%s"
        if token == "%":
            return "%%"
        if match.group(1):
            return f"%({match.group(1)})s"
        return token.replace("%", "%%")  # a literal: only its percent signs change
    return _PLACEHOLDER.sub(swap, sql)


_TYPES = [(re.compile(r"\bINTEGER PRIMARY KEY\b"), "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY"),
          (re.compile(r"\bINTEGER\b"), "BIGINT"),
          (re.compile(r"\bREAL\b"), "DOUBLE PRECISION"),
          (re.compile(r"\bBLOB\b"), "BYTEA"),
          (re.compile(r"\s+COLLATE NOCASE\b"), "")]


def postgresql_ddl(schema: str) -> str:
    """SQLite DDL with PostgreSQL's column types.

    >>> postgresql_ddl("CREATE TABLE t (id INTEGER PRIMARY KEY, x REAL, b BLOB)")
    'CREATE TABLE t (id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, x DOUBLE PRECISION, b BYTEA)'
    """
    for pattern, replacement in _TYPES:
        schema = pattern.sub(replacement, schema)
    return schema


def _statements(script: str) -> list[str]:
    """The statements of a DDL script (split on ``;`` at line ends; PostgreSQL function bodies are ``$$``-quoted
    and written on one line or with ``;`` inside the line)."""
    without_comments = "\n".join(line.split("--", 1)[0] for line in script.splitlines())
    return [s.strip() for s in re.split(r";\s*\n", without_comments + "\n") if s.strip()]


def _file_problem(path: str, exc: sqlite3.Error | OSError) -> str:
    if Path(path).is_dir():
        return f"{path} is a folder, not a database file; give the path of a file (new or existing) for the store"
    if isinstance(exc, OSError) or is_disk_full(exc):
        return disk_problem(exc, path)
    if "not a database" in str(exc) or "malformed" in str(exc):
        return (f"{path} is not an SQLite database ({exc}); give another path for the store, or move the file "
                "aside if it is damaged")
    return f"{path} cannot be opened as a database ({exc}); check that it and its folder are writable"
