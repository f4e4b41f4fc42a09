"""``streetorder purge``: the retention purge of an event store (events/purge.py, docs/PLATES.md)."""

from __future__ import annotations

import argparse
from collections import Counter
from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from contracts.errors import UserError
from events.database import is_server
from events.purge import Purge, PurgedEvent
from zones.config import load_config
from zones.config_enforcement import EnforcementSettings
from zones.reference import duration_text


def add_parser(commands: argparse._SubParsersAction) -> None:
    p = commands.add_parser("purge", help="delete the photos and plates of old events no reviewer confirmed",
                            description="After the config's enforcement.retention (default 30 days), delete the "
                                        "evidence photos and blank the plates of events no reviewer confirmed; "
                                        "the event rows stay, and purge_log in the store records each purge. "
                                        "events.jsonl is not rewritten (see docs/PLATES.md).")
    p.add_argument("--store", required=True, help="the event store: OUT/events.db or a postgresql:// URL")
    p.add_argument("--config", type=Path, help="the config whose enforcement.retention applies (default: 30 days)")
    p.add_argument("--dry-run", action="store_true", help="list what would be purged; delete and change nothing")
    p.set_defaults(run=run)


def run(args: argparse.Namespace, console: Console) -> int:
    settings = load_config(args.config).enforcement if args.config else EnforcementSettings()
    if not is_server(args.store) and not Path(args.store).is_file():
        raise UserError(f"{args.store}: no such event store; give the events.db written by `streetorder process` "
                        "or `streetorder run` with --store")
    if settings.retention is None:
        console.print("enforcement.retention is null: plates and photos are kept for ever; nothing purged")
        return 0
    purge = Purge(args.store, settings.retention)
    try:
        purged = purge.run(dry_run=args.dry_run)
    finally:
        purge.close()
    show(console, purged, settings.retention, args.dry_run)
    return 0


def show(console: Console, purged: list[PurgedEvent], retention: float, dry_run: bool) -> None:
    """One row per purged event, then the totals."""
    if purged:
        table = Table("event", "status", "plate", "photos")
        for event in purged:
            outcomes = Counter(event.files.values())
            table.add_row(escape(event.event_id), event.status, "blanked" if event.plate else "-",
                          ", ".join(f"{n} {what}" for what, n in sorted(outcomes.items())) or "-")
        console.print(table)
    files = Counter(what for event in purged for what in event.files.values())
    verb = "would purge" if dry_run else "purged"
    console.print(f"{verb} {len(purged)} event(s) older than {duration_text(retention)} that no reviewer confirmed: "
                  f"{sum(e.plate for e in purged)} plate(s), "
                  f"{files['to delete' if dry_run else 'deleted']} photo(s) {'to delete' if dry_run else 'deleted'}"
                  f", {files['missing']} missing, {files['refused']} refused (outside the evidence folder)")
