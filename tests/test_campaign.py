"""The closed loop on the simulator: intervals shrink, and a killed campaign loses and repeats nothing."""

import csv
import os
import shutil
import sqlite3
import signal
import subprocess
import sys
import time

import pytest

from bayes_moe.campaign import UNCONVERGED_STOP, law_may_stop, run_campaign
from bayes_moe.executors import make_executor
from bayes_moe.fitting import fit_workspace
from bayes_moe.ledger import Ledger
from bayes_moe.workspace import create_workspace
from conftest import DEMO, FAST

FAST_FIT = dict(FAST, progressbar=False)


@pytest.fixture
def workspace(tmp_path):
    """The demo campaign with only its two lowest compute levels, so a campaign has room to learn."""
    source = tmp_path / "campaign"
    source.mkdir()
    shutil.copy(DEMO / "campaign.toml", source)
    with open(DEMO / "runs.csv") as demo, open(source / "runs.csv", "w", newline="") as low:
        rows = csv.DictReader(demo)
        writer = csv.DictWriter(low, rows.fieldnames)
        writer.writeheader()
        writer.writerows(row for row in rows if float(row["compute"]) < 4e17)
    create_workspace(tmp_path / "ws", source=source)
    return tmp_path / "ws"


def test_campaign_executes_proposals_and_reports_targets(workspace):
    with Ledger.open(workspace) as ledger:
        before = ledger.counts()["done"]
    result = run_campaign(workspace, make_executor("simulator"), rounds=1, batch=2, fit_options=FAST_FIT,
                          progress=False)
    assert result.stopped == "rounds done" and len(result.rounds) == 1
    assert len(result.rounds[0].executed) == 2 and not result.rounds[0].failed
    with Ledger.open(workspace) as ledger:
        assert ledger.counts()["done"] == before + 2
        assert not ledger.runs(("proposed", "running", "failed"))
        assert result.final.compute_spent == sum(run.compute for run in ledger.runs("done"))
    final = result.final.intervals  # refitted on the round's runs
    assert len(final) == 4 and all(row["lower"] < row["median"] < row["upper"] for row in final)
    assert result.final.half_width == max(row["half_width"] for row in final)
    assert result.final.half_width != result.start.half_width


def test_campaign_stops_when_the_budget_is_spent(workspace):
    text = (workspace / "campaign.toml").read_text().replace("compute_budget", "# compute_budget")
    (workspace / "campaign.toml").write_text(text.replace("[stopping]", "[stopping]\ncompute_budget = 1e17"))
    result = run_campaign(workspace, make_executor("simulator"), rounds=3, fit_options=FAST_FIT, progress=False)
    assert result.stopped == "compute budget spent" and result.rounds == []


def test_a_width_met_by_an_unconverged_posterior_stops_with_a_warning(tmp_path):
    workspace = tmp_path / "ws"
    create_workspace(workspace, source=DEMO)  # every demo run: r* at the targets within +-95%
    text = (workspace / "campaign.toml").read_text().replace("target_width", "# target_width")
    (workspace / "campaign.toml").write_text(text.replace("[stopping]", "[stopping]\ntarget_width = 0.95"))
    result = run_campaign(workspace, make_executor("simulator"), rounds=3, fit_options=FAST_FIT, progress=False)
    assert not result.start.converged  # 2 x 150 draws
    assert result.stopped == UNCONVERGED_STOP and result.rounds == []


def test_a_width_met_under_an_unsettled_law_does_not_stop_the_loop(tmp_path, monkeypatch):
    """Under form "auto", intervals that assume a law LOO cannot yet single out are not a stop."""
    from bayes_moe import posterior

    workspace = tmp_path / "ws"
    create_workspace(workspace, source=DEMO)
    text = (workspace / "campaign.toml").read_text().replace("target_width", "# target_width")
    (workspace / "campaign.toml").write_text(text.replace("[stopping]", "[stopping]\ntarget_width = 0.95"))
    monkeypatch.setattr(posterior, "law_settled", lambda idata: False)
    result = run_campaign(workspace, make_executor("simulator"), rounds=1, batch=1, fit_options=FAST_FIT,
                          progress=False)
    assert result.start.half_width <= 0.95 and not result.start.law_settled
    assert result.stopped == "rounds done" and len(result.rounds) == 1


@pytest.mark.parametrize("laws_fitted, settled, may_stop", [
    (["power"], True, True),  # a campaign's first fit (or a resumed campaign's)
    (["power", "power"], True, True),
    (["power", "two-term"], True, False),  # LOO has just switched: the last batch was designed under power
    (["two-term", "two-term"], False, False),  # the rival law is within 2 se
])
def test_only_a_settled_law_kept_twice_may_stop_a_campaign(laws_fitted, settled, may_stop):
    previous = laws_fitted[-2] if len(laws_fitted) > 1 else None
    assert law_may_stop(laws_fitted[-1], settled, previous) is may_stop


def test_killed_campaign_resumes_without_losing_or_repeating_runs(workspace):
    """SIGKILL a campaign while it executes a batch of 24 (Sobol, so proposing is instant); the kill is
    retried if a batch slipped through between two polls, so the test always exercises a resume. The
    workspace is fitted here first (this process has the model compiled), so the campaign process goes
    straight to proposing instead of compiling its own."""
    fit_workspace(workspace, **FAST_FIT)
    command = [sys.executable, "-m", "bayes_moe.cli", "--workspace", str(workspace), "campaign", "--rounds", "3",
               "--batch", "24", "--strategy", "sobol", "--draws", "150", "--tune", "150", "--chains", "2", "--json"]
    for _attempt in range(3):
        child = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 240
        with Ledger.open(workspace) as ledger:  # kill it once its proposals are in the ledger
            while not ledger.runs(("proposed", "running")) and time.monotonic() < deadline:
                time.sleep(0.005)
        os.kill(child.pid, signal.SIGKILL)
        child.wait()
        with Ledger.open(workspace) as ledger:
            queued = {run.id for run in ledger.runs(("proposed", "running"))}
            done_before = {run.id: run.loss for run in ledger.runs("done")}
        if queued:
            break
    assert queued, "every kill landed outside the execution of a batch: the test did not exercise a resume"

    result = run_campaign(workspace, make_executor("simulator"), rounds=1, batch=1, fit_options=FAST_FIT,
                          progress=False)
    assert queued <= set(result.rounds[0].executed)  # the interrupted round's runs were executed first
    with Ledger.open(workspace) as ledger:
        assert not ledger.runs(("proposed", "running"))
        done_after = {run.id: run.loss for run in ledger.runs("done")}
    assert sqlite3.connect(workspace / "ledger.sqlite").execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert {k: done_after[k] for k in done_before} == done_before  # nothing finished was redone or lost
    assert queued <= done_after.keys()


@pytest.mark.parametrize("refit_each, fits", [(False, 2), (True, 4)])
def test_the_campaign_refits_when_the_batch_is_in_or_as_each_run_arrives(tmp_path, monkeypatch, refit_each, fits):
    """A round of 2 runs: a fit before it and after it, plus one per arriving run with ``refit_each``."""
    from bayes_moe import campaign

    workspace = tmp_path / "ws"
    create_workspace(workspace, source=None)
    calls = []
    monkeypatch.setattr(campaign, "_standing", lambda *args: calls.append(args) or campaign.Standing(0.0, [], True))
    result = run_campaign(workspace, make_executor("simulator"), rounds=1, batch=2, strategy="sobol",
                          progress=False, refit_each=refit_each)
    assert len(result.rounds[0].executed) == 2 and len(calls) == fits
