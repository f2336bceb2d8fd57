"""The GPU scripts, run on the CPU with tiny sizes: the speed bench (trainer steps, batch sweep, K
processes sharing a device) and the DDP record (1 and 2 gloo processes) write the JSON they promise."""

import gc
import json
import math

import pytest

from bayes_moe.train import bench, bench_ddp, data
from bayes_moe.train.session import Session


@pytest.fixture(autouse=True)
def sample_corpus(monkeypatch):
    monkeypatch.setenv(data.CORPUS_ENV, str(data.SAMPLE_DIR))


@pytest.mark.slow
def test_speed_bench_writes_steps_batches_and_shared_runs(tmp_path):
    out = tmp_path / "bench.json"
    bench.main(["--out", str(out), "--device", "cpu", "--sizes", "2x2x64", "--n-ctx", "64", "--batch", "4",
                "--batches", "8", "--compile", "off", "--seconds", "0.2", "--share", "2",
                "--share-size", "2x2x64"])
    report = json.loads(out.read_text())
    runs = report["sizes"]["2x2x64"]["train"]
    assert [(r["batch"], r["compile"]) for r in runs] == [(4, False), (8, False)]
    assert all(r["tokens_per_s"] > 0 and r["micro_batch"] == r["batch"] and r["steps"] >= 5 for r in runs)
    shared = report["share"]["runs"]
    assert [s["processes"] for s in shared] == [2] and "error" not in shared[0], shared[0].get("error")
    assert len(shared[0]["per_process"]) == 2
    assert shared[0]["aggregate_tokens_per_s"] == pytest.approx(sum(r["tokens_per_s"] for r in shared[0]["per_process"]))
    assert report["skipped"] == []


def test_speed_bench_skips_what_would_start_after_the_time_limit(tmp_path):
    out = tmp_path / "bench.json"
    bench.main(["--out", str(out), "--device", "cpu", "--sizes", "2x2x64", "--n-ctx", "64", "--compile", "off",
                "--time-limit", "0", "--share", "2", "--share-size", "2x2x64"])
    report = json.loads(out.read_text())
    assert report["skipped"] == ["2x2x64 batch 32 compile False", "2x2x64 x2 processes"]


@pytest.mark.slow
def test_ddp_record_trains_one_run_on_one_and_two_processes(tmp_path):
    config = tmp_path / "train.toml"
    config.write_text("eval_tokens = 1024\nlr = 3e-3\n")
    out = tmp_path / "ddp.json"
    assert bench_ddp.main(["--out", str(out), "--preset", "tiny", "--steps", "3", "--batch", "4",
                           "--device", "cpu", "--config", str(config)]) == 0
    record = json.loads(out.read_text())
    assert record["world_size"] == 2 and record["steps"] == 3
    for world in (1, 2):
        assert record[f"tokens_per_s_{world}"] > 0 and math.isfinite(record[f"val_loss_{world}"])
        assert record[f"metrics_{world}"]["world_size"] == world and record[f"metrics_{world}"]["steps"] == 3
    assert record["speedup"] == record["tokens_per_s_2"] / record["tokens_per_s_1"]


def test_a_failed_measurement_frees_its_session_before_the_next(tmp_path, monkeypatch):
    """A step that fails (out of memory on a GPU) is a result, and the model it built is freed before the
    next measurement: the except block's traceback held it, so a 100M eager OOM left the compiled 100M
    measurement 235 MB of a GPU and a micro-batch of 1 (trainer_bench.json, 4.9% MFU)."""
    alive_at_release = []
    release = bench._release

    def counting_release(device):
        release(device)
        alive_at_release.append(sum(type(o) is Session for o in gc.get_objects()))

    def failing_step(session, step):
        raise RuntimeError("a step that fails")

    monkeypatch.setattr(bench, "_release", counting_release)
    monkeypatch.setattr(bench.loop, "_train_step", failing_step)
    out = tmp_path / "bench.json"
    bench.main(["--out", str(out), "--device", "cpu", "--sizes", "2x2x64", "--n-ctx", "64", "--batch", "4",
                "--compile", "off", "--seconds", "0.1"])
    runs = json.loads(out.read_text())["sizes"]["2x2x64"]["train"]
    assert runs == [{"batch": 4, "compile": False, "error": "RuntimeError: a step that fails"}]
    assert alive_at_release == [0]
