"""experiments/scalebench/peer_logs.py: the peer's R^2 per budget from one log per (form, seed), over the
seeds every form finished, with its standard error over the seeds; and run_peer.sh, which writes those logs."""

import subprocess
from pathlib import Path

import pytest

from conftest import scalebench_probes


@pytest.fixture(scope="module")
def peer():
    with scalebench_probes("peer_logs") as modules:
        yield modules["peer_logs"]


def _log(folder: Path, form: str, seed: int, scores: dict | None) -> Path:
    """A log as mspe.py prints it; ``scores`` None: cut off before its score line."""
    path = folder / f"mspe_moe_scaling_law_{form}_seed{seed}.log"
    text = f"=== v28_mspe === [moe_scaling_law]\n[{form}] groups=1\n"
    if scores is not None:
        text += f"  repeat 0 (seed={seed}): " + " | ".join(f"{b}:{r2:.4f}" for b, r2 in scores.items()) + "\n"
    path.write_text(text)
    return path


def test_summary_averages_forms_per_seed_over_the_seeds_every_form_finished(peer, tmp_path):
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


def test_forms_cut_off_unevenly_are_averaged_over_what_each_finished(peer, tmp_path):
    logs = [_log(tmp_path, "sl_1", 42, {0.01: -1.0}), _log(tmp_path, "sl_1", 43, {0.01: -0.5}),
            _log(tmp_path, "sl_2", 44, {0.01: 0.25}), _log(tmp_path, "sl_3", 42, None)]
    with pytest.raises(SystemExit, match=r"no seed finished every form \(sl_1, sl_2\): --by-form"):
        peer.summarise(peer.read_logs(logs))
    [row] = peer.summarise_by_form(peer.read_logs(logs))
    assert row["by_form"] == {"sl_1": -0.75, "sl_2": 0.25} and row["campaigns"] == {"sl_1": 2, "sl_2": 1}
    assert row["r2_mean"] == pytest.approx(-0.25) and row["se_over_seeds"] is None


def test_a_log_not_named_as_the_runner_names_them_is_refused(peer, tmp_path):
    stray = tmp_path / "mspe.log"
    stray.write_text("")
    with pytest.raises(SystemExit, match="mspe.log: not a run_peer.sh log name"):
        peer.read_logs([stray])


RUNNER = Path(__file__).resolve().parents[1] / "experiments" / "scalebench" / "run_peer.sh"


def test_the_runner_gives_each_job_its_seed_starts_and_form_and_a_log_peer_logs_reads(peer, tmp_path):
    """run_peer.sh on a stand-in for the peer's copy (it is not shipped): a script that prints its settings and
    a score line as mspe.py does; each job has its own working folder, log and done.txt line."""
    copy = tmp_path / "peer"
    copy.mkdir()
    (copy / "mspe.py").write_text(
        "import os, sys\n"
        "print(sys.argv[1:], os.environ['N_STARTS'], os.environ['N_WORKERS'], os.environ['SLS'], os.getcwd())\n"
        "seed = int(os.environ['RNG_SEED'])\n"
        "print(f'  repeat 0 (seed={seed}): 0.01:{seed / 100:.4f} | 0.05:0.5000')\n")
    out = tmp_path / "out"
    jobs = [f"moe_scaling_law:{form}:{seed}" for form in ("sl_1", "sl_2") for seed in (42, 43)]
    subprocess.run(["bash", str(RUNNER), str(copy), "mspe", str(out), "2", "60", "16", *jobs], check=True)
    logs = sorted(out.glob("*.log"))
    assert [log.name for log in logs] == [f"mspe_moe_scaling_law_{form}_seed{seed}.log"
                                          for form in ("sl_1", "sl_2") for seed in (42, 43)]
    settings = logs[0].read_text().splitlines()[0]
    assert settings.startswith("['moe_scaling_law', '1'] 16 1 sl_1 ") and str(out) not in settings
    done = [line.split() for line in (out / "done.txt").read_text().splitlines()]
    assert sorted(fields[:5] for fields in done) == [["mspe", "moe_scaling_law", form, str(seed), "rc=0"]
                                                     for form in ("sl_1", "sl_2") for seed in (42, 43)]
    assert all(fields[5].startswith("wall=") and fields[5][5:].isdigit() for fields in done)
    [low, _] = peer.summarise(peer.read_logs(logs))
    assert low["r2_mean"] == pytest.approx(0.425)
    refused = subprocess.run(["bash", str(RUNNER), str(copy), "dopt", str(out), "1", "60", "16", jobs[0]],
                             capture_output=True, text=True)
    assert refused.returncode == 2 and "METHOD must be mspe or vopt, not 'dopt'" in refused.stderr
