"""``loss-law``: fit the dense law L = E + A/N**alpha + B/D**beta to a CSV; needs no workspace."""

from __future__ import annotations

import argparse
import sys

from bayes_moe.cli.flags import fit_options, sampling_flags
from bayes_moe.cli.output import emit, table


def _cmd_loss_law(args: argparse.Namespace) -> None:
    from bayes_moe import loss_law  # imports PyMC: only when this command runs

    loss_law.check_prob(args.prob)
    runs = loss_law.read_runs(args.file)
    idata = loss_law.fit(runs, **fit_options(args))
    summary = loss_law.summarise(idata, prob=args.prob)
    payload = {**summary, "n_runs": len(runs), "prob": args.prob}
    diag = summary["diagnostics"]
    if not diag["converged"]:
        payload["warning"] = (f"not converged (max r-hat {diag['max_rhat']:.3f}, min ESS bulk "
                              f"{diag['min_ess_bulk']:.0f} / tail {diag['min_ess_tail']:.0f}, "
                              f"{diag['divergences']} divergences): rerun with more --draws or --chains")
        print(f"bayes-moe loss-law: warning: {payload['warning']}", file=sys.stderr)
    rows = [{"parameter": name, **summary[name]} for name in loss_law.LAW_PARAMETERS]
    text = (f"L = E + A / N**alpha + B / D**beta on {len(runs)} runs of {args.file} "
            f"(median, {args.prob:g} equal-tailed interval)\n"
            + table(rows, ["parameter", "median", "lower", "upper"])
            + f"\n\nmax r-hat {diag['max_rhat']:.3f}, min ESS bulk {diag['min_ess_bulk']:.0f} / tail "
              f"{diag['min_ess_tail']:.0f}, {diag['divergences']} divergences")
    emit(args, payload, text)


def register(command) -> None:
    p = command("loss-law", _cmd_loss_law, "fit the dense law L = E + A/N**alpha + B/D**beta to a CSV",
                reports=True)
    p.add_argument("file", help="CSV with columns n_params, tokens, loss (other columns are ignored)")
    p.add_argument("--prob", type=float, default=0.9, help="equal-tailed interval probability (0.9)")
    sampling_flags(p, help="NUTS backend: nutpie (default), pymc or numpyro")
