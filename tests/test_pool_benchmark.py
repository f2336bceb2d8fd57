"""The GPU-pool benchmark script, on the CPU with tiny runs: it trains every run and writes its record."""

import json

import pytest

from bayes_moe.benchmarks import gpu_pool
from bayes_moe.train import data


@pytest.mark.slow
def test_the_pool_benchmark_writes_its_record(tmp_path, monkeypatch):
    monkeypatch.setenv(data.CORPUS_ENV, str(data.SAMPLE_DIR))
    assert gpu_pool.main(["--cpu-slots", "2", "--runs", "3", "--out", str(tmp_path)]) == 0
    record = json.loads((tmp_path / "gpu_pool.json").read_text())
    assert record["runs"] == record["done"] == 3 and record["cpu_slots"] == 2 and not record["timed_out"]
    assert record["wall_s_1gpu"] == pytest.approx(sum(run["wall_s"] for run in record["per_run"]))
    assert record["speedup"] == pytest.approx(record["wall_s_1gpu"] / record["wall_s_ngpu"])
    assert 0 < record["busy_fraction"] <= 1
    assert {run["label"] for run in record["per_run"]} == {"gpu-pool:tiny"}
