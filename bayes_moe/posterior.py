"""Queries on a fitted posterior (``posterior.nc`` in a workspace): r*(C, S) with credible intervals,
the mean and predictive loss of candidate runs, and the bookkeeping (stale, converged).

Every query takes any compute C > 0 and any sparsity 0 <= S < 1, broadcast against each other and
flattened along dim ``point``; draws lie along dim ``sample`` (chains stacked). At a sparsity the runs
cover, a level's own parameters are used; elsewhere the population law gives alpha and beta, with a
new level's deviation drawn from the fitted spread (sigma_alpha, sigma_beta), and each per-level
variable without a population law (the frontier's ``A``, the two-term form's ``A_E``) is the per-draw
least-squares line in ``x`` through the fitted levels' logs. Which variable plays which role is read
from the posterior's attrs (``model.form_attrs``); the arithmetic is the form's own (``surfaces``).
"""

from __future__ import annotations

import json
import os
import zlib
from pathlib import Path

import arviz as az
import numpy as np
import xarray as xr
from scipy import stats

from bayes_moe import laws, model, sampling, surfaces
from bayes_moe.errors import InputError
from bayes_moe.fields import is_sparsity, rule
from bayes_moe.workspace import POSTERIOR_FILE

MODEL_SETTINGS = "model_settings"  # attrs key: the campaign's [model] a fit read (fitting.model_settings)

NOISE_NU_FLOOR = 3.0  # noise_sd: a Student-t draw with nu <= 2 has no sd; use that of nu = 3
NEW_SEED_STREAM = 1867  # seed_offset_draws: a stream of its own for the offsets of seeds a fit has not seen


_POSTERIOR_ATTRS = ("form", "penalty", "pivot", "sparsity_levels", "n_runs", "ledger_fingerprint")  # model.fit's


def load(workspace) -> az.InferenceData:
    """The workspace's posterior; ``InputError`` naming the file if it has none, or if it cannot be read as
    one (damaged, truncated, or a NetCDF file that ``model.fit`` did not write): `bayes-moe fit` rebuilds it."""
    path = Path(workspace) / POSTERIOR_FILE
    if not path.is_file():
        raise InputError(f"no posterior at {path}: run `bayes-moe fit` first")
    try:
        idata = az.from_netcdf(path)
    except (OSError, ValueError, KeyError) as error:  # netCDF4/h5py's reports of a damaged file
        raise InputError(f"{path} is not a readable posterior ({type(error).__name__}: {error}); "
                         f"rebuild it with `bayes-moe fit`") from None
    missing = [f"attribute {name!r}" for name in _POSTERIOR_ATTRS if name not in idata.attrs]
    if "posterior" not in idata.groups():
        missing.insert(0, "group 'posterior'")
    if missing:
        raise InputError(f"{path} is not a bayes_moe posterior (it lacks {', '.join(missing)}); "
                         f"rebuild it with `bayes-moe fit`")
    return idata


def save(idata: az.InferenceData, workspace) -> Path:
    """Write ``posterior.nc`` atomically (a temporary file, then ``os.replace``)."""
    path = Path(workspace) / POSTERIOR_FILE
    temporary = path.with_name(f".{POSTERIOR_FILE}.{os.getpid()}.tmp")
    try:
        idata.to_netcdf(str(temporary))
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)
    return path


def staleness(idata: az.InferenceData, ledger, settings: dict | None = None,
              defaults: dict | None = None) -> str | None:
    """Why the posterior no longer answers for its workspace, or None: the ledger's finished runs (those
    at or above the fit's floor, ``attrs['min_compute']``) differ from those it was fit on, another
    version of the model fit it, or the campaign's [model] changed since (``settings``:
    ``fitting.model_settings`` now; a setting the fit did not record, one added since, counts at its value in
    ``defaults``; a posterior saved before any were recorded is taken at its word)."""
    if idata.attrs.get("model_version") != model.MODEL_VERSION:
        return "another version of the model fitted it"
    if idata.attrs.get("ledger_fingerprint", "") != ledger.fingerprint(min_compute=idata.attrs.get("min_compute")):
        return "the ledger's finished runs changed since the fit"
    if settings is not None and MODEL_SETTINGS in idata.attrs:
        fitted = {**(defaults or {}), **json.loads(idata.attrs[MODEL_SETTINGS])}
        if any(fitted.get(key) != value for key, value in settings.items()):
            return "the campaign's [model] changed since the fit"
    return None


def converged(idata: az.InferenceData) -> bool:
    """The fit's verdict: r-hat <= 1.01, ESS >= 400, no divergences (sampling.diagnostics)."""
    return bool(int(idata.attrs.get("converged", 0)))


def law_settled(idata: az.InferenceData) -> bool:
    """Whether the r* law is not in doubt: a fit of one form, or under ``form="auto"`` one whose
    rival law is behind by more than 2 standard errors of PSIS-LOO (model.fit). An unsettled fit's
    intervals assume a law the runs do not yet single out."""
    return bool(int(idata.attrs.get("form_settled", 1)))


def noise_sd(idata: az.InferenceData) -> xr.DataArray:
    """Standard deviation of one run's noise per draw: ``sigma sqrt(nu / (nu - 2))`` (Student-t)."""
    draws = _draws(idata)
    nu = np.maximum(draws["nu"], NOISE_NU_FLOOR)
    return (draws["sigma"] * np.sqrt(nu / (nu - 2))).rename("noise_sd")


def log_r_star_draws(idata: az.InferenceData, compute, sparsity) -> xr.DataArray:
    """Draws of ``log r*`` at each (compute, sparsity) point: dims ('sample', 'point')."""
    points = _points(compute=compute, sparsity=sparsity)
    surface = _SurfaceAt(idata, points["sparsity"].values)
    return _labelled(surface.log_r_star(_log_relative(idata, points)), points, "log_r_star")


def frontier_draws(idata: az.InferenceData, compute, sparsity) -> xr.DataArray:
    """Draws of the frontier, the lowest mean loss reachable at each (compute, sparsity) point (the mean
    loss at each draw's own r*): dims ('sample', 'point')."""
    points = _points(compute=compute, sparsity=sparsity)
    surface = _SurfaceAt(idata, points["sparsity"].values)
    log_c = _log_relative(idata, points)
    return _labelled(surface.mean_loss(surface.log_r_star(log_c), log_c), points, "frontier")


def population_law(idata: az.InferenceData, sparsity) -> xr.Dataset:
    """Draws of the population law across sparsity, without a new level's own deviation: ``log_alpha``
    (log r* at C0) and ``beta`` (d log r* / d log C at C0), dims ('sample', 'point')."""
    points = _points(sparsity=sparsity)
    surface = _SurfaceAt(idata, points["sparsity"].values, population=True)
    return xr.Dataset({"log_alpha": _labelled(surface.log_r_star(0.0), points, "log_alpha"),
                       "beta": _labelled(surface.slope(0.0), points, "beta")})


def r_star(idata: az.InferenceData, compute, sparsity, prob: float = 0.9) -> xr.Dataset:
    """Median and central ``prob`` credible interval of r* at each point (dim 'point')."""
    _check_prob(prob)
    return _summary(np.exp(log_r_star_draws(idata, compute, sparsity)), prob)


def loss_draws(idata: az.InferenceData, r, compute, sparsity) -> xr.DataArray:
    """Draws of the mean (noise-free) loss of a run at (r, compute, sparsity): dims ('sample', 'point')."""
    points = _points(r=r, compute=compute, sparsity=sparsity)
    surface = _SurfaceAt(idata, points["sparsity"].values)
    return _labelled(surface.mean_loss(np.log(points["r"].values), _log_relative(idata, points)), points, "loss")


def predictive_loss(idata: az.InferenceData, r, compute, sparsity, prob: float = 0.9, seed: int = 0,
                    trainer_seed=None) -> xr.Dataset:
    """Median and central ``prob`` predictive interval of the observed loss of a new run (with noise)."""
    _check_prob(prob)
    return _summary(predictive_draws(idata, r, compute, sparsity, seed, trainer_seed), prob)


def predictive_draws(idata: az.InferenceData, r, compute, sparsity, seed: int = 0, trainer_seed=None) -> xr.DataArray:
    """Draws of the observed loss of a new run at each point (mean loss, its trainer seed's offset where the
    fit has one, and a run's noise; ``seed`` seeds the draws): dims ('sample', 'point'). ``trainer_seed``:
    each run's (broadcast; None or NaN: blank, the trainer's default, ``laws.trainer_seeds``)."""
    mean = loss_draws(idata, r, compute, sparsity)
    draws = _draws(idata)
    noise = np.random.default_rng(seed).standard_t(draws["nu"].values[:, None], mean.shape)
    seeds = laws.trainer_seeds(trainer_seed, mean.shape[1:])
    return mean + seed_offset_draws(idata, seeds) + draws["sigma"].values[:, None] * noise


def seed_offset_draws(idata: az.InferenceData, trainer_seed) -> np.ndarray:
    """Draws of the loss offset of runs of each ``trainer_seed`` (``laws.trainer_seeds`` reads a blank one),
    (sample, run): a fitted seed's own offset; a seed the fit has not seen, a new one against the fitted
    seeds' mean (model._seed_offsets), N(0, tau_seed^2 (1 + 1/n)) for n fitted seeds, seeded by the seed so
    that a query's answer does not depend on what else it asks; 0 where the fit has no offsets (one seed, or
    ``seed_offset=False``)."""
    draws = _draws(idata)
    seeds = laws.trainer_seeds(trainer_seed)
    if "seed_offset" not in draws:
        return np.zeros((draws.sizes["sample"], seeds.size))
    offsets = draws["seed_offset"].transpose("sample", "seed")
    fitted = [int(s) for s in offsets.seed.values]
    values = np.empty((draws.sizes["sample"], seeds.size))
    for s in np.unique(seeds):
        if s in fitted:
            values[:, seeds == s] = offsets.values[:, fitted.index(s), None]
        else:
            values[:, seeds == s] = (draws["tau_seed"].values * np.sqrt(1 + 1 / len(fitted))
                                     * np.random.default_rng([NEW_SEED_STREAM, s]).standard_normal(values.shape[0]))[:, None]
    return values


def noise_summary(idata: az.InferenceData, prob: float = 0.9) -> dict:
    """Median and central ``prob`` interval (lower, upper) of the noise's scales (nats): sigma, sigma_seed,
    sigma_misfit and, where the fit has a per-seed offset, tau_seed and each seed's offset (``seed_offset[S]``)."""
    draws = _draws(idata)
    tail = (1 - prob) / 2
    columns = {name: draws[name] for name in ("sigma", "sigma_seed", "sigma_misfit", "tau_seed") if name in draws}
    if "seed_offset" in draws:
        columns.update({f"seed_offset[{int(s)}]": draws["seed_offset"].sel(seed=s) for s in draws.seed.values})
    return {name: [float(v) for v in values.quantile([0.5, tail, 1 - tail], dim="sample").values]
            for name, values in columns.items()}


# --- internals ------------------------------------------------------------------------------------


def _draws(idata) -> xr.Dataset:
    """The posterior with chains stacked into one integer-labelled ``sample`` dim."""
    posterior = idata.posterior.stack(sample=("chain", "draw"))
    return posterior.drop_vars(["sample", "chain", "draw"]).assign_coords(sample=np.arange(posterior.sizes["sample"]))


def _points(**values) -> xr.Dataset:
    """Broadcast the query arrays and flatten them along ``point``; ``InputError`` on bad values."""
    arrays = np.broadcast_arrays(*(np.asarray(v, dtype=float) for v in values.values()))
    points = xr.Dataset({k: ("point", a.ravel()) for k, a in zip(values, arrays)})
    for name in values:
        v = points[name].values
        ok = is_sparsity(v) if name == "sparsity" else v > 0
        if not np.all(ok):
            bound = rule("sparsity") if name == "sparsity" else "> 0"
            raise InputError(f"need {name} {bound}, got {name} = {v[~ok][0]!r}")
    return points


def _labelled(values, points, name) -> xr.DataArray:
    return xr.DataArray(values, dims=("sample", "point"), name=name,
                        coords={k: ("point", v.values) for k, v in points.items()})


def _summary(draws: xr.DataArray, prob: float) -> xr.Dataset:
    tail = (1 - prob) / 2
    quantiles = draws.quantile([tail, 0.5, 1 - tail], dim="sample")
    return xr.Dataset({"median": quantiles.sel(quantile=0.5, drop=True),
                       "lower": quantiles.sel(quantile=tail, drop=True),
                       "upper": quantiles.sel(quantile=1 - tail, drop=True)}, attrs={"prob": prob})


def _check_prob(prob) -> None:
    if not 0 < prob < 1:
        raise InputError(f"--prob must be in (0, 1), got {prob!r}")


def _log_relative(idata, points) -> np.ndarray:
    """``l = log(C / C0)`` of each point."""
    return np.log(points["compute"].values / idata.attrs["pivot"])


class _SurfaceAt:
    """Each draw's loss surface at the query points: the form's quantities at each point's sparsity
    ((sample, point) or (sample, 1) arrays), evaluated by the form's own arithmetic (``surfaces``)."""

    def __init__(self, idata, sparsity: np.ndarray, population: bool = False):
        if idata.attrs.get("model_version") != model.MODEL_VERSION:
            raise InputError("the posterior was fit by another version of the model: run `bayes-moe fit`")
        self.surface = surfaces.form(idata.attrs["form"], idata.attrs["penalty"], idata.attrs["frontier"],
                                     idata.attrs["discrepancy"])
        levels = np.asarray(idata.attrs["sparsity_levels"], float)
        index = np.full(sparsity.shape, -1) if population else model.level_index(sparsity, levels)
        # x at a fitted level is the level's own (0.9538 stands for E = 65's 0.953846...)
        x = np.where(index >= 0, laws.centred_log_active(levels)[index], laws.centred_log_active(sparsity))
        self.q = self.surface.at_levels(_parameters_at(idata, sparsity, index, x, population), x, np)

    def log_r_star(self, log_c):
        return self.surface.log_r_star(self.q, log_c, np)

    def slope(self, log_c):
        return self.surface.slope(self.q, log_c, np)

    def mean_loss(self, log_r, log_c):
        return self.surface.mean_loss(self.q, log_r, log_c, np)


def _roles(idata, role: str) -> list:
    return idata.attrs[f"{role}_variables"].split()


def _parameters_at(idata, sparsity: np.ndarray, index: np.ndarray, x: np.ndarray, population: bool) -> dict:
    """The surface's variables at each point (roles in the attrs, ``model.form_attrs``): where
    ``index`` names a fitted level, that level's own draws; elsewhere a new level's deviations drawn
    from N(0, 1) (0 for ``population``: the population law alone) and unpooled variables on the
    per-draw line in x of their levels' logs."""
    draws = _draws(idata)
    n_samples = draws.sizes["sample"]
    x_levels = laws.centred_log_active(np.asarray(idata.attrs["sparsity_levels"], float))
    fitted = index >= 0
    deviations, unpooled = _roles(idata, "deviation"), _roles(idata, "unpooled")

    def per_level(name, elsewhere):
        """A per-level variable at the points: its level's draws where fitted, ``elsewhere`` otherwise."""
        values = np.array(np.broadcast_to(elsewhere, (n_samples, sparsity.size)))
        values[:, fitted] = draws[name].transpose("sample", "sparsity").values[:, index[fitted]]
        return values

    new = (np.zeros((len(deviations), n_samples, sparsity.size)) if population
           else _new_level_deviations(sparsity, n_samples, len(deviations)))
    parameters = {}
    for name in idata.attrs["law_variables"].split():
        if name in deviations:
            parameters[name] = per_level(name, new[deviations.index(name)])
        elif name in unpooled:
            level_logs = np.log(draws[name].transpose("sample", "sparsity").values)
            parameters[name] = per_level(name, np.exp(_line_through_levels(level_logs, x_levels, x)))
        else:  # shared by every level: (sample, 1), or (sample, 1, knot) along the discrepancy's knots
            parameters[name] = draws[name].transpose("sample", ...).values[:, None]
    # the knots of the discrepancy and of a flexible frontier, and the hinges' lines over the runs (model.build_model)
    parameters.update({data: np.atleast_1d(np.asarray(idata.attrs[attr], float))
                       for data, attr in surfaces.KNOT_ATTRS.items() if attr in idata.attrs})
    return parameters


def _new_level_deviations(sparsity, n_samples, n_variables) -> np.ndarray:
    """Standard-normal deviations of a not-yet-seen level, (variable, sample, point): one per variable,
    draw and distinct sparsity, seeded by the sparsity value so that a query's answer does not depend
    on what else it asks."""
    values = np.empty((n_variables, n_samples, sparsity.size))
    for s in np.unique(sparsity):
        rng = np.random.default_rng(zlib.crc32(np.float64(s).tobytes()))
        values[:, :, sparsity == s] = rng.standard_normal((n_variables, n_samples, 1))
    return values


def _line_through_levels(values, x_levels, x) -> np.ndarray:
    """Per draw, the least-squares line of ``values`` (sample, level) in ``x_levels``, evaluated at x
    (a constant when there is one level)."""
    if x_levels.size == 1:
        return np.repeat(values, x.size, axis=1)
    design = np.stack([np.ones_like(x_levels), x_levels], axis=1)
    coefficients, *_ = np.linalg.lstsq(design, values.T, rcond=None)
    return coefficients[0][:, None] + coefficients[1][:, None] * x[None, :]


def hold_out_validation(dataset: xr.Dataset, sparsity: float, **fit_options) -> dict:
    """Refit without the runs at ``sparsity`` and score the predicted loss of those runs: RMSE and
    mean absolute error of the predictive median, coverage of the 50% and 90% predictive intervals,
    and their probability integral transforms (PIT: where each observed loss falls in its predictive
    distribution, ArviZ ``loo_pit`` with equal weights, as the held-out runs were not fitted), uniform
    when the predictions are calibrated: ``pit`` per run, their mean (0.5 if unbiased; above: the losses
    come out higher than predicted), and the Kolmogorov-Smirnov distance from uniform with its p-value; a
    held-out run's prediction carries its trainer seed's offset where the refit has one, and ``noise`` the
    refit's noise scales (``noise_summary``), with the refit's convergence verdict and its diagnostics."""
    held = model.level_index(dataset["sparsity"].values, [sparsity]) == 0
    if not held.any():
        levels = ", ".join(f"{s:g}" for s in model.sparsity_levels(dataset["sparsity"].values))
        raise InputError(f"--hold-out-sparsity {sparsity:g}: no runs at that sparsity (levels: {levels})")
    if held.all():
        raise InputError(f"--hold-out-sparsity {sparsity:g}: every run is at that sparsity; nothing left to fit")
    idata = model.fit(dataset.isel(run=~held), **fit_options)
    test = dataset.isel(run=held)
    observed = test["loss"].values
    report = {"sparsity": sparsity, "n_fit": int((~held).sum()), "n_held_out": int(held.sum()),
              "converged": converged(idata), **{k: idata.attrs[k] for k in sampling.DIAGNOSTICS}}
    predicted = predictive_draws(idata, test["r"].values, test["compute"].values, test["sparsity"].values,
                                 trainer_seed=model.run_seeds(test))
    for prob in (0.5, 0.9):
        interval = _summary(predicted, prob)
        inside = (observed >= interval["lower"].values) & (observed <= interval["upper"].values)
        report[f"coverage_{round(prob * 100)}"] = float(inside.mean())
    error = interval["median"].values - observed
    report.update(rmse=float(np.sqrt(np.mean(error**2))), mean_abs_error=float(np.mean(np.abs(error))))
    n_samples = predicted.sizes["sample"]
    pit = az.loo_pit(y=observed, y_hat=predicted.transpose("point", "sample").values,
                     log_weights=np.full((observed.size, n_samples), -np.log(n_samples)))
    ks = stats.kstest(pit, "uniform")
    report.update(pit=[float(v) for v in pit], pit_mean=float(np.mean(pit)), pit_ks_distance=float(ks.statistic),
                  pit_ks_pvalue=float(ks.pvalue), noise=noise_summary(idata))
    return report
