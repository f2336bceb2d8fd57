"""``next``: propose the next runs from the posterior (or a space-filling batch) and record them as proposed."""

from __future__ import annotations

import argparse

from bayes_moe.cli.output import emit, table, workspace_path
from bayes_moe.ledger import Ledger
from bayes_moe.strategy_names import DEFAULT_STRATEGY, STRATEGY_NAMES

NEXT_COLUMNS = ["id", "r", "compute", "sparsity", "n_active", "tokens", "predicted_loss", "loss_lower",
                "loss_upper", "information_per_flop"]


def _cmd_next(args: argparse.Namespace) -> None:
    if args.unless_pending:
        with Ledger.open(workspace_path(args)) as ledger:
            pending = ledger.runs("proposed")
        if pending:
            rows = [{"id": run.id, "r": run.r, "compute": run.compute, "sparsity": run.sparsity,
                     "n_active": run.n_active, "tokens": run.tokens, "label": run.label} for run in pending]
            emit(args, rows, f"{len(rows)} proposed run(s) not yet run, so none proposed (--unless-pending)\n"
                 + table(rows, list(rows[0])) + _run_commands(args, rows))
            return
    from bayes_moe.design.proposals import propose_next  # BoTorch loads only for this command

    proposals, used = propose_next(workspace_path(args), batch=args.batch, strategy=args.strategy,
                                   force=args.force, seed=args.seed)
    rows = [p.to_dict() for p in proposals]
    note = "" if used == args.strategy else f" (no posterior yet: a space-filling {used} batch instead of {args.strategy})"
    columns = [c for c in NEXT_COLUMNS if any(row[c] is not None for row in rows)]
    emit(args, rows, f"proposed {len(rows)} run(s) by {used}{note}\n" + table(rows, columns) + _run_commands(args, rows))


def _run_commands(args: argparse.Namespace, rows: list[dict]) -> str:
    """The commands that run ``rows``, naming the workspace unless it is the default one."""
    given = getattr(args, "workspace", None)
    workspace = "" if given is None else f" --workspace {given}"
    return "\n\nrun them with:\n" + "\n".join(f"  bayes-moe{workspace} run {row['id']}" for row in rows)


def register(command) -> None:
    p = command("next", _cmd_next, "propose the next runs and record them as proposed", reports=True)
    p.add_argument("--batch", type=int, default=1, help="runs to propose, jointly informative (1)")
    p.add_argument("--strategy", choices=STRATEGY_NAMES, default=DEFAULT_STRATEGY,
                   help=f"how runs are chosen ({DEFAULT_STRATEGY})")
    p.add_argument("--force", action="store_true", help="propose even from a stale or unconverged posterior")
    p.add_argument("--seed", type=int, default=0, help="seed of the space-filling strategies (0)")
    p.add_argument("--unless-pending", action="store_true",
                   help="propose nothing while proposed runs are waiting; list them instead")
