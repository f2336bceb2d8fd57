"""``export``: write the workspace's runs to a CSV (atomically), or to stdout; the ledger is opened read-only."""

from __future__ import annotations

import argparse
import sys

from bayes_moe.cli.output import emit, workspace_path
from bayes_moe.ledger import STATUSES, Ledger


def _cmd_export(args: argparse.Namespace) -> None:
    to_stdout = args.file == "-"
    with Ledger.open(workspace_path(args), readonly=True) as ledger:
        if to_stdout:
            count = ledger.write_csv(sys.stdout, status=args.status)
        else:
            count = ledger.export_csv(args.file, status=args.status)
    which = "" if args.status is None else f" {'/'.join(args.status)}"
    emit(args, {"file": args.file, "exported": count},
         f"exported {count}{which} runs to {'stdout' if to_stdout else args.file}",
         file=sys.stderr if to_stdout else None)  # stdout holds the CSV


def register(command) -> None:
    p = command("export", _cmd_export, "write the runs to a CSV", reports=True)
    p.add_argument("file", metavar="FILE.csv")
    p.add_argument("--status", nargs="+", choices=STATUSES, help="only runs with these statuses")
