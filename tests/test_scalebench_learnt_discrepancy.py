"""The discrepancy's prior sd learnt from the fit's residuals (``Discrepancy.learnt_amplitude``), by recovery: residuals
drawn from the discrepancy's own Gaussian process with a known amplitude give it back, white residuals give none at
about the rate the likelihood ratio test promises; the learnt amplitude widens the intervals and leaves the
selection alone (``pool_next.propose``, ``Settings.learnt_discrepancy``; docs/scalebench.md)."""

import numpy as np
import pandas as pd

from bayes_moe.discrepancy import Discrepancy, pointwise_sd
from bayes_moe.pool_next import propose
from bayes_moe.userlaw import load_law
from test_scalebench import LAW  # the tiny power law: E + A N^-alpha

SIGMA = 0.02
RUNS = np.geomspace(1e3, 1e6, 120)
TARGETS = np.geomspace(2e6, 1e7, 4)


def residuals(amplitude: float, rng) -> tuple[Discrepancy, np.ndarray]:
    """Residuals at ``RUNS``: the discrepancy's GP of prior sd ``amplitude`` noise sds plus white noise of sd SIGMA."""
    discrepancy = Discrepancy({"N": RUNS}, {"N": TARGETS})
    space = discrepancy._space({"N": RUNS})
    kernel = discrepancy._kernel(space, space) + 1e-9 * np.eye(RUNS.size)
    smooth = np.linalg.cholesky(kernel) @ rng.standard_normal(RUNS.size)
    return discrepancy, amplitude * SIGMA * smooth + SIGMA * rng.standard_normal(RUNS.size)


def learnt(amplitude: float, seed: int) -> float | None:
    discrepancy, r = residuals(amplitude, np.random.default_rng(seed))
    return discrepancy.learnt_amplitude(r[:, None], np.full(256, SIGMA), {"N": RUNS})


def test_the_amplitude_of_a_smooth_discrepancy_is_recovered():
    found = [learnt(3.0, seed) for seed in range(40)]
    kept = [a for a in found if a is not None]
    assert len(kept) >= 36  # an amplitude of 3 noise sds passes the test nearly always
    # one draw of the GP per seed: its amplitude is known to a factor of about 2 either way
    assert 2.0 < np.median(kept) < 4.5
    assert np.mean([1.0 < a < 9.0 for a in kept]) >= 0.9


def test_white_residuals_show_no_discrepancy_at_about_the_tests_rate():
    found = [learnt(0.0, seed) for seed in range(100)]
    assert sum(a is not None for a in found) <= 5  # the test's 1% (half of it at the boundary), with room


def test_a_learnt_amplitude_widens_the_discrepancy_at_the_targets_and_white_residuals_leave_it():
    discrepancy, smooth = residuals(3.0, np.random.default_rng(0))
    _, white = residuals(0.0, np.random.default_rng(0))
    noise, runs, targets = np.full(256, SIGMA), {"N": RUNS}, {"N": TARGETS}
    assert discrepancy.amplitude(0.5, white[:, None], noise, runs) == (0.5, False)
    learnt, kept = discrepancy.amplitude(0.5, smooth[:, None], noise, runs)
    assert kept and learnt > 1.0
    assumed = pointwise_sd(discrepancy.given_fit(0.5, noise, runs, targets)[0])
    assert np.all(pointwise_sd(discrepancy.given_fit(learnt, noise, runs, targets)[0]) > 2 * assumed)


def test_pool_next_learns_the_intervals_discrepancy_and_keeps_the_selections(tmp_path):
    """Losses that wave about the power law (a period of about two of the kernel's length scales, which the law
    cannot absorb): the residuals show it and the targets' intervals widen; the picks are those of the assumed
    discrepancy. Without the wave, the intervals are the assumed ones."""
    (tmp_path / "power.py").write_text(LAW)
    power_law = load_law(tmp_path / "power.py")
    n = np.geomspace(1e3, 1e6, 80)
    targets = pd.DataFrame({"params": TARGETS})
    width, picks = {}, {}
    for wave in (0.0, 0.03):
        loss = 1.8 + 20.0 * n ** -0.3 + 0.01 * np.random.default_rng(0).standard_normal(n.size) + wave * np.sin(2 * np.log(n))
        pool = pd.DataFrame({"params": n, "loss": np.where(np.arange(n.size) < 60, loss, np.nan)})
        for learnt_discrepancy in (True, False):
            proposal = propose(power_law, pool, targets, "params", batch=3, starts=4, learnt_discrepancy=learnt_discrepancy)
            width[wave, learnt_discrepancy] = pd.DataFrame(proposal.at_targets).eval("upper90 - lower90").to_numpy()
            picks[wave, learnt_discrepancy] = proposal.picks
            assert proposal.discrepancy_learnt is (learnt_discrepancy and wave > 0)  # what the header reports
            assert (proposal.discrepancy_sd > 1.0) is proposal.discrepancy_learnt
        assert picks[wave, True] == picks[wave, False]
    assert np.array_equal(width[0.0, True], width[0.0, False])
    assert np.all(width[0.03, True] > 1.5 * width[0.03, False])
