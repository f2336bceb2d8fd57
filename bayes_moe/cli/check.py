"""``check``: read every file of the workspace and say what is whole; ``--salvage`` writes the runs that still read."""

from __future__ import annotations

import argparse
from pathlib import Path

from bayes_moe.cli.output import emit, workspace_path
from bayes_moe.cli.status import posterior_state
from bayes_moe.errors import InputError
from bayes_moe.files import replacing
from bayes_moe.ledger import Ledger, write_runs
from bayes_moe.workspace import POSTERIOR_FILE, load_campaign


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
            state = posterior_state(workspace, ledger)
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


def register(command) -> None:
    p = command("check", _cmd_check, "verify the workspace's files: ledger integrity, readable runs, campaign, "
                                     "posterior", reports=True)
    p.add_argument("--salvage", metavar="FILE.csv", help="write every run that still reads back whole to FILE.csv")
