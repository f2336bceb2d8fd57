"""The joint model recovers the law it was simulated from; fits are seeded, labelled and checked.

Every fit here has the paper's four levels, the default form and valley, so nutpie compiles the model
once for this file, test_posterior.py and test_cli_model.py (model.build_model's cache)."""

import numpy as np
import pytest

from bayes_moe import forms, laws, model, posterior, sampling, simulate
from bayes_moe.errors import InputError

SMALL = dict(draws=300, tune=300, chains=2, progressbar=False)
COMPUTES = (1e17, 1e18, 1e19)
R_GRID = (0.2, 0.35, 0.6, 0.9, 1.2, 1.5)


def paper_runs(seed=0, law="paper"):
    return simulate.sweep_dataset(simulate.World(law=law, seed=seed), computes=COMPUTES, r_grid=R_GRID)


@pytest.fixture(scope="module")
def idata():
    return model.fit(paper_runs(), seed=1, **SMALL)


def contains(idata, name, truth, prob=0.9):
    draws = idata.posterior[name].values.ravel()
    lower, upper = np.quantile(draws, [(1 - prob) / 2, (1 + prob) / 2])
    return lower <= truth <= upper


def test_population_slopes_are_recovered(idata):
    truth = laws.paper_pivot_coefficients()
    assert contains(idata, "a1", truth["a1"])
    assert contains(idata, "b1", truth["b1"])
    assert contains(idata, "b0", truth["b0"])


def test_r_star_per_level_is_recovered(idata):
    alpha = idata.posterior["alpha_r"]  # r* at the pivot, labelled by sparsity
    assert list(alpha.sparsity.values) == pytest.approx(laws.PAPER_SPARSITIES, abs=1e-4)
    for s, draws in zip(laws.PAPER_SPARSITIES, alpha.transpose("sparsity", ...).values):
        lower, upper = np.quantile(draws, [0.05, 0.95])
        assert lower <= laws.paper_r_star(laws.PIVOT, s) <= upper
    assert contains(idata, "kappa_exponent", 0.0)  # the paper world's valley keeps its shape


def test_two_term_world_flattening_valley_is_found_and_r_star_covered():
    """docs/paper.md point 1: the two-term surface's valley flattens as compute grows (curvature ~ C^-0.2
    here); a valley of fixed shape put r* 23% off with 5% coverage inside the data."""
    world = simulate.World(law="two-term", seed=3)
    idata = model.fit(paper_runs(seed=3, law="two-term"), seed=3, **SMALL)
    eta = idata.posterior["kappa_exponent"].values.ravel()
    assert np.quantile(eta, 0.05) > 0.05
    sparsity = np.array(laws.PAPER_SPARSITIES)
    interval = posterior.r_star(idata, 1e18, sparsity)
    truth = np.exp(world.log_r_star(1e18, sparsity))
    assert np.mean((interval["lower"].values <= truth) & (truth <= interval["upper"].values)) >= 0.75


def test_signed_form_recovers_an_r_star_that_falls_with_compute():
    """Where r* falls as compute grows (beta < 0, as measured in experiments/h100_wide_r), the paper's
    beta = exp(...) > 0 cannot follow; the signed form recovers beta and r* beyond the data."""
    world = simulate.World(law="paper", seed=4, slope_shift=-0.4)
    runs = simulate.sweep_dataset(world, computes=COMPUTES, r_grid=(0.3, 0.6, 1.0, 1.6, 2.5, 4.0, 6.0))
    signed = model.fit(runs, form="signed", seed=4, **SMALL)
    sparsity = np.array(laws.PAPER_SPARSITIES)
    truth_beta = laws.paper_beta_r(sparsity) - 0.4
    beta = signed.posterior["beta_r"].transpose("sparsity", ...).values.reshape(len(sparsity), -1)
    lower, upper = np.quantile(beta, [0.05, 0.95], axis=1)
    assert np.mean((lower <= truth_beta) & (truth_beta <= upper)) >= 0.75 and (upper < 0).all()
    interval = posterior.r_star(signed, 1e20, sparsity)  # a decade beyond the runs
    truth = np.exp(world.log_r_star(1e20, sparsity))
    assert np.mean((interval["lower"].values <= truth) & (truth <= interval["upper"].values)) >= 0.75


def test_runs_at_one_expert_count_are_one_level():
    """0.8235 (four decimals) and 0.8235294... (E = 17 as a trained run records it) are one level."""
    recorded = [0.8235, 14 / 17, 0.9091, 30 / 33, 0.95]
    levels = model.sparsity_levels(recorded)
    assert levels == pytest.approx([14 / 17, 30 / 33, 0.95])
    assert list(model.level_index(recorded, levels)) == [0, 0, 1, 1, 2]
    assert list(model.level_index([0.8235, 0.5, 0.1234567], [14 / 17, 0.1234567])) == [0, -1, 1]


def test_attrs_hold_what_queries_need(idata):
    assert idata.attrs["pivot"] == laws.PIVOT
    assert idata.attrs["form"] == "power" and idata.attrs["penalty"] == "asymmetric"
    assert idata.attrs["n_runs"] == 72
    assert {"max_rhat", "min_ess_bulk", "min_ess_tail", "divergences", "converged"} <= set(idata.attrs)


def test_same_seed_same_draws_and_new_data_reuses_the_model(idata):
    compiled = model.build_model.cache_info().misses
    again = model.fit(paper_runs(), seed=1, **SMALL)
    assert np.array_equal(again.posterior["a1"].values, idata.posterior["a1"].values)
    other = model.fit(paper_runs(seed=5), seed=1, **SMALL)  # same structure: no recompilation
    assert not np.array_equal(other.posterior["a1"].values, idata.posterior["a1"].values)
    assert model.build_model.cache_info().misses == compiled


def test_diagnostics_flag_a_short_run():
    short = model.fit(paper_runs(), seed=1, draws=60, tune=100, chains=2, progressbar=False)
    report = sampling.diagnostics(short)
    assert set(report) == {"max_rhat", "min_ess_bulk", "min_ess_tail", "divergences", "converged"}
    assert report["min_ess_bulk"] < 400 and not report["converged"]  # 120 draws cannot give ESS >= 400
    assert short.attrs["converged"] == 0


def test_numpyro_without_jax_says_how_to_install_it(idata):
    with pytest.raises(InputError, match="pip install numpyro"):
        model.fit(paper_runs(), sampler="numpyro", **SMALL)


@pytest.mark.parametrize("column, value", [("r", -1.0), ("sparsity", 1.0), ("loss", np.nan)])
def test_bad_runs_are_named(column, value):
    runs = paper_runs()
    runs[column][3] = value
    with pytest.raises(InputError, match=f"run 4: {column}"):
        model.fit(runs, **SMALL)


def test_a_valley_form_needs_a_valley():
    """"implied" belongs to the two-term surface; with a valley form it would have meant symmetric."""
    with pytest.raises(InputError, match="--penalty 'implied'"):
        model.fit(paper_runs(), form="power", penalty=forms.IMPLIED_PENALTY, **SMALL)


def test_unknown_form_is_an_input_error():
    with pytest.raises(InputError, match="--form"):
        model.fit(paper_runs(), form="cubic", **SMALL)


def test_loss_draws_match_the_world_near_the_data(idata):
    world = simulate.World(law="paper")
    r, compute, sparsity = np.array([0.3, 0.8, 1.4]), 3e18, 0.9091
    interval = posterior.predictive_loss(idata, r, compute, sparsity)
    truth = world.mean_loss(r, compute, sparsity)
    assert np.all((interval["lower"].values <= truth) & (truth <= interval["upper"].values))


@pytest.mark.parametrize("q_exponent", [0.0, 0.3])
def test_two_term_form_recovers_the_first_order_condition_law(q_exponent):
    """The two-term form (docs/paper.md point 1) fit to its own world, with one experts' exponent q or one
    per sparsity: the exponents, r* at C0 and its local exponent of compute per level (derived from the
    first-order condition), and r* a decade beyond the runs."""
    world = simulate.World(law="two-term", seed=6, q_exponent=q_exponent)
    runs = simulate.sweep_dataset(world, computes=COMPUTES, r_grid=R_GRID)
    fitted = model.fit(runs, form="two-term", seed=6, **SMALL)
    assert fitted.attrs["penalty"] == forms.IMPLIED_PENALTY
    assert contains(fitted, "p", world.p) and contains(fitted, "q", world.q)
    assert contains(fitted, "q_slope", q_exponent)
    sparsity = np.array(laws.PAPER_SPARSITIES)
    truth_alpha = np.exp(world.log_r_star(laws.PIVOT, sparsity))
    truth = {"alpha_r": truth_alpha, "beta_r": laws.foc_slope(truth_alpha, world.p, world.expert_exponent(sparsity))}
    for name, values in truth.items():
        draws = fitted.posterior[name].transpose("sparsity", ...).values.reshape(len(sparsity), -1)
        lower, upper = np.quantile(draws, [0.05, 0.95], axis=1)
        assert np.mean((lower <= values) & (values <= upper)) >= 0.75, name
    interval = posterior.r_star(fitted, 1e20, sparsity)
    truth = np.exp(world.log_r_star(1e20, sparsity))
    assert np.mean((interval["lower"].values <= truth) & (truth <= interval["upper"].values)) >= 0.75


@pytest.mark.parametrize("law, kept", [("paper", "power"), ("two-term", "two-term")])
def test_auto_form_keeps_the_law_the_runs_follow(law, kept):
    fitted = model.fit(paper_runs(seed=7, law=law), form="auto", seed=7, **SMALL)
    assert fitted.attrs["form"] == kept and kept in fitted.attrs["form_choice"]
    assert posterior.law_settled(fitted)  # 72 runs of either world tell the laws apart by > 2 se
    assert "log_likelihood" not in fitted.groups()  # kept for the choice, dropped unless asked for


def test_population_law_is_the_line_across_sparsity(idata):
    sparsity = np.array([0.85, 0.93])
    law = posterior.population_law(idata, sparsity)
    x = laws.centred_log_active(sparsity)
    draws = idata.posterior.stack(sample=("chain", "draw"))
    assert law["log_alpha"].values == pytest.approx((draws["a0"].values[:, None] + draws["a1"].values[:, None] * x))
    assert law["beta"].values == pytest.approx(np.exp(draws["b0"].values[:, None] + draws["b1"].values[:, None] * x))
