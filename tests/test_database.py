"""The database layer on both backends: one SQL dialect, rows by name and position, constraints as IntegrityError."""

import pytest

from events.database import Database, IntegrityError


def test_one_sql_runs_on_sqlite_and_postgresql(store_target):
    db = Database(store_target, "CREATE TABLE IF NOT EXISTS n (id INTEGER PRIMARY KEY, k TEXT UNIQUE, x REAL, b BLOB);")
    with db.transaction() as tx:
        tx.execute("INSERT INTO n (k, x, b) VALUES (?, ?, ?)", ("a", 1.5, b"\x00\x01"))
        tx.execute("INSERT INTO n (k, x, b) VALUES (:k, :x, :b) ON CONFLICT (k) DO NOTHING",
                   {"k": "a", "x": 2.0, "b": b""})
    r = db.execute("SELECT id, k, x, b FROM n WHERE k LIKE 'a%'").fetchone()
    assert r["k"] == "a" and r[2] == 1.5 and bytes(r["b"]) == b"\x00\x01"
    with pytest.raises(IntegrityError):
        db.execute("INSERT INTO n (k) VALUES (?)", ("a",))
    assert "n" in db.tables()
    assert set(db.columns("n")) == {"id", "k", "x", "b"} and not db.columns("n")["k"]
    db.close()


def test_a_failed_transaction_leaves_nothing_and_literals_keep_their_percent_signs(store_target):
    db = Database(store_target, "CREATE TABLE IF NOT EXISTS n (k TEXT PRIMARY KEY, v TEXT NOT NULL);")
    db.execute("INSERT INTO n (k, v) VALUES (?, ?)", ("kept", "100%"))
    with pytest.raises(IntegrityError), db.transaction() as tx:
        tx.execute("INSERT INTO n (k, v) VALUES (?, ?)", ("gone", "x"))
        tx.execute("INSERT INTO n (k, v) VALUES (?, ?)", ("kept", "again"))
    assert [tuple(r) for r in db.execute("SELECT k, v FROM n WHERE v LIKE '%\\%' ESCAPE '\\' OR k = ?",
                                         ("none",))] == [("kept", "100%")]
    assert db.execute("SELECT count(*) FROM n").fetchone()[0] == 1 and db.columns("n")["v"]
    assert db.execute("UPDATE n SET v = :v WHERE k = :k", {"v": "50%", "k": "kept"}).rowcount == 1
    assert db.execute("SELECT v FROM n").fetchone().keys() == ["v"] and db.columns("missing") == {}
    db.close()
