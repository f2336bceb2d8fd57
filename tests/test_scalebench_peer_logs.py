"""experiments/scalebench/peer_logs.py: the peer's R^2 per budget from one log per (form, seed), over the
seeds every form finished, with its standard error over the seeds."""

from pathlib import Path

import pytest

from conftest import scalebench_script


def _log(folder: Path, form: str, seed: int, scores: dict | None) -> Path:
    """A log as mspe.py prints it; ``scores`` None: cut off before its score line."""
    path = folder / f"mspe_moe_scaling_law_{form}_seed{seed}.log"
    text = f"=== v28_mspe === [moe_scaling_law]\n[{form}] groups=1\n"
    if scores is not None:
        text += f"  repeat 0 (seed={seed}): " + " | ".join(f"{b}:{r2:.4f}" for b, r2 in scores.items()) + "\n"
    path.write_text(text)
    return path


def test_summary_averages_forms_per_seed_over_the_seeds_every_form_finished(tmp_path):
    peer = scalebench_script("peer_logs")
    logs = [_log(tmp_path, form, seed, {0.01: seed / 10 + bump, 0.05: 0.5})
            for form, bump in (("sl_1", 0.0), ("sl_2", 0.2)) for seed in (42, 43, 44)]
    logs.append(_log(tmp_path, "sl_1", 45, {0.01: 0.9, 0.05: 0.9}))  # sl_2 has no seed 45: left out
    logs.append(_log(tmp_path, "sl_2", 46, None))  # cut off: no score
    low, high = peer.summarise(peer.read_logs(logs))
    # per seed the forms' mean is seed/10 + 0.1: 4.3, 4.4, 4.5 -> mean 4.4, sd 0.1, se 0.1/sqrt(3)
    assert low["seeds"] == [42, 43, 44]
    assert low["r2_mean"] == pytest.approx(4.4)
    assert low["se_over_seeds"] == pytest.approx(0.1 / 3 ** 0.5)
    assert low["by_form"] == pytest.approx({"sl_1": 4.3, "sl_2": 4.5})
    assert (high["budget"], high["r2_mean"]) == (0.05, pytest.approx(0.5))
    [only] = peer.summarise(peer.read_logs(logs), budgets=[0.05])
    assert only == high


def test_a_log_not_named_as_the_runner_names_them_is_refused(tmp_path):
    peer = scalebench_script("peer_logs")
    stray = tmp_path / "mspe.log"
    stray.write_text("")
    with pytest.raises(SystemExit, match="mspe.log: not a run_peer.sh log name"):
        peer.read_logs([stray])
