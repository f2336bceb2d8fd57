"""The per-seed offset on a measured campaign: the default fit (with it) against one without it, at the CLI's
defaults (4 chains x 1000 draws, 1000 tuning, seed 0) with the campaign's own [model].

    python experiments/h100_wide_r/seed_offset.py fit h100_wide_r on  OUT   # one fit, its validate: OUT/h100_wide_r_on.*
    python experiments/h100_wide_r/seed_offset.py compare h100_wide_r OUT  # both, with PSIS-LOO: seed_offset.json

Each ``fit`` runs in a process of its own, so that its CPU seconds (``time.process_time``, every thread) include
nutpie's compilation of its structure, as a `bayes-moe fit` pays it. ``compare`` writes
experiments/NAME/seed_offset.json: per variant the diagnostics, CPU seconds, noise scales, r* at the targets and
the held-out sparsity check (``posterior.hold_out_validation``, the sparsity the campaign's README holds out),
and the LOO difference (ArviZ ``compare``).
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path

import arviz as az

from bayes_moe import fitting, model, posterior, sampling
from bayes_moe.config import load_campaign
from bayes_moe.forms import discrepancy_of, penalty_of
from bayes_moe.ledger import Ledger
from bayes_moe.workspace import create_workspace

EXPERIMENTS = Path(__file__).resolve().parents[1]
CLI_DEFAULTS = dict(draws=1000, tune=1000, chains=4, seed=0, progressbar=False)
HELD_OUT = 0.953846  # E = 65, as both READMEs hold it out


def fit_variant(name: str, offset: bool, out: Path) -> None:
    """Fit campaign ``name`` with (``offset``) or without the per-seed offset; write its posterior and numbers."""
    with tempfile.TemporaryDirectory() as folder:
        workspace = Path(folder) / "w"
        create_workspace(workspace, EXPERIMENTS / name)
        law = fitting.fit_law(workspace)
        targets = load_campaign(workspace).targets
        with Ledger.open(workspace) as ledger:
            runs = fitting.fitted_runs(workspace, ledger)
    start = time.process_time()
    idata = model.fit(runs, seed_offset=offset, **law, **CLI_DEFAULTS)
    cpu = time.process_time() - start
    compute, sparsity = zip(*targets)
    interval = posterior.r_star(idata, list(compute), list(sparsity))
    report = {
        "campaign": name, "seed_offset": offset, "n_runs": int(runs.sizes["run"]), "fit_cpu_s": round(cpu, 1),
        **{k: idata.attrs[k] for k in (*sampling.DIAGNOSTICS, "converged")},
        "noise": posterior.noise_summary(idata),
        "r_star": [{"compute": c, "sparsity": s, **{k: float(interval[k].values[i]) for k in ("median", "lower", "upper")}}
                   for i, (c, s) in enumerate(targets)],
    }
    add_log_likelihood(runs, idata, offset, law)
    start = time.process_time()
    held = posterior.hold_out_validation(runs, HELD_OUT, seed_offset=offset, **law, **CLI_DEFAULTS)
    held.pop("pit")
    report["validate"] = {**held, "cpu_s": round(time.process_time() - start, 1)}
    idata.to_netcdf(str(out / f"{name}_{'on' if offset else 'off'}.nc"))
    (out / f"{name}_{'on' if offset else 'off'}.json").write_text(json.dumps(report, indent=1))
    print(json.dumps({k: v for k, v in report.items() if k not in ("r_star", "validate")}, indent=1))


def add_log_likelihood(runs, idata, offset: bool, law: dict) -> None:
    """The pointwise log-likelihood that LOO needs, added to ``idata`` from a model of the same runs and structure
    (after the fit, so that the fit's CPU seconds are those of `bayes-moe fit`)."""
    import pymc as pm

    runs = model.checked_runs(runs)
    levels = tuple(float(s) for s in model.sparsity_levels(runs["sparsity"].values))
    built = model.build_model(runs, levels, law["form"], penalty_of(law["form"], law["penalty"]), law["frontier"],
                              law["pivot"], discrepancy_of(law["form"], law["discrepancy"]),
                              model.seed_levels(runs) if offset else ())
    with built:
        pm.compute_log_likelihood(idata, var_names=["loss"], progressbar=False)


def compare(name: str, out: Path) -> None:
    """Both variants' numbers and their PSIS-LOO difference, into experiments/NAME/seed_offset.json."""
    variants = {label: json.loads((out / f"{name}_{label}.json").read_text()) for label in ("on", "off")}
    fits = {label: az.from_netcdf(str(out / f"{name}_{label}.nc")) for label in ("on", "off")}
    table = sampling.loo_compare({f"seed_offset_{label}": fit for label, fit in fits.items()})
    loo = {index: {k: float(table.loc[index, k]) for k in ("elpd_loo", "se", "elpd_diff", "dse", "p_loo")}
           | {"warning": bool(table.loc[index, "warning"])} for index in table.index}
    record = {"settings": "model.fit at the CLI defaults (4 chains x 1000 draws, 1000 tuning, seed 0), the campaign's "
                          "[model]; validate: E = 65 held out, the same settings",
              "with_offset": variants["on"], "without_offset": variants["off"], "loo": loo}
    (EXPERIMENTS / name / "seed_offset.json").write_text(json.dumps(record, indent=1) + "\n")
    print(table)


if __name__ == "__main__":
    command, name = sys.argv[1], sys.argv[2]
    if command == "fit":
        fit_variant(name, sys.argv[3] == "on", Path(sys.argv[4]))
    else:
        compare(name, Path(sys.argv[3]))
