"""--design-through-law: the selection's draws go through the law itself; the scored fits stay linearized."""


import numpy as np

from bayes_moe.benchmarks import scalebench
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
