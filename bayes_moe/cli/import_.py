"""``import``: import measured runs from a CSV into the workspace's ledger, all rows or none.
(The module's name has a trailing underscore: ``import`` is a Python keyword.)"""

from __future__ import annotations

import argparse

from bayes_moe.cli.output import emit, workspace_path
from bayes_moe.ledger import Ledger


def _cmd_import(args: argparse.Namespace) -> None:
    with Ledger.open(workspace_path(args)) as ledger:
        ids = ledger.import_csv(args.file)
        payload = {"file": args.file, "ledger": str(ledger.path), "imported": ids}
        emit(args, payload, f"imported {len(ids)} runs (ids {ids[0]}-{ids[-1]}) from {args.file} into {ledger.path}")


def register(command) -> None:
    p = command("import", _cmd_import, "import measured runs from a CSV (all or nothing)", reports=True)
    p.add_argument("file", metavar="FILE.csv", help="columns r, compute, sparsity, loss (+ n_active, n_total, "
                                                    "tokens, seed, label)")
