"""User law files (bayes_moe.userlaw) and their fast Laplace posterior (bayes_moe.laplace)."""

import textwrap

import numpy as np
import pytest

from bayes_moe import laplace
from bayes_moe.errors import InputError
from bayes_moe.userlaw import Uniform, load_law

POWER_LAW = textwrap.dedent('''
    from bayes_moe.userlaw import HalfNormal, Normal, Uniform

    inputs = {"N": "params"}
    output = "loss"
    priors = {"E": Uniform(0, 5), "A": Uniform(0, 100), "alpha": Normal(0.5, 0.5)}
    noise_sd = HalfNormal(0.05)

    def mean(N, E, A, alpha, xp):
        return E + A * xp.exp(-alpha * xp.log(N))
''')
TRUTH = np.array([1.8, 20.0, 0.3])


def write_law(tmp_path, text=POWER_LAW, name="power.py"):
    path = tmp_path / name
    path.write_text(text)
    return path


def simulate(law, n, rng, sd=0.01, low=1e3, high=1e6):
    features = {"N": np.geomspace(low, high, n)}
    return features, law.predict(TRUTH, features)[0] + sd * rng.standard_normal(n)


def test_law_file_loads_and_predicts_every_draw_at_every_point(tmp_path):
    law = load_law(write_law(tmp_path))
    assert law.parameter_names == ("E", "A", "alpha") and law.inputs == {"N": "params"}
    values = law.predict(np.array([TRUTH, TRUTH * 1.1]), {"N": np.array([1.0, 1e4])})
    assert values.shape == (2, 2)
    assert values[0, 0] == pytest.approx(1.8 + 20.0)
    assert values[0, 1] == pytest.approx(1.8 + 20.0 * 1e4 ** -0.3)


@pytest.mark.parametrize("text, message", [
    (POWER_LAW.replace("def mean(N, E, A, alpha, xp)", "def mean(N, E, A, xp)"), "must be the inputs"),
    (POWER_LAW.replace('"E": Uniform(0, 5)', '"E": (0, 5)'), "prior of E"),
    (POWER_LAW.replace('output = "loss"', ""), "missing output"),
    ("import nonexistent_module_xyz", "ModuleNotFoundError"),
    (POWER_LAW.replace('priors = {"E": Uniform(0, 5), "A": Uniform(0, 100), "alpha": Normal(0.5, 0.5)}', "priors = {}")
     .replace("def mean(N, E, A, alpha, xp)", "def mean(N, xp)"), "priors must name at least one parameter"),
    (POWER_LAW.replace('inputs = {"N": "params"}', 'inputs = {"N": "loss"}'), "loss both an input and the output"),
    (POWER_LAW.replace("Normal(0.5, 0.5)", "Normal(0.5, 0)"), r"Normal\(0.5, 0\): need a finite mu and a finite sigma > 0"),
    (POWER_LAW.replace("HalfNormal(0.05)", "HalfNormal(-0.05)"), r"HalfNormal\(-0.05\): need a finite sigma > 0"),
])
def test_bad_law_file_is_one_clear_error(tmp_path, text, message):
    with pytest.raises(InputError, match=message):
        load_law(write_law(tmp_path, text))


@pytest.mark.parametrize("body, message", [
    ("E + A * undefined_name", r"law power: mean failed: NameError: name 'undefined_name' is not defined"),
    ("xp.stack([E + A * N, E + A * N])", r"law power: mean returned \(2, 2, 3\), not one value per point \(3 points"),
])
def test_a_mean_that_fails_when_it_runs_is_one_clear_error(tmp_path, body, message):
    law = load_law(write_law(tmp_path, POWER_LAW.replace("return E + A * xp.exp(-alpha * xp.log(N))", f"return {body}")))
    with pytest.raises(InputError, match=message):
        law.predict(np.array([TRUTH, TRUTH]), {"N": np.array([1.0, 10.0, 100.0])})


def test_a_law_that_is_not_finite_at_the_runs_from_any_start_is_one_clear_error(tmp_path):
    # log(E - 10) with E in [0, 5]: not finite anywhere in the box
    law = load_law(write_law(tmp_path, POWER_LAW.replace("return E + A * xp.exp(-alpha * xp.log(N))",
                                                         "return xp.log(E - 10) + A * N**-alpha")))
    features, y = {"N": np.geomspace(1e3, 1e6, 6)}, np.linspace(3.0, 2.0, 6)
    with pytest.raises(InputError, match=r"law power: its mean is not finite at the runs from any start \(4 tried\)"):
        laplace.fit(law, features, y, rng=np.random.default_rng(0), starts=4)


def test_same_mean_text_is_the_pymc_model(tmp_path):
    law = load_law(write_law(tmp_path))
    rng = np.random.default_rng(1)
    features, y = simulate(law, 12, rng)
    model = law.pymc_model({"params": features["N"], "loss": y})
    point = {"E_interval__": 0.0, "A_interval__": 0.0, "alpha": 0.3, "sigma_log__": np.log(0.01)}
    assert np.isfinite(model.compile_logp()(point))
    mu = model.compile_fn(model["mu"], inputs=[model["E"], model["A"], model["alpha"]], on_unused_input="ignore")
    assert np.allclose(mu({"E": 1.8, "A": 20.0, "alpha": 0.3}), law.predict(TRUTH, features)[0])


def test_laplace_recovers_the_law_and_covers_extrapolation(tmp_path):
    """Recovery: fits on small runs, predicts 10x larger ones; the 90% intervals cover most of them."""
    law = load_law(write_law(tmp_path))
    covered = []
    for seed in range(8):
        rng = np.random.default_rng(seed)
        features, y = simulate(law, 25, rng)
        fit = laplace.fit(law, features, y, rng=rng, starts=8)
        far = {"N": np.geomspace(2e6, 1e7, 5)}
        truth = law.predict(TRUTH, far)[0] + 0.01 * rng.standard_normal(5)
        lower, upper = fit.interval(far, 0.9, rng)
        covered.append(np.mean((truth >= lower) & (truth <= upper)))
        assert np.all(np.abs(law.predict(fit.best, far)[0] - truth) < 0.1)
    assert 0.7 <= np.mean(covered) <= 1.0
    assert fit.noise_sd.mean() == pytest.approx(0.01, rel=0.6)


def test_laplace_with_fewer_runs_than_parameters_still_gives_draws(tmp_path):
    law = load_law(write_law(tmp_path))
    rng = np.random.default_rng(0)
    features, y = simulate(law, 2, rng)
    fit = laplace.fit(law, features, y, rng=rng, starts=4, n_draws=64)
    assert fit.draws.shape == (64, 3) and np.isfinite(fit.mean_draws(features)).all()


def test_starts_stay_in_the_box_and_reach_small_amplitudes_in_a_wide_one():
    """A MAP search's starts: a box of exponents is uniform; a box of amplitudes reaching 1e4 also gives
    starts of order 1-100 (a uniform draw there is below 100 in magnitude 1% of the time)."""
    rng = np.random.default_rng(0)
    for box in (Uniform(-1e4, 1e4), Uniform(0.1, 500), Uniform(-500, -1), Uniform(-5, 5)):
        starts = box.start(rng, 4000)
        assert starts.min() >= box.lower and starts.max() <= box.upper
    amplitudes = np.abs(Uniform(-1e4, 1e4).start(rng, 4000))
    assert 0.2 < np.mean(amplitudes < 100) < 0.35 and 0.4 < np.mean(Uniform(-1e4, 1e4).start(rng, 4000) < 0) < 0.6
    exponents = Uniform(-5, 5).start(rng, 4000)
    assert abs(np.mean(np.abs(exponents) < 1) - 0.2) < 0.03
