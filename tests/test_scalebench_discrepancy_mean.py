"""The discrepancy's posterior mean (``Discrepancy.posterior_mean``, Kennedy and O'Hagan's prediction), by recovery: a
discrepancy drawn from its own prior and seen through noisy residuals lands inside its posterior's 90% intervals at
the rate they promise, and the mean finds it; predictions add it only where ``DISCREPANCY_MEANS`` says
(``Discrepancy.at_points``), and ``pool-next``'s predictions at targets among the runs move toward the truth. The
intervals' leave-one-out scale (``Discrepancy.loo_scale``) is about 1 where the model's scales are the truth's and
finds the factor by which they are too wide."""

import numpy as np
import pandas as pd
import pytest

from bayes_moe.discrepancy import Discrepancy
from bayes_moe.pool_next import propose
from bayes_moe.userlaw import load_law
from test_scalebench import LAW  # the tiny power law: E + A N^-alpha

SIGMA = 0.02
RUNS = {"N": np.geomspace(1e4, 1e6, 60)}
TARGETS = {"N": np.geomspace(2e4, 2e6, 5)}
NOISE = np.full(256, SIGMA)


def drawn_from_prior(amplitude: float, rng) -> tuple[Discrepancy, np.ndarray, np.ndarray]:
    """A discrepancy of prior sd ``amplitude`` noise sds drawn from the model's own prior (its values at the inducing
    points), and the residuals it leaves at the runs with white noise of sd SIGMA; also its values at the targets."""
    discrepancy = Discrepancy(RUNS, TARGETS)
    inducing = amplitude * SIGMA * rng.standard_normal(len(discrepancy.inducing))
    at_runs, at_targets = (discrepancy._prior_factor(points).T @ inducing for points in (RUNS, TARGETS))
    return discrepancy, at_runs + SIGMA * rng.standard_normal(at_runs.size), at_targets


def test_the_posterior_of_a_discrepancy_drawn_from_its_prior_covers_it_at_the_promised_rate():
    inside, error, prior_error = [], [], []
    for seed in range(200):
        discrepancy, residuals, truth = drawn_from_prior(2.0, np.random.default_rng(seed))
        (mean,) = discrepancy.posterior_mean(2.0 * SIGMA, RUNS, SIGMA ** 2, residuals[:, None], TARGETS)
        sd = np.sqrt(np.sum(discrepancy.posterior_factor(2.0 * SIGMA, RUNS, SIGMA ** 2, TARGETS)[0] ** 2, axis=0))
        inside.extend(np.abs(truth - mean) < 1.645 * sd)
        error.extend((truth - mean) ** 2), prior_error.extend(truth ** 2)
    assert 0.86 < np.mean(inside) < 0.94  # 1,000 points, se 0.01: the exact posterior's 90% (measured: 0.907; 0.23 about 0)
    assert np.mean(error) < 0.2 * np.mean(prior_error)  # the runs near the targets pin it (measured: 0.06)


@pytest.mark.parametrize("mean, smooth, added", [("learnt", True, True), ("learnt", False, False),
                                                 ("always", False, True), ("none", True, False)])
def test_predictions_add_the_mean_where_the_rule_says(mean, smooth, added):
    discrepancy, residuals, _ = drawn_from_prior(4.0 if smooth else 0.0, np.random.default_rng(1))
    at = discrepancy.at_points(0.5, residuals[:, None], NOISE, RUNS, TARGETS, mean=mean)
    assert at.learnt is smooth and (at.mean is not None) is added
    assert at.sd[0].shape == (5,) and (at.mean is None or at.mean[0].shape == (5,))


@pytest.mark.parametrize("wider", [1.0, 2.0])
def test_the_leave_one_out_scale_finds_how_much_too_wide_the_discrepancy_and_noise_are(wider):
    """Residuals drawn with the discrepancy's and the noise's sds as the model says (``wider`` 1) or half as large
    (``wider`` 2): the scale is about 1 / ``wider``, the mean of 40 draws within 5% (measured: 0.974 and 0.487)."""
    scales = []
    for seed in range(40):
        discrepancy, residuals, _ = drawn_from_prior(2.0, np.random.default_rng(seed))
        scales.append(discrepancy.loo_scale(wider * 2.0 * SIGMA, RUNS, (wider * SIGMA) ** 2, residuals[:, None]))
    assert np.mean(scales) == pytest.approx(1 / wider, rel=0.05)


def test_the_scale_applies_where_the_discrepancy_is_learnt_and_leaves_its_mean():
    discrepancy, residuals, _ = drawn_from_prior(4.0, np.random.default_rng(1))
    _, white, _ = drawn_from_prior(0.0, np.random.default_rng(1))
    scaled, unscaled = (discrepancy.at_points(0.5, residuals[:, None], NOISE, RUNS, TARGETS, loo_scale=loo)
                        for loo in (True, False))
    assert scaled.learnt and scaled.scale != 1.0 and unscaled.scale == 1.0
    assert np.allclose(scaled.sd[0], scaled.scale * unscaled.sd[0]) and np.array_equal(scaled.mean[0], unscaled.mean[0])
    assert discrepancy.at_points(0.5, white[:, None], NOISE, RUNS, TARGETS).scale == 1.0  # assumed: not scaled


def test_pool_next_predicts_a_wave_the_law_cannot_follow_among_its_runs(tmp_path):
    """Losses that wave about the power law (a period of about two of the kernel's length scales): at targets among
    the runs the prediction adds the discrepancy's mean and lands nearer the truth than the law's best fit; without
    the wave it is the law's."""
    (tmp_path / "power.py").write_text(LAW)
    power_law = load_law(tmp_path / "power.py")
    n, at = np.geomspace(1e3, 1e6, 80), np.geomspace(3e3, 1e5, 6)
    for wave in (0.0, 0.03):
        def truth(x):
            return 1.8 + 20.0 * x ** -0.3 + wave * np.sin(2 * np.log(x))
        loss = truth(n) + 0.01 * np.random.default_rng(0).standard_normal(n.size)
        pool = pd.DataFrame({"params": n, "loss": np.where(np.arange(n.size) < 60, loss, np.nan)})
        proposal = propose(power_law, pool, pd.DataFrame({"params": at}), "params", batch=3, starts=4)
        targets = pd.DataFrame(proposal.at_targets)
        assert proposal.discrepancy_mean is (wave > 0)
        assert np.all((targets.lower90 < targets.predicted) & (targets.predicted < targets.upper90))
        law_error, error = (np.abs(targets[column] - truth(at)).mean() for column in ("law", "predicted"))
        if wave:
            assert error < 0.6 * law_error  # measured: 0.0076 against 0.0192
        else:
            assert np.array_equal(targets.predicted, targets.law)
