"""Queries on a fitted posterior (``posterior.nc`` in a workspace): r*(C, S) with credible intervals,
the mean and predictive loss of candidate runs, and the bookkeeping (stale, converged).

Every query takes any compute C > 0 and any sparsity 0 <= S < 1, broadcast against each other and
flattened along dim ``point``; draws lie along dim ``sample`` (chains stacked). At a sparsity the runs
cover, a level's own parameters are used; elsewhere the population law gives alpha and beta, with a
new level's deviation drawn from the fitted spread (sigma_alpha, sigma_beta), and the frontier's
``log A`` (the two-term form's ``log A_E``) is the per-draw least-squares line in ``x`` through the
fitted levels.
"""

from __future__ import annotations

import os
import zlib
from dataclasses import dataclass
from pathlib import Path

import arviz as az
import numpy as np
import xarray as xr

from bayes_moe import forms, laws, model
from bayes_moe.errors import InputError
from bayes_moe.fields import is_sparsity
from bayes_moe.workspace import POSTERIOR_FILE

NOISE_NU_FLOOR = 3.0  # noise_sd: a Student-t draw with nu <= 2 has no sd; use that of nu = 3


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


def is_stale(idata: az.InferenceData, ledger) -> bool:
    """Whether the ledger's finished runs differ from those the posterior was fit on."""
    return idata.attrs.get("ledger_fingerprint", "") != ledger.fingerprint()


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
    surface = _surface_at(idata, points["sparsity"].values)
    return _labelled(surface.log_r_star(_log_relative(idata, points)), points, "log_r_star")


def population_law(idata: az.InferenceData, sparsity) -> xr.Dataset:
    """Draws of the population law across sparsity, without a new level's own deviation: ``log_alpha``
    (log r* at C0) and ``beta`` (d log r* / d log C at C0), dims ('sample', 'point')."""
    points = _points(sparsity=sparsity)
    surface = _surface_at(idata, points["sparsity"].values, population=True)
    return xr.Dataset({"log_alpha": _labelled(surface.log_r_star(0.0), points, "log_alpha"),
                       "beta": _labelled(surface.slope(0.0), points, "beta")})


def r_star(idata: az.InferenceData, compute, sparsity, prob: float = 0.9) -> xr.Dataset:
    """Median and central ``prob`` credible interval of r* at each point (dim 'point')."""
    _check_prob(prob)
    return _summary(np.exp(log_r_star_draws(idata, compute, sparsity)), prob)


def loss_draws(idata: az.InferenceData, r, compute, sparsity) -> xr.DataArray:
    """Draws of the mean (noise-free) loss of a run at (r, compute, sparsity): dims ('sample', 'point')."""
    points = _points(r=r, compute=compute, sparsity=sparsity)
    surface = _surface_at(idata, points["sparsity"].values)
    return _labelled(surface.mean_loss(np.log(points["r"].values), _log_relative(idata, points)), points, "loss")


def predictive_loss(idata: az.InferenceData, r, compute, sparsity, prob: float = 0.9, seed: int = 0) -> xr.Dataset:
    """Median and central ``prob`` predictive interval of the observed loss of a new run (with noise)."""
    _check_prob(prob)
    mean = loss_draws(idata, r, compute, sparsity)
    draws = _draws(idata)
    noise = np.random.default_rng(seed).standard_t(draws["nu"].values[:, None], mean.shape)
    return _summary(mean + draws["sigma"].values[:, None] * noise, prob)


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
            bound = "0 <= sparsity < 1" if name == "sparsity" else f"{name} > 0"
            raise InputError(f"need {bound}, got {name} = {v[~ok][0]!r}")
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


@dataclass(frozen=True)
class _ValleySurface:
    """A frontier and a valley around the r* law (forms power, curved, signed), per draw and point."""

    log_alpha: np.ndarray
    beta: np.ndarray
    curvature: np.ndarray | float
    E: np.ndarray
    A: np.ndarray
    gamma: np.ndarray
    kappa_left: np.ndarray
    kappa_right: np.ndarray
    kappa_exponent: np.ndarray | float

    def log_r_star(self, log_c):
        return laws.log_r_star(self.log_alpha, self.beta, log_c, self.curvature)

    def slope(self, log_c):
        return self.beta + self.curvature * (2 * log_c - laws.CURVE_ANCHOR)

    def mean_loss(self, log_r, log_c):
        c = np.exp(log_c)
        return (laws.frontier(self.E, self.A, self.gamma, c)
                + laws.valley(log_r - self.log_r_star(log_c), c, self.kappa_left, self.kappa_right, self.kappa_exponent))


@dataclass(frozen=True)
class _TwoTermSurface:
    """The two-term form's surface, per draw and point; r* from its first-order condition."""

    E: np.ndarray
    A_A: np.ndarray
    A_E: np.ndarray
    p: np.ndarray
    q: np.ndarray

    def log_r_star(self, log_c):
        return np.log(laws.foc_r_star(np.exp(log_c), self.A_A, self.A_E, self.p, self.q))

    def slope(self, log_c):
        return laws.foc_slope(np.exp(self.log_r_star(log_c)), self.p, self.q)

    def mean_loss(self, log_r, log_c):
        return laws.two_term_loss(np.exp(log_r), np.exp(log_c), self.E, self.A_A, self.A_E, self.p, self.q)


def _surface_at(idata, sparsity: np.ndarray, population: bool = False):
    """Each draw's loss surface at each point's sparsity ((sample, point) or (sample, 1) arrays): a
    fitted level's own parameters, elsewhere the population law with a new level's deviation drawn
    from the fitted spread; ``population``: the population law alone, at every point."""
    draws = _draws(idata)
    levels = np.asarray(idata.attrs["sparsity_levels"], float)
    index = np.full(sparsity.shape, -1) if population else model.level_index(sparsity, levels)
    x, x_levels = laws.centred_log_active(sparsity), laws.centred_log_active(levels)
    column = lambda name: draws[name].values[:, None]  # noqa: E731 -- (sample, 1) for broadcasting
    fitted = index >= 0

    def per_level(name, elsewhere):
        """A per-level parameter at the points: its level's draws where fitted, ``elsewhere`` otherwise."""
        values = np.array(np.broadcast_to(elsewhere, (draws.sizes["sample"], sparsity.size)))
        values[:, fitted] = draws[name].transpose("sample", "sparsity").values[:, index[fitted]]
        return values

    def level_line(name):
        """``exp`` of the per-draw line of the levels' ``log name`` in x, at the points."""
        return np.exp(_line_through_levels(np.log(draws[name].transpose("sample", "sparsity").values), x_levels, x))

    if idata.attrs.get("form") == forms.TWO_TERM_FORM:
        return _TwoTermSurface(E=column("E"), A_A=column("A_A"), A_E=per_level("A_E", level_line("A_E")),
                               p=column("p"), q=column("q") * np.exp(column("q_slope") * x))

    new_alpha, new_beta = (0.0, 0.0) if population else _new_level_deviations(sparsity, draws.sizes["sample"])
    log_alpha = column("a0") + column("a1") * x + column("sigma_alpha") * new_alpha
    beta_line = column("b0") + column("b1") * x + column("sigma_beta") * new_beta
    kappa = column("kappa")
    return _ValleySurface(
        log_alpha=np.log(per_level("alpha_r", np.exp(log_alpha))),
        beta=per_level("beta_r", beta_line if idata.attrs.get("form") == forms.SIGNED_FORM else np.exp(beta_line)),
        curvature=column("curvature") if "curvature" in draws else 0.0,
        E=column("E"), A=per_level("A", level_line("A")), gamma=column("gamma"),
        kappa_left=column("kappa_left") if "kappa_left" in draws else kappa,
        kappa_right=column("kappa_right") if "kappa_right" in draws else kappa,
        kappa_exponent=column("kappa_exponent") if "kappa_exponent" in draws else 0.0,
    )


def _new_level_deviations(sparsity, n_samples) -> tuple[np.ndarray, np.ndarray]:
    """Standard-normal deviations of a not-yet-seen level, one pair per draw and distinct sparsity,
    seeded by the sparsity value so that a query's answer does not depend on what else it asks."""
    alpha, beta = np.empty((n_samples, sparsity.size)), np.empty((n_samples, sparsity.size))
    for s in np.unique(sparsity):
        rng = np.random.default_rng(zlib.crc32(np.float64(s).tobytes()))
        columns = sparsity == s
        alpha[:, columns], beta[:, columns] = rng.standard_normal((2, n_samples, 1))
    return alpha, beta


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
    mean absolute error of the predictive median, coverage of the 50% and 90% predictive intervals."""
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
              "converged": converged(idata)}
    for prob in (0.5, 0.9):
        interval = predictive_loss(idata, test["r"].values, test["compute"].values, test["sparsity"].values, prob)
        inside = (observed >= interval["lower"].values) & (observed <= interval["upper"].values)
        report[f"coverage_{round(prob * 100)}"] = float(inside.mean())
    error = interval["median"].values - observed
    report.update(rmse=float(np.sqrt(np.mean(error**2))), mean_abs_error=float(np.mean(np.abs(error))))
    return report
