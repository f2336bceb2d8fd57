"""The workspace and its ledger of runs: ``init``, ``import``, ``export``, ``status``, ``add``.

Light commands: they read and write the SQLite ledger and load ArviZ only when a posterior is there to report.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from bayes_moe import arch, config, flops
from bayes_moe.cli.output import emit, table, workspace_path
from bayes_moe.errors import InputError
from bayes_moe.ledger import POSTERIOR_FILE, RUNS_FILE, STATUSES, Ledger, create_workspace, parse_value

STATUS_LAST = 10  # runs `status` lists unless --all
RUN_COLUMNS = ["id", "status", "r", "compute", "sparsity", "loss", "tokens", "executor", "label", "reason"]


def _cmd_init(args: argparse.Namespace) -> None:
    workspace = workspace_path(args)
    ids = create_workspace(workspace, Path(args.source) if args.source else None)
    campaign = config.load_campaign(workspace)
    seeded = f"{len(ids)} runs imported from {Path(args.source) / RUNS_FILE}" if ids else "no runs"
    payload = {"workspace": str(workspace), "campaign": campaign.name, "imported": ids}
    emit(args, payload, f"created workspace {workspace}: campaign {campaign.name!r}, {seeded}")


def _cmd_import(args: argparse.Namespace) -> None:
    with Ledger.open(workspace_path(args)) as ledger:
        ids = ledger.import_csv(args.file)
        payload = {"file": args.file, "ledger": str(ledger.path), "imported": ids}
        emit(args, payload, f"imported {len(ids)} runs (ids {ids[0]}-{ids[-1]}) from {args.file} into {ledger.path}")


def _cmd_export(args: argparse.Namespace) -> None:
    with Ledger.open(workspace_path(args)) as ledger:
        count = ledger.export_csv(args.file, status=args.status)
    which = "" if args.status is None else f" {'/'.join(args.status)}"
    emit(args, {"file": args.file, "exported": count}, f"exported {count}{which} runs to {args.file}")


def _cmd_status(args: argparse.Namespace) -> None:
    workspace = workspace_path(args)
    with Ledger.open(workspace) as ledger:
        counts, runs = ledger.counts(), ledger.runs()
        fit = _posterior_state(workspace, ledger)
    campaign = config.load_campaign(workspace)
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
    else:
        lines.append(f"posterior: {'fresh' if fit['fresh'] else 'STALE: the done runs changed since the fit; refit'}, "
                     f"{'converged' if fit['converged'] else 'NOT converged'}")
    if runs:
        lines += ["", table(payload["runs"], RUN_COLUMNS)]
        if len(shown) < len(runs):
            lines.append(f"(last {len(shown)} of {len(runs)} runs; --all lists every run)")
    emit(args, payload, "\n".join(lines))


def _posterior_state(workspace: Path, ledger: Ledger) -> dict | None:
    """Whether the workspace's posterior was fitted on the ledger's current done runs; None if none."""
    if not (workspace / POSTERIOR_FILE).is_file():
        return None
    from bayes_moe import posterior  # imports ArviZ: only when there is a posterior to read

    idata = posterior.load(workspace)
    return {"fresh": not posterior.is_stale(idata, ledger), "converged": posterior.converged(idata)}


def _cmd_add(args: argparse.Namespace) -> None:
    workspace = workspace_path(args)
    preset = args.preset or config.load_campaign(workspace).preset
    with Ledger.open(workspace) as ledger:
        solved = arch.solve_preset(args.r, args.sparsity, preset)
        tokens = flops.tokens_for_compute(args.compute, solved.c_token)
        run_id = ledger.add_run(solved.r, args.compute, solved.sparsity, arch=solved.to_dict(), tokens=tokens,
                              n_active=solved.n_active, n_total=solved.n_total, seed=args.seed, label=args.label,
                              metrics={"requested_r": args.r, "requested_sparsity": args.sparsity, "preset": preset})
    payload = {"id": run_id, "r": solved.r, "compute": args.compute, "sparsity": solved.sparsity,
               "n_active": solved.n_active, "n_total": solved.n_total, "tokens": tokens, "arch": solved.to_dict(),
               "preset": preset, "requested": {"r": args.r, "sparsity": args.sparsity}}
    emit(args, payload, f"proposed run {run_id}: r={solved.r:.4g} (requested {args.r:g}), compute={args.compute:.4g}, "
                        f"sparsity={solved.sparsity:.4g}, preset {preset}, {tokens:.4g} tokens, "
                        f"n_active={solved.n_active:,}, n_total={solved.n_total:,}")


def _measured(name: str):
    """An argparse type that checks a flag as the ledger checks field ``name``, keeping its message."""
    def parse(text: str):
        try:
            return parse_value(name, text)
        except InputError as error:
            raise argparse.ArgumentTypeError(str(error)) from None

    parse.__name__ = name
    return parse


def register(command) -> None:
    p = command("init", _cmd_init, "create a workspace (ledger + campaign.toml), optionally from a campaign folder",
                reports=True)
    p.add_argument("--from", dest="source", metavar="DIR",
                   help=f"campaign folder: copy its {config.CAMPAIGN_FILE}, import its {RUNS_FILE}")
    p = command("import", _cmd_import, "import measured runs from a CSV (all or nothing)", reports=True)
    p.add_argument("file", metavar="FILE.csv", help="columns r, compute, sparsity, loss (+ n_active, n_total, "
                                                    "tokens, seed, label)")
    p = command("export", _cmd_export, "write the runs to a CSV", reports=True)
    p.add_argument("file", metavar="FILE.csv")
    p.add_argument("--status", nargs="+", choices=STATUSES, help="only runs with these statuses")
    p = command("status", _cmd_status, "runs by status, compute spent, the latest runs", reports=True)
    p.add_argument("--all", action="store_true", help=f"list every run, not only the last {STATUS_LAST}")
    p = command("add", _cmd_add, "record a hand-chosen run as proposed; prints its id", reports=True)
    p.add_argument("--r", type=_measured("r"), required=True, help="expert/attention FLOPs ratio C_E/C_A")
    p.add_argument("--compute", type=_measured("compute"), required=True, help="total training FLOPs")
    p.add_argument("--sparsity", type=_measured("sparsity"), required=True, help="S = (E - E_act) / E")
    p.add_argument("--preset", help=f"size preset (default: the campaign's): {', '.join(arch.PRESETS)}")
    p.add_argument("--label", type=_measured("label"))
    p.add_argument("--seed", type=_measured("seed"))
