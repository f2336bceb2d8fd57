"""The GPU script of issue #16 (train/lr_sweep.py): its plan, its CPU path with tiny settings, its verdict."""

import json
import tomllib

import pytest

from bayes_moe import arch
from bayes_moe.ledger import Ledger
from bayes_moe.train import hparams, lr_sweep

TINY = dict(computes=(6e10,), tokens_per_param=0.004, smoke_compute=(6e10, 1e11))


def test_plan_makes_the_sweep_and_the_smoke_campaign(tmp_path):
    jobs = lr_sweep.plan(tmp_path, factors=(0.5, 1.0, 2.0), smoke_runs=2, **TINY)
    assert len(jobs) == 5 and [j.seconds for j in jobs] == sorted((j.seconds for j in jobs), reverse=True)
    with Ledger.open(tmp_path / "sweep") as ledger:
        sweep = ledger.runs(None)
    assert len({json.dumps(run.arch, sort_keys=True) for run in sweep}) == 1  # one size, three learning rates
    lrs = {}
    for job in jobs:
        if job.workspace.name == "sweep":
            lrs[job.run_id] = tomllib.loads(job.config.read_text()).get("lr") if job.config else None
    rule = hparams.learning_rate(6e10)
    assert sorted(lrs.values(), key=str) == sorted([0.5 * rule, 2 * rule, None], key=str)  # the rule's run: no lr
    with Ledger.open(tmp_path / "smoke") as ledger:
        smoke = ledger.runs("proposed")
    assert len(smoke) == 2
    for run in smoke:
        assert run.tokens / run.n_active == pytest.approx(0.004, rel=arch.SIZE_TOLERANCE)


def results(losses: dict[float, float], rule_lr: float = 1e-3, r: float = 1.0) -> dict:
    runs = [{"id": i, "status": "done", "loss": loss, "compute": 1e15, "r": r, "n_active": 2_700_000,
             "lr": rule_lr * factor, "lr_factor": factor} for i, (factor, loss) in enumerate(losses.items())]
    return {"runs": {"sweep": runs, "smoke": []}}


def test_a_sweep_over_r_sizes_one_architecture_per_r_and_judges_each(tmp_path):
    jobs = lr_sweep.plan(tmp_path, factors=(1.0, 2.0), rs=(0.5, 2.0), smoke_runs=0, **TINY)
    with Ledger.open(tmp_path / "sweep") as ledger:
        sweep = ledger.runs(None)
    assert len(jobs) == 4 and len({json.dumps(run.arch, sort_keys=True) for run in sweep}) == 2
    assert sorted({round(run.r, 1) for run in sweep}) == [0.5, 2.0]
    lr_sweep.plan(tmp_path / "s", factors=(1.0,), rs=(1.0,), sparsity=0.9091, smoke_runs=0, **TINY)
    with Ledger.open(tmp_path / "s" / "sweep") as ledger:
        assert [round(run.sparsity, 4) for run in ledger.runs(None)] == [0.9091]
    both = results({1.0: 3.30, 2.0: 3.20}, r=0.5)
    both["runs"]["sweep"] += [{**run, "r": 2.0, "id": run["id"] + 2}
                              for run in results({1.0: 3.30, 2.0: 3.31}, r=2.0)["runs"]["sweep"]]
    sizes = lr_sweep.analyse(both)["sizes"]
    assert [(size["r"], size["passed"]) for size in sizes] == [(0.5, False), (2.0, True)]  # its best lr moves with r
    assert "r = 0.5" in lr_sweep.report_text(lr_sweep.analyse(both))


@pytest.mark.parametrize("losses, passed, best_factor", [
    ({0.25: 3.40, 0.5: 3.31, 1.0: 3.30, 2.0: 3.32, 4.0: 3.5}, True, 1.0),
    ({0.25: 3.40, 0.5: 3.31, 1.0: 3.315, 2.0: 3.30, 4.0: 3.5}, True, 2.0),  # best at 2x, the rule within 0.02
    ({0.25: 3.40, 0.5: 3.31, 1.0: 3.35, 2.0: 3.30, 4.0: 3.5}, False, 2.0),  # loss gap 0.05
    ({0.25: 3.20, 0.5: 3.31, 1.0: 3.21, 2.0: 3.30, 4.0: 3.5}, False, 0.25),  # best 4x away
])
def test_verdict_is_the_issues_check(losses, passed, best_factor):
    size = lr_sweep.analyse(results(losses))["sizes"][0]
    assert size["passed"] is passed and size["best_lr"] == pytest.approx(1e-3 * best_factor)
    assert ("PASS" if passed else "FAIL") in lr_sweep.report_text(lr_sweep.analyse(results(losses)))


def test_several_calls_pool_by_lr_and_judge_the_means():
    seed0 = results({0.5: 3.30, 1.0: 3.34})  # alone, seed 0 says half the rule's lr is 0.04 better
    seed1 = results({0.5: 3.36, 1.0: 3.30, 2.0: 3.40})  # seed 1 the other way round, and one more lr
    size = lr_sweep.analyse(seed0, seed1)["sizes"][0]
    assert [(lr, losses) for lr, losses in size["runs"]] == [(5e-4, [3.30, 3.36]), (1e-3, [3.34, 3.30]), (2e-3, [3.40])]
    assert size["best_lr"] == 1e-3 and size["loss_gap"] == 0 and size["passed"]  # means 3.33 / 3.32 / 3.40
    assert "3.3000 / 3.3600 (mean 3.3300)" in lr_sweep.report_text(lr_sweep.analyse(seed0, seed1))


def test_unfinished_runs_give_no_verdict():
    data = results({0.5: 3.3, 1.0: 3.2})
    data["runs"]["sweep"][1].update(status="running", loss=None)
    size = lr_sweep.analyse(data)["sizes"][0]
    assert "passed" not in size and size["unfinished"] == [1]
    assert "no verdict" in lr_sweep.report_text(lr_sweep.analyse(data))


@pytest.mark.slow
def test_cpu_path_trains_a_tiny_sweep_end_to_end(tmp_path, capsys):
    out = tmp_path / "out"
    with pytest.raises(SystemExit) as ended:  # exit 0 only: every run finished
        lr_sweep.main(["run", "--base", str(tmp_path / "base"), "--out", str(out), "--gpus", "0", "--per-gpu", "1",
                       "--device", "cpu", "--computes", "6e10", "--factors", "1", "--tokens-per-param", "0.004",
                       "--smoke-runs", "0", "--extra", '{"eval_tokens": 4096, "batch_size": 2}', "--time-limit", "600"])
        raise SystemExit(0)
    assert ended.value.code == 0
    saved = json.loads((out / "results.json").read_text())
    (run,) = saved["runs"]["sweep"]
    assert run["status"] == "done" and run["loss"] > 0 and run["steps"] == 2 and run["warmup_steps"] == 2
    assert run["tokens_per_param"] == pytest.approx(2 * 2 * 2048 / run["n_active"])  # whole steps trained
    assert run["lr"] == pytest.approx(hparams.learning_rate(6e10)) and run["epochs"] > 0
    assert (out / "sweep.sqlite").is_file() and (out / "sweep.campaign.toml").is_file()
    assert "PASS" in capsys.readouterr().out
