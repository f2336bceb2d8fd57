"""The committed ScaleBench tasks (experiments/scalebench/): every law file loads and fits a few runs of its
task; laws with several outputs (domain_mixture) through the fit, the selection and the protocol."""

import textwrap

import numpy as np
import pandas as pd
import pytest

from bayes_moe import laplace
from bayes_moe.benchmarks import scalebench
from bayes_moe.design.pool import select_batch
from bayes_moe.errors import InputError
from bayes_moe.pooltask import find_task, load_task
from bayes_moe.userlaw import load_law

TASKS = {"moe": (10, 1), "sparsity": (4, 3), "parallel": (10, 2), "vocab": (10, 1), "lr_bsz": (10, 1),
         "domain_mixture": (10, 4)}


@pytest.mark.parametrize("name", TASKS)
def test_committed_task_loads_with_its_law_forms(name):
    n_laws, n_groups = TASKS[name]
    task = load_task(find_task(name))
    assert len(task.laws) == n_laws and len(task.groups()) == n_groups
    assert (task.costs > 0).all() and len(task.costs) == len(task.pool)
    for law in task.laws:  # every form is finite somewhere in its prior box on the pool
        lower, upper = law.bounds
        values = law.predict((lower + upper) / 2, law.features(task.pool))
        assert values.shape == (1, len(task.pool) * len(law.outputs)) and np.isfinite(values).any()


@pytest.mark.parametrize("name", ["vocab", "lr_bsz", "domain_mixture"])
def test_each_law_form_fits_a_few_runs_of_its_task(name):
    """A fit on a handful of the task's cheapest runs (more observations than parameters) gives finite
    predictions and draws for every form as written."""
    task = load_task(find_task(name))
    rows = np.argsort(task.costs, kind="stable")
    for law in task.laws:
        n = min(len(rows), int(np.ceil(1.5 * len(law.priors) / len(law.outputs))) + 2)
        chosen = rows[:n]
        features = {k: v[chosen] for k, v in law.features(task.pool).items()}
        y = law.observed(task.pool.iloc[chosen])
        fit = laplace.fit(law, features, y, rng=np.random.default_rng(0), starts=2, n_draws=16)
        residual = law.predict(fit.best, features)[0] - y
        assert np.isfinite(residual).all(), law.name
        assert fit.draws.shape == (16, len(law.priors)) and np.isfinite(fit.mean_draws(features)).all(), law.name


TWO_OUTPUTS = textwrap.dedent('''
    from bayes_moe.userlaw import HalfNormal, Uniform

    inputs = {"N": "params"}
    output = ["loss_a", "loss_b"]
    priors = {"E": Uniform(0, 5), "A": Uniform(0, 100), "alpha": Uniform(0, 1), "shift": Uniform(-2, 2)}
    noise_sd = HalfNormal(0.05)

    def mean(N, E, A, alpha, shift, xp):
        return [E + A * N**-alpha, E + shift + A * N**-alpha]
''')


def two_output_task(folder):
    """Two losses sharing a power law, the second shifted by 0.5; cost N; targets 10x beyond the pool."""
    rng = np.random.default_rng(0)
    (folder / "laws").mkdir(parents=True)
    (folder / "laws" / "shared.py").write_text(TWO_OUTPUTS)
    law = load_law(folder / "laws" / "shared.py")
    truth = np.array([1.8, 20.0, 0.3, 0.5])
    for name, n in (("pool", np.geomspace(1e3, 1e6, 24)), ("targets", np.geomspace(2e6, 1e7, 4))):
        values = law.predict(truth, {"N": n})[0].reshape(-1, 2) + 0.01 * rng.standard_normal((len(n), 2))
        pd.DataFrame({"params": n, "loss_a": values[:, 0], "loss_b": values[:, 1]}).to_csv(folder / f"{name}.csv", index=False)
    (folder / "task.toml").write_text('pool = "pool.csv"\ntargets = "targets.csv"\ncost = "params"\n'
                                      'budgets = [0.1, 0.3]\nlaws = "laws/*.py"\n')
    return folder, law, truth


def test_law_with_two_outputs_predicts_them_point_by_point(tmp_path):
    _, law, truth = two_output_task(tmp_path / "two")
    assert law.outputs == ("loss_a", "loss_b")
    values = law.predict(np.array([truth, truth]), {"N": np.array([1e3, 1e4, 1e5])})
    assert values.shape == (2, 6)
    assert values[0, 1] - values[0, 0] == pytest.approx(0.5) and values[0, 5] - values[0, 4] == pytest.approx(0.5)
    table = pd.DataFrame({"loss_a": [1.0, 2.0], "loss_b": [3.0, 4.0]})
    assert list(law.observed(table)) == [1.0, 3.0, 2.0, 4.0]


def test_wrong_number_of_outputs_is_named(tmp_path):
    path = tmp_path / "bad.py"
    path.write_text(TWO_OUTPUTS.replace('output = ["loss_a", "loss_b"]', 'output = ["loss_a", "loss_b", "loss_c"]'))
    with pytest.raises(InputError, match="returned 2 outputs, the law names 3"):
        load_law(path).predict(np.ones(4), {"N": np.array([1.0])})


def test_selection_with_outputs_picks_whole_rows_within_budget():
    """Row 1's two outputs both inform the targets, row 0's do not: row 1 first, and a row never splits."""
    rng = np.random.default_rng(0)
    shared = rng.standard_normal(512)
    pool = np.stack([rng.standard_normal(512), rng.standard_normal(512), shared, shared,
                     rng.standard_normal(512), rng.standard_normal(512)], axis=1)  # 3 rows x 2 outputs
    targets = shared[:, None] * np.array([[1.0, -1.0]])
    picks = select_batch(pool, targets, np.full(512, 0.1), np.ones(3), [0, 1, 2], 2.0, 3, outputs=2)
    assert picks[0][0] == 1 and len(picks) == 2 and len({i for i, _ in picks}) == 2
    with pytest.raises(InputError, match="do not hold 2 output"):
        select_batch(pool[:, :5], targets, np.full(512, 0.1), np.ones(3), [0, 1, 2], 2.0, 1, outputs=2)


def test_protocol_on_a_two_output_task_scores_both_outputs(tmp_path):
    folder, _, _ = two_output_task(tmp_path / "two")
    task = load_task(folder)
    rows = scalebench.benchmark(task, seeds=1, strategies=("active", "random"),
                                settings=scalebench.Settings(starts=4, draws=64))
    active = [r for r in rows if r["strategy"] == "active"]
    assert [r["budget"] for r in active] == [0.1, 0.3]
    assert active[-1]["r2_mean"] > 0.8 and 0 <= active[-1]["coverage90"] <= 1


def botorch_batch(pool, targets, noise_sd, costs, q):
    """The reference: TargetVarianceReduction per unit cost over an EnsembleModel of the rows, greedy by
    BoTorch's optimize_acqf_discrete with the earlier picks pending (what select_batch computes faster)."""
    import torch
    from botorch.acquisition.cost_aware import InverseCostWeightedUtility
    from botorch.models.deterministic import GenericDeterministicModel
    from botorch.optim import optimize_acqf_discrete

    from bayes_moe.design.acquisition import TargetVarianceReduction
    from bayes_moe.design.ensemble import EnsembleModel

    table = torch.as_tensor(pool)
    weights = torch.as_tensor(costs / costs.sum())
    model = EnsembleModel(lambda X: table[:, X[..., 0].long()].movedim(0, -2), torch.as_tensor(noise_sd))
    cost = InverseCostWeightedUtility(GenericDeterministicModel(lambda X: weights[X[..., 0].long()].unsqueeze(-1)))
    acquisition = TargetVarianceReduction(model, torch.as_tensor(targets), cost=cost)
    picks, left = [], list(range(pool.shape[1]))
    for _ in range(q):
        with torch.no_grad():
            pick, value = optimize_acqf_discrete(acquisition, q=1, choices=torch.tensor(left, dtype=torch.float64)[:, None])
        picks.append((int(pick[0, 0]), float(value.reshape(-1)[0])))
        left.remove(picks[-1][0])
        acquisition.set_X_pending(torch.tensor([[float(i)] for i, _ in picks], dtype=torch.float64))
    return picks


def test_incremental_selection_equals_botorchs_greedy_batch():
    rng = np.random.default_rng(3)
    latent = rng.standard_normal((256, 4))
    pool = latent @ rng.standard_normal((4, 40)) + 0.05 * rng.standard_normal((256, 40))
    targets = latent @ rng.standard_normal((4, 6))
    costs, noise = rng.uniform(1, 3, 40), np.full(256, 0.3)
    ours = select_batch(pool, targets, noise, costs, range(40), np.inf, 6)
    reference = botorch_batch(pool, targets, noise, costs, 6)
    assert [i for i, _ in ours] == [i for i, _ in reference]
    assert np.allclose([v for _, v in ours], [v for _, v in reference], rtol=1e-6)


def test_information_criterion_is_botorchs_expected_information_and_weighs_what_is_left():
    """``criterion="information"`` (EPIG-style) values a row by TargetVarianceReduction.information: the nats it
    carries about the targets, so a target already narrow counts as much as a wide one."""
    import torch

    from bayes_moe.design.acquisition import TargetVarianceReduction
    from bayes_moe.design.ensemble import EnsembleModel

    rng = np.random.default_rng(4)
    latent = rng.standard_normal((512, 3))
    pool = latent @ rng.standard_normal((3, 12)) + 0.1 * rng.standard_normal((512, 12))
    targets = latent @ rng.standard_normal((3, 4)) * [10.0, 1.0, 0.3, 0.1]
    noise = np.full(512, 0.4)
    (row, value), = select_batch(pool, targets, noise, np.ones(12), range(12), np.inf, 1, criterion="information")
    table = torch.as_tensor(pool)
    model = EnsembleModel(lambda X: table[:, X[..., 0].long()].movedim(0, -2), torch.as_tensor(noise))
    with torch.no_grad():
        nats = TargetVarianceReduction(model, torch.as_tensor(targets)).information(
            torch.arange(12, dtype=torch.float64).reshape(12, 1, 1)).numpy()
    assert row == int(np.argmax(nats)) and np.isclose(value / 12, nats.max(), rtol=1e-6)  # per unit of 1/12 cost
    # a wide target (sd 10) halved by row 0, a narrow one (sd 1) pinned by row 1: variance buys row 0,
    # information row 1
    wide, narrow = rng.standard_normal((2, 4096))
    pool = np.stack([wide + rng.standard_normal(4096), narrow], axis=1)
    targets = np.stack([10 * wide, narrow], axis=1)
    noise = np.full(4096, 0.05)
    assert select_batch(pool, targets, noise, np.ones(2), range(2), np.inf, 1)[0][0] == 0
    assert select_batch(pool, targets, noise, np.ones(2), range(2), np.inf, 1, criterion="information")[0][0] == 1
    with pytest.raises(InputError, match="criterion 'entropy'"):
        select_batch(pool, targets, noise, np.ones(2), range(2), np.inf, 1, criterion="entropy")


def test_benchmark_command_runs_named_law_forms_and_refuses_unknown_ones(tmp_path, capsys):
    import json

    from bayes_moe.cli import main

    folder, _, _ = two_output_task(tmp_path / "two")
    assert main(["benchmark-scalebench", "--task", str(folder), "--laws", "nope", "--seeds", "1"]) == 2
    assert "--laws nope: task two has shared" in capsys.readouterr().err
    assert main(["benchmark-scalebench", "--task", str(folder), "--laws", "shared", "--seeds", "1",
                 "--strategies", "random", "--starts", "2", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["laws"] for r in rows] == [1, 1] and all(r["cpu_s"] > 0 for r in rows)
    assert set(rows[0]["coverage_by_law"]) == {"shared"}


def test_benchmark_log_has_one_line_per_campaign(tmp_path, capsys):
    import json

    from bayes_moe.cli import main

    folder, _, _ = two_output_task(tmp_path / "two")
    log = tmp_path / "campaigns.jsonl"
    assert main(["benchmark-scalebench", "--task", str(folder), "--seeds", "2", "--strategies", "random",
                 "--starts", "2", "--log", str(log)]) == 0
    lines = [json.loads(line) for line in log.read_text().splitlines()]
    assert [(c["law"], c["strategy"], c["seed"]) for c in lines] == [("shared", "random", 0), ("shared", "random", 1)]
    assert [r["budget"] for r in lines[0]["results"]] == [0.1, 0.3]
    capsys.readouterr()
    assert main(["benchmark-scalebench", "--summarise", str(log), "--json"]) == 0  # the same summary again
    assert [(r["strategy"], r["laws"], r["seeds"]) for r in json.loads(capsys.readouterr().out)] == [("random", 1, 2)] * 2
    good = log.read_text()
    log.write_text(good + "{not json\n")
    assert main(["benchmark-scalebench", "--summarise", str(log)]) == 2
    assert f"{log}:3: not a campaign record" in capsys.readouterr().err
    for stray in ('{"task": "two"}', "[1, 2]", json.dumps(lines[0] | {"results": [{"budget": 0.1}]})):
        log.write_text(good + stray + "\n")  # JSON, but not what a campaign writes
        assert main(["benchmark-scalebench", "--summarise", str(log)]) == 2
        assert f"{log}:3: not a campaign record (needs task, law" in capsys.readouterr().err
