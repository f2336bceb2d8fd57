"""A run over several processes (``bayes-moe run --nproc N``): torchrun starts one rank each
(``python -m bayes_moe.train.loop``), every rank records its own ending, and a run the ranks leave
unrecorded (killed, a crash below Python) fails with torchrun's exit status and the tail of their stderr."""

from __future__ import annotations

import codecs
import signal
import subprocess
import sys
from pathlib import Path

import torch

from bayes_moe.errors import InputError
from bayes_moe.ledger import Ledger

STDERR_TAIL = 2000  # characters of the workers' stderr kept in the reason of a run they left unrecorded


def launch_ranks(workspace: Path, run_id: int, device: torch.device, nproc: int, progress: bool) -> None:
    """One process per rank through torchrun; each reads the plan from the run's checkpoint folder and
    records its own ending. Workers that die without recording one (killed, a crash below Python) fail
    the run with torchrun's exit status and the tail of their stderr."""
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc-per-node={nproc}",
               "-m", "bayes_moe.train.loop", str(workspace), str(run_id), "--device", device.type]
    if not progress:
        command.append("--quiet")
    returncode, tail = run_teeing_stderr(command)
    fail_if_running(workspace, run_id, f"torchrun ({nproc} processes) {exit_status(returncode)} before the run "
                                       f"ended; its stderr ends: {tail}")


def run_teeing_stderr(command: list[str]) -> tuple[int, str]:
    """Run ``command``, passing its stderr through (progress bars included) and keeping its tail."""
    child = subprocess.Popen(command, stderr=subprocess.PIPE)
    decoder, tail = codecs.getincrementaldecoder("utf-8")(errors="replace"), ""
    for chunk in iter(lambda: child.stderr.read1(8192), b""):
        text = decoder.decode(chunk)
        sys.stderr.write(text)
        sys.stderr.flush()
        tail = (tail + text)[-STDERR_TAIL:]
    return child.wait(), tail.strip()


def exit_status(returncode: int) -> str:
    """'exited with status N' or 'was killed by SIGNAME', from a subprocess return code."""
    if returncode < 0:
        return f"was killed by {signal.Signals(-returncode).name}"
    return f"exited with status {returncode}"


def fail_if_running(workspace: Path, run_id: int, reason: str) -> bool:
    """Fail the run with ``reason`` unless it has already ended (another rank or process recorded it);
    True where this call failed it."""
    with Ledger.open(workspace) as ledger:
        if ledger.get(run_id).status != "running":
            return False
        try:
            ledger.fail(run_id, reason)
        except InputError:  # another rank recorded the run's ending in between
            return False
        return True
