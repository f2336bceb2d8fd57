"""The per-fit choices measured on ScaleBench (docs/scalebench_record.md, "A choice per fit" and "Through the law where
the runs partly determine it"): where flat boxes enter the search centred (``Settings.boxes``,
``laplace.boxes_centred``; by default in fits of fewer runs than parameters) and where the selection's draws go
through the law (``Settings.design_draws``, ``laplace.design_posterior``; by default in fits of half as many
observations as parameters or more but fewer than them); ``LaplaceFit.nonlinearity``, the probes' measure of how far
the law strays from its linearization."""

import dataclasses
import textwrap

import numpy as np
import pytest

from bayes_moe import laplace
from bayes_moe.benchmarks import scalebench
from bayes_moe.pooltask import load_task
from bayes_moe.strategy_names import BOXES
from bayes_moe.userlaw import Uniform, load_law
from test_scalebench import make_task  # the tiny power-law task: E + A N^-alpha, targets beyond the pool
from test_scalebench_boxes import line_law

POWER = textwrap.dedent('''
    from bayes_moe.userlaw import HalfNormal, Uniform

    inputs = {"x": "x"}
    output = "y"
    priors = {"a": Uniform(0, 10), "b": Uniform(-3, 3)}
    noise_sd = HalfNormal(0.3)  # the noisier of the test's two run sets has sd 0.3

    def mean(x, a, b, xp):
        return a * x ** b
''')


def campaign(task, chosen, seed=0, **settings):
    rows, target_rows = task.groups()[0]
    c = scalebench.GroupCampaign(task, task.laws[0], rows, target_rows, "active", np.random.default_rng(seed),
                                 scalebench.Settings(starts=4, **settings))
    c.chosen = list(chosen)
    return c


def test_nonlinearity_is_one_for_a_linear_law_and_large_for_a_power_law_far_beyond_its_runs(tmp_path):
    x = np.linspace(0, 10, 20)
    y = 1.5 + 0.7 * x + 0.01 * np.random.default_rng(0).standard_normal(20)
    line = laplace.fit(line_law(tmp_path), {"x": x}, y, rng=np.random.default_rng(0), starts=2)
    assert abs(line.nonlinearity({"x": np.array([20.0, 30.0])}) - 1) < 1e-6
    path = tmp_path / "power.py"
    path.write_text(POWER)
    power, targets = load_law(path), {"x": np.array([100.0, 1000.0])}
    for seed in range(3):
        rng = np.random.default_rng(seed)
        for lowest, highest, sd, ratio in ((1.0, 1.2, 0.3, (5, np.inf)), (1.0, 100.0, 0.1, (0.9, 1.1))):
            x = np.linspace(lowest, highest, 10)  # runs over a fifth of the first decade, or over two decades
            fit = laplace.fit(power, {"x": x}, 2 * x ** 0.5 + sd * rng.standard_normal(10), rng=rng, starts=4)
            assert ratio[0] < fit.nonlinearity(targets) < ratio[1]


def test_centred_boxes_only_in_fits_of_fewer_runs_than_parameters(tmp_path):
    task = load_task(make_task(tmp_path / "tiny"))
    for chosen, centred in (([0, 15], True), ([0, 10, 20, 29], False)):  # 3 parameters
        fits = {}
        for name in BOXES:
            c = campaign(task, chosen, boxes=name)
            c.refit()
            fits[name] = c.fit.best
        assert np.array_equal(fits["centred-underdetermined"], fits["centred" if centred else "flat"])
        if centred:
            assert not np.allclose(fits["centred"], fits["flat"], rtol=1e-3)  # the two fits differ there


@pytest.mark.parametrize("draws, through", [
    ("partly-determined", (False, True, False)), ("linearized", (False, False, False)),
    ("underdetermined", (True, True, False)), ("through-law", (True, True, True))])
def test_the_selections_draws_go_through_the_law_where_the_rule_says_and_never_in_a_scored_fit(tmp_path, draws, through):
    task = load_task(make_task(tmp_path / "tiny"))  # 3 parameters: 1 run is too few to partly determine them, 4 enough
    lower, upper = task.laws[0].bounds
    for chosen, expected in zip(([0], [0, 15], [0, 10, 20, 29]), through):
        linear, choice = campaign(task, chosen, design_draws="linearized"), campaign(task, chosen, design_draws=draws)
        linear.refit(), choice.refit()
        assert choice.fit.linearized is not expected
        assert np.array_equal(choice.fit.draws, np.clip(linear.fit.draws, lower, upper) if expected else linear.fit.draws)
        choice.refit(polish=True)  # a scored fit stays linearized
        assert choice.fit.linearized


def test_an_unknown_rule_is_refused(tmp_path):
    c = campaign(load_task(make_task(tmp_path / "tiny")), [0, 15])
    c.refit()
    with pytest.raises(ValueError, match="design draws 'sometimes'"):
        laplace.design_posterior(c.fit, 2, "sometimes")
    with pytest.raises(ValueError, match="boxes 'round'"):
        laplace.boxes_centred(c.law, 2, "round")


def test_partly_determined_counts_every_output_of_a_run(tmp_path):
    law = load_task(make_task(tmp_path / "tiny")).laws[0]
    six = dataclasses.replace(law, priors={f"p{k}": Uniform(-1, 1) for k in range(6)})
    assert [laplace.partly_determined(six, runs) for runs in (2, 3, 5, 6)] == [False, True, True, False]
    two_outputs = dataclasses.replace(six, outputs=("y1", "y2"))  # each run observes both
    assert [laplace.partly_determined(two_outputs, runs) for runs in (1, 2, 3)] == [False, True, False]
    assert laplace.partly_determined(six, 2, least=0.3)
