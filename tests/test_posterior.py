"""Queries on a saved posterior: r* anywhere in (C, S), draws, staleness, atomic save."""

import shutil

import numpy as np
import pytest

from bayes_moe import laws, model, posterior, sampling, simulate
from bayes_moe.errors import InputError
from bayes_moe.ledger import Ledger
from conftest import COMPUTES, R_GRID, RECOVERY, assert_near_truth


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    """A ledger of simulated runs and a posterior fit on it, saved and loaded back."""
    path = tmp_path_factory.mktemp("ws")
    dataset = simulate.sweep_dataset(simulate.World(law="paper", seed=2), computes=COMPUTES, r_grid=R_GRID)
    simulate.write_csv(dataset, path / "runs.csv")
    with Ledger.open(path, create=True) as ledger:
        ledger.import_csv(path / "runs.csv")
        runs = ledger.to_dataset()
    posterior.save(model.fit(runs, seed=0, **RECOVERY), path)
    return path


@pytest.fixture(scope="module")
def idata(workspace):
    return posterior.load(workspace)


def test_r_star_beyond_the_data_contains_the_truth(idata):
    # C = 1e21 is two decades past the data; S = 0.95 is not a fitted level
    for compute, sparsity in ((1e21, 0.95), (1e21, 0.9538), (3e17, 0.93)):
        draws = posterior.log_r_star_draws(idata, compute, sparsity).values[:, 0]
        assert_near_truth(draws, np.log(laws.paper_r_star(compute, sparsity)), f"log r* at {compute:g}, {sparsity}")


def test_frontier_is_the_lowest_mean_loss_and_near_the_worlds(idata):
    world = simulate.World(law="paper", seed=2)
    sparsity = np.array(laws.PAPER_SPARSITIES)
    frontier = posterior.frontier_draws(idata, 1e18, sparsity)
    assert frontier.dims == ("sample", "point")
    r_star = np.exp(posterior.log_r_star_draws(idata, 1e18, sparsity).values)
    off_optimum = posterior.loss_draws(idata, 1.5 * np.median(r_star, axis=0), 1e18, sparsity)
    assert (frontier.values <= off_optimum.values + 1e-12).all()  # no r does better than r*, draw by draw
    assert_near_truth(frontier.values, world.mean_loss(np.exp(world.log_r_star(1e18, sparsity)), 1e18, sparsity),
                      "frontier at 1e18")


def test_continuous_sparsity_broadcasts_and_uses_levels_where_fitted(idata):
    sparsity = np.linspace(0.8, 0.98, 7)
    result = posterior.r_star(idata, np.array([[1e18], [1e20]]), sparsity)
    assert result.sizes["point"] == 14
    assert np.all(result["lower"] < result["median"]) and np.all(result["median"] < result["upper"])
    at_level = posterior.log_r_star_draws(idata, 1e19, 0.9091)  # the level of E = 33 (S = 0.90909...)
    expected = np.log(idata.posterior["alpha_r"].sel(sparsity=30 / 33).values.ravel())
    assert at_level.dims == ("sample", "point")
    assert at_level.values[:, 0] == pytest.approx(expected)  # at the pivot, r* is the level's alpha_r


def test_a_new_level_is_less_certain_than_a_fitted_one(idata):
    width = lambda s: float(np.std(posterior.log_r_star_draws(idata, 1e18, s)))  # noqa: E731
    assert width(0.94) > width(0.9538)
    assert posterior.log_r_star_draws(idata, 1e18, 0.94).equals(posterior.log_r_star_draws(idata, 1e18, 0.94))


def test_loss_draws_and_noise_have_the_documented_dims(idata):
    loss = posterior.loss_draws(idata, [0.5, 1.0], 1e18, 0.9091)
    assert loss.dims == ("sample", "point") and loss.shape == (600, 2)
    noise = posterior.noise_sd(idata)
    assert noise.dims == ("sample",)
    assert 0.005 < float(noise.median()) < 0.03  # the world's Student-t(5) noise of scale 0.01 has sd 0.013


@pytest.mark.parametrize("query", [dict(compute=0.0, sparsity=0.9), dict(compute=1e18, sparsity=1.0),
                                   dict(compute=1e18, sparsity=-0.1)])
def test_bad_query_is_an_input_error(idata, query):
    with pytest.raises(InputError):
        posterior.r_star(idata, **query)


def test_stale_after_a_new_run_finishes(workspace, idata, tmp_path):
    copy = shutil.copytree(workspace, tmp_path / "ws")  # a run added to the module's workspace would reach later fits
    with Ledger.open(copy) as ledger:
        assert posterior.staleness(idata, ledger) is None
        run = ledger.add_run(0.7, 2e18, 0.9091)
        ledger.start(run, "simulator")
        assert posterior.staleness(idata, ledger) is None  # only finished runs count
        ledger.finish(run, 3.0)
        assert posterior.staleness(idata, ledger) is not None


def test_load_without_posterior_is_an_input_error(tmp_path):
    with pytest.raises(InputError, match="bayes-moe fit"):
        posterior.load(tmp_path)


def test_save_replaces_atomically_and_keeps_attrs(tmp_path, idata):
    posterior.save(idata, tmp_path)
    posterior.save(idata, tmp_path)
    assert [p.name for p in tmp_path.iterdir()] == [posterior.POSTERIOR_FILE]
    assert posterior.load(tmp_path).attrs["ledger_fingerprint"] == idata.attrs["ledger_fingerprint"]


def test_hold_out_validation_scores_the_held_out_level(workspace):
    with Ledger.open(workspace) as ledger:
        runs = ledger.to_dataset()
    with pytest.raises(InputError, match="no runs at that sparsity"):
        posterior.hold_out_validation(runs, 0.5)
    # long enough to pass the CLI's gate (2 x 200 draws did not: r-hat 1.025, ESS 194), so the PIT reads the model,
    # not the sampler. The refit reads the fixture's 72 runs: a run that another test added to this module's ledger
    # (an outlier, loss 3.0) once reached it, changed its draws and failed the gate (a clean-clone CI run at ebbad59)
    report = posterior.hold_out_validation(runs, 0.9767, draws=1000, tune=1000, chains=2, progressbar=False)
    assert (report["n_fit"], report["n_held_out"]) == (54, 18)
    assert report["converged"], {k: report[k] for k in sampling.DIAGNOSTICS}
    assert report["rmse"] < 0.05 and report["coverage_90"] >= 0.6
    # the held-out losses of a world that follows the model fall across their predictive distributions
    assert len(report["pit"]) == 18 and all(0 <= p <= 1 for p in report["pit"])
    assert 0.25 < report["pit_mean"] < 0.75 and report["pit_ks_pvalue"] > 0.001
