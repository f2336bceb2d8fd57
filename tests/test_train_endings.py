"""Honest endings: a run that does not finish ends 'failed' with its reason, whichever process failed,
and `bayes-moe run` says so by its exit status (0 done, 1 failed, 2 bad input); settings are checked
before the ledger changes; the micro-batch and compilation are settled before training."""

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from bayes_moe import cli
from bayes_moe.errors import InputError
from bayes_moe.ledger import Ledger
from bayes_moe.train import data, launch, settle
from bayes_moe.train.loop import train_run
from bayes_moe.train.plan import PLAN, checkpoint_dir, prepare_run
from test_train_loop import FAST, add_run


@pytest.fixture(autouse=True)
def sample_corpus(monkeypatch):
    monkeypatch.setenv(data.CORPUS_ENV, str(data.SAMPLE_DIR))


def statuses(workspace):
    with Ledger.open(workspace) as ledger:
        return [r.status for r in ledger.runs()]


@pytest.mark.parametrize("config,nproc,message", [
    ({**FAST, "micro_batch_size": 5}, 1, "micro_batch_size 5 does not divide the per-rank batch 16"),
    ({**FAST, "micro_batch_size": 3}, 4, "micro_batch_size 3 does not divide the per-rank batch 4"),
    ({**FAST, "batch_size": 15}, 2, "batch_size 15 is not divisible by nproc 2"),
    ({**FAST, "micro_batch_size": 0}, 1, "micro_batch_size must be a positive integer"),
    ({**FAST, "lr": float("nan")}, 1, "lr must be a finite number"),
    ({**FAST, "compile": "yes"}, 1, "compile must be true or false"),
])
def test_bad_settings_are_refused_before_the_ledger_changes(tmp_path, config, nproc, message):
    run_id = add_run(tmp_path, steps=2)
    with pytest.raises(InputError, match=message):
        train_run(tmp_path, run_id, nproc=nproc, device="cpu", config=config, progress=False)
    assert statuses(tmp_path) == ["proposed"] and not checkpoint_dir(tmp_path, run_id).exists()


def test_a_micro_batch_larger_than_the_rank_batch_is_the_rank_batch(tmp_path):
    run_id = add_run(tmp_path, steps=1)
    run = train_run(tmp_path, run_id, config={**FAST, "micro_batch_size": 64}, progress=False)
    assert run.status == "done" and run.metrics["micro_batch_size"] == 16


def test_accumulation_trains_the_same_run_as_one_batch(tmp_path):
    """Each step's data is drawn per rank batch and then cut into micro-batches: 4 micro-batches of 4
    make the same optimizer steps as one of 16, up to float rounding (which Adam's first steps magnify)."""
    losses = []
    for micro in (16, 4):
        run_id = add_run(tmp_path, steps=3)
        run = train_run(tmp_path, run_id, config={**FAST, "micro_batch_size": micro}, progress=False)
        assert run.metrics["micro_batch_size"] == micro and run.metrics["compile"] is False  # eager on a CPU
        losses.append(run.loss)
    assert losses[0] == pytest.approx(losses[1], abs=2e-3)


def test_cli_exit_status_says_done_failed_or_bad_input(tmp_path, capsys):
    done_id, failed_id = add_run(tmp_path, steps=1), add_run(tmp_path, steps=4)
    config = tmp_path / "fast.toml"
    config.write_text("batch_size = 16\nlr = 1e-2\neval_tokens = 8192\n")
    nan_config = tmp_path / "nan.toml"
    nan_config.write_text("batch_size = 16\nlr = 1e8\ngrad_clip = 1e30\neval_tokens = 8192\n")
    base = ["--workspace", str(tmp_path), "run", "--device", "cpu"]
    assert cli.main(base + [str(done_id), "--config", str(config)]) == 0
    assert cli.main(base + [str(failed_id), "--config", str(nan_config)]) == 1
    assert f"run {failed_id} failed: non-finite training loss" in capsys.readouterr().out
    assert cli.main(base + [str(done_id), "--config", str(config)]) == 2  # done already: bad input
    assert statuses(tmp_path) == ["done", "failed"]


@pytest.mark.parametrize("nproc", [1, 2])
def test_an_error_inside_training_fails_the_run_with_its_reason(tmp_path, nproc):
    """A corpus shard damaged between the plan and the training, in this process or in torchrun's
    workers: the run fails with the error (and, over several processes, the rank that met it)."""
    corpus = tmp_path / "corpus"
    shutil.copytree(data.SAMPLE_DIR, corpus)
    run_id = add_run(tmp_path / "ws", steps=2)
    prepare_run(tmp_path / "ws", run_id, nproc, FAST, corpus)
    for shard in corpus.glob("*.bin"):
        shard.write_bytes(shard.read_bytes()[:-2])
    run = train_run(tmp_path / "ws", run_id, nproc=nproc, device="cpu", progress=False)  # resumes the plan
    assert run.status == "failed" and "InputError: corpus shard" in run.reason and "does not match" in run.reason
    assert run.reason.startswith("rank ") == (nproc > 1)


def test_non_finite_loss_over_two_gloo_processes_fails_the_run(tmp_path):
    run_id = add_run(tmp_path, steps=3)
    run = train_run(tmp_path, run_id, nproc=2, device="cpu", config={**FAST, "lr": 1e8, "grad_clip": 1e30},
                    progress=False)
    assert run.status == "failed" and "non-finite training loss" in run.reason


def _worker_pids(workspace: Path) -> list[int]:
    """Processes running the trainer worker on ``workspace`` (this test's own grandchildren; not torchrun)."""
    pids = []
    for entry in Path("/proc").iterdir():
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"bayes_moe.train.loop" in argv and str(workspace).encode() in argv and b"torch.distributed.run" not in argv:
            pids.append(int(entry.name))
    return pids


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc").is_dir(), reason="finds the workers through /proc")
def test_a_killed_torchrun_worker_fails_the_run_with_torchruns_stderr(tmp_path):
    run_id = add_run(tmp_path, steps=2000)
    command = [sys.executable, "-m", "bayes_moe.cli", "--workspace", str(tmp_path), "run", str(run_id),
               "--nproc", "2", "--device", "cpu", "--json", "--config", str(tmp_path / "fast.toml")]
    (tmp_path / "fast.toml").write_text("batch_size = 16\nlr = 1e-2\neval_tokens = 8192\n")
    child = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    deadline, workers = time.monotonic() + 120, []
    while len(workers) < 2 and time.monotonic() < deadline and child.poll() is None:
        time.sleep(0.5)
        workers = _worker_pids(tmp_path)
    assert len(workers) == 2
    time.sleep(3)  # into the training steps
    os.kill(workers[1], signal.SIGKILL)
    assert child.wait(timeout=120) == 1
    with Ledger.open(tmp_path) as ledger:
        run = ledger.get(run_id)
    assert run.status == "failed" and run.reason.startswith("torchrun (2 processes) exited with status")
    assert "SIGKILL" in run.reason  # torchrun's own report of the worker's death, from its stderr


def test_a_child_killed_by_a_signal_is_named_with_its_stderr():
    code = "import os, signal, sys; sys.stderr.write('last words'); sys.stderr.flush(); os.kill(os.getpid(), signal.SIGKILL)"
    returncode, tail = launch.run_teeing_stderr([sys.executable, "-c", code])
    assert launch.exit_status(returncode) == "was killed by SIGKILL" and tail.endswith("last words")


def test_compile_failure_falls_back_to_eager_with_the_reason(tmp_path, monkeypatch):
    def broken_backend(graph, inputs):
        raise RuntimeError("this backend cannot compile")

    monkeypatch.setattr(settle, "compile_objective", lambda objective: torch.compile(objective, backend=broken_backend))
    losses = {}
    for compile in (True, False):
        run_id = add_run(tmp_path, steps=2)
        run = train_run(tmp_path, run_id, config={**FAST, "compile": compile}, progress=False)
        assert run.status == "done" and run.metrics["compile"] is False
        losses[compile] = run.loss
    assert "Error" in run_metrics(tmp_path, 1)["compile_fallback"]  # the backend's error, or torch's before it
    assert losses[True] == losses[False]


def run_metrics(workspace, run_id):
    with Ledger.open(workspace) as ledger:
        return ledger.get(run_id).metrics


def test_out_of_memory_halves_the_micro_batch_until_a_step_fits(tmp_path, monkeypatch):
    """The settling loop (which runs on GPUs) with a device that fits 4 sequences: 16 and 8 fail, 4 is
    kept and recorded; with the micro-batch fixed by the config, the run fails saying so."""
    trial = settle.trial_step

    def fits_four(session, objective, micro):
        return torch.OutOfMemoryError("CUDA out of memory (simulated)") if micro > 4 else trial(session, objective, micro)

    monkeypatch.setattr(settle, "trial_step", fits_four)
    monkeypatch.setattr(settle, "compile_objective", lambda objective: objective)
    run_id = add_run(tmp_path, steps=2)
    run = train_run(tmp_path, run_id, config={**FAST, "compile": True}, progress=False)
    assert run.status == "done"
    assert run.metrics["micro_batch_size"] == 4 and run.metrics["micro_batch_oom"] == [16, 8]
    fixed_id = add_run(tmp_path, steps=2)
    run = train_run(tmp_path, fixed_id, config={**FAST, "compile": True, "micro_batch_size": 8}, progress=False)
    assert run.status == "failed" and "out of memory" in run.reason and "micro_batch_size" in run.reason


def test_a_resumed_run_is_checked_against_its_new_process_count(tmp_path):
    run_id = add_run(tmp_path, steps=2)
    prepare_run(tmp_path, run_id, 1, {**FAST, "batch_size": 3, "micro_batch_size": 3}, None)
    assert (checkpoint_dir(tmp_path, run_id) / PLAN).is_file()
    with pytest.raises(InputError, match="batch_size 3 is not divisible by nproc 2"):
        train_run(tmp_path, run_id, nproc=2, device="cpu", progress=False)
    assert statuses(tmp_path) == ["running"]
