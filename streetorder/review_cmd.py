"""``streetorder review``: the reviewers' web app (``serve``), its accounts (``add-user``) and the dataset export."""

from __future__ import annotations

import argparse
import getpass
import ipaddress
import os
import sys
from pathlib import Path

from rich.console import Console

from contracts.errors import UserError
from contracts.urls import mask_credentials
from review.accounts import ROLES, Accounts
from review.db import Database
from review.export import DatasetExport
from review.plates import PlateRules

PASSWORD_ENV = "STREETORDER_PASSWORD"


def add_parser(commands: argparse._SubParsersAction) -> None:
    p = commands.add_parser("review", help="the reviewers' web app over an event store",
                            description="Serve the reviewers' web app, manage its accounts, export verdicts.")
    actions = p.add_subparsers(dest="review_action", required=True, metavar="ACTION")

    serve = actions.add_parser("serve", help="serve the web app", description="Serve the reviewers' web app.")
    _store_argument(serve)
    serve.add_argument("--config", type=Path, help="cameras and zones (YAML): enables the zone editor on this file")
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8080, help="port (default 8080)")
    serve.add_argument("--secure-cookies", action="store_true",
                       help="mark cookies Secure: use when the app is reached over HTTPS (a reverse proxy)")
    serve.add_argument("--proxy", metavar="ADDR",
                       help="address of a trusted reverse proxy whose X-Forwarded-For names the client")
    serve.set_defaults(run=serve_app)

    add = actions.add_parser("add-user", help="create an account",
                             description=f"Create an account. The password is read from --password-stdin, else "
                                         f"the environment variable {PASSWORD_ENV}, else asked for.")
    add.add_argument("name", help="user name")
    add.add_argument("--role", required=True, choices=ROLES)
    add.add_argument("--district", help="an officer's unit: the district whose cases they see and act on")
    add.add_argument("--grid", help="an officer's unit: the grid (with --district, that grid of that district)")
    _store_argument(add)
    add.add_argument("--password-stdin", action="store_true", help="read the password from the first input line")
    add.add_argument("--reset", action="store_true", help="the account exists: set a new password and role")
    add.set_defaults(run=add_user)

    export = actions.add_parser("export", help="write the verdicts as a YOLO dataset",
                                description="Confirmed alarms as positives, alarms rejected as 'wrong object' "
                                            "as hard negatives, in YOLO format.")
    _store_argument(export)
    export.add_argument("--out", required=True, type=Path, help="folder to write (data.yaml, images/, labels/)")
    export.add_argument("--with-plates", action="store_true",
                        help="also write each event's plate (manifest.csv) and plate crop (plates/): personal data")
    export.set_defaults(run=export_dataset)


def _store_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--db", "--store", dest="db", required=True, metavar="STORE",
                        help="the event store: its SQLite file (OUT/events.db) or a postgresql:// URL")


def serve_app(args: argparse.Namespace, console: Console) -> int:
    import uvicorn

    from review.app import create_app
    from review.zone_editor import ZoneFile
    from streams.config_rules import PipelineConfigRules

    def app_with_zone_editor():
        zone_file = ZoneFile(args.config, PipelineConfigRules()) if args.config else None
        return create_app(args.db, zone_file, args.secure_cookies, plate_rules(args.config),
                          dispatch_sinks(args.config), dispatch_settings(args.config).deadline)

    app = _refusing(console, app_with_zone_editor)
    if app is None:
        return 2
    db = app.state.services.db
    accounts = app.state.services.accounts.users()
    if not accounts:
        console.print(f"No accounts yet: create one with `streetorder review add-user NAME --role admin "
                      f"--db {mask_credentials(args.db)}`.", highlight=False)
    if not args.secure_cookies and not _loopback(args.host):
        console.print(f"[yellow]warning:[/yellow] listening on {args.host} without --secure-cookies: passwords "
                      "and session cookies cross the network in clear unless an HTTPS proxy is in front.")
    console.print(f"Review app on http://{args.host}:{args.port}/ ({len(accounts)} account(s), store {db.label})",
                  highlight=False)
    uvicorn.run(app, host=args.host, port=args.port, proxy_headers=bool(args.proxy),
                forwarded_allow_ips=args.proxy or "", server_header=False, log_level="info",
                timeout_graceful_shutdown=3)  # an open map's stream never ends by itself: Ctrl-C must not wait on it
    return 0


def dispatch_sinks(config_path: Path | None) -> list:
    """The config's sinks that take confirmed alarms (``when: confirmed``); none without a config."""
    from zones.config import load_config
    return [sink for sink in load_config(config_path).sinks if sink.when == "confirmed"] if config_path else []


def dispatch_settings(config_path: Path | None):
    """The deadlines of dispatched cases (``dispatch:``), or the defaults without a config."""
    from zones.config import load_config
    from zones.config_sinks import DispatchSettings
    return load_config(config_path).dispatch if config_path else DispatchSettings()


def plate_rules(config_path: Path | None) -> PlateRules:
    """The plate grammar (``plates.pattern``, else China's; each camera's own where its ``plates:`` sets one) and
    the ladder (``enforcement:``) of the config, or the defaults without one: what the review app validates
    corrections and counts offences with."""
    from plates.grammar import grammar_for
    from zones.config import load_config
    from zones.config_enforcement import EXEMPT_ACTION, EnforcementSettings

    config = load_config(config_path) if config_path else None
    enforcement = config.enforcement if config else EnforcementSettings()

    def action(plate: str, offence: int, day) -> str:
        return EXEMPT_ACTION if enforcement.is_exempt(plate, day) else enforcement.action(offence)

    pattern = config.plates.pattern if config else None
    cameras = {camera.id: grammar_for(camera.plates.pattern).normalise for camera in config.cameras
               if camera.plates.pattern != pattern} if config else {}
    return PlateRules(grammar_for(pattern).normalise, enforcement.lookback, action, cameras)


def add_user(args: argparse.Namespace, console: Console) -> int:
    password = _password(args)
    if password is None:
        _error(f"no password given: pipe it with --password-stdin, set {PASSWORD_ENV}, or run in a terminal")
        return 2
    db = _refusing(console, lambda: Database(args.db))
    if db is None:
        return 2
    user = _refusing(console, lambda: Accounts(db).add_user(args.name, args.role, password, reset=args.reset,
                                                            district=args.district, grid=args.grid))
    if user is None:
        return 2
    unit = f" of {user.unit_label}" if user.is_officer else ""
    console.print(f"{'Updated' if args.reset else 'Added'} {user.role} {user.name!r}{unit} in {db.label}.",
                  highlight=False)
    return 0


def export_dataset(args: argparse.Namespace, console: Console) -> int:
    db = _refusing(console, lambda: Database(args.db))
    if db is None:
        return 2
    summary = DatasetExport(db, with_plates=args.with_plates).write_folder(args.out)
    console.print(f"Wrote {summary.sentence()} to {args.out} (train with data={args.out.resolve()}/data.yaml).",
                  highlight=False)
    return 0


def _password(args: argparse.Namespace) -> str | None:
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    if os.environ.get(PASSWORD_ENV):
        return os.environ[PASSWORD_ENV]
    if not sys.stdin.isatty():
        return None
    first = getpass.getpass(f"Password for {args.name}: ")
    if first != getpass.getpass("Again: "):
        _error("the two passwords differ; run the command again")
        sys.exit(2)
    return first


def _refusing(console: Console, make):
    """``make()``, or None after printing the one-sentence reason it was refused."""
    try:
        return make()
    except UserError as exc:
        _error(str(exc))
        return None


def _error(message: str) -> None:
    Console(stderr=True, soft_wrap=True).print(f"[red]error:[/red] {message}", highlight=False)


def _loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"
