"""``streetorder sinks``: the outbox of a store (status, retry-dead, send), and the senders of `process` and `run`."""

from __future__ import annotations

import argparse
import time
from collections.abc import Sequence
from pathlib import Path

from rich.console import Console
from rich.table import Table

from contracts.errors import UserError
from contracts.urls import mask_credentials
from events.database import Database
from events.outbox import STATES, Outbox
from events.sender import OutboxSender, start_senders, stop_senders
from events.store import EventStore
from zones.config import Config, load_config

DEFAULT_SINK_WAIT = 30.0


def add_parser(commands: argparse._SubParsersAction) -> None:
    p = commands.add_parser("sinks", help="the outbox: what each sink still has to get, dead rows, resending",
                            description="Every event reaches every sink of `sinks:` through the store's outbox. "
                                        "These commands show and resend what is pending or dead.")
    sub = p.add_subparsers(dest="sinks_command", required=True, metavar="ACTION")
    status = sub.add_parser("status", help="rows per sink and state, and the dead rows with their last error")
    status.add_argument("--store", required=True, help="events.db file or postgresql:// URL")
    retry = sub.add_parser("retry-dead", help="make dead rows pending again (sent by the next run or `sinks send`)")
    retry.add_argument("--store", required=True, help="events.db file or postgresql:// URL")
    retry.add_argument("--sink", help="only this sink's dead rows (default: every sink's)")
    purge = sub.add_parser("purge", help="delete delivered rows older than --days (pending and dead rows stay)")
    purge.add_argument("--store", required=True, help="events.db file or postgresql:// URL")
    purge.add_argument("--days", type=float, default=30.0, help="keep delivered rows this many days (default 30)")
    send = sub.add_parser("send", help="deliver what is pending to the config's sinks, then exit")
    send.add_argument("--config", required=True, type=Path, help="the config whose `sinks:` to deliver to")
    send.add_argument("--store", help="events.db file or postgresql:// URL (default: the config's `store:`)")
    send.add_argument("--camera", action="append", help="only this camera's rows (repeatable)")
    send.add_argument("--wait", type=float, default=300.0, help="give up after this many seconds (default 300)")
    p.set_defaults(run=run)


def run(args: argparse.Namespace, console: Console) -> int:
    if args.sinks_command == "send":
        return _send(args, console)
    outbox = Outbox(Database(args.store, must_exist=True))
    try:
        if args.sinks_command == "retry-dead":
            n = outbox.retry_dead(args.sink)
            console.print(f"{n} dead row(s) of {args.sink or 'every sink'} made pending again; the next "
                          "`streetorder run`, `process` or `sinks send` delivers them.", highlight=False)
            return 0
        if args.sinks_command == "purge":
            n = outbox.purge_delivered(args.days)
            console.print(f"{n} delivered row(s) older than {args.days:g} days deleted.", highlight=False)
            return 0
        print_status(console, outbox)
        return 0
    finally:
        outbox.db.close()


def print_status(console: Console, outbox: Outbox) -> None:
    table = Table(title=f"Outbox of {outbox.db.label}")
    for column in ("sink", *STATES, "oldest pending"):
        table.add_column(column, justify="left" if column == "sink" else "right")
    for sink, counts in outbox.counts().items():
        age = outbox.oldest_pending_age(sink)
        table.add_row(sink, *(str(counts[s]) for s in STATES), "-" if age is None else f"{age:.0f} s")
    console.print(table)
    dead = outbox.dead()
    if dead:
        rows = Table(title="Dead rows (newest first; `streetorder sinks retry-dead` sends them again)")
        for column in ("sink", "camera", "event", "attempts", "last error"):
            rows.add_column(column)
        for d in dead:
            rows.add_row(d["sink"], d["camera_id"], d["event_id"], str(d["attempts"]),
                         mask_credentials(d["last_error"] or ""))
        console.print(rows)


def _send(args: argparse.Namespace, console: Console) -> int:
    config = load_config(args.config)
    if not config.sinks:
        raise UserError(f"{args.config}: no `sinks:` to send to; add e.g. "
                        "`sinks: [{type: webhook, url: ..., secret: ${WEBHOOK_SECRET}}]`")
    target = args.store or config.store
    if not target:
        raise UserError(f"{args.config} has no `store:`; give --store with the events.db or postgresql:// URL")
    outbox = Outbox(Database(target, must_exist=True))
    senders = start_senders(config.sinks, outbox, args.camera)
    try:
        left = drain(console, senders, args.wait)
    finally:
        stop_senders(senders)
        outbox.db.close()
    return 1 if left else 0


def open_senders(config: Config, store: EventStore, cameras: Sequence[str] | None) -> list[OutboxSender]:
    """The started senders of ``config.sinks`` on ``store``'s outbox, for ``cameras``."""
    if not config.sinks:
        return []
    return start_senders(config.sinks, Outbox(store.db), cameras)


def notify_all(senders: Sequence[OutboxSender]):
    """A callable for after each stored event: wakes every sender."""
    def notify(*_event) -> None:
        for sender in senders:
            sender.notify()
    return notify


def drain(console: Console, senders: Sequence[OutboxSender], wait: float) -> int:
    """Wait up to ``wait`` seconds for the senders to deliver what is pending; print what is left. Returns it."""
    left, deadline = 0, time.monotonic() + wait
    for sender in senders:
        pending = sender.drain(max(0.0, deadline - time.monotonic()))
        health = sender.health()
        left += pending
        line = f"sink {sender.name}: {sender.counters.delivered_total} delivered"
        if sender.counters.delivered_total:
            line += f" ({sender.rate():.0f} events/s)"
        if pending:
            line += f", {pending} still pending (sent by the next run or `streetorder sinks send`)"
        if health["dead"]:
            line += f", {health['dead']} dead (`streetorder sinks status` shows why)"
        console.print(line, highlight=False)
    return left
