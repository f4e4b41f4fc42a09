"""``streetorder review add-user``, ``export`` and ``serve``'s refusals, through the real command line."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest

from review.accounts import FAILURE_WINDOW, MAX_FAILURES_PER_USER, SESSION_LIFETIME, Accounts, LoginRefused
from review.db import IntegrityError, utc_now
from streetorder.cli import main
from tests.review.site import PASSWORDS


@pytest.fixture
def no_env_password(monkeypatch):
    monkeypatch.delenv("STREETORDER_PASSWORD", raising=False)


def add_user(site, *args: str) -> list[str]:
    return ["review", "add-user", *args, "--db", str(site.db_path)]


def test_add_user_reads_the_password_from_stdin(site, monkeypatch, capsys, no_env_password):
    monkeypatch.setattr("sys.stdin", io.StringIO("a long enough password\n"))
    assert main(add_user(site, "nina", "--role", "reviewer", "--password-stdin")) == 0
    assert "Added reviewer 'nina'" in capsys.readouterr().out
    _, session = Accounts(site.database()).log_in("nina", "a long enough password", "127.0.0.1")
    assert session.user.role == "reviewer"
    stored = site.database().execute("SELECT password_hash FROM review_users WHERE name = 'nina'")
    hashed = stored.fetchone()[0]
    assert hashed.startswith("$argon2id$") and "m=65536,t=3" in hashed  # memory-hard: 64 MiB per guess
    assert "a long enough password" not in hashed


def test_add_user_reads_the_password_from_the_environment(site, monkeypatch):
    monkeypatch.setenv("STREETORDER_PASSWORD", "another good password")
    assert main(add_user(site, "omar", "--role", "admin")) == 0
    assert Accounts(site.database()).log_in("omar", "another good password", "1.2.3.4")[1].user.is_admin


def test_add_user_refuses_with_one_sentence(site, monkeypatch, capsys, no_env_password, tmp_path):
    monkeypatch.setattr("sys.stdin", io.StringIO("short\n"))
    assert main(add_user(site, "nina", "--role", "reviewer", "--password-stdin")) == 2
    assert "the password is shorter than 10 characters; choose a longer one" in capsys.readouterr().err
    monkeypatch.setattr("sys.stdin", io.StringIO("a long enough password\n"))
    assert main(add_user(site, "rita", "--role", "reviewer", "--password-stdin")) == 2
    assert "user 'rita' already exists; add --reset" in capsys.readouterr().err
    monkeypatch.setattr("sys.stdin", io.StringIO(""))  # not a terminal, nothing piped, no variable
    assert main(add_user(site, "nina", "--role", "reviewer")) == 2
    assert "no password given" in capsys.readouterr().err
    missing = tmp_path / "nowhere" / "events.db"
    assert main(["review", "add-user", "x", "--role", "admin", "--db", str(missing), "--password-stdin"]) == 2
    assert f"{missing}: no such event store" in capsys.readouterr().err
    assert not missing.exists()


def test_account_names_are_case_insensitive(site, monkeypatch, capsys, no_env_password):
    monkeypatch.setattr("sys.stdin", io.StringIO("a long enough password\n"))
    assert main(add_user(site, "RITA", "--role", "admin", "--password-stdin")) == 2
    assert "user 'RITA' already exists; add --reset" in capsys.readouterr().err
    accounts = Accounts(site.database())
    assert accounts.user_named("Rita").name == "rita" and not accounts.user_named("Rita").is_admin
    _, session = accounts.log_in("RiTa", PASSWORDS["rita"], "127.0.0.1")
    assert session.user.name == "rita"
    with pytest.raises(IntegrityError):  # the store itself holds one spelling of a name
        site.database().execute("INSERT INTO review_users (name, role, password_hash, created_at) "
                                "VALUES ('Rob', 'admin', 'x', '2026-01-01')")
    for spelling in ["ROB", "rob", "Rob", "rOB", "RoB"][:MAX_FAILURES_PER_USER]:  # one account's guesses
        with pytest.raises(LoginRefused):
            accounts.log_in(spelling, "not it at all", "10.0.0.9")
    with pytest.raises(LoginRefused) as info:
        accounts.log_in("rob", PASSWORDS["rob"], "10.0.0.9")
    assert info.value.throttled
    assert [user.name for user in accounts.users()] == ["ada", "rita", "rob"]


def test_reset_gives_a_new_password_and_ends_old_sessions(site, monkeypatch, no_env_password):
    accounts = Accounts(site.database())
    token, _ = accounts.log_in("rita", "rita-reviewer-password", "127.0.0.1")
    monkeypatch.setattr("sys.stdin", io.StringIO("a brand new password\n"))
    assert main(add_user(site, "rita", "--role", "admin", "--password-stdin", "--reset")) == 0
    assert accounts.session(token) is None
    with pytest.raises(LoginRefused):
        accounts.log_in("rita", "rita-reviewer-password", "127.0.0.1")
    assert accounts.log_in("rita", "a brand new password", "127.0.0.1")[1].user.is_admin


def test_throttling_ends_when_the_window_has_passed(site):
    clock = [utc_now()]
    accounts = Accounts(site.database(), clock=lambda: clock[0])
    for _ in range(MAX_FAILURES_PER_USER):
        with pytest.raises(LoginRefused) as info:
            accounts.log_in("rob", "not it at all", "10.0.0.9")
        assert not info.value.throttled
    with pytest.raises(LoginRefused) as info:
        accounts.log_in("rob", "rob-reviewer-password", "10.0.0.9")
    assert info.value.throttled
    clock[0] += FAILURE_WINDOW + timedelta(seconds=1)
    token, session = accounts.log_in("rob", "rob-reviewer-password", "10.0.0.9")
    assert session.user.name == "rob" and accounts.session(token) == session
    clock[0] += SESSION_LIFETIME + timedelta(seconds=1)  # a shift later the session has expired
    assert accounts.session(token) is None


def test_serve_refuses_a_missing_store_and_a_broken_config(site, tmp_path, capsys):
    assert main(["review", "serve", "--db", str(tmp_path / "none.db")]) == 2
    assert "no such event store; give the events.db written by `streetorder process`" in capsys.readouterr().err
    broken = tmp_path / "broken.yaml"
    broken.write_text("cameras:\n  - id: cam-a\n    source: x.mp4\n    zones:\n      - id: w\n        type: road\n"
                      "        polygon: [[0, 0], [9, 0], [9, 9]]\n")
    assert main(["review", "serve", "--db", str(site.db_path), "--config", str(broken)]) == 2
    assert "zone 'w': type: unknown zone type 'road'" in capsys.readouterr().err


def test_add_user_binds_an_officer_to_a_unit(site, monkeypatch, capsys, no_env_password):
    monkeypatch.setattr("sys.stdin", io.StringIO("a long enough password\n"))
    assert main(add_user(site, "olga", "--role", "officer", "--password-stdin")) == 2
    assert "officer 'olga' needs a unit: give --district and/or --grid" in capsys.readouterr().err
    monkeypatch.setattr("sys.stdin", io.StringIO("a long enough password\n"))
    assert main(add_user(site, "olga", "--role", "officer", "--district", "Lucheng", "--grid", "LC-0412",
                         "--password-stdin")) == 0
    assert "Added officer 'olga' of Lucheng · LC-0412" in capsys.readouterr().out
    _, session = Accounts(site.database()).log_in("olga", "a long enough password", "127.0.0.1")
    assert (session.user.role, session.user.district, session.user.grid) == ("officer", "Lucheng", "LC-0412")
