"""The model discrepancy (bayes_moe.discrepancy): its posterior is the exact Gaussian-process one, it is
largest at the targets and vanishes far from them (over the pool too with over_pool), observed runs near
the targets explain it away, the selection buys the run near the targets when the law's own parameters are
known, and with over_pool cheap runs far from the targets cannot pin the law's extrapolation."""

import json

import numpy as np
import pandas as pd
from test_scalebench import LAW

from bayes_moe.discrepancy import LENGTH, Discrepancy
from bayes_moe.design.pool import select_batch

POOL = {"N": np.geomspace(1e6, 1e9, 40)}
TARGETS = {"N": np.array([1e9, 2e9])}


def variance(factor):
    return np.sum(factor ** 2, axis=0)


def test_prior_sd_is_the_amplitude_at_the_targets_and_vanishes_far_from_them():
    d = Discrepancy(POOL, TARGETS)
    at_targets, at_far = d.posterior_factor(0.1, {"N": np.array([1e3])}, 1e6, TARGETS, {"N": np.array([1e6])})
    np.testing.assert_allclose(np.sqrt(variance(at_targets)), 0.1, rtol=1e-3)
    assert np.sqrt(variance(at_far))[0] < 1e-3


def test_over_the_pool_its_prior_sd_is_the_amplitude_there_too_and_vanishes_far_from_both():
    d = Discrepancy(POOL, TARGETS, over_pool=True)
    far = {"N": np.array([1e2])}  # 4.6 spreads of the pool's log N below it
    at_targets, at_pool, at_far = d.posterior_factor(0.1, {"N": np.array([1e2])}, 1e6, TARGETS, POOL, far)
    np.testing.assert_allclose(np.sqrt(variance(at_targets)), 0.1, rtol=1e-3)
    np.testing.assert_allclose(np.sqrt(variance(at_pool)), 0.1, rtol=0.02)
    assert np.sqrt(variance(at_far))[0] < 1e-3


def test_cheap_runs_far_from_the_targets_cannot_pin_the_laws_extrapolation():
    """A line with unknown intercept and slope, nearly noiseless cheap runs at one end of the pool and one
    run near the targets costing 8 of them. Two cheap runs pin the line; with the discrepancy over the pool
    they share one smooth discrepancy, so the run near the targets keeps the law's extrapolation error as
    its value: more than the targets' own discrepancy, which is all it has when the discrepancy lives at the
    targets alone (the default). No budget: the greedy picks by value per cost, not a plan to a budget's end."""
    n = np.append(np.geomspace(1e6, 1e7, 20), 1e9)
    x, x_targets = np.log10(n) - 7.5, np.log10(TARGETS["N"]) - 7.5
    theta = np.random.default_rng(0).standard_normal((256, 2))
    costs = np.append(np.ones(20), 8.0)
    amplitude = 0.05
    value_near = {}
    for over_pool in (False, True):
        factors = Discrepancy({"N": n}, TARGETS, over_pool=over_pool).posterior_factor(
            amplitude, {"N": n[:1]}, 1e6, {"N": n}, TARGETS)
        picks = dict(select_batch(theta[:, :1] + theta[:, 1:] * x, theta[:, :1] + theta[:, 1:] * x_targets,
                                  np.full(256, 0.01), costs, range(21), np.inf, 8, discrepancy=tuple(factors)))
        value_near[over_pool] = picks.get(20, 0.0) * costs[20] / costs.sum()  # variance it removes
    assert value_near[False] < 4 * 2 * amplitude ** 2 < value_near[True]


def test_posterior_equals_the_exact_gaussian_process_one_at_the_inducing_points():
    """With the targets as inducing points, the posterior at them given a run at one of them is the GP's,
    computed directly."""
    d = Discrepancy(POOL, TARGETS)
    run, noise_var, amplitude = {"N": np.array([2e9])}, 0.02 ** 2, 0.05
    (factor,) = d.posterior_factor(amplitude, run, noise_var, TARGETS)
    z = np.log(np.append(TARGETS["N"], run["N"])) / np.std(np.log(POOL["N"]))
    k = amplitude ** 2 * np.exp(-0.5 * (z[:, None] - z[None, :]) ** 2 / LENGTH ** 2)
    exact = k[:2, :2] - np.outer(k[:2, 2], k[2, :2]) / (k[2, 2] + noise_var)
    np.testing.assert_allclose(factor.T @ factor, exact, atol=1e-9)


def test_outputs_have_independent_discrepancies_point_by_point():
    d = Discrepancy(POOL, TARGETS, outputs=2)
    (factor,) = d.posterior_factor(0.1, {"N": np.array([1e3])}, 1e6, TARGETS)
    covariance = factor.T @ factor  # columns: (target 0, out 0), (target 0, out 1), (target 1, out 0), ...
    assert factor.shape == (2 * len(d.inducing), 4)
    np.testing.assert_allclose(covariance[0, 1], 0, atol=1e-12)   # two outputs of a point: independent
    assert covariance[0, 2] > 0.5 * 0.1 ** 2                       # one output at the two targets: close


def test_selection_buys_the_run_near_the_targets_when_only_the_discrepancy_is_unknown():
    """Draws that agree everywhere (the parameters known): without a discrepancy no row informs the
    targets; with it the row nearest them wins (equal costs)."""
    draws = np.zeros((64, 40))
    costs = np.ones(40)
    noise = np.full(64, 0.01)
    d = Discrepancy(POOL, TARGETS)
    pool_factor, target_factor = d.posterior_factor(0.05, {"N": POOL["N"][:3]}, 1e-4, POOL, TARGETS)
    (row, value), = select_batch(draws, np.zeros((64, 2)), noise, costs, range(40), 100.0, 1,
                                 discrepancy=(pool_factor, target_factor))
    assert row == 39 and value > 0
    (_, without), = select_batch(draws, np.zeros((64, 2)), noise, costs, range(40), 100.0, 1)
    assert without == 0


def test_polish_runs_the_best_start_on_to_a_lower_residual_sum(monkeypatch, tmp_path):
    """With a search too short to converge, the polished fit ends lower (what lr_bsz and vocab fits need)."""
    from bayes_moe import laplace
    from bayes_moe.userlaw import load_law

    (tmp_path / "power.py").write_text(LAW)
    law = load_law(tmp_path / "power.py")
    n = np.geomspace(1e3, 1e6, 20)
    y = 1.8 + 20.0 * n ** -0.3 + 0.01 * np.random.default_rng(0).standard_normal(20)
    monkeypatch.setattr(laplace, "SEARCH_NFEV", 2)
    rss = {}
    for polish in (False, True):
        fit = laplace.fit(law, {"N": n}, y, rng=np.random.default_rng(1), starts=2, n_draws=16, polish=polish)
        rss[polish] = float(np.sum((law.predict(fit.best, {"N": n})[0] - y) ** 2))
    assert rss[True] < 0.5 * rss[False] and rss[True] < 20 * 0.01 ** 2 * 3


def test_pool_next_intervals_widen_with_the_discrepancy_and_a_negative_one_is_refused(tmp_path, capsys):
    from bayes_moe.cli import main

    pool = pd.DataFrame({"params": np.geomspace(1e3, 1e6, 12)})
    noise = 0.03 * np.random.default_rng(0).standard_normal(12)
    pool["loss"] = np.where(np.arange(12) < 8, 1.8 + 20.0 * pool.params ** -0.3 + noise, np.nan)
    pool.to_csv(tmp_path / "pool.csv", index=False)
    pd.DataFrame({"params": [1e7, 3e7]}).to_csv(tmp_path / "targets.csv", index=False)
    law = tmp_path / "power.py"
    law.write_text(LAW)
    common = ["pool-next", "--law", str(law), "--pool", str(tmp_path / "pool.csv"), "--targets",
              str(tmp_path / "targets.csv"), "--cost", "params", "--starts", "4", "--json"]
    widths = []
    for amplitude in ("0", "2"):
        assert main([*common, "--discrepancy", amplitude]) == 0
        out = json.loads(capsys.readouterr().out)
        widths.append(np.mean([t["upper90"] - t["lower90"] for t in out["targets"]]))
    assert widths[1] > 1.2 * widths[0]
    assert main([*common, "--discrepancy", "-1"]) == 2
    assert "--discrepancy -1" in capsys.readouterr().err
