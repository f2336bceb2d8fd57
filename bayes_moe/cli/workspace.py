"""The workspace and its ledger of runs: ``init``, ``import``, ``export``, ``status``, ``add``, ``check``.

Light commands: they read and write the SQLite ledger and load ArviZ only when a posterior is there to report.
Those that only read (export, status, check) open the ledger read-only, so an archived workspace reads fine.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from bayes_moe import arch, config, flops, regime
from bayes_moe.cli.output import emit, measured, table, workspace_path
from bayes_moe.errors import InputError
from bayes_moe.files import replacing
from bayes_moe.ledger import STATUSES, Ledger, damaged, write_runs
from bayes_moe.workspace import POSTERIOR_FILE, RUNS_FILE, create_workspace, load_campaign

STATUS_LAST = 10  # runs `status` lists unless --all
RUN_COLUMNS = ["id", "status", "r", "compute", "sparsity", "loss", "tokens", "executor", "label", "reason"]


def _cmd_init(args: argparse.Namespace) -> None:
    workspace = workspace_path(args)
    ids = create_workspace(workspace, Path(args.source) if args.source else None)
    campaign = load_campaign(workspace)
    seeded = f"{len(ids)} runs imported from {Path(args.source) / RUNS_FILE}" if ids else "no runs"
    payload = {"workspace": str(workspace), "campaign": campaign.name, "imported": ids}
    emit(args, payload, f"created workspace {workspace}: campaign {campaign.name!r}, {seeded}")


def _cmd_import(args: argparse.Namespace) -> None:
    with Ledger.open(workspace_path(args)) as ledger:
        ids = ledger.import_csv(args.file)
        payload = {"file": args.file, "ledger": str(ledger.path), "imported": ids}
        emit(args, payload, f"imported {len(ids)} runs (ids {ids[0]}-{ids[-1]}) from {args.file} into {ledger.path}")


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


def _cmd_status(args: argparse.Namespace) -> None:
    workspace = workspace_path(args)
    with Ledger.open(workspace, readonly=True) as ledger:
        damage = ledger.integrity_problems(limit=1, quick=True)  # a damaged page the queries below would skip
        if damage:
            raise damaged(ledger.path, damage[0])
        counts, runs = ledger.counts(), ledger.runs()
        fit = _posterior_state(workspace, ledger)
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


def _posterior_state(workspace: Path, ledger: Ledger) -> dict | None:
    """Whether the workspace's posterior was fitted on the ledger's current done runs; None if none, and
    ``{"error": why}`` if it cannot be read (status reports a damaged posterior, it does not fail on it)."""
    if not (workspace / POSTERIOR_FILE).is_file():
        return None
    from bayes_moe import posterior  # imports ArviZ: only when there is a posterior to read

    try:
        idata = posterior.load(workspace)
    except InputError as error:
        return {"error": str(error)}
    return {"fresh": not posterior.is_stale(idata, ledger), "converged": posterior.converged(idata)}


def _cmd_add(args: argparse.Namespace) -> None:
    workspace = workspace_path(args)
    campaign = load_campaign(workspace)
    if not args.force:
        _check_in_space(args, campaign, workspace)
    # --preset overrides the campaign's sizing: its preset, or tokens per parameter from the run's compute
    sizing = ({"preset": args.preset or campaign.preset} if args.preset or campaign.preset
              else {"tokens_per_param": campaign.tokens_per_param})
    solved = arch.solve_run(args.r, args.compute, args.sparsity, **sizing)
    sized = f"preset {sizing['preset']}" if "preset" in sizing else f"{sizing['tokens_per_param']:g} tokens per parameter"
    if not args.force:
        regime.check_planned(campaign, solved, args.compute, solved.sparsity, workspace)
    tokens = flops.tokens_for_compute(args.compute, solved.c_token)
    if tokens < solved.n_ctx:
        raise InputError(f"--compute {args.compute:g} buys {tokens:.3g} tokens of this model ({sized}) "
                         f"({solved.c_token:.3g} FLOPs per token): a run needs at least one sequence of "
                         f"{solved.n_ctx} tokens, {3 * solved.c_token * solved.n_ctx:.3g} FLOPs")
    with Ledger.open(workspace) as ledger:
        run_id = ledger.add_run(solved.r, args.compute, solved.sparsity, arch=solved.to_dict(), tokens=tokens,
                              n_active=solved.n_active, n_total=solved.n_total, seed=args.seed, label=args.label,
                              metrics={"requested_r": args.r, "requested_sparsity": args.sparsity, **sizing})
    payload = {"id": run_id, "r": solved.r, "compute": args.compute, "sparsity": solved.sparsity,
               "n_active": solved.n_active, "n_total": solved.n_total, "tokens": tokens, "arch": solved.to_dict(),
               **sizing, "requested": {"r": args.r, "sparsity": args.sparsity}}
    emit(args, payload, f"proposed run {run_id}: r={solved.r:.4g} (requested {args.r:g}), compute={args.compute:.4g}, "
                        f"sparsity={solved.sparsity:.4g}, {sized}, {tokens:.4g} tokens, "
                        f"n_active={solved.n_active:,}, n_total={solved.n_total:,}")


def _cmd_check(args: argparse.Namespace) -> None:
    """Read every file of the workspace and say what is whole: the ledger by SQLite's integrity check and
    by reading each run back, the campaign.toml, the posterior. Exit 2 when something is damaged."""
    workspace = workspace_path(args)
    report = {"workspace": str(workspace), "ledger": _ledger_health(workspace, args.salvage)}
    try:
        report["campaign"] = {"ok": True, "name": load_campaign(workspace).name}
    except InputError as error:
        report["campaign"] = {"ok": False, "error": str(error)}
    state = None
    if report["ledger"]["ok"]:
        with Ledger.open(workspace, readonly=True) as ledger:
            state = _posterior_state(workspace, ledger)
    elif (workspace / POSTERIOR_FILE).is_file():
        state = {"error": "not checked: the ledger it belongs to is damaged"}
    report["posterior"] = {"ok": state is None or "error" not in state, "present": state is not None, **(state or {})}
    report["ok"] = all(report[part]["ok"] for part in ("ledger", "campaign", "posterior"))
    ledger = report["ledger"]
    lines = [f"workspace {workspace}:"]
    if "error" in ledger:
        lines.append(f"  ledger: {ledger['error']}")
    else:
        unreadable = ledger["unreadable_ids"]
        lines.append(f"  ledger: {'ok' if ledger['ok'] else 'DAMAGED'}: {ledger['readable']} runs readable"
                     + (f", {len(unreadable)} not (ids {_id_ranges(unreadable)})" if unreadable else ""))
        lines += [f"    integrity_check: {problem}" for problem in ledger["problems"]]
        if "salvaged" in ledger:
            lines.append(f"    {ledger['salvaged']} readable runs written to {args.salvage}")
        elif not ledger["ok"]:
            lines.append("    `bayes-moe check --salvage FILE.csv` writes the readable runs to a CSV that `init` + "
                         "`import` take back; or restore the ledger from a copy")
    lines.append(f"  campaign.toml: {'ok' if report['campaign']['ok'] else report['campaign']['error']}")
    posterior = report["posterior"]
    verdict = posterior.get("error") or ("ok, " + ("fresh" if posterior.get("fresh") else "stale"))
    lines.append(f"  posterior.nc: {verdict if posterior['present'] else 'none'}")
    emit(args, report, "\n".join(lines))
    if not report["ok"]:
        raise InputError(f"workspace {workspace} has damaged or missing files (above)")


def _ledger_health(workspace: Path, salvage: str | None) -> dict:
    """``ok``, SQLite's integrity findings, the number of readable runs and the ids of unreadable ones (those
    written to ``salvage`` if given); ``error`` if the ledger will not open."""
    try:
        with Ledger.open(workspace, readonly=True) as ledger:
            problems = ledger.integrity_problems()
            runs, unreadable = ledger.read_back() if problems or salvage else (ledger.runs(), [])
    except InputError as error:
        return {"ok": False, "error": str(error)}
    health = {"ok": not problems, "problems": problems, "readable": len(runs), "unreadable_ids": unreadable}
    if salvage:
        with replacing(salvage) as handle:
            health["salvaged"] = write_runs(handle, runs)
    return health


def _id_ranges(ids: list[int]) -> str:
    """``[1, 2, 3, 7]`` as ``1-3, 7``."""
    ranges, start = [], None
    for i, run_id in enumerate(ids):
        start = run_id if start is None else start
        if i + 1 == len(ids) or ids[i + 1] != run_id + 1:
            ranges.append(f"{start}-{run_id}" if start != run_id else str(run_id))
            start = None
    return ", ".join(ranges)


def _check_in_space(args: argparse.Namespace, campaign: config.Campaign, workspace: Path) -> None:
    """``InputError`` if the run lies outside the campaign's space: a hand-chosen run there is usually a typo
    (``--compute 1e40``), and one the design never meant is better recorded on purpose (``--force``)."""
    where = f"the campaign's [space] in {workspace / config.CAMPAIGN_FILE}"
    for flag, value, (low, high) in (("--r", args.r, campaign.r_bounds),
                                     ("--compute", args.compute, campaign.compute_bounds)):
        if not low <= value <= high:
            raise InputError(f"{flag} {value:g} is outside {where}: [{low:g}, {high:g}]; widen it there, "
                             f"or pass --force to record the run anyway")
    if all(abs(args.sparsity - level) > arch.SPARSITY_TOLERANCE for level in campaign.sparsities):
        raise InputError(f"--sparsity {args.sparsity:g} is not one of the sparsities of {where} "
                         f"({', '.join(f'{s:g}' for s in campaign.sparsities)}); add it there, or pass --force")


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
    p.add_argument("--r", type=measured("r"), required=True, help="expert/attention FLOPs ratio C_E/C_A")
    p.add_argument("--compute", type=measured("compute"), required=True, help="total training FLOPs")
    p.add_argument("--sparsity", type=measured("sparsity"), required=True, help="S = (E - E_act) / E")
    p.add_argument("--preset", help=f"size preset (default: the campaign's): {', '.join(arch.PRESETS)}")
    p.add_argument("--label", type=measured("label"))
    p.add_argument("--seed", type=measured("seed"))
    p.add_argument("--force", action="store_true", help="record a run outside the campaign's [space] or [regime]")
    p = command("check", _cmd_check, "verify the workspace's files: ledger integrity, readable runs, campaign, "
                                     "posterior", reports=True)
    p.add_argument("--salvage", metavar="FILE.csv", help="write every run that still reads back whole to FILE.csv")
