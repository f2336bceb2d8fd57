"""The workspace commands: init, import, export, status, add (exit code 2 and one line on bad input)."""

import json
import math
import os
import subprocess

import numpy as np
import pytest

from bayes_moe import arch, flops
from bayes_moe.config import Campaign, load_campaign
from bayes_moe.ledger import Ledger
from conftest import run_cli_process

RUNS = "r,compute,sparsity,loss,label\n0.5,1e18,0.9538,3.2,a\n1.0,1e18,0.9538,3.1,b\n2.0,1e19,0.8235,2.9,c\n"
CAMPAIGN = '# a comment that must survive the copy\n[campaign]\nname = "mine"\n\n[space]\npreset = "20M"\n'


def fails(run_cli, *argv, match: str) -> str:
    """The command exits 2 with nothing on stdout, and its last line on stderr says ``match``."""
    code, out, err = run_cli(*argv)
    assert code == 2 and out == ""
    last = err.strip().splitlines()[-1]
    assert match in last, last
    return last


@pytest.fixture
def campaign_dir(tmp_path):
    folder = tmp_path / "demo"
    folder.mkdir()
    (folder / "campaign.toml").write_text(CAMPAIGN)
    (folder / "runs.csv").write_text(RUNS)
    return folder


@pytest.fixture
def ws(tmp_path, run_cli):
    """A fresh workspace with the default campaign."""
    assert run_cli("--workspace", tmp_path / "ws", "init")[0] == 0
    return tmp_path / "ws"


# --- init ----------------------------------------------------------------------------------------


def test_init_writes_default_campaign_and_empty_ledger(ws):
    assert load_campaign(ws) == Campaign()
    assert (ws / "campaign.toml").read_text().startswith("[campaign]")
    with Ledger.open(ws) as ledger:
        assert ledger.runs() == []


def test_init_from_campaign_folder_copies_campaign_and_imports_runs(tmp_path, run_cli, campaign_dir):
    code, out, _ = run_cli("--workspace", tmp_path / "ws", "init", "--from", campaign_dir, "--json")
    assert code == 0 and json.loads(out)["imported"] == [1, 2, 3]
    assert (tmp_path / "ws" / "campaign.toml").read_text() == CAMPAIGN  # verbatim, comments kept
    assert load_campaign(tmp_path / "ws").name == "mine"
    with Ledger.open(tmp_path / "ws") as ledger:
        assert [run.label for run in ledger.runs("done")] == ["a", "b", "c"]


@pytest.mark.parametrize("broken, match", [
    ("runs.csv", "runs.csv, data row 2 (line 3), column 'loss': loss must be finite and > 0 (nats), got nan"),
    ("campaign.toml", "campaign.toml: unknown key [space] rr"),
])
def test_failed_init_leaves_nothing_behind(tmp_path, run_cli, campaign_dir, broken, match):
    if broken == "runs.csv":
        (campaign_dir / "runs.csv").write_text(RUNS.replace("3.1,b", "nan,b"))
    else:
        (campaign_dir / "campaign.toml").write_text("[space]\nrr = [1, 2]\n")
    before = sorted(tmp_path.iterdir())
    fails(run_cli, "--workspace", tmp_path / "ws", "init", "--from", campaign_dir, match=match)
    assert sorted(tmp_path.iterdir()) == before  # no workspace, no staging folder


def test_init_refuses_to_clobber_a_ledger(ws, run_cli, campaign_dir):
    before = (ws / "ledger.sqlite").read_bytes()
    fails(run_cli, "--workspace", ws, "init", "--from", campaign_dir, match="already has a ledger")
    assert (ws / "ledger.sqlite").read_bytes() == before


def test_init_keeps_a_campaign_already_in_the_folder(tmp_path, run_cli):
    (tmp_path / "ws").mkdir()
    (tmp_path / "ws" / "campaign.toml").write_text(CAMPAIGN)
    assert run_cli("--workspace", tmp_path / "ws", "init")[0] == 0
    assert (tmp_path / "ws" / "campaign.toml").read_text() == CAMPAIGN


def test_init_from_missing_folder(tmp_path, run_cli):
    fails(run_cli, "--workspace", tmp_path / "ws", "init", "--from", tmp_path / "nope", match="no such folder")
    assert not (tmp_path / "ws").exists()


# --- import / export -------------------------------------------------------------------------------


def test_import_then_export_round_trip(ws, tmp_path, run_cli):
    (tmp_path / "runs.csv").write_text(RUNS)
    code, out, _ = run_cli("--workspace", ws, "import", tmp_path / "runs.csv")
    assert code == 0 and "imported 3 runs (ids 1-3)" in out
    code, out, _ = run_cli("--workspace", ws, "export", tmp_path / "out.csv", "--json")
    assert code == 0 and json.loads(out)["exported"] == 3
    assert run_cli("--workspace", tmp_path / "copy", "init")[0] == 0
    assert run_cli("--workspace", tmp_path / "copy", "import", tmp_path / "out.csv")[0] == 0
    with Ledger.open(ws) as original, Ledger.open(tmp_path / "copy") as copy:
        assert copy.fingerprint() == original.fingerprint()


def test_bad_import_names_file_row_column_value_and_changes_nothing(ws, tmp_path, run_cli):
    (tmp_path / "bad.csv").write_text(RUNS.replace("2.0,1e19,0.8235", "2.0,1e19,1.5"))
    fails(run_cli, "--workspace", ws, "import", tmp_path / "bad.csv",
          match="bad.csv, data row 3 (line 4), column 'sparsity': sparsity must be in [0, 1), got 1.5")
    with Ledger.open(ws) as ledger:
        assert ledger.runs() == []


@pytest.mark.parametrize("command", [["import", "x.csv"], ["export", "x.csv"], ["status"],
                                     ["add", "--r", "1", "--compute", "1e18", "--sparsity", "0.9538"]])
def test_commands_without_a_workspace_say_how_to_make_one(tmp_path, run_cli, command):
    fails(run_cli, "--workspace", tmp_path / "none", *command, match="bayes-moe init")
    assert not (tmp_path / "none").exists()


# --- status -----------------------------------------------------------------------------------------


def test_status_counts_compute_and_lists_last_runs(ws, tmp_path, run_cli):
    rows = "".join(f"{1 + i / 10},{1e17 * (i + 1)},0.9091,{3 - i / 100}\n" for i in range(12))
    (tmp_path / "many.csv").write_text("r,compute,sparsity,loss\n" + rows)
    run_cli("--workspace", ws, "import", tmp_path / "many.csv")
    with Ledger.open(ws) as ledger:
        ledger.start(ledger.add_run(0.5, 1e18, 0.9538), "trainer")
    code, out, _ = run_cli("--workspace", ws, "status", "--json")
    status = json.loads(out)
    assert code == 0
    assert status["counts"] == {"proposed": 0, "running": 1, "done": 12, "failed": 0}
    assert status["compute_done"] == pytest.approx(78e17)
    assert status["compute_range"] == [1e17, 12e17]
    assert status["sparsities"] == {"0.9091": 12}
    assert [r["id"] for r in status["runs"]] == list(range(4, 14))  # the last 10
    _, out, _ = run_cli("--workspace", ws, "status", "--all", "--json")
    assert len(json.loads(out)["runs"]) == 13
    _, out, _ = run_cli("--workspace", ws, "status")
    assert "1 running, 12 done" in out and "(last 10 of 13 runs; --all lists every run)" in out
    assert "7.8e+18 FLOPs of the 1e+22 budget" in out


def test_status_says_whether_the_posterior_is_fresh(ws, tmp_path, run_cli):
    posterior = pytest.importorskip("bayes_moe.posterior")
    az = pytest.importorskip("arviz")
    (tmp_path / "runs.csv").write_text(RUNS)
    run_cli("--workspace", ws, "import", tmp_path / "runs.csv")
    _, out, _ = run_cli("--workspace", ws, "status", "--json")
    assert json.loads(out)["posterior"] is None
    with Ledger.open(ws) as ledger:
        idata = az.from_dict(posterior={"x": np.zeros((1, 4))})
        idata.attrs.update(ledger_fingerprint=ledger.to_dataset().attrs["ledger_fingerprint"], converged=1,
                           form="power", penalty="asymmetric", pivot=1e18, sparsity_levels=[0.9538], n_runs=3,
                           model_version=posterior.model.MODEL_VERSION)
    posterior.save(idata, ws)
    _, out, _ = run_cli("--workspace", ws, "status", "--json")
    assert json.loads(out)["posterior"] == {"fresh": True, "converged": True}
    with Ledger.open(ws) as ledger:
        run_id = ledger.add_run(0.8, 1e19, 0.9538)
        ledger.start(run_id, "simulator")
        _, out, _ = run_cli("--workspace", ws, "status")
        assert "posterior: fresh, converged" in out  # a running run is not data yet
        ledger.finish(run_id, 2.8)
    _, out, _ = run_cli("--workspace", ws, "status")
    assert "posterior: STALE" in out


# --- add --------------------------------------------------------------------------------------------


def test_add_records_the_solved_architecture(ws, run_cli):
    code, out, _ = run_cli("--workspace", ws, "add", "--r", "0.8", "--compute", "1e19", "--sparsity", "0.9538",
                           "--label", "hand", "--seed", "4", "--json")
    added = json.loads(out)
    assert code == 0 and added["id"] == 1
    solved = arch.MoEArch.from_dict(added["arch"])
    assert added["arch"] == arch.solve_preset(0.8, 0.9538, "55M").to_dict()  # the default preset
    with Ledger.open(ws) as ledger:
        recorded = ledger.get(added["id"])
    assert recorded.status == "proposed" and recorded.arch == added["arch"]
    assert (recorded.r, recorded.sparsity) == (solved.r, solved.sparsity)  # what is trained, not what was asked
    assert recorded.r != 0.8 and abs(recorded.r / 0.8 - 1) <= arch.TOLERANCE
    assert recorded.metrics == {"requested_r": 0.8, "requested_sparsity": 0.9538, "preset": "55M"}
    assert (recorded.n_active, recorded.n_total) == (solved.n_active, solved.n_total)
    assert math.isclose(flops.training_compute(solved.c_token, recorded.tokens), 1e19)
    assert (recorded.label, recorded.seed) == ("hand", 4)


def test_add_uses_the_campaign_preset_unless_told(tmp_path, run_cli, campaign_dir):
    ws = tmp_path / "ws"
    run_cli("--workspace", ws, "init", "--from", campaign_dir)
    _, out, _ = run_cli("--workspace", ws, "add", "--r", "1", "--compute", "1e18", "--sparsity", "0.9091", "--json")
    assert json.loads(out)["preset"] == "20M" and json.loads(out)["arch"]["d_model"] == 384
    _, out, _ = run_cli("--workspace", ws, "add", "--r", "1", "--compute", "1e18", "--sparsity", "0.9091",
                        "--preset", "30M", "--json")
    assert json.loads(out)["arch"]["d_model"] == 512


@pytest.mark.parametrize("flags, match", [
    (["--r", "nan"], "argument --r: r must be finite and in [0.001, 1000] (C_E / C_A), got nan"),
    (["--r", "-1"], "argument --r: r must be in [0.001, 1000] (C_E / C_A), got -1.0"),
    (["--compute", "lots"], "argument --compute: compute must be a number, got 'lots'"),
    (["--sparsity", "1"], "argument --sparsity: sparsity must be in [0, 1), got 1.0"),
    (["--sparsity", "0.6"], "--sparsity 0.6 is not one of the sparsities of the campaign's [space]"),
    (["--seed", "1.5"], "argument --seed: seed must be an integer, got 1.5"),
    (["--preset", "huge"], "unknown preset 'huge'"),
    (["--r", "1000"], "--r 1000 is outside the campaign's [space]"),
])
def test_add_rejects_bad_flags_and_records_nothing(ws, run_cli, flags, match):
    argv = dict(zip(["--r", "--compute", "--sparsity"], ["1", "1e19", "0.9538"])) | dict(zip(flags[::2], flags[1::2]))
    fails(run_cli, "--workspace", ws, "add", *[x for pair in argv.items() for x in pair], match=match)
    with Ledger.open(ws) as ledger:
        assert ledger.runs() == []


def test_a_reader_that_goes_away_is_not_an_error(tmp_path):
    """`bayes-moe arch ... | head -1`: the closed pipe ends the command quietly, exit 0, no traceback."""
    read, write = os.pipe()
    os.close(read)  # the reader is gone before the first line is written
    done = run_cli_process("arch", "--preset", "20M", "--r", "1", "--sparsity", "0.9538", stdout=write,
                           stderr=subprocess.PIPE)
    os.close(write)
    assert done.returncode == 0 and done.stderr == ""
