"""Every figure of bayes_moe.plots on a posterior built by hand around the paper's law (no MCMC):
labelled axes, log scales where compute or r spans decades, and the bands, lines and markers
each figure promises, checked against the data that made them."""

import arviz as az
import matplotlib
import numpy as np
import pytest
import xarray as xr

matplotlib.use("Agg")

from bayes_moe import forms, laws, model, plots, simulate  # noqa: E402
from bayes_moe.design import DesignSpace, EnsembleModel, PosteriorDraws, TargetVarianceReduction  # noqa: E402
from bayes_moe.design.space import Candidate  # noqa: E402

from conftest import COMPUTES  # noqa: E402

LEVELS = laws.PAPER_SPARSITIES


@pytest.fixture(scope="module")
def runs():
    """The paper's grid at three computes, noisy losses from the paper's world."""
    return simulate.sweep_dataset(simulate.World(law="paper", seed=0), computes=COMPUTES,
                                  r_grid=(0.2, 0.4, 0.7, 1.0, 1.5), rng=np.random.default_rng(0))


@pytest.fixture(scope="module")
def idata():
    """Two chains of draws of the joint model's parameters, centred on the paper's law and the
    demo world's frontier, in the layout model.fit writes."""
    rng = np.random.default_rng(1)
    chains, draws, n = 2, 150, len(LEVELS)
    noise = lambda scale, *shape: scale * rng.standard_normal((chains, draws, *shape))  # noqa: E731
    paper = laws.paper_pivot_coefficients()
    alpha_r = laws.paper_r_star(laws.PIVOT, np.array(LEVELS)) * np.exp(noise(0.03, n))
    beta_r = laws.paper_beta_r(np.array(LEVELS)) * np.exp(noise(0.05, n))
    kappa = 0.03 * np.exp(noise(0.05))
    x = laws.centred_log_active(np.array(LEVELS))
    posterior = {
        "a0": paper["a0"] + noise(0.05), "a1": paper["a1"] + noise(0.05), "b0": paper["b0"] + noise(0.05),
        "b1": paper["b1"] + noise(0.05), "sigma_alpha": 0.02 + np.abs(noise(0.05)),
        "sigma_beta": 0.02 + np.abs(noise(0.05)), "alpha_r": alpha_r, "beta_r": beta_r,
        "A": 1.1 * np.exp(0.1 * x) * np.exp(noise(0.01, n)), "E": 1.7 + noise(0.01), "gamma": 0.15 + noise(0.003),
        "kappa": kappa, "kappa_exponent": noise(0.01), "sigma": 0.01 * np.exp(noise(0.05)), "nu": 5 * np.exp(noise(0.1)),
    }
    # each level's deviations from the population line, as the model samples them
    posterior["z_alpha"] = (np.log(alpha_r) - posterior["a0"][..., None] - posterior["a1"][..., None] * x) \
        / posterior["sigma_alpha"][..., None]
    posterior["z_beta"] = (np.log(beta_r) - posterior["b0"][..., None] - posterior["b1"][..., None] * x) \
        / posterior["sigma_beta"][..., None]
    data = az.from_dict(posterior=posterior, coords={"sparsity": list(LEVELS)},
                        dims={name: ["sparsity"] for name in ("alpha_r", "beta_r", "A", "z_alpha", "z_beta")})
    data.attrs.update(pivot=laws.PIVOT, s_ref=laws.S_REF, sparsity_levels=list(LEVELS),
                      **model.form_attrs("power", "symmetric", frontier="power", discrepancy=forms.NO_DISCREPANCY))
    return data


def panels(fig):
    """The data axes of a figure (not colour bars)."""
    return [ax for ax in fig.axes if ax.get_label() != "<colorbar>"]


def test_sweep_argmins_are_the_lowest_loss_of_each_swept_cell():
    runs = xr.Dataset({"r": ("run", [0.5, 1.0, 2.0, 0.5, 1.0, 0.5]), "compute": ("run", [1e17] * 3 + [1e18] * 3),
                       "sparsity": ("run", [0.9] * 5 + [0.8]), "loss": ("run", [3.0, 2.9, 2.95, 2.5, 2.6, 1.0])})
    argmins = plots.sweep_argmins(runs, [0.8, 0.9])
    assert argmins[["sparsity", "compute", "r"]].values.tolist() == [[0.9, 1e17, 1.0]]  # 2-run cells are no sweep


def test_r_star_bands_draw_both_bands_the_law_and_every_sweep(idata, runs):
    fig = plots.r_star_bands(idata, runs)
    axes = panels(fig)
    assert [ax.get_title() for ax in axes] == [plots.sparsity_label(s) for s in LEVELS]
    for ax in axes:
        assert (ax.get_xscale(), ax.get_yscale()) == ("log", "log")
        assert len(ax.collections) == 2  # 50% and 90% bands
        band_90, band_50 = (np.array(c.get_paths()[0].vertices) for c in ax.collections)
        assert np.ptp(band_90[:, 1]) > np.ptp(band_50[:, 1])
        median, paper, argmins = ax.get_lines()
        assert len(argmins.get_xdata()) == len(COMPUTES)
        # the hand-built posterior is centred on the paper's law: its median follows the law
        np.testing.assert_allclose(median.get_ydata(), paper.get_ydata(), rtol=0.15)
    assert "FLOPs" in axes[-1].get_xlabel() and "r*" in axes[0].get_ylabel()
    assert {t.get_text() for t in fig.legends[0].get_texts()} >= {"90% interval", "50% interval", "paper's law",
                                                                  "sweep argmin (data)", "beyond the data"}


def test_law_parameters_show_every_level_and_the_paper(idata):
    fig = plots.law_parameters(idata)
    axes = panels(fig)
    assert len(axes) == 3 and all(ax.get_ylabel() and ax.get_xlabel() == "activated fraction 1 - S" for ax in axes)
    beta = axes[2]
    thick = [c for c in beta.collections if max(c.get_linewidths()) == 4][0]
    assert len(thick.get_segments()) == len(LEVELS)  # one 50% interval per level
    paper = [line for line in beta.get_lines() if line.get_linestyle() == "--"][0]
    np.testing.assert_allclose(paper.get_ydata(), laws.paper_beta_r(1 - paper.get_xdata()))


def test_observed_vs_predicted_reports_coverage(idata, runs):
    fig = plots.observed_vs_predicted(idata, runs)
    left, right = panels(fig)
    assert left.get_xlabel() == "predicted loss (nats)" and "nats" in right.get_ylabel()
    assert len(left.containers) == len(LEVELS)
    coverage = float(fig.get_suptitle().split("%")[0].split()[-1]) / 100
    assert coverage > 0.7  # the runs come from the world the posterior is centred on


def test_residuals_by_compute_draw_every_run_in_its_level(idata, runs):
    fig = plots.residuals_by_compute(idata, runs)
    axes = panels(fig)
    assert [ax.get_title() for ax in axes] == [plots.sparsity_label(s) for s in LEVELS]
    assert sum(len(ax.containers[0].lines[0].get_xdata()) for ax in axes) == runs.sizes["run"]
    assert all(ax.get_xscale() == "log" and "FLOPs" in ax.get_xlabel() for ax in axes)
    residuals = np.concatenate([ax.containers[0].lines[0].get_ydata() for ax in axes])
    assert np.abs(np.median(residuals)) < 0.01  # the posterior is centred on the world of the runs


def test_loss_curves_draw_one_valley_per_swept_compute(idata, runs):
    fig = plots.loss_curves(idata, runs)
    axes = panels(fig)
    assert len(axes) == len(LEVELS)
    for ax in axes:
        curves = [line for line in ax.get_lines() if line.get_marker() in ("None", "")]
        assert len(curves) == len(COMPUTES)
        assert all(min(curve.get_ydata()) == pytest.approx(0.0) for curve in curves)  # excess over the minimum
    assert "FLOPs" in fig.axes[-1].get_ylabel()  # the colour bar names compute


def test_acquisition_map_marks_the_batch_in_pick_order():
    space = DesignSpace(r_bounds=(0.1, 4.0), compute_bounds=(1e17, 1e20), sparsities=(0.9091, 0.9538))
    rng = np.random.default_rng(0)
    beta = 0.14 + 0.03 * rng.standard_normal(32)

    def log_r_star(compute, sparsity):
        return np.log(0.4) + beta[:, None] * np.log(np.asarray(compute) / 1e17)[None] + 0 * np.asarray(sparsity)

    def loss(r, compute, sparsity):
        return 2.0 + 0.05 * (np.log(np.asarray(r))[None] - log_r_star(compute, sparsity)) ** 2

    draws = PosteriorDraws(loss, np.full(32, 0.01), log_r_star(np.array([1e21, 1e21]), np.array(space.sparsities)))
    model = EnsembleModel.from_draws(draws, space)
    proposed = [space.snap(x) for x in space.to_features([0.3, 2.0, 1.0], [1e19, 1e18, 1e20], [0.9538, 0.9538, 0.9091])]
    fig = plots.acquisition_map(TargetVarianceReduction(model, draws.targets), space, proposed=proposed,
                                resolution=12, label="Var drop")
    axes = panels(fig)
    assert [ax.get_title() for ax in axes] == [plots.sparsity_label(s) for s in space.sparsities]
    assert [[t.get_text() for t in ax.texts] for ax in axes] == [["3"], ["1", "2"]]
    assert all(isinstance(c, Candidate) for c in proposed)
    assert fig.axes[-1].get_ylabel() == "Var drop"
    assert all(ax.get_yscale() == "log" and "FLOPs" in ax.get_ylabel() for ax in axes if ax.get_ylabel())


def test_campaign_trace_draws_one_line_per_strategy_from_the_shared_start():
    fig = plots.campaign_trace({"active": [(3e18, 0.8), (4e18, 0.3)], "grid": [(3e18, 0.8), (7e18, 0.6)]},
                               target_width=0.1, start=(2e18, 0.9))
    (ax,) = fig.axes
    assert [line.get_label() for line in ax.get_lines()] == ["active", "grid", "shared start (2e+18 FLOPs)",
                                                             "stopping rule: ±10%"]
    np.testing.assert_allclose(ax.get_lines()[0].get_xydata(), [[1e18, 0.8], [2e18, 0.3]])  # spent since the start
    assert (ax.get_xscale(), ax.get_yscale()) == ("log", "log") and "FLOPs" in ax.get_xlabel()


def test_rank_plots_and_table_cover_the_population_parameters(idata):
    names = [name for name in plots.HYPERPARAMETERS if name in idata.posterior]
    fig = plots.rank_plots(idata)
    assert sorted(ax.get_title() for ax in fig.axes if ax.get_title()) == sorted(names)
    table = plots.diagnostics_table(idata)
    assert list(table.index) == names and {"r_hat", "ess_bulk"} <= set(table.columns)


def test_law_parameters_of_the_two_term_form_follow_its_first_order_condition():
    """The two-term form has no population line for r*: the plot derives it from the surface's
    parameters (the line of log A_E in x), so with A_E log-linear in x its median passes through the
    levels' r* at C0."""
    rng = np.random.default_rng(2)
    world = simulate.World(law="two-term")
    A_E = 0.4 * np.exp(0.3 * laws.centred_log_active(np.array(LEVELS)))
    jitter = lambda *shape: np.exp(0.02 * rng.standard_normal((2, 100, *shape)))  # noqa: E731
    q = world.q * jitter()
    posterior = {"E": 1.7 * jitter(), "A_A": world.A_attention * jitter(), "A_E": A_E * jitter(len(LEVELS)),
                 "p": world.p * jitter(), "q": q, "q_slope": 0 * q, "q_s": np.repeat(q[..., None], len(LEVELS), -1),
                 "sigma": 0.01 * jitter(), "nu": 5 * jitter()}
    data = az.from_dict(posterior=posterior, coords={"sparsity": list(LEVELS)},
                        dims={"A_E": ["sparsity"], "q_s": ["sparsity"]})
    data.posterior = data.posterior.assign(model.two_term_law(data.posterior))
    data.attrs.update(pivot=laws.PIVOT, s_ref=laws.S_REF, sparsity_levels=list(LEVELS),
                      **model.form_attrs(forms.TWO_TERM_FORM, forms.IMPLIED_PENALTY))
    fig = plots.law_parameters(data)
    r_star_at_pivot = panels(fig)[0]
    median = r_star_at_pivot.get_lines()[0]
    level_medians = data.posterior["alpha_r"].median(("chain", "draw")).values
    np.testing.assert_allclose(np.interp(1 - np.array(LEVELS), median.get_xdata()[::-1], median.get_ydata()[::-1]),
                               level_medians, rtol=0.05)
