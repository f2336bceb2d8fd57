"""The joint hierarchical model of every run's loss around the optimal split ``r*`` (docs/model.md).

    loss_i     = L_opt(C_i, S_i) + valley(log r_i - log r*(C_i, S_i), C_i) + noise_i
    log r*     = log alpha_s + beta_s l + curvature l (l - l_1)    l = log(C / C0), curvature = 0 unless "curved"
    log alpha_s = a0 + a1 x_s + sigma_alpha z_alpha_s               x = log(1 - S) - log(1 - S_REF)
    log beta_s  = b0 + b1 x_s + sigma_beta z_beta_s                 (non-centred; sigma ~ Gamma(4, 50))
    beta_s      = b0 + b1 x_s + sigma_beta z_beta_s                 form "signed": r* may also fall with C
    L_opt      = E + A_s (C / C0)^-gamma,   A_s per level (unpooled)
    valley(d, C) = (C / C0)^-eta [kappa_left d^2 (d < 0),  kappa_right d^2 (d > 0)]   (eta = kappa_exponent;
                                                     kappa_left = kappa_right if symmetric)
    noise      ~ StudentT(nu, 0, sigma)

Form "two-term" (docs/paper.md point 1) replaces frontier and valley by one surface,
    loss_i     = E + A_A (C_A,i / C0)^-p + A_E,s (C_E,i / C0)^-q_s + noise_i,   C_A = C/(1+r), C_E = C r/(1+r)
    log q_s    = log q + q_slope x_s
whose r* is the root of the first-order condition (laws.foc_r_star): alpha_s and beta_s are then r*
at C0 and its local exponent of C there, derived per draw.

``alpha_s`` is r* at the pivot ``C0`` (laws.PIVOT), not the paper's raw alpha (r* at 1 FLOP).
A PyMC model is built once per structure (sparsity levels, form, penalty) and refit with new runs
through ``pm.set_data``, so nutpie compiles it once (sampling.py caches the compiled model).
"""

from __future__ import annotations

import functools

import arviz as az
import numpy as np
import pymc as pm
import xarray as xr

from bayes_moe import arch, laws, sampling
from bayes_moe.errors import InputError
from bayes_moe.fields import is_sparsity
from bayes_moe.forms import (AUTO_FORM, DEFAULT_FORM, DEFAULT_PENALTY, FORM_CHOICES, FORMS, IMPLIED_PENALTY,
                             PENALTIES, SIGNED_FORM, TWO_TERM_FORM, penalty_of)

LEVEL_TOLERANCE = 1e-6  # achieved sparsities closer than this are one level
SCALE_SHAPE, SCALE_MEAN = 4.0, 0.08  # Gamma prior of sigma_alpha, sigma_beta: 98% in [0.016, 0.2]
SIGNED_SCALE_MEAN = 0.03  # form "signed": sigma_beta on beta's scale (the paper's beta_r span 0.13-0.19)


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


@functools.lru_cache(maxsize=16)
def build_model(levels: tuple, form: str = DEFAULT_FORM, penalty: str = DEFAULT_PENALTY) -> pm.Model:
    """The PyMC model for runs at ``levels`` (sparsities), with placeholder data; ``set_runs`` fills it."""
    if form not in FORMS:
        raise InputError(f"--form {form!r}: choose one of {', '.join(FORM_CHOICES)}")
    if form != TWO_TERM_FORM and penalty not in PENALTIES:  # the two-term surface has no penalty to choose
        raise InputError(f"--penalty {penalty!r}: choose one of {', '.join(PENALTIES)}")
    with pm.Model(coords={"sparsity": list(levels), "run": [0]}) as model:
        log_r = pm.Data("log_r", [0.0], dims="run")
        log_c = pm.Data("log_compute", [0.0], dims="run")
        level = pm.Data("level", [0], dims="run")
        observed = pm.Data("loss_observed", [0.0], dims="run")
        x = laws.centred_log_active(levels)
        if form == TWO_TERM_FORM:
            mean_loss = _two_term_surface(log_r, log_c, level, x)
        else:
            mean_loss = _valley_surface(log_r, log_c, level, x, form, penalty)
        sigma = pm.HalfNormal("sigma", 0.05)
        nu = pm.Gamma("nu", 2.0, 0.1)
        pm.StudentT("loss", nu=nu, mu=mean_loss, sigma=sigma, observed=observed, dims="run")
    return model


def _valley_surface(log_r, log_c, level, x, form: str, penalty: str):
    """The frontier plus a valley around ``r*``, whose law across compute and sparsity is the
    paper's (``form`` power), curved, or signed: the mean loss of each run."""
    # where r* lies: the population law across sparsity and each level's deviation from it
    # (non-centred). Four levels less two population slopes leave two degrees of freedom for each
    # scale, so the data barely move sigma_alpha, sigma_beta and the prior decides their range. Under
    # a HalfNormal(0.2) the sampler went out to 0.4, where the data-pinned levels squeeze z into an
    # inverted funnel (divergences, r-hat > 1.01 on sigma_alpha); a Gamma(4, 50) keeps the scales in
    # [0.016, 0.2] (98%): a level's r* strays 2-20% from the population law. The centred form
    # diverged more.
    a0 = pm.Normal("a0", 0.0, 1.0)  # log r* at C0 and S_REF
    a1 = pm.Normal("a1", 0.0, 1.0)
    sigma_alpha = pm.Gamma("sigma_alpha", alpha=SCALE_SHAPE, beta=SCALE_SHAPE / SCALE_MEAN)
    z_alpha = pm.Normal("z_alpha", 0.0, 1.0, dims="sparsity")
    alpha_r = pm.Deterministic("alpha_r", pm.math.exp(a0 + a1 * x + sigma_alpha * z_alpha), dims="sparsity")
    z_beta = pm.Normal("z_beta", 0.0, 1.0, dims="sparsity")
    # the "signed" form's line is beta itself (either sign), its level spread on beta's own scale;
    # the others' is log beta
    signed = form == SIGNED_FORM
    b0 = pm.Normal("b0", 0.0, 0.5) if signed else pm.Normal("b0", -1.5, 1.0)  # (log) beta at S_REF
    b1 = pm.Normal("b1", 0.0, 0.5)
    sigma_beta = pm.Gamma("sigma_beta", alpha=SCALE_SHAPE,
                          beta=SCALE_SHAPE / (SIGNED_SCALE_MEAN if signed else SCALE_MEAN))
    beta_line = b0 + b1 * x + sigma_beta * z_beta
    beta_r = pm.Deterministic("beta_r", beta_line if signed else pm.math.exp(beta_line), dims="sparsity")
    curvature = pm.Normal("curvature", 0.0, 0.05) if form == "curved" else 0.0

    # the frontier: the lowest loss at each compute
    E = pm.HalfNormal("E", 3.0)
    # per level, unpooled: each frontier is pinned by many runs, and a hierarchy whose spread the
    # data put near zero makes a funnel; queries at a new S interpolate log A linearly in x
    A = pm.LogNormal("A", 0.0, 1.5, dims="sparsity")
    gamma = pm.LogNormal("gamma", np.log(0.2), 0.7)

    # the valley around r*
    kappa = pm.LogNormal("kappa", np.log(0.05), 1.0)
    if penalty == "asymmetric":
        kappa_skew = pm.Normal("kappa_skew", 0.0, 1.0)  # log(kappa_right / kappa_left)
        kappa_left = pm.Deterministic("kappa_left", kappa * pm.math.exp(-kappa_skew / 2))
        kappa_right = pm.Deterministic("kappa_right", kappa * pm.math.exp(kappa_skew / 2))
    else:
        kappa_left = kappa_right = kappa
    # the valley flattens (eta > 0) or steepens as compute grows: where attention and experts are
    # separate power laws (docs/paper.md point 1), the curvature follows their shrinking reducible loss
    kappa_exponent = pm.Normal("kappa_exponent", 0.0, 0.3)

    log_r_star = laws.log_r_star(pm.math.log(alpha_r[level]), beta_r[level], log_c, curvature)
    return (laws.frontier(E, A[level], gamma, pm.math.exp(log_c))
            + laws.valley(log_r - log_r_star, pm.math.exp(log_c), kappa_left, kappa_right, kappa_exponent))


def _two_term_surface(log_r, log_c, level, x):
    """docs/paper.md point 1: attention and experts as separate power laws in their own compute,
    ``E + A_A (C_A/C0)^-p + A_E,s (C_E/C0)^-q_s``; r* is where the two marginal returns balance (the
    first-order condition), so it is a derived quantity (``alpha_r``, ``beta_r`` added after sampling)."""
    E = pm.HalfNormal("E", 3.0)
    # attention's term does not depend on the experts' count; the experts' does, per level, unpooled
    # as the other forms' frontier A (a new S interpolates log A_E linearly in x)
    A_A = pm.LogNormal("A_A", 0.0, 1.5)
    A_E = pm.LogNormal("A_E", 0.0, 1.5, dims="sparsity")
    p = pm.LogNormal("p", np.log(0.2), 0.7)
    # the experts' exponent, a power law in 1 - S as the paper's beta_r (with one q, r*'s exponent of
    # compute would barely depend on S): q at S_REF and its slope in x
    q = pm.LogNormal("q", np.log(0.2), 0.7)
    q_slope = pm.Normal("q_slope", 0.0, 0.5)
    q_s = pm.Deterministic("q_s", q * pm.math.exp(q_slope * x), dims="sparsity")
    return laws.two_term_loss(pm.math.exp(log_r), pm.math.exp(log_c), E, A_A, A_E[level], p, q_s[level])


def two_term_law(posterior: xr.Dataset) -> dict:
    """The two-term form's r* law at C0, per draw and level: ``alpha_r`` (r* at C0) and ``beta_r``
    (the local exponent of compute there), in the other forms' names so that their queries and plots
    read it alike."""
    alpha_r = xr.apply_ufunc(laws.foc_r_star, 1.0, posterior["A_A"], posterior["A_E"], posterior["p"], posterior["q_s"])
    return {"alpha_r": alpha_r, "beta_r": laws.foc_slope(alpha_r, posterior["p"], posterior["q_s"])}


def set_runs(model: pm.Model, runs: xr.Dataset, levels) -> None:
    """Put ``runs`` into ``model``'s data containers."""
    pm.set_data({"log_r": np.log(runs["r"].values), "log_compute": np.log(runs["compute"].values / laws.PIVOT),
                 "level": level_index(runs["sparsity"].values, levels), "loss_observed": runs["loss"].values},
                model=model, coords={"run": runs.run.values if "run" in runs.coords else np.arange(runs.sizes["run"])})


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
    model = build_model(levels, form, penalty)
    set_runs(model, runs, levels)
    idata = sampling.sample(model, cache_key=("r_star", levels, form, penalty), **options)
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
        "ledger_fingerprint": dataset.attrs.get("ledger_fingerprint", ""),
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
