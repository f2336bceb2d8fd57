"""The trainer end to end on the shipped sample corpus: it learns, records its metrics, fails NaN runs,
resumes after SIGKILL, trains over 2 gloo processes, and refuses bad run rows without touching the ledger."""

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from bayes_moe import arch
from bayes_moe.errors import InputError
from bayes_moe.ledger import LEDGER_FILE, Ledger
from bayes_moe.train import data
from bayes_moe.train.loop import CHECKPOINT, train_run
from bayes_moe.train.plan import PLAN, checkpoint_dir, prepare_run

FAST = {"batch_size": 16, "lr": 1e-2, "eval_tokens": 8192}


@pytest.fixture(autouse=True)
def sample_corpus(monkeypatch):
    """The shipped sample, also where `make corpus` has built ./corpus (subprocesses inherit it)."""
    monkeypatch.setenv(data.CORPUS_ENV, str(data.SAMPLE_DIR))


def small_arch(n_ctx=64):
    return arch.solve(1.0, 24 * 32 * 32 * 2 + 8 * n_ctx * 32, 0.5, n_layers=2, n_heads=2, d_model=32, n_ctx=n_ctx)


def add_run(workspace, steps, a=None, batch=16, **fields):
    a = a or small_arch()
    with Ledger.open(workspace, create=not (Path(workspace) / LEDGER_FILE).exists()) as ledger:
        return ledger.add_run(a.r, 3 * a.c_token * batch * a.n_ctx * steps, a.sparsity,
                              arch=fields.pop("arch", a.to_dict()), **fields)


def unigram_cross_entropy() -> float:
    corpus = data.open_corpus(data.SAMPLE_DIR)
    train, val = np.asarray(corpus.split("train")), np.asarray(corpus.split("val"))
    p = (np.bincount(train, minlength=arch.DEFAULT_VOCAB) + 1) / (train.size + arch.DEFAULT_VOCAB)
    return float(-np.log(p[val]).mean())


def test_tiny_run_learns_and_records_metrics(tmp_path):
    run_id = add_run(tmp_path, steps=100)
    run = train_run(tmp_path, run_id, config=FAST, progress=False)
    assert run.status == "done" and run.executor == "trainer"
    assert run.loss < unigram_cross_entropy() - 0.4  # ~6.66 nats: far below the unigram model
    m = run.metrics
    assert m["steps"] == 100 and run.tokens == m["tokens"] == 100 * 16 * 64
    assert m["tokens_per_s"] > 0 and m["wall_s"] > 0 and np.isfinite(m["train_loss"])
    assert 1 <= m["routing_max_load"] <= 5 and m["routing_cv"] >= 0
    assert m["corpus_sha256"] == data.sha256_file(data.SAMPLE_DIR / "manifest.json")


def test_the_runs_own_seed_beats_the_configs(tmp_path):
    """Replicates differ by the ledger's seed (`bayes-moe add --seed`), whatever seed the config gives."""
    losses = {}
    for seed in (None, 0, 7):
        run_id = add_run(tmp_path, steps=4, seed=seed)
        run = train_run(tmp_path, run_id, config={**FAST, "seed": 0}, progress=False)
        assert run.metrics["config"]["seed"] == (0 if seed is None else seed)
        losses[seed] = run.loss
    assert losses[None] == losses[0] != losses[7]


def test_non_finite_loss_fails_the_run_with_reason(tmp_path):
    run_id = add_run(tmp_path, steps=6)
    run = train_run(tmp_path, run_id, config={**FAST, "lr": 1e8, "grad_clip": 1e30}, progress=False)
    assert run.status == "failed" and "non-finite" in run.reason


def test_bad_runs_give_clear_errors_and_leave_ledger_unchanged(tmp_path, run_cli):
    done_id = add_run(tmp_path, steps=1)
    with Ledger.open(tmp_path) as ledger:
        ledger.start(done_id, "trainer")
        ledger.finish(done_id, 3.0)
    bad = small_arch().to_dict() | {"n_kv_heads": 3}
    bad_id = add_run(tmp_path, steps=1, arch=bad)
    good_id = add_run(tmp_path, steps=1)
    with Ledger.open(tmp_path) as ledger:
        before = [r.to_dict() for r in ledger.runs()]
    for run_id, message in ((99, "no run with id 99"), (done_id, "is 'done'"), (bad_id, "impossible arch")):
        refused = run_cli("--workspace", tmp_path, "run", run_id)
        assert refused.code == 2 and message in refused.err
    with pytest.raises(InputError, match="unknown trainer setting"):
        train_run(tmp_path, good_id, config={**FAST, "learning_rate": 1.0})
    with Ledger.open(tmp_path) as ledger:
        assert [r.to_dict() for r in ledger.runs()] == before


def test_killed_run_resumes_from_its_checkpoint(tmp_path):
    run_id = add_run(tmp_path, steps=40)
    config = tmp_path / "train.toml"
    config.write_text('batch_size = 16\nlr = 1e-2\neval_tokens = 8192\ncheckpoint_interval_s = 0.0\n')
    command = [sys.executable, "-m", "bayes_moe.cli", "--workspace", str(tmp_path), "run", str(run_id),
               "--config", str(config), "--device", "cpu"]
    child = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    checkpoint = checkpoint_dir(tmp_path, run_id) / CHECKPOINT
    deadline = time.monotonic() + 120
    while not checkpoint.exists() and child.poll() is None and time.monotonic() < deadline:
        time.sleep(0.2)
    os.kill(child.pid, signal.SIGKILL)
    child.wait()
    with Ledger.open(tmp_path) as ledger:
        assert ledger.get(run_id).status == "running"
    run = train_run(tmp_path, run_id, progress=False)
    assert run.status == "done" and run.metrics["resumed_from_step"] > 0 and run.metrics["steps"] == 40


def test_two_gloo_processes_train_the_run_one_process_trains(tmp_path):
    """With bias balancing: the ranks' routing counts are summed at every step (an all-reduce each). The
    ranks read the one-process batch's halves, so the same run on 1 and 2 processes ends at the same loss
    up to the order of the gradient sums."""
    config = {**FAST, "balance": "bias", "micro_batch_size": 4}
    two, one = (train_run(tmp_path, add_run(tmp_path, steps=4, seed=3), nproc=n, device="cpu", config=config,
                          progress=False) for n in (2, 1))
    assert two.status == one.status == "done", (two.reason, one.reason)
    assert two.metrics["world_size"] == 2 and two.metrics["micro_batch_size"] == 4
    assert two.loss == pytest.approx(one.loss, abs=1e-4) and abs(two.loss - unigram_cross_entropy()) > 1e-3


def test_a_running_run_resumes_on_its_corpus_moved_elsewhere_and_refuses_other_data(tmp_path):
    """A workspace carried to another machine or checkout finds its corpus at another path: a running run
    resumes there when the data are the same (the plan's manifest hash), and is refused, with both named,
    when they are not."""
    first = tmp_path / "first" / "corpus"
    shutil.copytree(data.SAMPLE_DIR, first)
    run_id = add_run(tmp_path, steps=2)
    prepare_run(tmp_path, run_id, 1, FAST, first)
    moved = tmp_path / "moved" / "corpus"
    first.parent.rename(moved.parent)
    plan = prepare_run(tmp_path, run_id, 1, None, moved)
    assert plan.corpus == moved and plan.config.batch_size == FAST["batch_size"]
    assert prepare_run(tmp_path, run_id, 1, None, None).corpus == moved  # the plan on disk names it now
    texts = tmp_path / "texts"
    texts.mkdir()
    for name in ("a", "b"):
        (texts / f"{name}.txt").write_text("other words entirely " * 200)
    shutil.rmtree(moved)
    with pytest.raises(InputError, match=f"{moved}.*gone.*not the same data"):
        prepare_run(tmp_path, run_id, 1, None, texts)
    with Ledger.open(tmp_path) as ledger:
        assert ledger.get(run_id).status == "running"
    assert (checkpoint_dir(tmp_path, run_id) / PLAN).is_file()
