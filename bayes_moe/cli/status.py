"""``status``: runs by status, compute spent, the latest runs, and whether the posterior is fresh.

Reads only (the ledger is opened read-only, so an archived workspace reads fine); loads ArviZ only when a posterior
is there to report.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from bayes_moe.cli.output import emit, table, workspace_path
from bayes_moe.errors import InputError
from bayes_moe.ledger import Ledger, damaged
from bayes_moe.workspace import POSTERIOR_FILE, load_campaign

STATUS_LAST = 10  # runs `status` lists unless --all
RUN_COLUMNS = ["id", "status", "r", "compute", "sparsity", "loss", "tokens", "executor", "label", "reason"]


def _cmd_status(args: argparse.Namespace) -> None:
    workspace = workspace_path(args)
    with Ledger.open(workspace, readonly=True) as ledger:
        damage = ledger.integrity_problems(limit=1, quick=True)  # a damaged page the queries below would skip
        if damage:
            raise damaged(ledger.path, damage[0])
        counts, runs = ledger.counts(), ledger.runs()
        fit = posterior_state(workspace, ledger)
    campaign = load_campaign(workspace)
    done = [run for run in runs if run.status == "done"]
    compute_done = sum(run.compute for run in done)
    per_level = {s: sum(run.sparsity == s for run in done) for s in sorted({run.sparsity for run in done})}
    shown = runs if args.all else runs[-STATUS_LAST:]
    payload = {
        "workspace": str(workspace), "campaign": campaign.name, "counts": counts,
        "compute_done": compute_done, "compute_budget": campaign.compute_budget,
        "compute_range": [min(r.compute for r in done), max(r.compute for r in done)] if done else None,
        "sparsities": {repr(s): n for s, n in per_level.items()},
        "posterior": fit,
        "runs": [run.to_dict() for run in shown],
    }
    lines = [
        f"workspace {workspace}: campaign {campaign.name!r}",
        "runs: " + ", ".join(f"{n} {status}" for status, n in counts.items()),
        f"compute done: {compute_done:.3g} FLOPs of the {campaign.compute_budget:.3g} budget "
        f"({compute_done / campaign.compute_budget:.1%})",
    ]
    if done:
        low, high = payload["compute_range"]
        lines.append(f"compute per done run: {low:.3g} to {high:.3g} FLOPs")
        lines.append("sparsities of done runs: " + ", ".join(f"{s:g} ({n})" for s, n in per_level.items()))
    if fit is None:
        lines.append("posterior: none yet (`bayes-moe fit`)")
    elif "error" in fit:
        lines.append(f"posterior: UNREADABLE: {fit['error']}")
    else:
        lines.append(f"posterior: {'fresh' if fit['fresh'] else 'STALE: the done runs changed since the fit; refit'}, "
                     f"{'converged' if fit['converged'] else 'NOT converged'}")
    if runs:
        lines += ["", table(payload["runs"], RUN_COLUMNS)]
        if len(shown) < len(runs):
            lines.append(f"(last {len(shown)} of {len(runs)} runs; --all lists every run)")
    emit(args, payload, "\n".join(lines))


def posterior_state(workspace: Path, ledger: Ledger) -> dict | None:
    """Whether the workspace's posterior was fitted on the ledger's current done runs; None if none, and
    ``{"error": why}`` if it cannot be read (status reports a damaged posterior, it does not fail on it)."""
    if not (workspace / POSTERIOR_FILE).is_file():
        return None
    from bayes_moe import fitting, posterior  # imports ArviZ: only when there is a posterior to read

    try:
        idata = posterior.load(workspace)
    except InputError as error:
        return {"error": str(error)}
    return {"fresh": fitting.staleness(workspace, idata, ledger) is None, "converged": posterior.converged(idata)}


def register(command) -> None:
    p = command("status", _cmd_status, "runs by status, compute spent, the latest runs", reports=True)
    p.add_argument("--all", action="store_true", help=f"list every run, not only the last {STATUS_LAST}")
