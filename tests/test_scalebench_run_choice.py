"""The per-fit choices measured on ScaleBench (docs/scalebench_record.md, "A choice per fit"): the selection's draws
through the law only where the law strays from its linearization at the targets (``Settings.through_law_above``,
``LaplaceFit.nonlinearity``; an option), centred boxes only in fits of fewer runs than parameters
(``Settings.centred_underdetermined``; the default), and the draws through the law only there
(``Settings.through_law_underdetermined``; an option) or only in fits of half as many observations as parameters
or more but fewer than them (``Settings.through_law_partly_determined``; the default; docs/scalebench_record.md,
"Through the law where the runs partly determine the law")."""

import dataclasses
import textwrap

import numpy as np

from bayes_moe import laplace
from bayes_moe.benchmarks import scalebench
from bayes_moe.pooltask import load_task
from bayes_moe.userlaw import Uniform, load_law
from test_scalebench import make_task  # the tiny power-law task: E + A N^-alpha, targets beyond the pool
from test_scalebench_boxes import line_law

POWER = textwrap.dedent('''
    from bayes_moe.userlaw import HalfNormal, Uniform

    inputs = {"x": "x"}
    output = "y"
    priors = {"a": Uniform(0, 10), "b": Uniform(-3, 3)}
    noise_sd = HalfNormal(0.05)

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


def test_the_draws_go_through_the_law_only_above_the_threshold_and_never_in_a_scored_fit(tmp_path):
    task = load_task(make_task(tmp_path / "tiny"))
    linear = campaign(task, [0, 1, 2])
    linear.refit()
    ratio = linear.fit.nonlinearity(linear.target_features)
    below, above = campaign(task, [0, 1, 2], through_law_above=2 * ratio), campaign(task, [0, 1, 2], through_law_above=ratio / 2)
    below.refit(), above.refit()
    assert below.fit.linearized and np.array_equal(below.fit.draws, linear.fit.draws)
    assert not above.fit.linearized
    lower, upper = task.laws[0].bounds
    assert np.array_equal(above.fit.draws, np.clip(linear.fit.draws, lower, upper))  # the same posterior, pushed
    above.refit(polish=True)
    assert above.fit.linearized


def test_centred_boxes_only_in_fits_of_fewer_runs_than_parameters(tmp_path):
    task = load_task(make_task(tmp_path / "tiny"))
    for chosen, centred in (([0, 15], True), ([0, 10, 20, 29], False)):  # 3 parameters
        fits = {}
        for name, settings in (("choice", {}), ("flat", {"centred_underdetermined": False}),
                               ("centred", {"centred_boxes": True})):
            c = campaign(task, chosen, **settings)
            c.refit()
            fits[name] = c.fit.best
        assert np.array_equal(fits["choice"], fits["centred" if centred else "flat"])
        if centred:
            assert not np.allclose(fits["centred"], fits["flat"], rtol=1e-3)  # the two fits differ there


def test_the_draws_go_through_the_law_only_in_fits_of_fewer_runs_than_parameters(tmp_path):
    task = load_task(make_task(tmp_path / "tiny"))
    lower, upper = task.laws[0].bounds
    for chosen, through in (([0, 15], True), ([0, 10, 20, 29], False)):  # 3 parameters
        linear = campaign(task, chosen, through_law_partly_determined=False)
        choice = campaign(task, chosen, through_law_underdetermined=True, through_law_partly_determined=False)
        linear.refit(), choice.refit()
        assert choice.fit.linearized is not through
        assert np.array_equal(choice.fit.draws, np.clip(linear.fit.draws, lower, upper) if through else linear.fit.draws)
        choice.refit(polish=True)  # a scored fit stays linearized
        assert choice.fit.linearized


def test_partly_determined_counts_every_output_of_a_run(tmp_path):
    law = load_task(make_task(tmp_path / "tiny")).laws[0]
    six = dataclasses.replace(law, priors={f"p{k}": Uniform(-1, 1) for k in range(6)})
    assert [laplace.partly_determined(six, runs) for runs in (2, 3, 5, 6)] == [False, True, True, False]
    two_outputs = dataclasses.replace(six, outputs=("y1", "y2"))  # each run observes both
    assert [laplace.partly_determined(two_outputs, runs) for runs in (1, 2, 3)] == [False, True, False]
    assert laplace.partly_determined(six, 2, least=0.3)


def test_by_default_the_draws_go_through_the_law_once_half_the_parameters_are_observed(tmp_path):
    task = load_task(make_task(tmp_path / "tiny"))  # 3 parameters: through the law at 2 runs, not at 1 or 4
    lower, upper = task.laws[0].bounds
    for chosen, through in (([0], False), ([0, 15], True), ([0, 10, 20, 29], False)):
        linear, choice = campaign(task, chosen, through_law_partly_determined=False), campaign(task, chosen)
        linear.refit(), choice.refit()
        assert choice.fit.linearized is not through
        assert np.array_equal(choice.fit.draws, np.clip(linear.fit.draws, lower, upper) if through else linear.fit.draws)
        choice.refit(polish=True)  # a scored fit stays linearized
        assert choice.fit.linearized
