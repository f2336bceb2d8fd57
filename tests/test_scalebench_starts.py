"""Starts of the MAP search where every parameter has an effect (laplace.live_starts): ScaleBench's wide
boxes put most starts of some forms where a term is clipped or floored away, and least squares cannot
move a parameter whose Jacobian column is 0 there (docs/scalebench.md, "The posterior")."""

import textwrap

import numpy as np

from bayes_moe import laplace
from bayes_moe.userlaw import load_law

# the vocab forms' shape: an amplitude floored at 1e-6 under a log and an exponent clipped at +-50
FLOORED_LAW = textwrap.dedent('''
    from bayes_moe.userlaw import HalfNormal, Uniform

    inputs = {"N": "params", "E": "experts"}
    output = "loss"
    priors = {"c0": Uniform(-100, 100), "A": Uniform(-1e4, 1e4), "alpha": Uniform(-5, 5), "beta": Uniform(-5, 5)}
    noise_sd = HalfNormal(0.05)

    def mean(N, E, c0, A, alpha, beta, xp):
        return c0 + xp.exp(xp.clip(xp.log(xp.maximum(A, 1e-6)) - alpha * xp.log(N) - beta * xp.log(E), -50, 50))
''')
TRUTH = np.array([1.7, 400.0, 0.35, 0.1])


def floored_law(tmp_path):
    path = tmp_path / "floored.py"
    path.write_text(FLOORED_LAW)
    return load_law(path)


def runs(law, n=40, seed=0, experts=None):
    rng = np.random.default_rng(seed)
    features = {"N": np.exp(rng.uniform(np.log(1e7), np.log(1e9), n)),
                "E": rng.choice([1.0, 4.0, 16.0], n) if experts is None else np.full(n, experts)}
    return features, law.predict(TRUTH, features)[0] + 0.01 * rng.standard_normal(n)


def test_dead_parameters_counts_the_parameters_without_effect(tmp_path):
    law = floored_law(tmp_path)
    features, _ = runs(law)
    thetas = np.array([TRUTH, [1.7, -3.0, 0.35, 0.1], [1.7, 400.0, 4.9, 0.1]])
    # a negative amplitude is floored: a step in A does nothing; alpha 4.9 clips the term at every run
    assert list(laplace.dead_parameters(law, thetas, features)) == [0, 1, 3]


def test_live_starts_redraw_dead_starts_and_keep_live_ones_as_drawn(tmp_path):
    law = floored_law(tmp_path)
    features, _ = runs(law)
    starts = laplace.live_starts(law, features, np.random.default_rng(1), 16)
    assert starts.shape == (16, 4) and not laplace.dead_parameters(law, starts, features).any()
    drawn = np.column_stack([p.start(np.random.default_rng(1), 16) for p in law.priors.values()])
    assert laplace.dead_parameters(law, drawn, features).any()  # without the redraw some are dead
    # beta has no effect at any start where every run has one expert: the starts are those with no other dead
    features, _ = runs(law, experts=1.0)
    starts = laplace.live_starts(law, features, np.random.default_rng(1), 8)
    assert list(laplace.dead_parameters(law, starts, features)) == [1] * 8


def test_live_starts_find_the_law_where_dead_starts_miss_it(tmp_path, monkeypatch):
    law = floored_law(tmp_path)
    features, y = runs(law)

    def misses(seeds=range(8)):
        fits = [laplace.fit(law, features, y, rng=np.random.default_rng(s), starts=2, n_draws=16) for s in seeds]
        return sum(abs(f.best[2] - TRUTH[2]) > 0.02 for f in fits)

    assert misses() <= 1  # seed 2's live starts reach a mode at the box's edge (beta = -5)
    monkeypatch.setattr(laplace, "LIVE_DRAWS", 1)  # the priors' starts as drawn, dead or not
    assert misses() >= 4  # 6 of 8 end where the term is floored or clipped away


def test_a_warm_start_with_dead_parameters_is_revived_where_the_old_stays_stuck(tmp_path, monkeypatch):
    law = floored_law(tmp_path)
    features, y = runs(law)
    # the previous fit's modes: A floored away, or the term clipped at e^-50 (A, alpha and beta dead)
    for stuck in ([y.mean(), -3.0, 0.35, 0.1], [y.mean(), 400.0, 4.9, 0.1]):
        def bests(seeds=range(8)):  # from the warm start alone (no random start)
            return np.array([laplace.fit(law, features, y, rng=np.random.default_rng(s), starts=0, n_draws=16,
                                         warm=[np.array(stuck)]).best for s in seeds])

        assert np.sum(abs(bests()[:, 2] - TRUTH[2]) < 0.02) >= 4  # the revived copy's search finds the law (5-6 of 8)
        monkeypatch.setattr(laplace, "revived_starts", lambda *args: [])  # the warm start as it was
        old = bests()
        assert np.all(old[:, 1] == stuck[1]) and np.all(abs(old[:, 2] - TRUTH[2]) > 0.2)  # A never moved
        monkeypatch.undo()


def test_revived_starts_redraw_only_dead_parameters_and_draw_nothing_for_live_warm_starts(tmp_path):
    law = floored_law(tmp_path)
    features, _ = runs(law)
    rng = np.random.default_rng(0)
    assert laplace.revived_starts(law, [TRUTH], features, rng) == []
    assert rng.bit_generator.state == np.random.default_rng(0).bit_generator.state  # nothing drawn
    (copy,) = laplace.revived_starts(law, [TRUTH, [1.7, -3.0, 0.35, 0.1]], features, rng)
    assert copy[0] == 1.7 and list(copy[2:]) == [0.35, 0.1] and copy[1] != -3.0
    assert laplace.dead_parameters(law, copy, features)[0] == 0
    # beta has no effect anywhere when every run has one expert: a warm start dead only there is kept as it is
    features, _ = runs(law, experts=1.0)
    assert laplace.revived_starts(law, [TRUTH], features, rng) == []
