"""experiments/scalebench/probe_vopt_posterior.py and probe_variants.py: V-opt's pieces in our campaigns, and many
variants' campaigns over every core with a wall limit, on the tiny task."""

import json
from types import SimpleNamespace

import numpy as np
import pytest

from bayes_moe import laplace
from bayes_moe.benchmarks import scalebench
from bayes_moe.pooltask import load_task
from conftest import scalebench_probes
from test_scalebench import make_task  # the tiny power-law task


@pytest.fixture(scope="module")
def probes():
    with scalebench_probes("probe_run_choice", "probe_vopt_posterior", "probe_variants") as modules:
        yield modules


@pytest.fixture(scope="module")
def vopt(probes):
    return probes["probe_vopt_posterior"]


@pytest.fixture(scope="module")
def variants(probes):
    return probes["probe_variants"]


def test_vopt_prior_sd_is_in_the_log_for_a_positive_box(vopt):
    law = SimpleNamespace(bounds=(np.array([0.1, -1.0, 0.0]), np.array([1000.0, 1.0, 3.0])))
    sd = vopt.log_prior_sd(law, np.array([5.0, 0.3, 1.0]))
    assert np.allclose(sd, [5.0 * np.log(1e4) / 4, 0.5, 0.75])


def test_vopt_noise_has_the_pools_variance_as_its_prior(vopt):
    law = SimpleNamespace(predict=lambda theta, features: np.array([features["x"] * theta[0]]))
    features, y = {"x": np.arange(6.0)}, np.arange(6.0)
    posterior = vopt.pool_noise(0.3)(law, np.array([1.0]), features, y, np.ones(6))
    assert (posterior.shape, posterior.mean()) == pytest.approx((5, 2 * 0.3 / (2 + 3 - 1)))  # a perfect fit: the prior
    draws = posterior.sigma_draws(20_000, np.random.default_rng(0))
    assert np.mean(draws ** 2) == pytest.approx(posterior.mean(), rel=0.05)
    assert vopt.pool_noise(0.3)(law, np.array([0.0]), features, y, np.ones(6)).mean() == pytest.approx(
        (0.6 + np.sum(y ** 2) / 2) / 4)


def test_patched_puts_the_pieces_in_and_takes_them_out(vopt, tmp_path):
    task = load_task(make_task(tmp_path / "tiny"))
    original = laplace._laplace_covariance_root, laplace.NoisePosterior.of, scalebench.GroupCampaign.advance
    with vopt.patched(task, ["log_prior", "pool_noise"], horizon=0.3):
        assert laplace._laplace_covariance_root is vopt.covariance_root_log_prior
        assert laplace.NoisePosterior.of != original[1]
        assert scalebench.GroupCampaign.advance is not original[2]
    assert (laplace._laplace_covariance_root, laplace.NoisePosterior.of, scalebench.GroupCampaign.advance) == original
    with pytest.raises(ValueError, match="no_such_piece"):
        with vopt.patched(task, ["no_such_piece"]):
            pass


def test_a_campaign_toward_a_horizon_stops_before_the_budget_scored(vopt, tmp_path):
    task = load_task(make_task(tmp_path / "tiny"))
    rows, target_rows = task.groups()[0]
    settings = scalebench.Settings(starts=2)
    with vopt.patched(task, (), horizon=1.0):
        campaign = scalebench.GroupCampaign(task, task.laws[0], rows, target_rows, "active",
                                            np.random.default_rng(0), settings)
        campaign.advance(0.1)
    # every pick was made for the whole pool's cost, the campaign holds only what it bought within 10% of it
    assert 0 < campaign.spent() <= 0.1 * campaign.total and campaign.fit is not None


def test_variants_run_every_campaign_and_log_it_as_the_benchmark_does(variants, tmp_path, capsys):
    folder = make_task(tmp_path / "tiny")
    out = tmp_path / "out"
    assert variants.main([str(out), "--tasks", str(folder), "--budgets", "0.1", "0.3", "--seeds", "2",
                          "--workers", "2", "base:starts=2", "pol:starts=2,polish_refits,horizon=0.3"]) == 0
    assert json.loads(capsys.readouterr().out)["done"] == 4
    for name in ("base", "pol"):
        records = scalebench.read_log(str(out / f"{name}_tiny.jsonl"))
        assert sorted(r["seed"] for r in records) == [0, 1] and {r["variant"] for r in records} == {name}
        assert all([x["budget"] for x in r["results"]] == [0.1, 0.3] and r["results"][-1]["r2"] > 0 for r in records)
    assert variants.parse_variant("v:restarts=4,log_prior,horizon=0.1") == ("v", ["restarts=4"], ["log_prior"], 0.1)
    fresh = tmp_path / "fresh"
    assert variants.main([str(fresh), "--tasks", str(folder), "--budgets", "0.1", "--seeds", "1", "--first-seed", "5",
                          "--workers", "1", "base:starts=2"]) == 0
    assert [r["seed"] for r in scalebench.read_log(str(fresh / "base_tiny.jsonl"))] == [5]


def test_variants_stop_at_the_wall_limit_and_keep_what_finished(variants, tmp_path, capsys):
    folder = make_task(tmp_path / "tiny")
    assert variants.main([str(tmp_path / "out"), "--tasks", str(folder), "--seeds", "4", "--workers", "2",
                          "--wall", "0.05", "base:starts=2"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["jobs"] == 4 and summary["done"] < 4 and summary["wall_s"] < 30


def test_a_bad_variant_is_one_error_line(variants, tmp_path, capsys):
    folder = make_task(tmp_path / "tiny")
    for spec in ("v:no_such_setting=1", "v:no_such_piece"):
        with pytest.raises(SystemExit) as exit_code:
            variants.main([str(tmp_path / "out"), spec, "--tasks", str(folder)])
        assert exit_code.value.code == 2 and f"variant {spec}" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()
