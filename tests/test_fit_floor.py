"""``[model] min_compute``, the fit floor: runs below it stay in the ledger but no fit reads them, and a posterior
stays fresh while only runs below it arrive (stale once the floor or the runs above change). ``[model] draws / tune``:
the chain lengths of a campaign's fits."""

import arviz as az
import numpy as np
import pytest
import xarray as xr

from bayes_moe import fitting, model, posterior
from bayes_moe.config import dump_campaign, load_campaign
from bayes_moe.design.space import DesignSpace
from bayes_moe.errors import InputError
from bayes_moe.ledger import Ledger


def _workspace(tmp_path, floor_line="min_compute = 1e16"):
    (tmp_path / "campaign.toml").write_text(f"[model]\npivot = 1e17\n{floor_line}\n")
    with Ledger.open(tmp_path, create=True) as ledger:
        for compute, loss in ((3e15, 2.0), (2e16, 1.3), (7e16, 1.1)):
            run = ledger.add_run(1.0, compute, 0.9538)
            ledger.start(run, "trainer")
            ledger.finish(run, loss)
    return tmp_path


def _done(workspace, compute, loss):
    with Ledger.open(workspace) as ledger:
        run = ledger.add_run(1.0, compute, 0.9538)
        ledger.start(run, "trainer")
        ledger.finish(run, loss)


def _saved_posterior(workspace):
    """A posterior with the attributes a fit writes, fitted on the workspace's fitted runs (no sampling:
    staleness reads only the attributes)."""
    with Ledger.open(workspace, readonly=True) as ledger:
        runs = fitting.fitted_runs(workspace, ledger)
    attrs = {"form": "power", "penalty": "asymmetric", "pivot": 1e17, "sparsity_levels": [0.9538],
             "n_runs": runs.sizes["run"], "ledger_fingerprint": runs.attrs["ledger_fingerprint"],
             "model_version": model.MODEL_VERSION, "min_compute": runs.attrs["min_compute"]}
    draws = xr.Dataset({"b0": (("chain", "draw"), np.zeros((1, 2)))}, coords={"chain": [0], "draw": [0, 1]})
    posterior.save(az.InferenceData(posterior=draws, attrs=attrs), workspace)


def test_the_floor_loads_round_trips_and_refuses_bad_values(tmp_path):
    campaign = load_campaign(_workspace(tmp_path))
    assert campaign.min_compute == 1e16
    (tmp_path / "again.toml").write_text(dump_campaign(campaign))
    assert load_campaign(tmp_path / "again.toml").min_compute == 1e16
    (tmp_path / "none").mkdir()
    assert load_campaign(_workspace(tmp_path / "none", floor_line="")).min_compute is None
    for bad in ("-1.0", '"high"', "0"):
        (tmp_path / "bad.toml").write_text(f"[model]\nmin_compute = {bad}\n")
        with pytest.raises(InputError, match=r"\[model\] min_compute"):
            load_campaign(tmp_path / "bad.toml")


def test_a_fit_reads_only_the_runs_at_or_above_the_floor(tmp_path):
    workspace = _workspace(tmp_path)
    with Ledger.open(workspace, readonly=True) as ledger:
        runs = fitting.fitted_runs(workspace, ledger)
        assert runs["compute"].values.tolist() == [2e16, 7e16]
        assert runs.attrs["min_compute"] == 1e16
        assert runs.attrs["ledger_fingerprint"] != ledger.fingerprint()  # not the fingerprint of all three
    (workspace / "campaign.toml").write_text("[model]\nmin_compute = 1e18\n")
    with Ledger.open(workspace, readonly=True) as ledger, pytest.raises(InputError, match="min_compute = 1e"):
        fitting.fitted_runs(workspace, ledger)


def test_the_posterior_stays_fresh_while_only_runs_below_the_floor_arrive(tmp_path):
    workspace = _workspace(tmp_path)
    _saved_posterior(workspace)
    assert fitting.fresh_posterior(workspace) is not None
    _done(workspace, 5e15, 1.9)  # below the floor: the fit would read the same runs
    assert fitting.fresh_posterior(workspace) is not None
    (workspace / "campaign.toml").write_text("[model]\npivot = 1e17\nmin_compute = 3e15\n")  # another floor
    assert fitting.fresh_posterior(workspace) is None
    (workspace / "campaign.toml").write_text("[model]\npivot = 1e17\nmin_compute = 1e16\n")
    assert fitting.fresh_posterior(workspace) is not None
    _done(workspace, 4e16, 1.2)  # above it: stale
    assert fitting.fresh_posterior(workspace) is None


def test_the_design_proposes_no_run_below_the_floor(tmp_path):
    (tmp_path / "campaign.toml").write_text("[space]\ncompute = [3e15, 1e17]\ntokens_per_param = 20.0\n"
                                            "[model]\nmin_compute = 1e16\n")
    assert DesignSpace.from_campaign(load_campaign(tmp_path)).compute_bounds == (1e16, 1e17)
    (tmp_path / "campaign.toml").write_text("[space]\ncompute = [3e15, 1e17]\ntokens_per_param = 20.0\n"
                                            "[model]\nmin_compute = 1e15\n")
    assert DesignSpace.from_campaign(load_campaign(tmp_path)).compute_bounds == (3e15, 1e17)


def test_a_campaign_declares_its_fits_chain_lengths_and_flags_override_them(tmp_path):
    """``[model] draws / tune``: the workspace's fits (fit, compare, validate, the campaign's refits) take them
    unless --draws / --tune say otherwise; a campaign without them leaves the functions' defaults."""
    (tmp_path / "campaign.toml").write_text("[model]\ndraws = 3000\ntune = 1500\n")
    assert fitting.sampling_options(tmp_path, {"seed": 1}) == {"draws": 3000, "tune": 1500, "seed": 1}
    assert fitting.sampling_options(tmp_path, {"draws": 500})["draws"] == 500
    (tmp_path / "campaign.toml").write_text("[model]\npivot = 1e17\n")
    assert fitting.sampling_options(tmp_path, {"seed": 1}) == {"seed": 1}
    (tmp_path / "campaign.toml").write_text("[model]\ndraws = 0\n")
    with pytest.raises(InputError, match=r"\[model\] draws must be an integer >= 1"):
        load_campaign(tmp_path)
