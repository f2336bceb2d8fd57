"""Fitting a workspace: its finished runs, fitted with its law, saved as ``posterior.nc`` beside the ledger.

Below the campaign and the CLI, which both call it (``bayes-moe fit``, the campaign's refit, the notebooks):
``fit_workspace`` fits and saves, ``fresh_posterior`` reuses a posterior fitted on the ledger's current
finished runs, ``current_posterior`` is the one or the other. PyMC loads only when a fit runs.
"""

from __future__ import annotations

import json
from pathlib import Path

from bayes_moe import posterior
from bayes_moe.config import Campaign, load_campaign
from bayes_moe.errors import InputError
from bayes_moe.ledger import Ledger


def fit_law(workspace: Path, form: str | None = None, penalty: str | None = None, campaign=None) -> dict:
    """The r* law of a workspace's fits: ``form`` and ``penalty`` where given, else its campaign's [model],
    with the [model]'s frontier, pivot, discrepancy, seed_offset and hinge_scale (``campaign``: the workspace's,
    if read)."""
    campaign = campaign or load_campaign(workspace)
    return {"form": form or campaign.form, "penalty": penalty or campaign.penalty, "frontier": campaign.frontier,
            "pivot": campaign.pivot, "discrepancy": campaign.discrepancy, "seed_offset": campaign.seed_offset,
            "hinge_scale": campaign.hinge_scale}


def model_settings(workspace: Path | None, campaign: Campaign | None = None) -> dict:
    """The campaign's [model] as a fit reads it (law, floor, chain lengths), kept in the posterior's attrs: a
    posterior fitted under other settings is stale, as one fitted on other runs is (``campaign``: the
    workspace's, if read)."""
    campaign = campaign or load_campaign(workspace)
    return {**fit_law(workspace, campaign=campaign), "min_compute": campaign.min_compute, "draws": campaign.draws,
            "tune": campaign.tune}


def staleness(workspace: Path, idata, ledger: Ledger) -> str | None:
    """Why the workspace's posterior ``idata`` no longer answers for it (``posterior.staleness`` against its
    ledger and its campaign's [model] now; a setting the fit did not record, one added since, counts at its
    default), or None."""
    return posterior.staleness(idata, ledger, model_settings(workspace), defaults=model_settings(None, Campaign()))


def sampling_options(workspace: Path, options: dict) -> dict:
    """``options`` for a fit of the workspace, with its campaign's ``[model] draws`` and ``tune`` where
    ``options`` does not set them (a campaign whose posterior needs longer chains says so once)."""
    campaign = load_campaign(workspace)
    declared = {name: getattr(campaign, name) for name in ("draws", "tune") if getattr(campaign, name) is not None}
    return {**declared, **options}


def fitted_runs(workspace: Path, ledger: Ledger):
    """The finished runs a fit of the workspace reads: all, or those at or above its campaign's
    ``[model] min_compute`` (a floor below which the runs are in a regime the laws do not describe; they
    stay in the ledger). ``attrs`` carry the fingerprint of exactly these runs and the floor."""
    floor = load_campaign(workspace).min_compute
    runs = ledger.to_dataset(min_compute=floor)
    if runs.sizes["run"] == 0:
        below = "" if floor is None else f" at or above [model] min_compute = {floor:g}"
        raise InputError(f"no finished runs{below} in {workspace}: nothing to fit")
    if floor is not None:
        runs.attrs["min_compute"] = floor
    return runs


def fit_workspace(workspace: Path, **fit_options):
    """Fit the joint model to the workspace's ``fitted_runs`` and save ``posterior.nc`` with their
    fingerprint (and the floor); the law (form, penalty) is the campaign's [model] unless
    ``fit_options`` name one (``fit_law``)."""
    from bayes_moe import model

    fit_options = {**sampling_options(workspace, fit_options),
                   **fit_law(workspace, fit_options.get("form"), fit_options.get("penalty"))}
    with Ledger.open(workspace) as ledger:
        runs = fitted_runs(workspace, ledger)
    idata = model.fit(runs, **fit_options)
    if "min_compute" in runs.attrs:
        idata.attrs["min_compute"] = runs.attrs["min_compute"]
    idata.attrs[posterior.MODEL_SETTINGS] = json.dumps(model_settings(workspace), sort_keys=True)
    posterior.save(idata, workspace)
    return idata


def fresh_posterior(workspace: Path):
    """The workspace's posterior if it exists, was fit on the runs a fit would read now (the ledger's
    finished runs above the campaign's floor, the same floor), else None."""
    if not (Path(workspace) / posterior.POSTERIOR_FILE).is_file():
        return None
    idata = posterior.load(workspace)
    if idata.attrs.get("min_compute") != load_campaign(workspace).min_compute:
        return None
    with Ledger.open(workspace) as ledger:
        return None if staleness(workspace, idata, ledger) else idata


def current_posterior(workspace: Path, **fit_options):
    """The workspace's posterior, refitted first if it is missing or stale; None with no finished runs."""
    with Ledger.open(workspace) as ledger:
        if not ledger.counts().get("done"):
            return None
    idata = fresh_posterior(workspace)
    return idata if idata is not None else fit_workspace(workspace, **fit_options)
