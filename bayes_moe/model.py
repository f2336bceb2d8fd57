"""The joint hierarchical model of every run's loss around the optimal split ``r*`` (docs/model.md).

    loss_i     = L_opt(C_i, S_i) + valley(log r_i - log r*(C_i, S_i), C_i) + noise_i
    log r*     = log alpha_s + beta_s l + curvature l (l - l_1)    l = log(C / C0), curvature = 0 unless "curved"
                 (+ sum_j tau z_bend_j max(0, t_j - l): discrepancy "hinges", knots t_j below the runs' top)
    log alpha_s = a0 + a1 x_s + sigma_alpha z_alpha_s               x = log(1 - S) - log(1 - S_REF)
    log beta_s  = b0 + b1 x_s + sigma_beta z_beta_s                 (non-centred; sigma ~ Gamma(4, 50))
    beta_s      = b0 + b1 x_s + sigma_beta z_beta_s                 form "signed": r* may also fall with C
    L_opt      = E + A_s (C / C0)^-gamma,   A_s per level (unpooled); frontier "anchored": E_s and A_s
                 from the frontier's value at C0 and its drop over the decade below, per level
                 (+ sum_j u_j max(0, t_j - l): frontier "flexible" / "anchored-flexible", bends shared by the levels;
                 "flexible" draws E, A_s by the frontier's value and scale at the top knot t_0: surfaces)
    valley(d, C) = (C / C0)^-eta [kappa_left d^2 (d < 0),  kappa_right d^2 (d > 0)]   (eta = kappa_exponent;
                                                     kappa_left = kappa_right if symmetric)
    noise      ~ StudentT(nu, 0, sigma): seed noise, and misfit shared by runs at one (r, C, S)
                 (replicates): sigma^2 = sigma_seed^2 + sigma_misfit^2, seed_share = sigma_seed^2 / sigma^2
    + seed_offset[seed_i] ~ ZeroSumNormal(tau_seed)   where the runs have >= 2 trainer seeds: what a seed
                 shifts every one of its runs by (its data order and initialisation), shared, not noise

Form "two-term" (docs/paper.md point 1) replaces frontier and valley by one surface,
    loss_i     = E + A_A (C_A,i / C0)^-p + A_E,s (C_E,i / C0)^-q_s + noise_i,   C_A = C/(1+r), C_E = C r/(1+r)
    log q_s    = log q + q_slope x_s
whose r* is the root of the first-order condition (laws.foc_r_star): alpha_s and beta_s are then r*
at C0 and its local exponent of C there, derived per draw.

``alpha_s`` is r* at the pivot ``C0`` (laws.PIVOT unless a fit names another: a campaign's [model] pivot),
not the paper's raw alpha (r* at 1 FLOP). Each
form's priors and arithmetic live in surfaces.py, shared with the posterior queries. A fresh PyMC
model is built for every fit with its runs inside; nutpie's compiled code is cached by the model's
structure (``structure``: sparsity levels, form, penalty, frontier, discrepancy), so a structure is
compiled once.
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
from bayes_moe.forms import (AUTO_FORM, DEFAULT_DISCREPANCY, DEFAULT_FORM, DEFAULT_FRONTIER, DEFAULT_HINGE_SCALE,
                             DEFAULT_PENALTY, DISCREPANCIES, FORM_CHOICES, FORMS, FRONTIERS, HINGES_DISCREPANCY,
                             IMPLIED_PENALTY, PENALTIES, TWO_TERM_FORM, discrepancy_of, penalty_of)

LEVEL_TOLERANCE = 1e-6  # achieved sparsities closer than this are one level
CELL_DIGITS = 6  # runs whose log r and log C agree to this many decimals, at one level, are replicates
# posteriors of another version are stale (posterior.staleness): their attrs and variables differ. 4: the flexible
# frontier's power law is drawn at the top knot (A_top, frontier_top) and the flexible frontiers bend the valley;
# 5: the default frontier is the flexible one (a default fit's variables and attrs differ); 6: a per-seed offset
# where the runs have two seeds or more (its variables and the ``seed_offset`` attr), seed_share ~ Beta(2, 2)
MODEL_VERSION = 6
TAU_SEED_SHAPE, TAU_SEED_RATE = 4.0, 50.0  # tau_seed ~ Gamma(4, 50) nats, as sigma_alpha: mean 0.08, 98% in [0.016, 0.2]


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


def run_seeds(runs: xr.Dataset) -> np.ndarray:
    """Each run's trainer seed: ``laws.trainer_seeds`` of the ``seed`` coordinate, the trainer's default where a
    run has none (or the runs have no such coordinate)."""
    return laws.trainer_seeds(runs["seed"].values if "seed" in runs.variables else None, (runs.sizes["run"],))


def seed_levels(runs: xr.Dataset) -> tuple:
    """The runs' distinct trainer seeds (``run_seeds``), sorted, when there are two or more; () otherwise: with
    one seed its offset is the surface's own level, not a term."""
    seeds = tuple(int(s) for s in np.unique(run_seeds(runs)))
    return seeds if len(seeds) > 1 else ()


def build_model(runs: xr.Dataset, levels: tuple, form: str = DEFAULT_FORM, penalty: str = DEFAULT_PENALTY,
                frontier: str = DEFAULT_FRONTIER, pivot: float = laws.PIVOT,
                discrepancy: str = DEFAULT_DISCREPANCY, seeds: tuple = (),
                hinge_scale: float = DEFAULT_HINGE_SCALE) -> pm.Model:
    """A fresh PyMC model of ``runs`` (``checked_runs``) at sparsity ``levels``, with the runs inside and
    compute relative to ``pivot`` (C0); with ``discrepancy`` "hinges" (their prior scale ``hinge_scale``), the
    hinges' knots (``surfaces.hinge_knots`` of the runs' compute) and their lines over the runs
    (``surfaces.hinge_projection``) are data too. With ``seeds`` (``seed_levels``: two or more), each
    seed's offset shifts the losses of its runs (``_seed_offsets``).

    Built anew for every fit, so no caller sees another's data; what fits share is nutpie's compiled
    code, cached by the model's ``structure`` (sampling.sample's ``cache_key``): a model of the same
    structure with other runs reuses it through ``with_data``."""
    if form not in FORMS:
        raise InputError(f"--form {form!r}: choose one of {', '.join(FORM_CHOICES)}")
    if form != TWO_TERM_FORM and penalty not in PENALTIES:  # the two-term surface has no penalty to choose
        raise InputError(f"--penalty {penalty!r}: choose one of {', '.join(PENALTIES)}")
    if frontier not in FRONTIERS:
        raise InputError(f"frontier {frontier!r}: choose one of {', '.join(FRONTIERS)}")
    if not (np.isfinite(pivot) and pivot > 0):
        raise InputError(f"pivot {pivot!r}: need a compute > 0 (FLOPs)")
    if not (np.isfinite(hinge_scale) and hinge_scale > 0):
        raise InputError(f"hinge_scale {hinge_scale!r}: need a prior scale > 0")
    _check_discrepancy(discrepancy)
    discrepancy = discrepancy_of(form, discrepancy)
    surface = surfaces.form(form, penalty, frontier, discrepancy, hinge_scale)
    seed_coords = {"seed": list(seeds)} if seeds else {}
    with pm.Model(coords={"sparsity": list(levels), "run": _run_labels(runs), **_knot_coords(surface),
                          **seed_coords}) as pymc_model:
        data = {name: pm.Data(name, value, dims="run") for name, value in run_data(runs, levels, pivot, seeds).items()}
        x_levels = laws.centred_log_active(np.asarray(levels))  # a constant of the structure (levels are in its key)
        variables = surface.declare()
        variables.update(_knot_data(surface, data["log_compute"].get_value()))
        levels_q = surface.at_levels(variables, x_levels, pt)
        for name, value in surface.reported(levels_q, pt).items():
            pm.Deterministic(name, value, dims="sparsity")
        if penalty == "asymmetric":
            pm.Deterministic("kappa_left", levels_q["kappa_left"])
            pm.Deterministic("kappa_right", levels_q["kappa_right"])
        # each run's quantities: its level's where they vary by level
        at_runs = {name: (value[data["level"]] if pt.as_tensor_variable(value).ndim
                          and name not in surfaces.ALONG_COMPUTE else value)
                   for name, value in levels_q.items()}
        mean_loss = surface.mean_loss(at_runs, data["log_r"], data["log_compute"], pt)
        if seeds:
            mean_loss = mean_loss + _seed_offsets()[data["seed_index"]]
        _likelihood(mean_loss, data)
    return pymc_model


def _seed_offsets():
    """Each trainer seed's offset of its runs' losses: at a fraction of an epoch a seed picks the data a run
    sees, so its runs share a shift (experiments/h100_wide_r: seed 0 above seed 1 at all 14 pairs) that
    independent seed noise would read as noise; replicates' differences net of the offsets measure the seed
    noise. The seeds' offsets are N(0, tau_seed) less their mean (ZeroSumNormal, centred), so the surface is
    the loss of the fitted seeds' mean (offsets with a free mean traded it with the frontier's level: a
    ridge). Two or three seeds cannot bound tau_seed: its Gamma prior keeps it out of the neck at 0
    (docs/model.md, "A seed's offset")."""
    tau_seed = pm.Gamma("tau_seed", TAU_SEED_SHAPE, TAU_SEED_RATE)
    return pm.ZeroSumNormal("seed_offset", sigma=tau_seed, dims="seed")


def _likelihood(mean_loss, data: dict) -> None:
    """The runs' losses about the surface. A run strays from it by seed noise and by what the surface
    misses at its (r, C, S) cell (misfit), which the cell's replicates (runs that differ only by seed)
    share: their spread measures the seed noise alone, so misfit is not read as seed noise. ``sigma`` is
    a lone run's sd about the surface (the two together), ``seed_share`` the seed noise's part of its
    variance (left to its prior by runs without replicates). The cell's misfit is integrated out
    (``replicate_conditionals``): no latent variable per cell, whose scale would make a funnel."""
    sigma = pm.HalfNormal("sigma", 0.05)
    seed_share = pm.Beta("seed_share", 2.0, 2.0)  # 0 < share < 1: Beta(1, 1) let it reach 0 (docs/model.md)
    pm.Deterministic("sigma_seed", sigma * pt.sqrt(seed_share))
    pm.Deterministic("sigma_misfit", sigma * pt.sqrt(1 - seed_share))
    shift, scale = replicate_conditionals(data["loss_observed"] - mean_loss, sigma, seed_share, data, pt)
    nu = pm.Gamma("nu", 2.0, 0.1)
    pm.StudentT("loss", nu=nu, mu=mean_loss + shift, sigma=scale, observed=data["loss_observed"], dims="run")


def structure(levels: tuple, form: str, penalty: str, frontier: str = DEFAULT_FRONTIER,
              discrepancy: str = DEFAULT_DISCREPANCY, seeds: tuple = (),
              hinge_scale: float = DEFAULT_HINGE_SCALE) -> tuple:
    """What nutpie's compiled code of ``build_model`` depends on (everything but the runs, the pivot and
    the knots, which are data; the seeds label the offsets' dim; the hinges' prior scale is a constant of the
    graph): its cache key."""
    return ("r_star", MODEL_VERSION, levels, form, penalty, frontier, discrepancy, seeds, hinge_scale)


def _check_discrepancy(discrepancy: str) -> None:
    if discrepancy not in DISCREPANCIES:
        raise InputError(f"discrepancy {discrepancy!r}: choose one of {', '.join(DISCREPANCIES)}")


def _knot_coords(surface: surfaces.Form) -> dict:
    """The model's ``knot`` coordinate where the surface bends along compute (discrepancy, flexible frontier)."""
    return {"knot": list(range(surfaces.HINGE_SEGMENTS - 1))} if surface.knots_data else {}


def _knot_data(surface: surfaces.Form, log_c) -> dict:
    """The knots' data the surface reads (``surfaces.KNOT_ATTRS``), from the runs' ``log_c``: the discrepancy's
    knots (``surfaces.hinge_knots``) and the hinges' lines over the runs (``surfaces.hinge_projection``); the
    flexible frontier's (``surfaces.frontier_knots``: the same ones unless the top segment holds one compute)."""
    knots = surfaces.hinge_knots(log_c)
    offsets, tilts = surfaces.hinge_projection(knots, log_c)
    values = {"knots": knots, "hinge_offsets": offsets, "hinge_tilts": tilts,
              "frontier_knots": surfaces.frontier_knots(log_c)}
    return {name: pm.Data(name, values[name], dims="knot") for name in surface.knots_data}


def run_data(runs: xr.Dataset, levels, pivot: float = laws.PIVOT, seeds: tuple = ()) -> dict:
    """The model's data from ``runs``: log r, log(C/C0), level index and observed loss, per run, their
    replicate cells (``replicate_cells``) and, with ``seeds``, each run's index into them."""
    log_r, log_c = np.log(runs["r"].values), np.log(runs["compute"].values / pivot)
    level = level_index(runs["sparsity"].values, levels)
    seed_index = {"seed_index": np.searchsorted(seeds, run_seeds(runs))} if seeds else {}
    return {"log_r": log_r, "log_compute": log_c, "level": level, "loss_observed": runs["loss"].values,
            **replicate_cells(log_r, log_c, level), **seed_index}


def replicate_cells(log_r, log_c, level) -> dict:
    """The runs grouped by (r, C, S) cell, replicates that differ only by seed: ``cell_order`` sorts the
    runs by cell (in run order within one), ``cell_position`` is each run's place in that order and
    ``cell_start`` the place of its cell's first run."""
    key = np.stack([np.round(log_r, CELL_DIGITS), np.round(log_c, CELL_DIGITS), level], axis=1)
    cell = np.unique(key, axis=0, return_inverse=True)[1].ravel()
    order = np.lexsort((np.arange(cell.size), cell))
    position = np.empty(cell.size, int)
    position[order] = np.arange(cell.size)
    return {"cell_order": order, "cell_position": position,
            "cell_start": np.searchsorted(cell[order], cell, side="left")}


def replicate_conditionals(residual, sigma, seed_share, cells: dict, xp) -> tuple:
    """Each run's loss given its cell's earlier runs (``replicate_cells``), when a lone run strays from
    the surface by sd ``sigma``, ``seed_share`` of its variance seed noise and the rest misfit shared by
    the cell: the shift of its mean from the surface (the misfit that the earlier runs' ``residual``
    imply) and its sd. A cell's first run has shift 0 and sd ``sigma``; the product over a cell is the
    normal density of its runs with covariance sigma^2 (share I + (1 - share) J). ``xp``: numpy or
    pytensor.tensor."""
    running = xp.concatenate([xp.zeros(1), xp.cumsum(residual[cells["cell_order"]])])
    earlier = cells["cell_position"] - cells["cell_start"]  # the cell's runs before this one
    earlier_residual = running[cells["cell_position"]] - running[cells["cell_start"]]
    denominator = seed_share + earlier * (1 - seed_share)
    shift = (1 - seed_share) * earlier_residual / denominator
    # seed noise plus the misfit's variance left after the earlier runs, (1 - share) share / denominator
    scale = sigma * xp.sqrt(seed_share + (1 - seed_share) * seed_share / denominator)
    return shift, scale


def _run_labels(runs: xr.Dataset) -> np.ndarray:
    return runs.run.values if "run" in runs.coords else np.arange(runs.sizes["run"])


def form_attrs(form: str, penalty: str, frontier: str = DEFAULT_FRONTIER, discrepancy: str = DEFAULT_DISCREPANCY) -> dict:
    """What the posterior queries need to know of a form, as the posterior's attrs keep it: its name,
    valley, ``model_version``, ``law_variables`` (the surface's variables) and its variables by role
    (``surfaces.Form.roles``: ``deviation_variables``, ``unpooled_variables``), each a space-separated
    list of names, so that queries need not guess the form from the draws."""
    discrepancy = discrepancy_of(form, discrepancy)
    surface = surfaces.form(form, penalty, frontier, discrepancy)
    with pm.Model(coords={"sparsity": [0.0], **_knot_coords(surface)}):
        names = list(surface.declare())
    return {"form": form, "penalty": penalty, "frontier": frontier, "discrepancy": discrepancy,
            "model_version": MODEL_VERSION,
            "law_variables": " ".join(names),
            **{f"{role}_variables": " ".join(values) for role, values in surface.roles.items()}}


def two_term_law(posterior: xr.Dataset) -> dict:
    """The two-term form's r* law at C0, per draw and level: ``alpha_r`` (r* at C0) and ``beta_r``
    (the local exponent of compute there), in the other forms' names so that their queries and plots
    read it alike."""
    alpha_r = xr.apply_ufunc(laws.foc_r_star, 1.0, posterior["A_A"], posterior["A_E"], posterior["p"], posterior["q_s"])
    return {"alpha_r": alpha_r, "beta_r": laws.foc_slope(alpha_r, posterior["p"], posterior["q_s"])}


def fit(dataset: xr.Dataset, *, sampler: str = sampling.DEFAULT_SAMPLER, draws: int = 1000, tune: int = 1000,
        chains: int = 4, seed: int = 0, form: str = DEFAULT_FORM, penalty: str = DEFAULT_PENALTY,
        frontier: str = DEFAULT_FRONTIER, pivot: float = laws.PIVOT, discrepancy: str = DEFAULT_DISCREPANCY,
        seed_offset: bool = True, hinge_scale: float = DEFAULT_HINGE_SCALE, log_likelihood: bool = False,
        progressbar: bool = True) -> az.InferenceData:
    """Posterior of the joint model given the runs in ``dataset`` (dim ``run``, as Ledger.to_dataset()).

    ``attrs`` hold what queries need: pivot, S_REF, sparsity levels, form, penalty, the ledger
    fingerprint (``dataset.attrs['ledger_fingerprint']`` when present) and the diagnostics with the
    verdict ``converged`` (1/0). ``constant_data`` keeps the runs; ``log_likelihood=True`` adds the
    pointwise log-likelihood that LOO needs. ``form="auto"`` fits the paper's law (with ``penalty``)
    and the two-term form and returns the one PSIS-LOO prefers (``preferred``), its reason in
    ``attrs['form_choice']`` and in ``attrs['form_settled']`` whether the other is behind by more than
    2 standard errors (``posterior.law_settled``): the user need not know which law the runs follow.
    ``discrepancy`` "hinges" lets log r* bend away from a valley form's law below the top of the runs'
    compute (surfaces; the two-term form, also under "auto", is fitted without it: forms.discrepancy_of), under the
    prior tau ~ HalfNormal(``hinge_scale``) (``attrs['hinge_scale']``).
    ``seed_offset``: a per-seed offset of the losses where the runs have two trainer seeds or more
    (``seed_levels``; ``attrs['seed_offset']`` says whether the fit has one)."""
    options = dict(sampler=sampler, draws=draws, tune=tune, chains=chains, seed=seed, progressbar=progressbar,
                   frontier=frontier, pivot=pivot, seed_offset=seed_offset, hinge_scale=hinge_scale)
    if form != AUTO_FORM:
        return _fit_form(dataset, form=form, penalty=penalty, discrepancy=discrepancy, log_likelihood=log_likelihood,
                         **options)
    fits = {_label(f, p): _fit_form(dataset, form=f, penalty=p, log_likelihood=True, discrepancy=discrepancy, **options)
            for f, p in ((DEFAULT_FORM, penalty), (TWO_TERM_FORM, IMPLIED_PENALTY))}
    table = sampling.loo_compare(fits)
    chosen, verdict = preferred(table, _label(DEFAULT_FORM, penalty))
    idata = fits[chosen]
    if not log_likelihood:
        del idata.log_likelihood
    # settled: the law not kept is behind by more than 2 se, whichever it is
    idata.attrs.update(form_choice=verdict, form_settled=int(_behind(table, table.index[1])))
    return idata


def _fit_form(dataset: xr.Dataset, *, form: str, penalty: str, frontier: str, pivot: float, discrepancy: str,
              seed_offset: bool, hinge_scale: float, log_likelihood: bool, **options) -> az.InferenceData:
    """``fit`` with one form."""
    runs = checked_runs(dataset)
    penalty, discrepancy = penalty_of(form, penalty), discrepancy_of(form, discrepancy)
    levels = tuple(float(s) for s in sparsity_levels(runs["sparsity"].values))
    seeds = seed_levels(runs) if seed_offset else ()
    model = build_model(runs, levels, form, penalty, frontier, pivot, discrepancy, seeds, hinge_scale)
    key = structure(levels, form, penalty, frontier, discrepancy, seeds, hinge_scale)
    idata = sampling.sample(model, cache_key=key, **options)
    if form == TWO_TERM_FORM:
        idata.posterior = idata.posterior.assign(two_term_law(idata.posterior))
    kept = {group: idata[group] for group in idata.groups() if group not in ("constant_data", "observed_data")}
    idata = az.InferenceData(**kept, constant_data=runs.drop_vars("loss"), observed_data=runs[["loss"]])
    if log_likelihood:
        with model:
            pm.compute_log_likelihood(idata, var_names=["loss"], progressbar=False)
    report = sampling.diagnostics(idata)
    idata.attrs.update({
        "pivot": float(pivot), "s_ref": laws.S_REF, "sparsity_levels": list(levels),
        **form_attrs(form, penalty, frontier, discrepancy),
        **{attr: [float(t) for t in model[data].get_value()]
           for data, attr in surfaces.KNOT_ATTRS.items() if data in model.named_vars},
        "sampler": options["sampler"], "seed": options["seed"], "n_runs": int(runs.sizes["run"]),
        "seed_offset": int(bool(seeds)),
        **({"hinge_scale": float(hinge_scale)} if discrepancy == HINGES_DISCREPANCY else {}),
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
