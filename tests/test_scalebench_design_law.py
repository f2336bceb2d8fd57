"""--design-through-law: the selection's draws go through the law itself; the scored fits stay linearized."""

import json

import numpy as np

from bayes_moe.benchmarks import scalebench
from bayes_moe.cli import main
from bayes_moe.pooltask import load_task
from test_scalebench import make_task  # the tiny power-law task


def test_only_the_selections_fits_go_through_the_law(tmp_path):
    task = load_task(make_task(tmp_path / "tiny"))
    rows, target_rows = task.groups()[0]
    settings = scalebench.Settings(starts=4, design_through_law=True)
    campaign = scalebench.GroupCampaign(task, task.laws[0], rows, target_rows, "active", np.random.default_rng(0), settings)
    campaign.chosen = [0, 10, 20]
    campaign.refit()
    assert not campaign.fit.linearized
    lower, upper = task.laws[0].bounds
    assert np.all((campaign.fit.draws >= lower) & (campaign.fit.draws <= upper))  # draws through the law stay in the boxes
    campaign.refit(polish=True)
    assert campaign.fit.linearized


def test_benchmark_command_takes_design_through_law(tmp_path, capsys):
    folder = make_task(tmp_path / "tiny")
    assert main(["benchmark-scalebench", "--task", str(folder), "--seeds", "1", "--strategies", "active",
                 "--starts", "4", "--design-through-law", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["budget"] for r in rows] == [0.1, 0.3] and rows[-1]["r2_mean"] > 0.8  # 30 runs determine the law
