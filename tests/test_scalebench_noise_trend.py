"""The noise trend (laplace.fit's size): the noise sd a log-linear function of a run's log size, recovered
from residuals where they show one (a likelihood ratio test), used by the fit's weights, the intervals and the
selection; the benchmark's default, pool-next's option."""

import numpy as np
from test_scalebench import LAW, make_task

from bayes_moe import laplace
from bayes_moe.benchmarks import scalebench
from bayes_moe.design.pool import select_batch
from bayes_moe.pooltask import load_task
from bayes_moe.userlaw import load_law


def test_the_trend_is_recovered_from_residuals_and_is_none_without_evidence_of_one():
    rng = np.random.default_rng(0)
    u = rng.standard_normal(400)
    assert abs(laplace.noise_trend(0.03 * np.exp(-0.5 * u) * rng.standard_normal(400), u) + 0.5) < 0.1
    assert laplace.noise_trend(0.03 * rng.standard_normal(400), u) == 0.0
    # twelve runs with a steep trend: found with the residuals' 12 degrees of freedom, not with 2 (a fit of ten
    # parameters, whose residuals are near 0 on some runs whatever the noise)
    u12 = np.linspace(-1.6, 1.6, 12)
    steep = 0.03 * np.exp(-1.5 * u12) * np.where(np.arange(12) % 2, 1.0, -1.0)
    assert laplace.noise_trend(steep, u12) < -0.5
    assert laplace.noise_trend(steep, u12, dof=2) == 0.0


def test_a_fit_with_sizes_finds_the_trend_and_its_noise_at_a_size_is_clipped_to_the_sizes_seen(tmp_path):
    """Cheap runs ten times as noisy as dear ones: the fitted noise sd falls with size, the interval at the
    largest size is narrower than at the smallest, and beyond the sizes seen it stays at the largest's."""
    (tmp_path / "power.py").write_text(LAW)
    law = load_law(tmp_path / "power.py")
    rng = np.random.default_rng(1)
    n = np.geomspace(1e3, 1e6, 80)
    noise = 0.05 * (n / 1e3) ** (-1 / 3)  # 0.05 at the smallest, 0.005 at the largest
    y = 1.8 + 20.0 * n ** -0.3 + noise * rng.standard_normal(80)
    fit = laplace.fit(law, {"N": n}, y, rng=rng, starts=4, n_draws=256, size=np.log(n))
    assert fit.trend < -0.5
    small, large, beyond = fit.noise_scale(np.log([1e3, 1e6, 1e9])) * np.median(fit.noise_sd)
    assert small > 4 * large and beyond == large
    assert 0.02 < small < 0.1 and 0.002 < large < 0.012
    lower, upper = fit.interval({"N": np.array([1e3, 1e6])}, 0.9, rng, size=np.log([1e3, 1e6]))
    assert upper[0] - lower[0] > 3 * (upper[1] - lower[1])
    assert laplace.fit(law, {"N": n}, y, rng=rng, starts=4, n_draws=16).trend == 0.0


def test_the_selection_values_a_noisier_row_less():
    """Two rows with the same draws and cost: the one whose noise is scaled up is worth less."""
    draws = np.random.default_rng(2).standard_normal((64, 1))
    pool = np.hstack([draws, draws])
    (row, _), = select_batch(pool, draws, np.full(64, 0.5), np.ones(2), range(2), 1.0, 1,
                             noise_scale=np.array([3.0, 1.0]))
    assert row == 1


def test_the_benchmark_fits_a_noise_trend_by_default_where_the_pool_shows_one(tmp_path):
    """make_task's pool has one noise sd: no trend; the same pool with cheap runs 10x noisier: a falling one,
    unless the settings turn it off."""
    import pandas as pd

    folder = make_task(tmp_path / "tiny", n_pool=120)
    pool = pd.read_csv(folder / "pool.csv")
    n = pool["params"].to_numpy()
    pool["loss"] = 1.8 + 20.0 * n ** -0.3 + 0.05 * (n / 1e3) ** (-1 / 3) * np.random.default_rng(4).standard_normal(len(n))
    trends = {}
    for name, rows, settings in [("one noise", None, scalebench.Settings(starts=4, draws=64)),
                                 ("noisier cheap runs", pool, scalebench.Settings(starts=4, draws=64)),
                                 ("turned off", pool, scalebench.Settings(starts=4, draws=64, noise_trend=False))]:
        if rows is not None:
            rows.to_csv(folder / "pool.csv", index=False)
        task = load_task(folder)
        campaign = scalebench.GroupCampaign(task, task.laws[0], *task.groups()[0], "random",
                                            np.random.default_rng(0), settings)
        campaign.advance(0.6)
        trends[name] = campaign.fit.trend
    assert trends["one noise"] == 0.0 and trends["turned off"] == 0.0 and trends["noisier cheap runs"] < -0.3


def test_pool_next_with_a_noise_trend_narrows_the_targets_intervals_when_cheap_runs_are_noisier(tmp_path, capsys):
    import json

    import pandas as pd

    from bayes_moe.cli import main

    rng = np.random.default_rng(3)
    n = np.geomspace(1e3, 1e6, 60)
    loss = 1.8 + 20.0 * n ** -0.3 + 0.05 * (n / 1e3) ** (-1 / 3) * rng.standard_normal(60)
    pool = pd.DataFrame({"params": n, "steps": 1.0, "loss": np.where(np.arange(60) % 6 == 5, np.nan, loss)})
    pool.to_csv(tmp_path / "pool.csv", index=False)
    pd.DataFrame({"params": [1e6, 2e6]}).to_csv(tmp_path / "targets.csv", index=False)
    (tmp_path / "power.py").write_text(LAW)
    common = ["pool-next", "--law", str(tmp_path / "power.py"), "--pool", str(tmp_path / "pool.csv"), "--targets",
              str(tmp_path / "targets.csv"), "--cost", "params", "--starts", "4", "--discrepancy", "0", "--json"]
    widths = []
    for trend in ([], ["--noise-trend"]):
        assert main([*common, *trend]) == 0
        out = json.loads(capsys.readouterr().out)
        widths.append(np.mean([t["upper90"] - t["lower90"] for t in out["targets"]]))
    assert widths[1] < 0.6 * widths[0]
    assert main([*common, "--noise-trend", "--cost", "params * steps"]) == 2  # the targets lack steps
    assert "targets.csv" in capsys.readouterr().err
