"""experiments/scalebench/probe_bagged_fit.py: the scored fit bagged over bootstrap refits, on the tiny task."""

import numpy as np
import pytest

from bayes_moe.benchmarks import scalebench
from bayes_moe.pooltask import load_task
from conftest import scalebench_probes
from test_scalebench import make_task  # the tiny power-law task: the law is the truth, targets beyond the pool


def test_bagging_scores_the_map_as_the_benchmark_does_and_a_true_law_stays_good(tmp_path):
    task = load_task(make_task(tmp_path / "tiny"))
    settings = scalebench.Settings(starts=4, draws=64)
    with scalebench_probes("probe_bagged_fit") as probes:
        scored = probes["probe_bagged_fit"].bagged(task, 0, seed=1, budget=0.3, settings=settings, bags=6)
    benchmark = scalebench.run_campaign(task, 0, "active", 1, settings)
    assert scored["map"] == pytest.approx(benchmark[-1]["r2"])  # the MAP is the benchmark's score at that budget
    assert scored["median"] > 0.8 and scored["mean"] > 0.8 and np.isfinite(list(scored.values())).all()
