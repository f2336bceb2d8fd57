"""The main job end to end: `make next-experiment` on a fresh workspace, and the CLI steps it chains."""

import json
import subprocess
from pathlib import Path

from bayes_moe.cli import main
from bayes_moe.ledger import Ledger

REPO = Path(__file__).resolve().parents[1]


def test_make_next_experiment_fits_reports_and_proposes(tmp_path):
    workspace = tmp_path / "ws"
    done = subprocess.run(["make", "-s", "-C", str(REPO), "next-experiment", f"WORKSPACE={workspace}"],
                          capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.count("r* at C=1e+21 FLOPs") == 4  # one line per demo target
    assert f"bayes-moe --workspace {workspace} run" in done.stdout  # the command that runs the proposal
    with Ledger.open(workspace) as ledger:
        proposed = [run.id for run in ledger.runs("proposed")]
        assert len(proposed) >= 1 and ledger.counts()["done"] == 180

    again = subprocess.run(["make", "-s", "-C", str(REPO), "next-experiment", f"WORKSPACE={workspace}"],
                           capture_output=True, text=True, timeout=900)
    assert again.returncode == 0, again.stderr[-3000:]
    assert "not yet run, so none proposed" in again.stdout  # the waiting run again, not a new one
    with Ledger.open(workspace) as ledger:
        assert [run.id for run in ledger.runs("proposed")] == proposed


def test_fit_if_stale_keeps_a_fresh_posterior_and_refits_a_stale_one(tmp_path, capsys):
    workspace = str(tmp_path / "ws")
    fast = ["--draws", "100", "--tune", "100", "--chains", "2"]
    assert main(["--workspace", workspace, "init", "--from", str(REPO / "experiments" / "demo")]) == 0
    capsys.readouterr()
    assert main(["--workspace", workspace, "fit", "--if-stale", "--json", *fast]) == 0
    assert json.loads(capsys.readouterr().out)["refitted"] is True
    assert main(["--workspace", workspace, "fit", "--if-stale", "--json", *fast]) == 0
    assert json.loads(capsys.readouterr().out)["refitted"] is False

    assert main(["--workspace", workspace, "r-star", "--targets", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [row["compute"] for row in rows] == [1e21] * 4 and all(not row["stale"] for row in rows)
    assert all(row["lower"] < row["median"] < row["upper"] for row in rows)

    with Ledger.open(Path(workspace)) as ledger:
        run_id = ledger.add_run(0.5, 1e17, 0.9538)
        ledger.start(run_id, "simulator")
        ledger.finish(run_id, 3.4)
    assert main(["--workspace", workspace, "fit", "--if-stale", "--json", *fast]) == 0
    assert json.loads(capsys.readouterr().out)["refitted"] is True
