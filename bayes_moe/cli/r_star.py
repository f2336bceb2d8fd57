"""The r* model of a workspace: ``fit``, ``r-star``, ``compare``, ``validate``.

Each command loads PyMC or ArviZ inside its function, so the light commands and ``--help`` stay fast.
"""

from __future__ import annotations

import argparse
import math
import sys

from bayes_moe import regime
from bayes_moe.cli.fitting import SAMPLERS, fit_options, sampling_flags
from bayes_moe.cli.output import emit, measured, table, workspace_path
from bayes_moe.errors import InputError
from bayes_moe.forms import DEFAULT_FORM, DEFAULT_PENALTY, FORM_CHOICES, PENALTIES, penalty_of
from bayes_moe.ledger import Ledger
from bayes_moe.workspace import CAMPAIGN_FILE, POSTERIOR_FILE, load_campaign


def _diagnostics_text(report: dict) -> str:
    return table([report], ["max_rhat", "min_ess_bulk", "min_ess_tail", "divergences", "converged"])


def _cmd_fit(args: argparse.Namespace) -> None:
    from bayes_moe import fitting, posterior  # imports PyMC: only when this command runs

    workspace = workspace_path(args)
    idata = fitting.fresh_posterior(workspace) if args.if_stale else None
    refitted = idata is None
    if refitted:
        idata = fitting.fit_workspace(workspace, form=args.form, penalty=args.penalty, **fit_options(args))
    path = workspace / POSTERIOR_FILE
    report = {k: idata.attrs[k] for k in ("max_rhat", "min_ess_bulk", "min_ess_tail", "divergences")}
    report["converged"] = posterior.converged(idata)
    payload = {"posterior": str(path), "refitted": refitted, "n_runs": int(idata.attrs["n_runs"]),
               "form": idata.attrs["form"], "penalty": idata.attrs["penalty"], **report}
    if "form_choice" in idata.attrs:
        payload["form_choice"] = idata.attrs["form_choice"]
    choice = f"\nform chosen by PSIS-LOO: {payload['form_choice']}" if "form_choice" in payload else ""
    if not report["converged"]:
        print("bayes-moe fit: warning: posterior NOT converged (needs r-hat <= 1.01, ESS >= 400, no divergences); "
              "rerun with more --draws/--tune or --chains", file=sys.stderr)
    with Ledger.open(workspace, readonly=True) as ledger:  # runs outside the [regime] are flagged, not dropped
        regime.warn_flagged("fit", load_campaign(workspace), ledger.runs("done"))
    what = "fit" if refitted else "posterior is fresh, kept: fit on"
    emit(args, payload, f"{what} {payload['n_runs']} runs ({payload['form']} law, {payload['penalty']} penalty) "
                        f"-> {path}{choice}\n" + _diagnostics_text(report))


def _cmd_r_star(args: argparse.Namespace) -> None:
    from bayes_moe import posterior

    workspace = workspace_path(args)
    if args.targets == (args.compute is not None or args.sparsity is not None):
        raise InputError("give --compute and --sparsity, or --targets for the campaign's target points")
    if args.targets:
        points = list(load_campaign(workspace).targets)
    elif args.compute is None or args.sparsity is None:
        raise InputError("r-star needs both --compute and --sparsity")
    else:
        points = [(args.compute, args.sparsity)]
    idata = posterior.load(workspace)
    with Ledger.open(workspace, readonly=True) as ledger:
        stale = posterior.is_stale(idata, ledger)
        regime.warn_flagged("r-star", load_campaign(workspace), ledger.runs("done"))
        measured_computes = [run.compute for run in ledger.runs("done")]
    _warn_extrapolation([c for c, _ in points], measured_computes, workspace)
    compute, sparsity = ([p[i] for p in points] for i in (0, 1))
    interval = posterior.r_star(idata, compute, sparsity, prob=args.prob)
    rows = [{"compute": c, "sparsity": s, "prob": args.prob,
             **{k: float(interval[k].values[i]) for k in ("median", "lower", "upper")},
             "stale": stale, "converged": posterior.converged(idata), "law_settled": posterior.law_settled(idata)}
            for i, (c, s) in enumerate(points)]
    if stale:
        print("bayes-moe r-star: warning: the posterior is stale (the ledger changed since the fit): run "
              "`bayes-moe fit`", file=sys.stderr)
    if not posterior.converged(idata):
        print("bayes-moe r-star: warning: the posterior did not converge: treat the interval with care",
              file=sys.stderr)
    if not posterior.law_settled(idata):
        print(f"bayes-moe r-star: warning: PSIS-LOO does not yet tell the laws apart ({idata.attrs['form_choice']}); "
              f"the interval assumes the {idata.attrs['form']} law", file=sys.stderr)
    text = "\n".join(f"r* at C={row['compute']:.3g} FLOPs, S={row['sparsity']:g}: {row['median']:.4g} "
                     f"({args.prob:g} interval {row['lower']:.4g} .. {row['upper']:.4g})" for row in rows)
    emit(args, rows if args.targets else rows[0], text)


def _warn_extrapolation(computes: list[float], measured: list[float], workspace) -> None:
    """Warn of a compute beyond what the campaign set out to predict: above both its runs and its targets
    (the targets are the extrapolation the campaign is for), or below its smallest run."""
    targets = [c for c, _ in load_campaign(workspace).targets] if (workspace / CAMPAIGN_FILE).is_file() else []
    if not measured:
        return
    low, high = min(measured), max(measured + targets)
    for compute in sorted({c for c in computes if not low <= c <= high}):
        edge = high if compute > high else low
        print(f"bayes-moe r-star: warning: C={compute:.3g} lies {abs(math.log10(compute / edge)):.1f} decades "
              f"{'above' if compute > high else 'below'} the {'runs and targets' if compute > high else 'runs'} "
              f"({edge:.3g} FLOPs): r* there is the law's extrapolation, not a measurement", file=sys.stderr)


def _cmd_compare(args: argparse.Namespace) -> None:
    from bayes_moe import model

    with Ledger.open(workspace_path(args), readonly=True) as ledger:

        runs = ledger.to_dataset()
    comparison, verdict = model.compare_forms(runs, **fit_options(args))
    columns = ["rank", "elpd_loo", "se", "elpd_diff", "dse", "p_loo", "weight", "warning"]
    rows = [{"variant": name, **{c: row[c] for c in columns}} for name, row in comparison.iterrows()]
    emit(args, {"variants": rows, "verdict": verdict},
         table(rows, ["variant"] + columns) + f"\n\nverdict: {verdict}")


def _cmd_validate(args: argparse.Namespace) -> None:
    from bayes_moe import posterior

    with Ledger.open(workspace_path(args)) as ledger:
        runs = ledger.to_dataset()
    law = _law(args)
    report = posterior.hold_out_validation(runs, args.hold_out_sparsity, **law, **fit_options(args))
    emit(args, report, f"held out S={args.hold_out_sparsity:g} ({report['n_held_out']} runs), refit on "
                       f"{report['n_fit']} runs ({law['form']} law, {penalty_of(**law)} penalty)\n"
                       + table([report], ["rmse", "mean_abs_error", "coverage_50", "coverage_90", "converged"]))


def _law(args: argparse.Namespace) -> dict:
    """The r* law asked for: ``--form``/``--penalty``, else the workspace campaign's [model]."""
    from bayes_moe import fitting

    return fitting.fit_law(workspace_path(args), args.form, args.penalty)


def _law_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("--form", choices=FORM_CHOICES,
                   help="r* law: power (the paper's, beta_r > 0), curved, signed (beta_r of either sign), two-term "
                        "(docs/paper.md point 1: r* from two power laws' first-order condition) or auto (power or "
                        f"two-term, whichever PSIS-LOO prefers); default: the campaign's [model] form, else {DEFAULT_FORM}")
    p.add_argument("--penalty", choices=PENALTIES,
                   help=f"loss valley around r*; default: the campaign's [model] penalty, else {DEFAULT_PENALTY}; "
                        "the two-term form's follows from its surface")


def _sampling_flags(p: argparse.ArgumentParser) -> None:
    sampling_flags(p, choices=SAMPLERS, help="NUTS backend (default nutpie)")


def register(command) -> None:
    p = command("fit", _cmd_fit, "fit the r* model to the finished runs; writes posterior.nc", reports=True)
    _sampling_flags(p)
    _law_flags(p)
    p.add_argument("--if-stale", action="store_true",
                   help="keep the saved posterior if it was fit on the ledger's current runs")
    p = command("r-star", _cmd_r_star, "r* with a credible interval at any compute and sparsity", reports=True)
    p.add_argument("--compute", type=measured("compute"), help="total training FLOPs")
    p.add_argument("--sparsity", type=measured("sparsity"), help="S = (E - E_act) / E, 0 <= S < 1")
    p.add_argument("--targets", action="store_true", help="every target point of the campaign (a JSON list)")
    p.add_argument("--prob", type=float, default=0.9, help="equal-tailed interval probability (0.9)")
    p = command("compare", _cmd_compare, "PSIS-LOO: power law vs curved and signed laws, asymmetric vs symmetric valley",
                reports=True)
    _sampling_flags(p)
    p = command("validate", _cmd_validate, "refit without one sparsity and score its predicted losses",
                reports=True)
    p.add_argument("--hold-out-sparsity", type=float, required=True, help="the sparsity level to hold out")
    _sampling_flags(p)
    _law_flags(p)
