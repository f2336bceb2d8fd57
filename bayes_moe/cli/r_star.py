"""``r-star``: the median and credible interval of r* at any compute and sparsity, from the saved posterior."""

from __future__ import annotations

import argparse
import math
import sys

from bayes_moe import regime
from bayes_moe.cli.output import emit, measured, workspace_path
from bayes_moe.errors import InputError
from bayes_moe.ledger import Ledger
from bayes_moe.workspace import CAMPAIGN_FILE, load_campaign


def _cmd_r_star(args: argparse.Namespace) -> None:
    from bayes_moe import fitting, posterior

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
        stale = fitting.staleness(workspace, idata, ledger)
        fitted = ledger.runs("done", idata.attrs.get("min_compute"))  # those above the fit's floor
        regime.warn_flagged("r-star", load_campaign(workspace), fitted)
        measured_computes = [run.compute for run in fitted]
    _warn_extrapolation([c for c, _ in points], measured_computes, workspace)
    compute, sparsity = ([p[i] for p in points] for i in (0, 1))
    interval = posterior.r_star(idata, compute, sparsity, prob=args.prob)
    rows = [{"compute": c, "sparsity": s, "prob": args.prob,
             **{k: float(interval[k].values[i]) for k in ("median", "lower", "upper")},
             "stale": stale is not None, "converged": posterior.converged(idata),
             "law_settled": posterior.law_settled(idata)}
            for i, (c, s) in enumerate(points)]
    if stale:
        print(f"bayes-moe r-star: warning: the posterior is stale ({stale}): run `bayes-moe fit`",
              file=sys.stderr)
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


def register(command) -> None:
    p = command("r-star", _cmd_r_star, "r* with a credible interval at any compute and sparsity", reports=True)
    p.add_argument("--compute", type=measured("compute"), help="total training FLOPs")
    p.add_argument("--sparsity", type=measured("sparsity"), help="S = (E - E_act) / E, 0 <= S < 1")
    p.add_argument("--targets", action="store_true", help="every target point of the campaign (a JSON list)")
    p.add_argument("--prob", type=float, default=0.9, help="equal-tailed interval probability (0.9)")
