"""MCMC for every PyMC model in bayes_moe: one seeded entry point and one convergence verdict.

All sampler- and ArviZ-facing code lives here (and in posterior.py), so that swapping a backend or
moving to ArviZ 1 (DataTree) is one change. ``nutpie`` is the default: it compiles the model through
numba once and samples in Rust, several times faster here than PyMC's own NUTS (whose PyTensor C
backend compiles slowly); see ``python -m bayes_moe.benchmarks.fit_speed``.

A compiled nutpie model is cached by the caller's ``cache_key`` (the model's structure: everything but
its data): a fresh ``pm.Model`` of the same structure with other runs reuses the compiled code through
``with_data``, so it pays for compilation once and no two callers share a model's data.
"""

from __future__ import annotations

import importlib.util
import os
import warnings
from typing import TYPE_CHECKING

import arviz as az
import numpy as np
import pymc as pm

from bayes_moe.errors import InputError

if TYPE_CHECKING:
    import pandas as pd

# PyTensor looks for a BLAS to link its C backend into and warns when pip's wheels offer none. We sample
# through numba (nutpie), so on every machine the warning would say nothing a user can act on.
warnings.filterwarnings("ignore", message="PyTensor could not link to a BLAS", category=UserWarning)

SAMPLERS = ("nutpie", "pymc", "numpyro")
DEFAULT_SAMPLER = "nutpie"
RHAT_MAX = 1.01
ESS_MIN = 400
# nutpie: a low-rank-modified mass matrix follows the frontier's E-A-gamma ridge (corr -1.0); on the
# r* model, a diagonal one halved the ESS and target_accept 0.9 (2.5x faster) let divergences through
NUTPIE_OPTIONS = dict(low_rank_modified_mass_matrix=True, target_accept=0.95)

COMPILED_CACHE_SIZE = 16
# PyMC's default ADVI step (adagrad, 1e-3) left a Normal mean with a sd-10 prior halfway to its posterior after
# 5,000 steps (tests/test_sampling_approximate.py); Adam at 1e-2 reaches it
ADVI_LEARNING_RATE = 1e-2


def sample(model: pm.Model, *, sampler: str = DEFAULT_SAMPLER, draws: int = 1000, tune: int = 1000,
           chains: int = 4, seed: int = 0, progressbar: bool = True, cache_key=None) -> az.InferenceData:
    """Draw from ``model``'s posterior with NUTS; the same ``seed`` gives the same draws, whatever the process
    sampled before (docs/model.md, "Seeded draws"). ``cache_key``
    (hashable): nutpie's compiled code is reused for every model given the same key, with that
    model's data; None compiles afresh."""
    if sampler not in SAMPLERS:
        raise InputError(f"--sampler {sampler!r}: choose one of {', '.join(SAMPLERS)}")
    if draws < 1 or tune < 0 or chains < 1:
        raise InputError(f"need draws >= 1, tune >= 0, chains >= 1 (got draws={draws}, tune={tune}, "
                         f"chains={chains})")
    if sampler == "nutpie":
        return _sample_nutpie(model, draws=draws, tune=tune, chains=chains, seed=seed,
                              progressbar=progressbar, cache_key=cache_key)
    if sampler == "numpyro":
        missing = [m for m in ("jax", "numpyro") if importlib.util.find_spec(m) is None]
        if missing:
            raise InputError(f"--sampler numpyro needs {' and '.join(missing)}: "
                             f"pip install numpyro jax  (or use --sampler nutpie)")
    with model:
        return pm.sample(draws=draws, tune=tune, chains=chains, cores=min(chains, os.cpu_count() or 1),
                         random_seed=seed, progressbar=progressbar, nuts_sampler=sampler,
                         compute_convergence_checks=False)


def approximate(model: pm.Model, *, method: str, draws: int = 1000, seed: int = 0, steps: int = 20000,
                chains: int = 2) -> az.InferenceData:
    """Draws from ``model``'s posterior by an approximation other than NUTS, for measuring inference against it:
    ``advi`` (mean-field ADVI by Adam, at most ``steps`` iterations, stopped when its parameters settle, then
    ``draws`` draws) or ``smc`` (sequential Monte Carlo, ``chains`` populations of ``draws`` particles, one core)."""
    if draws < 1 or steps < 1 or chains < 1:
        raise InputError(f"need draws, steps and chains >= 1 (got {draws}, {steps}, {chains})")
    with model:
        if method == "advi":
            converged = pm.callbacks.CheckParametersConvergence(tolerance=1e-3, diff="absolute")
            fitted = pm.fit(n=steps, method="advi", random_seed=seed, progressbar=False, callbacks=[converged],
                            obj_optimizer=pm.adam(learning_rate=ADVI_LEARNING_RATE))
            return fitted.sample(draws, random_seed=seed)
        if method == "smc":
            return pm.sample_smc(draws=draws, chains=chains, cores=1, random_seed=seed, progressbar=False,
                                 compute_convergence_checks=False)
    raise InputError(f"approximation {method!r}: choose advi or smc")


def _sample_nutpie(model, *, draws, tune, chains, seed, progressbar, cache_key):
    import nutpie

    if cache_key is None:
        compiled = nutpie.compile_pymc_model(model)
    else:  # the compiled code of this structure, with this model's data (that its graph uses: the
        # two-term form, say, has no compute basis)
        compiled = compiled_nutpie(cache_key, model)
        compiled = compiled.with_data(**{data.name: data.get_value() for data in model.data_vars
                                         if data.name in compiled.shared_data})
    return nutpie.sample(compiled, draws=draws, tune=tune, chains=chains, seed=seed,
                         progress_bar=progressbar, save_warmup=False, **NUTPIE_OPTIONS)


_compiled: dict = {}  # cache_key -> nutpie's compiled model, oldest first


def compiled_nutpie(cache_key, model):
    """nutpie's compiled code for ``cache_key``, compiled from ``model`` on the first call only (the
    ``COMPILED_CACHE_SIZE`` most recent keys are kept)."""
    import nutpie

    if cache_key not in _compiled:
        if len(_compiled) >= COMPILED_CACHE_SIZE:
            del _compiled[next(iter(_compiled))]
        _compiled[cache_key] = nutpie.compile_pymc_model(model)
    return _compiled[cache_key]


def compiled_keys() -> list:
    """The structures whose compiled code is cached, oldest first."""
    return list(_compiled)


DIAGNOSTICS = ("max_rhat", "min_ess_bulk", "min_ess_tail", "divergences")  # what ``diagnostics`` reports


def diagnostics(idata: az.InferenceData, var_names=None) -> dict:
    """Max r-hat, min bulk/tail ESS (ArviZ, rank-normalised) and divergences, with the verdict
    ``converged`` = r-hat <= 1.01, both ESS >= 400 and no divergent transitions."""
    if var_names is None:  # the model's variables, not the sampler's unconstrained copies (``x_log__``)
        var_names = [name for name in idata.posterior.data_vars if not name.endswith("__")]
    rhat = az.rhat(idata, var_names=var_names)
    ess_bulk = az.ess(idata, var_names=var_names, method="bulk")
    ess_tail = az.ess(idata, var_names=var_names, method="tail")
    divergences = int(idata.sample_stats["diverging"].sum()) if "sample_stats" in idata else 0
    report = {
        "max_rhat": _extreme(rhat, np.nanmax),
        "min_ess_bulk": _extreme(ess_bulk, np.nanmin),
        "min_ess_tail": _extreme(ess_tail, np.nanmin),
        "divergences": divergences,
    }
    report["converged"] = bool(report["max_rhat"] <= RHAT_MAX and report["min_ess_bulk"] >= ESS_MIN
                               and report["min_ess_tail"] >= ESS_MIN and divergences == 0)
    return report


def _extreme(dataset, reduce) -> float:
    """One number over every variable and element of a diagnostics Dataset (NaN if there is none)."""
    values = [np.asarray(v).ravel() for v in dataset.data_vars.values()]
    values = np.concatenate(values) if values else np.array([np.nan])
    return float(reduce(values)) if np.isfinite(values).any() else float("nan")


def loo_compare(fits: dict) -> "pd.DataFrame":
    """PSIS-LOO comparison (ArviZ ``compare``) of fits that carry a log_likelihood group, best first:
    elpd_loo, its standard error, the difference to the best (elpd_diff, dse) and pareto-k warnings."""
    return az.compare(fits, ic="loo")
