"""Plates in the append-only audit trail, pseudonymised: a plate correction, a plate search or a plate shown by
the API is audited with a keyed hash of each plate (a *token*, ``plate#`` and 16 hex digits of HMAC-SHA256), never
its text. The retention purge blanks plates in events and corrections but cannot touch the audit; with tokens,
nothing readable of a purged plate remains there, and an auditor still answers "was plate X searched or corrected"
by hashing X (the audit page's plate box).

The key is the store's own (``review_meta``, made once, 256 random bits): every app over the same store hashes
alike. Someone who holds the store holds the key and may test guesses, so this is pseudonymisation, not
anonymisation (docs/REVIEW.md); deleting the key row makes every token in the trail unmatchable for good.

Example:
    >>> tokens = PlateTokens(Database(":memory:"))
    >>> tokens.token("京E·MC139") == tokens.token(" 京e mc139") != tokens.token("京E·MC138")
    True
    >>> tokens.token("京E·MC139")[:6], len(tokens.token("京E·MC139"))
    ('plate#', 22)
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Iterable

from review.db import Database

KEY_NAME = "audit_plate_key"
PREFIX = "plate#"
TOKEN_HEX = 16  # 64 bits: no two plates of a city's store collide, and a line of 100 tokens stays readable


class PlateTokens:
    """The tokens of plates for the audit trail of one store (the key is read, or made, once)."""

    def __init__(self, db: Database):
        db.execute("INSERT INTO review_meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO NOTHING",
                   (KEY_NAME, secrets.token_hex(32)))  # two apps starting at once: the first one's key stays
        row = db.execute("SELECT value FROM review_meta WHERE key = ?", (KEY_NAME,)).fetchone()
        self._key = bytes.fromhex(row[0])

    def token(self, plate: str) -> str:
        """The audit's stand-in for ``plate`` (case, spaces and separators ignored, as a search ignores them)."""
        digest = hmac.new(self._key, compact(plate).encode(), hashlib.sha256).hexdigest()
        return PREFIX + digest[:TOKEN_HEX]

    def tokens(self, plates: Iterable[str]) -> str:
        """The tokens of ``plates``, space-separated, each once, in their order."""
        return " ".join(dict.fromkeys(self.token(plate) for plate in plates))


def compact(plate: str) -> str:
    """``plate`` in upper case without spaces and separators: how plates are compared, searched and hashed.

    >>> compact(" 京e·mc 139 ")
    '京EMC139'
    """
    return "".join(ch for ch in plate.upper() if ch not in " ·.-")
