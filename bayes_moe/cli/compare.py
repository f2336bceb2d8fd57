"""``compare``: PSIS-LOO of the r* laws and valleys on the workspace's runs, with the verdict."""

from __future__ import annotations

import argparse

from bayes_moe.cli.flags import fit_options, model_sampling_flags
from bayes_moe.cli.output import emit, table, workspace_path
from bayes_moe.ledger import Ledger


def _cmd_compare(args: argparse.Namespace) -> None:
    from bayes_moe import fitting, model

    with Ledger.open(workspace_path(args), readonly=True) as ledger:
        runs = fitting.fitted_runs(workspace_path(args), ledger)
    law = fitting.fit_law(workspace_path(args))  # every variant under the campaign's [model] but its form and penalty
    comparison, verdict = model.compare_forms(runs, frontier=law["frontier"], pivot=law["pivot"],
                                              discrepancy=law["discrepancy"], seed_offset=law["seed_offset"],
                                              hinge_scale=law["hinge_scale"],
                                              **fitting.sampling_options(workspace_path(args), fit_options(args)))
    columns = ["rank", "elpd_loo", "se", "elpd_diff", "dse", "p_loo", "weight", "warning"]
    rows = [{"variant": name, **{c: row[c] for c in columns}} for name, row in comparison.iterrows()]
    emit(args, {"variants": rows, "verdict": verdict},
         table(rows, ["variant"] + columns) + f"\n\nverdict: {verdict}")


def register(command) -> None:
    p = command("compare", _cmd_compare, "PSIS-LOO: power law vs curved and signed laws, asymmetric vs symmetric valley",
                reports=True)
    model_sampling_flags(p)
