"""``streetorder``: the command line. Each subcommand lives in its own module with ``add_parser`` and ``run``."""

from __future__ import annotations

import argparse
import logging
import sys

from rich.console import Console

from contracts.disk import disk_problem
from contracts.errors import UserError
from contracts.urls import mask_credentials
from streetorder import (
    bench_cmd,
    check_cmd,
    docs_cmd,
    evaluate_cmd,
    models_cmd,
    process_cmd,
    purge_cmd,
    review_cmd,
    run_cmd,
    sinks_cmd,
)
from streetorder.logs import setup_logging

COMMANDS = (process_cmd, run_cmd, check_cmd, review_cmd, sinks_cmd, purge_cmd, bench_cmd, evaluate_cmd, models_cmd,
            docs_cmd)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="streetorder", description="Street-order enforcement from camera video.")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in COMMANDS:
        module.add_parser(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    setup_logging(args.verbose)
    console = Console()
    if not console.is_terminal:
        console = Console(width=max(console.width, 140))  # logs and CI: do not squeeze the tables
    try:
        return args.run(args, console)
    except UserError as exc:
        Console(stderr=True, soft_wrap=True).print(f"[red]error:[/red] {mask_credentials(exc)}", highlight=False)
        return 2
    except OSError as exc:  # a disk or file-system failure no command put in words: still one sentence, no traceback
        logging.getLogger("streetorder").debug("file-system error", exc_info=True)
        Console(stderr=True, soft_wrap=True).print(f"[red]error:[/red] {mask_credentials(disk_problem(exc))}",
                                                   highlight=False)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
