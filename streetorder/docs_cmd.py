"""``streetorder docs``: (re)write the config reference, docs/CONFIG.md, from the config models."""

from __future__ import annotations

import argparse
from pathlib import Path

from rich.console import Console

from zones.reference import REFERENCE_PATH, render_reference


def add_parser(commands: argparse._SubParsersAction) -> None:
    p = commands.add_parser("docs", help="write the config reference (docs/CONFIG.md) from the config models",
                            description="Render the config reference from the config models and write it.")
    p.add_argument("--out", type=Path, default=REFERENCE_PATH, help=f"where to write it (default: {REFERENCE_PATH})")
    p.add_argument("--check", action="store_true", help="write nothing; exit 1 if the file is missing or stale")
    p.set_defaults(run=run)


def run(args: argparse.Namespace, console: Console) -> int:
    text = render_reference()
    current = args.out.read_text(encoding="utf-8") if args.out.is_file() else None
    if args.check:
        if current == text:
            console.print(f"{args.out} is up to date")
            return 0
        console.print(f"{args.out} is {'stale' if current else 'missing'}; run `streetorder docs` to rewrite it")
        return 1
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text, encoding="utf-8")
    console.print(f"wrote {args.out}" + (" (unchanged)" if current == text else ""))
    return 0
