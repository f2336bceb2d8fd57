"""``validate``: refit without the runs of one sparsity and score its held-out losses (the paper's Fig. 3b)."""

from __future__ import annotations

import argparse

from bayes_moe.cli.flags import fit_options, law_flags, model_sampling_flags
from bayes_moe.cli.output import emit, noise_line, table, workspace_path
from bayes_moe.forms import penalty_of
from bayes_moe.ledger import Ledger


def _cmd_validate(args: argparse.Namespace) -> None:
    from bayes_moe import fitting, posterior

    with Ledger.open(workspace_path(args), readonly=True) as ledger:
        runs = fitting.fitted_runs(workspace_path(args), ledger)
    law = _law(args)
    report = posterior.hold_out_validation(runs, args.hold_out_sparsity, **law,
                                           **fitting.sampling_options(workspace_path(args), fit_options(args)))
    emit(args, report, f"held out S={args.hold_out_sparsity:g} ({report['n_held_out']} runs), refit on "
                       f"{report['n_fit']} runs ({law['form']} law, {penalty_of(law['form'], law['penalty'])} penalty)\n"
                       + table([report], ["rmse", "mean_abs_error", "coverage_50", "coverage_90", "pit_mean",
                                          "pit_ks_distance", "pit_ks_pvalue", "converged"])
                       + "\nrefit's " + noise_line(report["noise"]))


def _law(args: argparse.Namespace) -> dict:
    """The r* law asked for: ``--form``/``--penalty``, else the workspace campaign's [model]."""
    from bayes_moe import fitting

    return fitting.fit_law(workspace_path(args), args.form, args.penalty)


def register(command) -> None:
    p = command("validate", _cmd_validate, "refit without one sparsity and score its predicted losses",
                reports=True)
    p.add_argument("--hold-out-sparsity", type=float, required=True, help="the sparsity level to hold out")
    model_sampling_flags(p)
    law_flags(p)
