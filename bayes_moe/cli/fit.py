"""``fit``: fit the r* model to the workspace's finished runs and write posterior.nc, with its diagnostics.

PyMC loads inside the command, so the light commands and ``--help`` stay fast.
"""

from __future__ import annotations

import argparse
import sys

from bayes_moe import regime
from bayes_moe.cli.flags import fit_options, law_flags, model_sampling_flags
from bayes_moe.cli.output import emit, noise_line, table, workspace_path
from bayes_moe.ledger import Ledger
from bayes_moe.workspace import POSTERIOR_FILE, load_campaign


def _cmd_fit(args: argparse.Namespace) -> None:
    from bayes_moe import fitting, posterior, sampling  # imports PyMC: only when this command runs

    workspace = workspace_path(args)
    idata = fitting.fresh_posterior(workspace) if args.if_stale else None
    refitted = idata is None
    if refitted:
        idata = fitting.fit_workspace(workspace, form=args.form, penalty=args.penalty, **fit_options(args))
    path = workspace / POSTERIOR_FILE
    report = {k: idata.attrs[k] for k in sampling.DIAGNOSTICS}
    report["converged"] = posterior.converged(idata)
    payload = {"posterior": str(path), "refitted": refitted, "n_runs": int(idata.attrs["n_runs"]),
               "form": idata.attrs["form"], "penalty": idata.attrs["penalty"], **report}
    payload["noise"] = posterior.noise_summary(idata)
    if "form_choice" in idata.attrs:
        payload["form_choice"] = idata.attrs["form_choice"]
    floor = idata.attrs.get("min_compute")
    if floor is not None:
        payload["min_compute"] = float(floor)
    choice = f"\nform chosen by PSIS-LOO: {payload['form_choice']}" if "form_choice" in payload else ""
    if not report["converged"]:
        print("bayes-moe fit: warning: posterior NOT converged (needs r-hat <= 1.01, ESS >= 400, no divergences); "
              "rerun with more --draws/--tune or --chains", file=sys.stderr)
    with Ledger.open(workspace, readonly=True) as ledger:  # fitted runs outside the [regime] are flagged, not dropped
        regime.warn_flagged("fit", load_campaign(workspace), ledger.runs("done", floor))
    what = "fit" if refitted else "posterior is fresh, kept: fit on"
    runs = f"{payload['n_runs']} runs" + ("" if floor is None else f" at or above [model] min_compute = {floor:g}")
    emit(args, payload, f"{what} {runs} ({payload['form']} law, {payload['penalty']} penalty) "
                        f"-> {path}{choice}\n" + table([report], list(report)) + "\n" + noise_line(payload["noise"]))


def register(command) -> None:
    p = command("fit", _cmd_fit, "fit the r* model to the finished runs; writes posterior.nc", reports=True)
    model_sampling_flags(p)
    law_flags(p)
    p.add_argument("--if-stale", action="store_true",
                   help="keep the saved posterior if it was fit on the ledger's current runs")
