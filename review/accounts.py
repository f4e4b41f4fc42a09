"""Accounts, passwords, login sessions and the brake on guessed passwords.

- Passwords are hashed with Argon2id (memory-hard, RFC 9106's low-memory profile: 64 MiB, 3 passes).
- A session is a random token in an HttpOnly, SameSite=Strict cookie; the store keeps only its SHA-256, with the
  session's CSRF token and its expiry.
- Login attempts are counted per account and per client address over a sliding window, each one claimed in the
  same write transaction that checks the limit, before its password is hashed (a burst of simultaneous guesses
  cannot all slip under the limit); past the limit, logins are refused without checking the password until the
  window has moved on. A successful login clears the account's count.
- Names are case-insensitive: ``Ana`` and ``ana`` are one account (looked up by ``lower(name)``).
- At most ``MAX_CONCURRENT_HASHES`` Argon2 hashes run at once: each takes 64 MiB, so a burst queues instead of
  multiplying the server's memory.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import argon2

from contracts.errors import UserError
from review.db import Database, IntegrityError, iso, lock_table, utc_now

ROLES = ("reviewer", "dispatcher", "officer", "admin")
MIN_PASSWORD_LENGTH = 10
SESSION_LIFETIME = timedelta(hours=12)  # one shift
FAILURE_WINDOW = timedelta(minutes=15)
MAX_FAILURES_PER_USER = 5
MAX_FAILURES_PER_IP = 20
MAX_CONCURRENT_HASHES = 2

HASHER = argon2.PasswordHasher.from_parameters(argon2.profiles.RFC_9106_LOW_MEMORY)
_DUMMY_HASH = HASHER.hash("not a password: spends the same time on unknown names")
_HASHING = threading.BoundedSemaphore(MAX_CONCURRENT_HASHES)

Clock = Callable[[], datetime]
_NAMED = "lower(name) = lower(?)"  # account names are case-insensitive on both databases
_USER = "user_id, name, role, district, grid"


class AccountError(UserError, ValueError):
    """A request about accounts that cannot be carried out; the message says why and what to do."""


class LoginRefused(Exception):
    """A login that did not succeed; ``message`` is shown to the person, ``throttled`` means rate-limited."""

    def __init__(self, message: str, throttled: bool = False):
        super().__init__(message)
        self.message = message
        self.throttled = throttled


@dataclass(frozen=True)
class User:
    user_id: int
    name: str
    role: str
    district: str | None = None  # an officer's unit (district and/or grid)
    grid: str | None = None

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    @property
    def is_officer(self) -> bool:
        return self.role == "officer"

    @property
    def reviews(self) -> bool:
        """Gives verdicts (reviewers and admins)."""
        return self.role in ("reviewer", "admin")

    @property
    def unit_label(self) -> str:
        return " · ".join(part for part in (self.district, self.grid) if part)


@dataclass(frozen=True)
class Session:
    user: User
    csrf_token: str

    def csrf_ok(self, supplied: str | None) -> bool:
        return bool(supplied) and hmac.compare_digest(self.csrf_token, str(supplied))


class Accounts:
    """Users, sessions and login throttling over the review tables.

    Example:
        >>> accounts = Accounts(Database(":memory:"))
        >>> accounts.add_user("ana", "reviewer", "correct horse battery")
        User(user_id=1, name='ana', role='reviewer', district=None, grid=None)
        >>> token, session = accounts.log_in("ana", "correct horse battery", ip="10.0.0.7")
        >>> accounts.session(token).user.name
        'ana'
    """

    def __init__(self, db: Database, clock: Clock = utc_now):
        self.db = db
        self.clock = clock

    def add_user(self, name: str, role: str, password: str, reset: bool = False, district: str | None = None,
                 grid: str | None = None) -> User:
        """Create an account (or, with ``reset``, give an existing one a new password and role); an officer is
        bound to a unit, its ``district`` and/or ``grid``."""
        name = name.strip()
        district, grid = (district or "").strip() or None, (grid or "").strip() or None
        if not name or len(name) > 64 or not name.isprintable():
            raise AccountError("a user name is 1 to 64 printable characters; choose another name")
        if role not in ROLES:
            raise AccountError(f"unknown role {role!r}; use reviewer, dispatcher, officer or admin")
        if role == "officer" and not (district or grid):
            raise AccountError(f"officer {name!r} needs a unit: give --district and/or --grid")
        if role != "officer" and (district or grid):
            raise AccountError(f"only an officer is bound to a unit; drop --district/--grid for a {role}")
        if any(part and (len(part) > 200 or not part.isprintable()) for part in (district, grid)):
            raise AccountError("a district or grid is 1 to 200 printable characters, as the config's unit writes it")
        if len(password) < MIN_PASSWORD_LENGTH:
            raise AccountError(f"the password is shorter than {MIN_PASSWORD_LENGTH} characters; choose a longer one")
        hashed = HASHER.hash(password)
        exists = f"user {name!r} already exists; add --reset to give it a new password and role"
        try:
            with self.db.transaction() as tx:
                row = tx.execute(f"SELECT user_id FROM review_users WHERE {_NAMED}", (name,)).fetchone()
                if row and not reset:
                    raise AccountError(exists)
                if row:
                    tx.execute("UPDATE review_users SET role = ?, password_hash = ?, district = ?, grid = ? "
                               "WHERE user_id = ?", (role, hashed, district, grid, row["user_id"]))
                    tx.execute("DELETE FROM review_sessions WHERE user_id = ?", (row["user_id"],))
                else:
                    tx.execute("INSERT INTO review_users (name, role, password_hash, created_at, district, grid) "
                               "VALUES (?, ?, ?, ?, ?, ?)", (name, role, hashed, iso(self.clock()), district, grid))
                unit = f", unit {' · '.join(p for p in (district, grid) if p)}" if role == "officer" else ""
                tx.execute("INSERT INTO review_audit (at, user_name, action, detail) VALUES (?, ?, ?, ?)",
                           (iso(self.clock()), name, "password_reset" if row else "user_added", f"role {role}{unit}"))
        except IntegrityError:  # the same name, added at the same moment by someone else
            raise AccountError(exists) from None
        return self.user_named(name)

    def user_named(self, name: str) -> User | None:
        row = self.db.execute(f"SELECT {_USER} FROM review_users WHERE {_NAMED}", (name.strip(),)).fetchone()
        return _user(row) if row else None

    def users(self) -> list[User]:
        rows = self.db.execute(f"SELECT {_USER} FROM review_users ORDER BY lower(name), name").fetchall()
        return [_user(r) for r in rows]

    def log_in(self, name: str, password: str, ip: str) -> tuple[str, Session]:
        """Check the password and open a session; returns the cookie's token and the session.

        Raises ``LoginRefused`` for a wrong name or password (the same words for both) and, past the limits,
        for an account or address that guessed too often.
        """
        name = name.strip()
        self._claim_attempt(name, ip)
        row = self.db.execute(f"SELECT * FROM review_users WHERE {_NAMED}", (name,)).fetchone()
        try:
            with _HASHING:
                HASHER.verify(row["password_hash"] if row else _DUMMY_HASH, password)
            if row is None:
                raise argon2.exceptions.VerifyMismatchError
        except argon2.exceptions.VerificationError:
            raise LoginRefused("Wrong user name or password.") from None
        if HASHER.check_needs_rehash(row["password_hash"]):
            with _HASHING:
                rehashed = HASHER.hash(password)
            with self.db.transaction() as tx:
                tx.execute("UPDATE review_users SET password_hash = ? WHERE user_id = ?", (rehashed, row["user_id"]))
        return self._open_session(_user(row), ip)

    def session(self, token: str | None) -> Session | None:
        """The live session of a cookie's token, or None (unknown, expired, or no token)."""
        if not token:
            return None
        row = self.db.execute(
            "SELECT u.user_id, u.name, u.role, u.district, u.grid, s.csrf_token, s.expires_at FROM review_sessions s "
            "JOIN review_users u USING (user_id) WHERE s.token_hash = ?", (_digest(token),)).fetchone()
        if row is None or row["expires_at"] <= iso(self.clock()):
            return None
        return Session(_user(row), row["csrf_token"])

    def log_out(self, token: str | None) -> None:
        if token:
            with self.db.transaction() as tx:
                tx.execute("DELETE FROM review_sessions WHERE token_hash = ?", (_digest(token),))

    def _open_session(self, user: User, ip: str) -> tuple[str, Session]:
        token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        now = self.clock()
        with self.db.transaction() as tx:
            tx.execute("DELETE FROM review_sessions WHERE expires_at <= ?", (iso(now),))
            tx.execute("DELETE FROM review_login_failures WHERE user_name = ?", (user.name.lower(),))
            tx.execute("INSERT INTO review_sessions VALUES (?, ?, ?, ?, ?)",
                       (_digest(token), user.user_id, csrf, iso(now), iso(now + SESSION_LIFETIME)))
            tx.execute("INSERT INTO review_audit (at, user_name, action, ip) VALUES (?, ?, 'login', ?)",
                       (iso(now), user.name, ip))
        return token, Session(user, csrf)

    def _claim_attempt(self, name: str, ip: str) -> None:
        """Count this attempt against the account and the address, or refuse it past a limit; one write transaction
        (``BEGIN IMMEDIATE`` on SQLite, the table's lock on PostgreSQL), so simultaneous attempts are counted one
        after the other, before any hashing."""
        now = self.clock()
        since = iso(now - FAILURE_WINDOW)
        with self.db.transaction() as tx:
            lock_table(tx, "review_login_failures")
            tx.execute("DELETE FROM review_login_failures WHERE at <= ?", (since,))
            by_user = tx.execute("SELECT count(*) FROM review_login_failures WHERE user_name = ? AND at > ?",
                                 (name.lower(), since)).fetchone()[0]
            if by_user >= MAX_FAILURES_PER_USER:
                raise LoginRefused(f"Too many wrong passwords for {name!r}; wait {_minutes(FAILURE_WINDOW)} "
                                   "minutes or ask an admin to reset the password.", throttled=True)
            by_ip = tx.execute("SELECT count(*) FROM review_login_failures WHERE ip = ? AND at > ?",
                               (ip, since)).fetchone()[0]
            if by_ip >= MAX_FAILURES_PER_IP:
                raise LoginRefused(f"Too many wrong passwords from this address; wait {_minutes(FAILURE_WINDOW)} "
                                   "minutes before trying again.", throttled=True)
            tx.execute("INSERT INTO review_login_failures VALUES (?, ?, ?)", (iso(now), name.lower(), ip))


def _user(row) -> User:
    return User(row["user_id"], row["name"], row["role"], row["district"], row["grid"])


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _minutes(window: timedelta) -> int:
    return int(window.total_seconds() // 60)
