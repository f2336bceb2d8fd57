"""The joint hierarchical model of every run's loss around the optimal split ``r*`` (docs/model.md).

    loss_i     = L_opt(C_i, S_i) + valley(log r_i - log r*(C_i, S_i), C_i) + noise_i
    log r*     = log alpha_s + beta_s l + curvature l (l - l_1)    l = log(C / C0), curvature = 0 unless "curved"
    log alpha_s = a0 + a1 x_s + sigma_alpha z_alpha_s               x = log(1 - S) - log(1 - S_REF)
    log beta_s  = b0 + b1 x_s + sigma_beta z_beta_s                 (non-centred; sigma ~ Gamma(4, 50))
    beta_s      = b0 + b1 x_s + sigma_beta z_beta_s                 form "signed": r* may also fall with C
    L_opt      = E + A_s (C / C0)^-gamma + f(l),   A_s per level (unpooled)
    valley(d, C) = (C / C0)^-eta e^g(l) [kappa_left d^2 (d < 0),  kappa_right d^2 (d > 0)]   (eta = kappa_exponent;
                                                     kappa_left = kappa_right if symmetric)
    f, g       smooth functions of l, zero at both ends of the runs' compute (surfaces.compute_deviation)
    noise      seed noise sigma between replicates of one (r, C, S) cell, misfit sigma_misfit shared by them

Form "two-term" (PAPER.md point 1) replaces frontier and valley by one surface,
    loss_i     = E + A_A (C_A,i / C0)^-p + A_E,s (C_E,i / C0)^-q_s + noise_i,   C_A = C/(1+r), C_E = C r/(1+r)
    log q_s    = log q + q_slope x_s
whose r* is the root of the first-order condition (laws.foc_r_star): alpha_s and beta_s are then r*
at C0 and its local exponent of C there, derived per draw.

``alpha_s`` is r* at the pivot ``C0`` (laws.PIVOT), not the paper's raw alpha (r* at 1 FLOP). Each
form's priors and arithmetic live in surfaces.py, shared with the posterior queries. A fresh PyMC model
is built for every fit with its runs inside; nutpie's compiled code is cached by the model's structure
(sampling.compiled_nutpie), so a structure is compiled once.
"""

from __future__ import annotations

import arviz as az
import numpy as np
import pymc as pm
import pytensor.tensor as pt
import xarray as xr

from bayes_moe import arch, laws, sampling, surfaces
from bayes_moe.errors import InputError
from bayes_moe.fields import is_sparsity
from bayes_moe.forms import (AUTO_FORM, DEFAULT_FORM, DEFAULT_PENALTY, FORM_CHOICES, FORMS, IMPLIED_PENALTY,
                             PENALTIES, TWO_TERM_FORM, penalty_of)

LEVEL_TOLERANCE = 1e-6  # achieved sparsities closer than this are one level
MODEL_VERSION = 2  # posteriors of another version are stale (posterior.is_stale): their variables differ


def achieved_sparsity(sparsity) -> np.ndarray:
    """Each sparsity as the exact value of its integer expert count (``arch``: 1 shared + 2 routed
    experts per token, within ``arch.SPARSITY_TOLERANCE``), so that 0.8235 (the paper's four decimals)
    and 0.8235294... (E = 17, as a trained run records it) are one level; a value that no expert count
    achieves is kept as it is."""
    values = np.asarray(sparsity, float)
    unique, inverse = np.unique(values, return_inverse=True)
    return np.array([_achieved(s) for s in unique])[inverse].reshape(values.shape)


def _achieved(sparsity: float) -> float:
    try:
        return arch.expert_sparsity(arch.experts_for_sparsity(sparsity))
    except InputError:
        return float(sparsity)


def sparsity_levels(sparsity) -> np.ndarray:
    """The distinct sparsity levels of the runs (one per expert count), sorted."""
    values = np.sort(achieved_sparsity(sparsity).ravel())
    return values[np.concatenate([[True], np.diff(values) > LEVEL_TOLERANCE])]


def level_index(sparsity, levels) -> np.ndarray:
    """Index into ``levels`` of each sparsity (same expert count); -1 where it is not a level."""
    sparsity, levels = achieved_sparsity(sparsity), achieved_sparsity(levels)
    hits = np.abs(sparsity[..., None] - levels[None, :]) <= LEVEL_TOLERANCE
    return np.where(hits.any(-1), hits.argmax(-1), -1)


def checked_runs(dataset: xr.Dataset) -> xr.Dataset:
    """The runs the model can use: r, compute, sparsity, loss present, finite and in range
    (``InputError`` naming the run otherwise)."""
    missing = [name for name in ("r", "compute", "sparsity", "loss") if name not in dataset]
    if missing:
        raise InputError(f"runs lack variable(s) {', '.join(missing)}")
    runs = dataset[["r", "compute", "sparsity", "loss"]]
    if runs.sizes.get("run", 0) < 2:
        raise InputError("need at least 2 finished runs with a loss to fit the model")
    for name, ok in (("r", runs["r"] > 0), ("compute", runs["compute"] > 0),
                     ("sparsity", is_sparsity(runs["sparsity"])), ("loss", np.isfinite(runs["loss"]))):
        bad = ~ok.values
        if bad.any():
            run = runs.run.values[bad][0] if "run" in runs.coords else int(np.argmax(bad))
            raise InputError(f"run {run}: {name} = {runs[name].values[bad][0]!r} cannot be fit")
    return runs


def build_model(runs: xr.Dataset, levels: tuple, form: str = DEFAULT_FORM, penalty: str = DEFAULT_PENALTY) -> pm.Model:
    """A fresh PyMC model of ``runs`` (checked, ``checked_runs``) at sparsity ``levels``.

    The model is built anew for every fit, with its data inside, so no caller sees another's runs;
    what is shared is nutpie's compiled code, cached by ``structure`` (sampling.sample's ``cache_key``):
    a model of the same structure with other data reuses it through ``with_data``."""
    if form not in FORMS:
        raise InputError(f"--form {form!r}: choose one of {', '.join(FORM_CHOICES)}")
    if form != TWO_TERM_FORM and penalty not in PENALTIES:  # the two-term surface has no penalty to choose
        raise InputError(f"--penalty {penalty!r}: choose one of {', '.join(PENALTIES)}")
    surface = surfaces.form(form, penalty)
    data = run_data(runs, levels)
    coords = {"sparsity": list(levels), "run": data.pop("run"), "knot_step": np.arange(surfaces.N_KNOTS - 1),
              "cell": np.arange(max(1, data.pop("n_cells")))}  # one unused cell where no run is replicated
    with pm.Model(coords=coords) as pymc_model:
        data.pop("knots")  # kept in the posterior's attrs (fit), not needed by the model
        d = {name: pm.Data(name, value, dims=("run", "knot_step") if name == "compute_basis" else "run")
             for name, value in data.items()}
        x_levels = laws.centred_log_active(np.asarray(levels))  # a constant of the structure: levels are in its key
        x_runs = pt.as_tensor_variable(x_levels)[d["level"]]
        v = surface.declare()
        if form == TWO_TERM_FORM:
            pm.Deterministic("q_s", surface.expert_exponent(v, x_levels, pt), dims="sparsity")
        else:  # r* at C0 and its exponent of compute per level, for plots and notebooks
            log_alpha, beta = surface.law(v, x_levels, pt)
            pm.Deterministic("alpha_r", pm.math.exp(log_alpha), dims="sparsity")
            pm.Deterministic("beta_r", beta, dims="sparsity")
        at_runs = {name: (value[d["level"]] if name in _per_level(surface) else value) for name, value in v.items()}
        compute = surfaces.ComputeAt(d["log_compute"], d["compute_basis"])
        mean_loss = surface.mean_loss(at_runs, x_runs, d["log_r"], compute, pt)
        _noise(mean_loss, d)
    return pymc_model


def _per_level(surface) -> set:
    roles = surface.roles
    return set(roles["deviation"]) | set(roles["unpooled"])


def variable_roles(form: str, penalty: str) -> dict:
    """The form's variables by role (``surfaces.Form.roles``) as the posterior's attrs keep them:
    ``law_variables`` (every variable of the surface) and ``deviation_``, ``unpooled_``,
    ``knot_variables``, each a space-separated list of names."""
    surface = surfaces.form(form, penalty)
    with pm.Model(coords={"sparsity": [0.0], "knot_step": np.arange(surfaces.N_KNOTS - 1)}):
        names = list(surface.declare())
    return {"law_variables": " ".join(names),
            **{f"{role}_variables": " ".join(values) for role, values in surface.roles.items()}}


def _noise(mean_loss, d) -> None:
    """The likelihood. A run's loss strays from the surface by seed noise (``sigma``, between runs of
    one (r, C, S) cell) and by what the surface misses at its cell (``sigma_misfit``, shared by the
    cell's replicates through ``z_cell``). At a cell of one run only ``sigma_run`` = sqrt(sigma^2 +
    sigma_misfit^2) is seen; replicates tell the two apart (``seed_share`` = sigma^2 / sigma_run^2),
    so misfit of the surface is not read as seed noise. Parametrised by sigma_run and the share, a
    campaign without replicates leaves the share to its prior instead of a ridge in (sigma, sigma_misfit)."""
    sigma_run = pm.HalfNormal("sigma_run", 0.05)
    seed_share = pm.Beta("seed_share", 1.0, 1.0)
    sigma = pm.Deterministic("sigma", sigma_run * pm.math.sqrt(seed_share))
    sigma_misfit = pm.Deterministic("sigma_misfit", sigma_run * pm.math.sqrt(1 - seed_share))
    z_cell = pm.Normal("z_cell", 0.0, 1.0, dims="cell")
    replicated = d["replicated"]
    mu = mean_loss + replicated * sigma_misfit * z_cell[d["cell"]]
    scale = replicated * sigma + (1 - replicated) * sigma_run
    nu = pm.Gamma("nu", 2.0, 0.1)
    pm.StudentT("loss", nu=nu, mu=mu, sigma=scale, observed=d["loss_observed"], dims="run")


def run_data(runs: xr.Dataset, levels) -> dict:
    """The model's data from ``runs``: log r, log(C/C0), level index, observed loss, the ramps of the
    smooth functions of compute (``surfaces.compute_basis``) and their knots, and the replicate
    cells: runs at one (r, C, S) share a cell; ``replicated`` marks runs of cells with >= 2 runs and
    ``cell`` indexes those cells (0 elsewhere)."""
    log_r, log_c = np.log(runs["r"].values), np.log(runs["compute"].values / laws.PIVOT)
    level = level_index(runs["sparsity"].values, levels)
    knots = surfaces.knots(log_c)
    key = np.round(np.stack([log_r, log_c, level], axis=1), 6)
    _, cell_of_run, count = np.unique(key, axis=0, return_inverse=True, return_counts=True)
    cell_of_run = cell_of_run.ravel()
    replicated = count[cell_of_run] >= 2
    replicated_cells = np.unique(cell_of_run[replicated])
    cell = np.where(replicated, np.searchsorted(replicated_cells, cell_of_run), 0)
    return {"run": runs.run.values if "run" in runs.coords else np.arange(runs.sizes["run"]),
            "log_r": log_r, "log_compute": log_c, "level": level, "loss_observed": runs["loss"].values,
            "compute_basis": surfaces.compute_basis(log_c, knots), "knots": knots,
            "replicated": replicated.astype(float), "cell": cell, "n_cells": replicated_cells.size}


def two_term_law(posterior: xr.Dataset) -> dict:
    """The two-term form's r* law at C0, per draw and level: ``alpha_r`` (r* at C0) and ``beta_r``
    (the local exponent of compute there), in the other forms' names so that their queries and plots
    read it alike."""
    alpha_r = xr.apply_ufunc(laws.foc_r_star, 1.0, posterior["A_A"], posterior["A_E"], posterior["p"], posterior["q_s"])
    return {"alpha_r": alpha_r, "beta_r": laws.foc_slope(alpha_r, posterior["p"], posterior["q_s"])}


def fit(dataset: xr.Dataset, *, sampler: str = sampling.DEFAULT_SAMPLER, draws: int = 1000, tune: int = 1000,
        chains: int = 4, seed: int = 0, form: str = DEFAULT_FORM, penalty: str = DEFAULT_PENALTY,
        log_likelihood: bool = False, progressbar: bool = True) -> az.InferenceData:
    """Posterior of the joint model given the runs in ``dataset`` (dim ``run``, as Ledger.to_dataset()).

    ``attrs`` hold what queries need: pivot, S_REF, sparsity levels, form, penalty, the ledger
    fingerprint (``dataset.attrs['ledger_fingerprint']`` when present) and the diagnostics with the
    verdict ``converged`` (1/0). ``constant_data`` keeps the runs; ``log_likelihood=True`` adds the
    pointwise log-likelihood that LOO needs. ``form="auto"`` fits the paper's law (with ``penalty``)
    and the two-term form and returns the one PSIS-LOO prefers (``preferred``), its reason in
    ``attrs['form_choice']`` and in ``attrs['form_settled']`` whether the other is behind by more than
    2 standard errors (``posterior.law_settled``): the user need not know which law the runs follow."""
    options = dict(sampler=sampler, draws=draws, tune=tune, chains=chains, seed=seed, progressbar=progressbar)
    if form != AUTO_FORM:
        return _fit_form(dataset, form=form, penalty=penalty, log_likelihood=log_likelihood, **options)
    fits = {_label(f, p): _fit_form(dataset, form=f, penalty=p, log_likelihood=True, **options)
            for f, p in ((DEFAULT_FORM, penalty), (TWO_TERM_FORM, IMPLIED_PENALTY))}
    table = sampling.loo_compare(fits)
    chosen, verdict = preferred(table, _label(DEFAULT_FORM, penalty))
    idata = fits[chosen]
    if not log_likelihood:
        del idata.log_likelihood
    # settled: the law not kept is behind by more than 2 se, whichever it is
    idata.attrs.update(form_choice=verdict, form_settled=int(_behind(table, table.index[1])))
    return idata


def _fit_form(dataset: xr.Dataset, *, form: str, penalty: str, log_likelihood: bool, **options) -> az.InferenceData:
    """``fit`` with one form."""
    runs = checked_runs(dataset)
    penalty = penalty_of(form, penalty)
    levels = tuple(float(s) for s in sparsity_levels(runs["sparsity"].values))
    model = build_model(runs, levels, form, penalty)
    structure = (levels, form, penalty, len(model.coords["cell"]))  # what nutpie's compiled code depends on
    idata = sampling.sample(model, cache_key=structure, **options)
    if form == TWO_TERM_FORM:
        idata.posterior = idata.posterior.assign(two_term_law(idata.posterior))
    kept = {group: idata[group] for group in idata.groups() if group not in ("constant_data", "observed_data")}
    idata = az.InferenceData(**kept, constant_data=runs.drop_vars("loss"), observed_data=runs[["loss"]])
    if log_likelihood:
        with model:
            pm.compute_log_likelihood(idata, var_names=["loss"], progressbar=False)
    report = sampling.diagnostics(idata)
    idata.attrs.update({
        "pivot": laws.PIVOT, "s_ref": laws.S_REF, "sparsity_levels": list(levels), "form": form,
        "penalty": penalty, "sampler": options["sampler"], "seed": options["seed"], "n_runs": int(runs.sizes["run"]),
        "ledger_fingerprint": dataset.attrs.get("ledger_fingerprint", ""), "model_version": MODEL_VERSION,
        "knots": list(surfaces.knots(np.log(runs["compute"].values / laws.PIVOT))),
        **variable_roles(form, penalty),
        **{k: (int(v) if isinstance(v, bool) else v) for k, v in report.items()},
    })
    return idata



VARIANTS = (("power", "asymmetric"), ("power", "symmetric"), ("curved", "asymmetric"), ("signed", "asymmetric"),
            (TWO_TERM_FORM, IMPLIED_PENALTY))


def compare_forms(dataset: xr.Dataset, variants=VARIANTS, **fit_options) -> tuple:
    """Fit each (form, penalty) variant and compare them by PSIS-LOO; returns the ArviZ table (rows
    named ``form/penalty``, best first) and a one-line verdict (``preferred``)."""
    fits = {_label(form, penalty): fit(dataset, form=form, penalty=penalty, log_likelihood=True, **fit_options)
            for form, penalty in variants}
    table = sampling.loo_compare(fits)
    return table, preferred(table, _label(DEFAULT_FORM, DEFAULT_PENALTY))[1]


def preferred(table, default: str) -> tuple[str, str]:
    """The variant to keep from a LOO table (``sampling.loo_compare``) and why: the best, but only
    when its elpd exceeds ``default``'s by more than twice the standard error of the difference."""
    best = table.index[0]
    if best != default and _behind(table, default):
        margin, dse = float(table.loc[default, "elpd_diff"]), float(table.loc[default, "dse"])
        return best, f"{best} fits better than {default}: elpd_loo +{margin:.1f} (> 2 x se {dse:.1f})"
    return default, f"no variant beats {default} by more than 2 se of the elpd_loo difference: keep {default}"


def _behind(table, variant: str) -> bool:
    """Whether ``variant``'s elpd_loo trails the best in ``table`` by more than 2 standard errors of the difference."""
    return float(table.loc[variant, "elpd_diff"]) > 2 * float(table.loc[variant, "dse"])


def _label(form: str, penalty: str) -> str:
    return f"{form}/{penalty_of(form, penalty)}"
