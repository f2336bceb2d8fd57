"""Selection from a pool (design.pool), pool tasks (pooltask), ScaleBench's protocol (benchmarks.scalebench)
and the pool-next / benchmark-scalebench commands, on a tiny synthetic task."""

import json
import textwrap

import numpy as np
import pandas as pd
import pytest

from bayes_moe.benchmarks import scalebench
from bayes_moe.cli import main
from bayes_moe.design.pool import select_batch
from bayes_moe.errors import InputError
from bayes_moe.pooltask import fits_budget, load_task

LAW = textwrap.dedent('''
    from bayes_moe.userlaw import HalfNormal, Uniform

    inputs = {"N": "params"}
    output = "loss"
    priors = {"E": Uniform(0, 5), "A": Uniform(0, 100), "alpha": Uniform(0, 1)}
    noise_sd = HalfNormal(0.05)

    def mean(N, E, A, alpha, xp):
        return E + A * N**-alpha
''')


def make_task(folder, n_pool=30):
    """A power law in N; cost N; targets 10x beyond the pool's largest run (the same data at every call)."""
    rng = np.random.default_rng(0)
    (folder / "laws").mkdir(parents=True)
    (folder / "laws" / "power.py").write_text(LAW)
    truth = lambda n: 1.8 + 20.0 * n ** -0.3  # noqa: E731
    n_pool_values = np.geomspace(1e3, 1e6, n_pool)
    pd.DataFrame({"params": n_pool_values, "loss": truth(n_pool_values) + 0.01 * rng.standard_normal(n_pool)}
                 ).to_csv(folder / "pool.csv", index=False)
    n_targets = np.geomspace(2e6, 1e7, 5)
    pd.DataFrame({"params": n_targets, "loss": truth(n_targets)}).to_csv(folder / "targets.csv", index=False)
    (folder / "task.toml").write_text('pool = "pool.csv"\ntargets = "targets.csv"\ncost = "params"\n'
                                      'budgets = [0.1, 0.3]\nlaws = "laws/*.py"\n')
    return folder


def test_selection_prefers_the_row_that_informs_the_targets_per_unit_cost():
    rng = np.random.default_rng(0)
    shared = rng.standard_normal(512)
    pool = np.stack([shared, rng.standard_normal(512), shared], axis=1)  # rows 0 and 2 inform, row 1 does not
    targets = shared[:, None] * np.array([[1.0, 2.0]])
    noise = np.full(512, 0.1)
    picks = select_batch(pool, targets, noise, np.array([1.0, 1.0, 1.0]), [0, 1, 2], np.inf, 1)
    assert picks[0][0] in (0, 2) and picks[0][1] > 0
    # row 2 costs 10x: row 0 first; then row 2 adds nothing that row 0 did not already say
    picks = select_batch(pool, targets, noise, np.array([1.0, 1.0, 10.0]), [0, 1, 2], np.inf, 2)
    assert picks[0][0] == 0 and picks[1][1] < 0.05 * picks[0][1]


def test_selection_keeps_to_the_budget():
    rng = np.random.default_rng(1)
    draws = rng.standard_normal((256, 6))
    picks = select_batch(draws, draws[:, :2], np.full(256, 0.1), np.arange(1.0, 7.0), range(6), 5.0, 6)
    chosen = [i for i, _ in picks]
    assert len(set(chosen)) == len(chosen) and sum(np.arange(1.0, 7.0)[chosen]) <= 5.0


def test_task_folder_loads_and_bad_cost_rule_is_named(tmp_path):
    task = load_task(make_task(tmp_path / "tiny"))
    assert task.name == "tiny" and task.budgets == (0.1, 0.3) and len(task.laws) == 1
    assert np.allclose(task.costs, task.pool["params"])
    toml = tmp_path / "tiny" / "task.toml"
    toml.write_text(toml.read_text().replace('cost = "params"', 'cost = "params - 1e9"'))
    with pytest.raises(InputError, match="costs must be > 0"):
        load_task(tmp_path / "tiny")


def test_protocol_scores_every_strategy_at_every_budget(tmp_path):
    task = load_task(make_task(tmp_path / "tiny"))
    rows = scalebench.benchmark(task, seeds=2, settings=scalebench.Settings(starts=4, draws=128))
    assert [(r["budget"], r["strategy"]) for r in rows] == [(b, s) for b in (0.1, 0.3) for s in scalebench.STRATEGIES]
    for row in rows:
        assert {"task", "budget", "strategy", "r2_mean", "r2_std", "coverage90"} <= set(row)
        assert -1 <= row["r2_mean"] <= 1 and 0 <= row["coverage90"] <= 1
    active = [r for r in rows if r["strategy"] == "active"]
    # the law is the truth: it extrapolates to the targets (spread 0.1) within about the runs' noise (0.01)
    assert active[-1]["r2_mean"] > 0.8


def test_bagged_scoring_keeps_the_campaigns_picks_and_scores_the_median_of_bootstrap_refits(tmp_path):
    task = load_task(make_task(tmp_path / "tiny"))
    settings = scalebench.Settings(starts=4, draws=64)
    plain = scalebench.run_campaign(task, 0, "active", 0, settings)
    bagged = scalebench.run_campaign(task, 0, "active", 0, scalebench.Settings(starts=4, draws=64, bagged=8))
    assert [r["runs"] for r in bagged] == [r["runs"] for r in plain]  # its own random stream: the same picks
    assert [r["coverage90"] for r in bagged] == [r["coverage90"] for r in plain]  # the intervals are the MAP fit's
    assert bagged[-1]["r2"] != plain[-1]["r2"] and bagged[-1]["r2"] > 0.8  # the law is the truth: both extrapolate


def test_campaign_spends_within_each_budget(tmp_path):
    task = load_task(make_task(tmp_path / "tiny"))
    campaign = scalebench.GroupCampaign(task, task.laws[0], *task.groups()[0], "active", np.random.default_rng(0),
                                         scalebench.Settings(starts=4, draws=64))
    for budget in task.budgets:
        campaign.advance(budget)
        assert campaign.spent() <= budget * task.costs.sum() * (1 + 1e-9)
        assert len(set(campaign.chosen)) == len(campaign.chosen)


def pool_next_command(folder) -> list[str]:
    """``bayes-moe pool-next`` on the tiny task with its 10 cheapest runs done and the other 20 candidates."""
    pool = pd.read_csv(folder / "pool.csv")
    pool.loc[10:, "loss"] = np.nan  # the first 10 runs are done, the rest are candidates
    pool.to_csv(folder / "pool.csv", index=False)
    return ["pool-next", "--law", str(folder / "laws" / "power.py"), "--pool", str(folder / "pool.csv"),
            "--targets", str(folder / "targets.csv"), "--cost", "params", "--starts", "4"]


def test_pool_next_proposes_runs_and_intervals(tmp_path, capsys):
    code = main([*pool_next_command(make_task(tmp_path / "tiny")), "--batch", "2", "--budget", "2e6", "--json"])
    assert code == 0
    out = json.loads(capsys.readouterr().out)
    assert out["runs_done"] == 10 and len(out["next"]) == 2
    assert all(r["row"] > 10 for r in out["next"]) and sum(r["cost"] for r in out["next"]) <= 2e6
    assert all(t["lower90"] < t["predicted"] < t["upper90"] for t in out["targets"])
    assert (out["discrepancy_sd"], out["discrepancy_learnt"]) == (0.5, False)  # the tiny law fits its runs
    assert out["discrepancy_mean"] is False and all(t["predicted"] == t["law"] for t in out["targets"])


def test_pool_next_design_draws_reach_the_selection(tmp_path, capsys):
    """Two runs done partly determine the 3-parameter law: ``--design-draws`` reaches ``propose``."""
    from bayes_moe.pool_next import propose
    from bayes_moe.userlaw import load_law

    folder = make_task(tmp_path / "tiny")
    common = pool_next_command(folder)
    pool = pd.read_csv(folder / "pool.csv")
    pool.loc[2:, "loss"] = np.nan
    pool.to_csv(folder / "pool.csv", index=False)
    law, targets = load_law(folder / "laws" / "power.py"), pd.read_csv(folder / "targets.csv")
    picked = []
    for draws in ("partly-determined", "linearized"):
        assert main([*common, "--batch", "3", "--discrepancy", "0", "--design-draws", draws, "--json"]) == 0
        picked.append([r["row"] for r in json.loads(capsys.readouterr().out)["next"]])
        expected = propose(law, pool, targets, "params", batch=3, starts=4, discrepancy=0.0, design_draws=draws).picks
        assert picked[-1] == [row + 1 for row, _ in expected]
    assert picked[0] != picked[1]  # the two designs differ here


@pytest.mark.parametrize("flag, field, value", [
    ([], "learnt_discrepancy", True), (["--no-learnt-discrepancy"], "learnt_discrepancy", False),
    ([], "discrepancy_mean", "learnt"), (["--discrepancy-mean", "none"], "discrepancy_mean", "none"),
    (["--discrepancy-mean", "always"], "discrepancy_mean", "always"), ([], "loo_scale", True),
    (["--no-loo-scale"], "loo_scale", False)])
def test_pool_next_discrepancy_options_reach_propose(tmp_path, monkeypatch, flag, field, value):
    """The tiny task's residuals are white, so its intervals are the same either way: the call is read."""
    import bayes_moe.pool_next

    seen = []
    monkeypatch.setattr(bayes_moe.pool_next, "propose", lambda *args, **kwargs: seen.append(kwargs) or 1 / 0)
    with pytest.raises(ZeroDivisionError):
        main([*pool_next_command(make_task(tmp_path / "tiny")), *flag])
    assert seen[0][field] == value


def test_pool_next_selects_by_information_on_request(tmp_path, capsys):
    common = pool_next_command(make_task(tmp_path / "tiny"))
    assert main([*common, "--criterion", "information"]) == 0
    assert "by information at the targets per unit cost" in capsys.readouterr().out
    with pytest.raises(SystemExit) as stopped:
        main([*common, "--criterion", "entropy"])
    assert stopped.value.code == 2 and "entropy" in capsys.readouterr().err


def test_pool_next_bad_cost_rule_exits_2(tmp_path, capsys):
    folder = make_task(tmp_path / "tiny")
    code = main(["pool-next", "--law", str(folder / "laws" / "power.py"), "--pool", str(folder / "pool.csv"),
                 "--targets", str(folder / "targets.csv"), "--cost", "no_such_column * 2"])
    err = capsys.readouterr().err
    assert code == 2 and "cost rule 'no_such_column * 2'" in err and "(its columns: params, loss)" in err


def test_a_value_that_is_not_a_number_or_a_table_without_rows_is_named_by_file_row_and_column(tmp_path, capsys):
    folder = make_task(tmp_path / "tiny")
    pool = pd.read_csv(folder / "pool.csv", dtype=str)
    pool.loc[12:, "loss"] = None
    pool.loc[2, "loss"] = "n/a?"  # data row 3, a done run
    pool.to_csv(folder / "pool.csv", index=False)
    code = main(["pool-next", "--law", str(folder / "laws" / "power.py"), "--pool", str(folder / "pool.csv"),
                 "--targets", str(folder / "targets.csv"), "--cost", "params"])
    assert code == 2 and "pool.csv: row 3, column loss: 'n/a?' is not a number" in capsys.readouterr().err
    with pytest.raises(InputError, match=r"pool.csv: row 3, column loss: 'n/a\?' is not a number"):
        load_task(folder)  # the benchmark's task folder is checked alike
    pool.loc[:, "loss"] = "2.5"
    pool.to_csv(folder / "pool.csv", index=False)
    targets = pd.read_csv(folder / "targets.csv", dtype=str)
    targets.iloc[:0].to_csv(folder / "targets.csv", index=False)  # the header alone
    with pytest.raises(InputError, match=r"targets.csv: no rows after the header"):
        load_task(folder)
    capsys.readouterr()
    assert main(["pool-next", "--law", str(folder / "laws" / "power.py"), "--pool", str(folder / "pool.csv"),
                 "--targets", str(folder / "targets.csv"), "--cost", "params"]) == 2
    assert "targets.csv: no rows after the header" in capsys.readouterr().err
    targets.loc[1, "params"] = None  # an input left empty
    targets.to_csv(folder / "targets.csv", index=False)
    with pytest.raises(InputError, match=r"targets.csv: row 2, column params: empty"):
        load_task(folder)
    targets.loc[1, "params"] = "2e6x"
    targets.to_csv(folder / "targets.csv", index=False)
    with pytest.raises(InputError, match=r"targets.csv: row 2, column params: '2e6x' is not a number"):
        load_task(folder)


def test_pool_next_says_why_nothing_is_proposed_when_no_candidate_fits_the_budget(tmp_path, capsys):
    folder = make_task(tmp_path / "tiny")
    code = main([*pool_next_command(folder), "--budget", "10"])
    cheapest = pd.read_csv(folder / "pool.csv")["params"][10:].min()
    assert code == 0 and f"next 0 run(s) of 20 candidates (none costs 10 or less: the cheapest costs {cheapest:.4g}" \
        in capsys.readouterr().out


def test_pool_next_draws_its_proposal_into_the_file_plot_names(tmp_path, capsys):
    common = [*pool_next_command(make_task(tmp_path / "tiny")), "--batch", "2"]
    assert main([*common, "--plot", str(tmp_path / "next.png")]) == 0
    assert (tmp_path / "next.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert main([*common, "--plot", str(tmp_path / "next.svg")]) == 0
    assert b"<svg" in (tmp_path / "next.svg").read_bytes()[:400]
    capsys.readouterr()
    assert main([*common, "--plot", str(tmp_path / "next.gif")]) == 2
    assert "--plot" in capsys.readouterr().err and not (tmp_path / "next.gif").exists()


def test_unknown_task_exits_2(capsys):
    assert main(["benchmark-scalebench", "--task", "no-such-task", "--seeds", "1"]) == 2
    assert "no-such-task" in capsys.readouterr().err


def test_a_run_costing_exactly_what_is_left_fits_and_the_selection_obeys_the_same_rule():
    """One spending rule (pooltask.fits_budget) for the campaigns and select_batch: a cost equal to the
    budget left up to rounding fits, a cost 1e-9 above it does not."""
    left = 0.1 + 0.2  # 0.30000000000000004: a share of a total rarely is exactly the cost
    assert fits_budget(np.array([0.3, left, left * (1 + 1e-9)]), left).tolist() == [True, True, False]
    draws = np.random.default_rng(1).standard_normal((64, 3))
    picks = select_batch(draws, draws[:, :1], np.full(64, 0.1), np.array([0.3, 0.3 * (1 + 1e-9), 5.0]), range(3), 0.3, 3)
    assert [row for row, _ in picks] == [0]


@pytest.mark.parametrize("first_design, cheapest", [(0.0, 1), (0.5, 2), (1.0, 3)])
def test_active_takes_the_cheapest_runs_until_its_first_design_then_selects(tmp_path, first_design, cheapest):
    """The power law has 3 parameters: first_design 0.5 takes the 2 cheapest runs (1.5 rounded up), 0 still
    one (nothing to fit otherwise); the selection then prefers informative, dearer runs."""
    task = load_task(make_task(tmp_path / "tiny"))
    settings = scalebench.Settings(starts=4, draws=64, first_design=first_design)
    campaign = scalebench.GroupCampaign(task, task.laws[0], *task.groups()[0], "active", np.random.default_rng(0),
                                        settings)
    campaign.advance(0.3)
    order = np.argsort(task.costs)
    assert campaign.chosen[:cheapest] == order[:cheapest].tolist()
    assert campaign.chosen[cheapest] != order[cheapest]


@pytest.mark.parametrize("options", [["--boxes", "centred"], ["--design-draws", "through-law"],
                                     ["--design-draws", "underdetermined"], ["--design-draws", "linearized"],
                                     ["--boxes", "flat"], ["--bagged", "4", "--bag-min-runs", "3"]])
def test_benchmark_command_takes_the_search_options(tmp_path, capsys, options):
    folder = make_task(tmp_path / "tiny")
    assert main(["benchmark-scalebench", "--task", str(folder), "--seeds", "1", "--strategies", "active",
                 "--starts", "4", *options, "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["budget"] for r in rows] == [0.1, 0.3] and rows[-1]["r2_mean"] > 0.8  # 30 runs determine the law


@pytest.mark.parametrize("options, field, value", [
    (["--boxes", "centred"], "boxes", "centred"), (["--boxes", "flat"], "boxes", "flat"),
    ([], "boxes", "centred-underdetermined"), (["--design-draws", "through-law"], "design_draws", "through-law"),
    (["--design-draws", "underdetermined"], "design_draws", "underdetermined"),
    (["--design-draws", "linearized"], "design_draws", "linearized"), ([], "design_draws", "partly-determined"),
    (["--bagged", "4"], "bagged", 4), (["--no-learnt-discrepancy"], "learnt_discrepancy", False),
    ([], "learnt_discrepancy", True), ([], "discrepancy_mean", "learnt"),
    (["--discrepancy-mean", "none"], "discrepancy_mean", "none"), (["--no-loo-scale"], "loo_scale", False),
    (["--bag-min-runs", "3"], "bag_min_runs", 3)])
def test_each_search_option_reaches_the_campaigns_settings(tmp_path, monkeypatch, options, field, value):
    """The campaigns' results need not differ on the tiny task, so the settings the command builds are read."""
    seen = []
    monkeypatch.setattr(scalebench, "benchmark", lambda task, settings, **_: seen.append(settings) or [])
    main(["benchmark-scalebench", "--task", str(make_task(tmp_path / "tiny")), "--strategies", "active", *options,
          "--json"])
    assert getattr(seen[0], field) == value


def test_a_row_whose_draws_overflow_is_never_picked_and_spoils_no_other_pick():
    rng = np.random.default_rng(0)
    latent = rng.standard_normal((256, 3))
    pool = latent @ rng.standard_normal((3, 6)) + 0.05 * rng.standard_normal((256, 6))
    targets, noise = latent @ rng.standard_normal((3, 2)), np.full(256, 0.1)
    without = select_batch(pool[:, 1:], targets, noise, np.ones(5), range(5), np.inf, 3)
    pool[:, 0] *= 1e160  # its covariance with anything overflows
    picks = select_batch(pool, targets, noise, np.ones(6), range(6), np.inf, 3)
    assert [row for row, _ in picks] == [row + 1 for row, _ in without]
    # the same reductions, per a sixth of the total cost instead of a fifth
    assert np.allclose([value * 5 / 6 for _, value in picks], [value for _, value in without])
