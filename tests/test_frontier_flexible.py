"""The flexible frontier (``frontier = "flexible"``, surfaces.py): the power law plus shrunk bends in log C
below the top of the runs' compute, shared by the levels, and the valley's curvature bent the same way, so
that a frontier or a valley the power laws cannot follow does not leak into r*."""

import numpy as np
import pymc as pm
import pytest

from bayes_moe import config, forms, laws, model, posterior, simulate, surfaces
from bayes_moe.benchmarks import frontier as frontier_benchmark
from conftest import R_GRID, RECOVERY, assert_near_truth

SPARSITY = np.array(laws.PAPER_SPARSITIES)
# r* follows the law; below 1e18 the frontier bends up and the valley's curvature doubles per decade
BENT = dict(law="bending", frontier_bend=0.2, r_star_bend=0.0, kappa_bend=np.log(2.0))


def test_the_frontier_bends_below_its_knots_only_and_its_power_law_is_scaled_at_the_top_knot():
    form = surfaces.form("power", "asymmetric", frontier="flexible", discrepancy="none")
    knots = np.array([-1.0, -2.0, -3.0])
    q = {"E": 1.7, "A": np.array([[1.2]]), "gamma": 0.2, "frontier_knots": knots,
         "frontier_bends": np.array([[0.1, 0.0, -0.05]])[:, None]}  # (sample, point, knot), shared by levels
    log_c = np.array([0.5, -1.0, -2.5, -4.0])
    power = 1.7 + 1.2 * np.exp(-0.2 * (log_c - knots[0]))  # A is the reducible loss at the top knot
    bend = 0.1 * np.maximum(-1.0 - log_c, 0) - 0.05 * np.maximum(-3.0 - log_c, 0)
    np.testing.assert_allclose(form.frontier_loss(q, log_c, np)[0], power + bend)
    assert form.knots_data == ("frontier_knots",)
    assert surfaces.form("power", "asymmetric", frontier="power").knots_data == ("knots", "hinge_offsets", "hinge_tilts")


def test_flexible_frontiers_keep_their_power_laws_parametrisation():
    assert forms.frontier_law("flexible") == "top" and forms.frontier_law("anchored-flexible") == "anchored"
    attrs = model.form_attrs("power", "asymmetric", frontier="anchored-flexible")
    assert {"L_pivot", "drop", "frontier_bends", "bend_scale"} <= set(attrs["law_variables"].split())
    assert attrs["unpooled_variables"] == "L_pivot drop"
    assert model.form_attrs("power", "asymmetric", frontier="flexible")["unpooled_variables"] == "A_top"


def test_the_flexible_frontiers_floor_is_its_mean_at_the_top_knot_less_the_levels_mean_scale_there():
    """E is drawn through what the runs above the top knot pin (the frontier there, frontier_top), not itself."""
    form = surfaces.form("power", "asymmetric", frontier="flexible", discrepancy="none")
    with pm.Model(coords={"sparsity": [0.5, 0.9], "knot": [0, 1, 2]}):
        variables = form.declare()
    E = variables["E"].eval({variables["frontier_top"]: 2.5, variables["A_top"]: np.array([0.2, 0.4])})
    assert E == pytest.approx(2.2)


def test_the_top_knot_keeps_two_of_the_runs_computes_above_or_at_it():
    """The demo's five computes keep the discrepancy's knots; runs at three computes (replicates included) get the
    top knot at the second-highest, 1e18, where the quarter-cut (3.2e18) left 1e19 alone above it; the model's
    data carry them."""
    demo = np.log(np.array(simulate.DEMO_COMPUTES) / laws.PIVOT)
    np.testing.assert_array_equal(surfaces.frontier_knots(demo), surfaces.hinge_knots(demo))
    runs = simulate.sweep_dataset(simulate.World(seed=0), computes=(1e17, 1e18, 1e18, 1e19), r_grid=(0.5, 1.0))
    log_c = np.log(runs["compute"].values / laws.PIVOT)
    expected = np.log(1e18 / laws.PIVOT) - np.log(10.0) * np.array([0.0, 1 / 3, 2 / 3])
    np.testing.assert_allclose(surfaces.frontier_knots(log_c), expected)
    assert surfaces.hinge_knots(log_c)[0] == pytest.approx(np.log(10**18.5 / laws.PIVOT))  # the discrepancy's stay
    built = model.build_model(runs, tuple(model.sparsity_levels(runs["sparsity"].values)), frontier="flexible")
    np.testing.assert_allclose(built["frontier_knots"].get_value(), expected)
    two = np.log(np.array([1e17, 1e19]) / laws.PIVOT)
    assert (surfaces.frontier_knots(two) == two[0]).all()  # two computes: no bend reaches a run


def test_campaign_model_section_names_the_flexible_frontier(tmp_path):
    (tmp_path / "campaign.toml").write_text('[model]\nfrontier = "flexible"\n')
    assert config.load_campaign(tmp_path).frontier == "flexible"


@pytest.mark.parametrize("argv, problem", [(["--draws", "0"], "--draws >= 1"),
                                           (["--computes", "1e18", "1e18"], "two or more distinct computes")])
def test_frontier_benchmark_refuses_bad_settings_in_one_line(argv, problem, capsys):
    with pytest.raises(SystemExit) as stopped:
        frontier_benchmark.main(argv)
    assert stopped.value.code == 2 and problem in capsys.readouterr().err


def test_frontier_benchmark_record_leaves_out_a_frontier_not_yet_fitted():
    """The record is rewritten after every fit: after the first of a data set, the next frontier has none."""
    scores = {name: {"hit": [True, False], "half-width": [0.1, 0.3], "error": [0.05, -0.2]}
              for name in frontier_benchmark.QUERIES}
    fit = {"frontier error": [0.0] * 5, "mean residual": [0.01] * 5, "r_star": scores, "converged": False,
           "cpu seconds": 20.0, "max_rhat": 1.02, "min_ess_bulk": 300, "min_ess_tail": 250, "divergences": 1}
    record = frontier_benchmark.markdown(simulate.World(**BENT), {"power": [fit], "flexible": []}, 60.0, 50.0, 2000)
    assert "frontier_bend +0.2 nats" in record and "kappa_bend +0.693147 log kappa" in record and "2000 draws a chain" in record
    assert "| power | 1 | 1 | 1.020 | 300 / 250 | 1 | 50% / 50% / 50% |" in record
    assert "| flexible |" not in record
    fewer = dict(fit, **{"frontier error": [0.0] * 3, "mean residual": [0.01] * 3})
    record = frontier_benchmark.markdown(simulate.World(**BENT), {"power": [fewer]}, 60.0, 50.0, computes=(1e17, 1e18, 1e19))
    assert "Demo design at 3 computes" in record and "| power | mean residual | +0.0100 | +0.0100 | +0.0100 |" in record


@pytest.fixture(scope="module")
def fits():
    """The power and the flexible frontier fitted to a world whose frontier bends up by 0.2 nats per decade
    below 1e18 FLOPs and whose valley's curvature doubles per decade there (r* on the paper's law), the demo's
    five computes 1e17..1e19."""
    world = simulate.World(seed=3, **BENT)
    runs = simulate.sweep_dataset(world, r_grid=R_GRID)
    return world, runs, {frontier: model.fit(runs, frontier=frontier, seed=3, **RECOVERY)
                         for frontier in ("power", "flexible")}


@pytest.mark.slow  # two recovery fits, one of a structure no other file compiles (~60 CPU s with its compilation)
def test_a_bent_frontier_is_followed_by_the_flexible_fit_and_not_by_the_power_law(fits):
    world, runs, idata = fits
    # seed 3: flexible <= 0.0008 nats at every compute, power 0.026 at 1e18 (the knee) and 0.013 below it
    flexible, power = (np.abs(frontier_benchmark.mean_residuals(idata[f], runs)) for f in ("flexible", "power"))
    assert flexible.max() < 0.004, f"flexible frontier: residuals by compute {flexible}"
    assert power.max() > 0.01, f"power frontier: residuals by compute {power}"  # the bend it cannot follow
    truth = world.mean_loss(np.exp(world.log_r_star(1e17, SPARSITY)), 1e17, SPARSITY)
    assert_near_truth(posterior.frontier_draws(idata["flexible"], 1e17, SPARSITY).values, truth, "frontier at 1e17")


@pytest.mark.slow
def test_a_bent_frontier_leaks_into_r_star_under_the_power_law_only(fits):
    world, _, idata = fits
    # seed 3: flexible 0.89-0.98x the truth (within 0.61 sd), power 3.7-4.6x with 3 of 4 intervals above it
    # (lower ends 0.99-1.26x the truth)
    truth = world.log_r_star(1e20, SPARSITY)
    assert_near_truth(posterior.log_r_star_draws(idata["flexible"], 1e20, SPARSITY).values, truth, "log r* at 1e20")
    interval = posterior.r_star(idata["power"], 1e20, SPARSITY)
    missed = (np.exp(truth) < interval["lower"].values) | (np.exp(truth) > interval["upper"].values)
    assert missed.any(), "the power frontier's r* intervals at 1e20 all cover a world it cannot follow"


@pytest.mark.slow
def test_a_valley_whose_curvature_bends_with_compute_is_followed_by_the_flexible_fit(fits):
    world, _, idata = fits
    flexible = idata["flexible"]
    knots = np.array(flexible.attrs["frontier_knots"])
    log_c = np.log(np.array([1e17, 1e19]) / flexible.attrs["pivot"])
    draws = flexible.posterior.stack(sample=("chain", "draw"))
    log_kappa = (-draws["kappa_exponent"].values[:, None] * log_c
                 + (draws["valley_bends"].values.T[:, None, :] * surfaces.hinges(knots, log_c, np)).sum(-1))
    # the curvature at 1e17 over that at 1e19: e^kappa_bend = 2 (seed 3: log ratio 0.72 +- 0.24, 0.11 sd off)
    assert_near_truth(log_kappa[:, 0] - log_kappa[:, 1], world.kappa_bend, "log kappa(1e17) - log kappa(1e19)")
