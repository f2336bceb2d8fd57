"""The joint model recovers the law it was simulated from; fits are seeded, labelled and checked."""

import numpy as np
import pytest

from bayes_moe import laws, model, posterior, sampling, simulate
from bayes_moe.errors import InputError

SMALL = dict(draws=300, tune=300, chains=2, progressbar=False)
COMPUTES = (1e17, 1e18, 1e19)
R_GRID = (0.2, 0.35, 0.6, 0.9, 1.2, 1.5)


def paper_runs(seed=0):
    return simulate.sweep_dataset(simulate.World(law="paper", seed=seed), computes=COMPUTES, r_grid=R_GRID)


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
    assert list(alpha.sparsity.values) == pytest.approx(laws.PAPER_SPARSITIES)
    for s in laws.PAPER_SPARSITIES:
        draws = alpha.sel(sparsity=s).values.ravel()
        lower, upper = np.quantile(draws, [0.05, 0.95])
        assert lower <= laws.paper_r_star(laws.PIVOT, s) <= upper


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


def test_diagnostics_flag_a_short_run(idata):
    report = sampling.diagnostics(idata)
    assert set(report) == {"max_rhat", "min_ess_bulk", "min_ess_tail", "divergences", "converged"}
    assert report["min_ess_bulk"] < 400 * 2  # 600 draws cannot give ESS >= 400 on every variable easily
    assert report["converged"] == (report["max_rhat"] <= 1.01 and min(report["min_ess_bulk"],
                                   report["min_ess_tail"]) >= 400 and report["divergences"] == 0)


def test_numpyro_without_jax_says_how_to_install_it(idata):
    with pytest.raises(InputError, match="pip install numpyro"):
        model.fit(paper_runs(), sampler="numpyro", **SMALL)


@pytest.mark.parametrize("column, value", [("r", -1.0), ("sparsity", 1.0), ("loss", np.nan)])
def test_bad_runs_are_named(column, value):
    runs = paper_runs()
    runs[column][3] = value
    with pytest.raises(InputError, match=f"run 4: {column}"):
        model.fit(runs, **SMALL)


def test_unknown_form_is_an_input_error():
    with pytest.raises(InputError, match="--form"):
        model.fit(paper_runs(), form="cubic", **SMALL)


def test_loss_draws_match_the_world_near_the_data(idata):
    world = simulate.World(law="paper")
    r, compute, sparsity = np.array([0.3, 0.8, 1.4]), 3e18, 0.9091
    interval = posterior.predictive_loss(idata, r, compute, sparsity)
    truth = world.mean_loss(r, compute, sparsity)
    assert np.all((interval["lower"].values <= truth) & (truth <= interval["upper"].values))
