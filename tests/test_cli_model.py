"""`bayes-moe fit | r-star | compare | validate`: output shapes, warnings and exit codes."""

import json
import shutil

import pytest

from bayes_moe import cli, fitting, posterior, sampling, simulate
from bayes_moe.cli import flags
from bayes_moe.workspace import create_workspace
from conftest import COMPUTES, FAST_FLAGS, record_finished_run


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    """A workspace (default campaign) of runs simulated from the paper's world."""
    source = tmp_path_factory.mktemp("simulated")
    dataset = simulate.sweep_dataset(simulate.World(seed=4), computes=COMPUTES, r_grid=(0.2, 0.4, 0.8, 1.5))
    simulate.write_csv(dataset, source / "runs.csv")
    create_workspace(source / "ws", source)
    return source / "ws"


@pytest.fixture(scope="module")
def fitted(workspace):
    assert cli.main(["--workspace", str(workspace), "fit", *FAST_FLAGS, "--json"]) == 0
    return workspace


def test_r_star_without_posterior_exits_2(run_cli, tmp_path):
    code, out, err = run_cli("--workspace", tmp_path, "r-star", "--compute", "1e21", "--sparsity", "0.9")
    assert code == 2 and "no posterior" in err and "bayes-moe fit" in err and out == ""


@pytest.mark.slow
def test_fit_writes_posterior_and_marks_a_short_run_unconverged(fitted, run_cli):
    assert (fitted / "posterior.nc").is_file()
    code, out, err = run_cli("--workspace", fitted, "r-star", "--compute", "1e21", "--sparsity", "0.95",
                             "--prob", "0.8", "--json")
    payload = json.loads(out)
    assert code == 0
    assert set(payload) == {"compute", "sparsity", "prob", "median", "lower", "upper", "stale", "converged",
                            "law_settled"}
    assert payload["lower"] < payload["median"] < payload["upper"] and payload["prob"] == 0.8
    assert payload["converged"] is False and "did not converge" in err  # 150 draws x 2 chains: ESS < 400


@pytest.mark.slow
@pytest.mark.parametrize("flags, message", [(["--compute", "0", "--sparsity", "0.9"], "compute must be in (0,"),
                                            (["--compute", "1e21", "--sparsity", "1"], "--sparsity"),
                                            (["--compute", "1e21", "--sparsity", "0.9", "--prob", "2"], "--prob")])
def test_r_star_bad_input_exits_2(fitted, run_cli, flags, message):
    code, out, err = run_cli("--workspace", fitted, "r-star", *flags)
    assert code == 2 and message in err


@pytest.mark.slow
def test_r_star_says_when_stale(fitted, run_cli, tmp_path):
    copy = shutil.copytree(fitted, tmp_path / "ws")  # the module's later tests read the fitted runs
    record_finished_run(copy, 0.5, 5e18, 0.9538, 2.9)
    code, out, err = run_cli("--workspace", copy, "r-star", "--compute", "1e20", "--sparsity", "0.9538",
                             "--json")
    assert code == 0 and json.loads(out)["stale"] is True and "finished runs changed" in err


@pytest.mark.slow
def test_a_posterior_is_stale_once_the_campaigns_model_changes(fitted, run_cli, tmp_path):
    """A fit read the campaign's [model]; after an edit of it, r-star, status, next and `fit --if-stale`
    treat the posterior as stale, and the edit undone makes it fresh again."""
    copy = shutil.copytree(fitted, tmp_path / "ws")
    campaign = copy / "campaign.toml"
    before = campaign.read_text()
    assert "seed_offset = true" in before and fitting.fresh_posterior(copy) is not None
    campaign.write_text(before.replace("seed_offset = true", "seed_offset = false"))
    code, out, err = run_cli("--workspace", copy, "r-star", "--compute", "1e20", "--sparsity", "0.9538", "--json")
    assert code == 0 and json.loads(out)["stale"] is True and "the campaign's [model] changed" in err
    code, out, err = run_cli("--workspace", copy, "status", "--json")
    assert code == 0 and json.loads(out)["posterior"]["fresh"] is False
    code, out, err = run_cli("--workspace", copy, "next", "--batch", "1")
    assert code == 2 and "the campaign's [model] changed" in err
    assert fitting.fresh_posterior(copy) is None  # so `fit --if-stale` fits again
    campaign.write_text(before.replace("hinge_scale = 0.03", "hinge_scale = 0.15"))
    assert fitting.fresh_posterior(copy) is None  # the hinges' scale is part of the [model] a fit read
    campaign.write_text(before)
    assert fitting.fresh_posterior(copy) is not None
    # a posterior fitted before the hinges' scale was a key (its record has none) counts it at its default
    idata = posterior.load(copy)
    recorded = json.loads(idata.attrs[posterior.MODEL_SETTINGS])
    del recorded["hinge_scale"]
    idata.attrs[posterior.MODEL_SETTINGS] = json.dumps(recorded)
    posterior.save(idata, copy)
    assert "hinge_scale = 0.03" in before and fitting.fresh_posterior(copy) is not None
    campaign.write_text(before.replace("hinge_scale = 0.03", "hinge_scale = 0.15"))
    assert fitting.fresh_posterior(copy) is None


@pytest.mark.slow
def test_validate_unknown_level_exits_2(fitted, run_cli):
    code, out, err = run_cli("--workspace", fitted, "validate", "--hold-out-sparsity", "0.5", *FAST_FLAGS)
    assert code == 2 and "no runs at that sparsity" in err


def test_compare_fits_every_variant_under_the_campaigns_model(workspace, run_cli, tmp_path, monkeypatch):
    """compare's variants differ only in form and penalty: the campaign's frontier, pivot, discrepancy, seed
    offset and hinges' scale hold for all of them (the discrepancy was left at the model's default)."""
    from bayes_moe import model

    copy = shutil.copytree(workspace, tmp_path / "ws")
    campaign = copy / "campaign.toml"
    text = campaign.read_text()
    assert 'discrepancy = "hinges"' in text and "seed_offset = true" in text and "hinge_scale = 0.03" in text
    campaign.write_text(text.replace('discrepancy = "hinges"', 'discrepancy = "none"')
                        .replace("seed_offset = true", "seed_offset = false")
                        .replace("hinge_scale = 0.03", "hinge_scale = 0.15"))
    asked = {}

    def compare_forms(runs, **options):
        asked.update(options)
        raise SystemExit(0)  # the fits themselves are tested in test_compare_reports_every_variant_and_a_verdict

    monkeypatch.setattr(model, "compare_forms", compare_forms)
    run_cli("--workspace", copy, "compare")
    assert asked["discrepancy"] == "none" and asked["seed_offset"] is False and asked["hinge_scale"] == 0.15


def test_cli_sampler_choices_are_the_librarys():
    assert flags.SAMPLERS == sampling.SAMPLERS


@pytest.mark.slow
def test_validate_refits_with_the_form_asked(workspace, run_cli):
    code, out, err = run_cli("--workspace", workspace, "validate", "--hold-out-sparsity", "0.9538",
                             "--form", "signed", *FAST_FLAGS)
    assert code == 0 and "(signed law, asymmetric penalty)" in out and "coverage_90" in out


@pytest.mark.slow
def test_compare_reports_every_variant_and_a_verdict(fitted, run_cli):
    code, out, err = run_cli("--workspace", fitted, "compare", *FAST_FLAGS, "--json")
    payload = json.loads(out)
    assert code == 0
    assert {row["variant"] for row in payload["variants"]} == {"power/asymmetric", "power/symmetric",
                                                               "curved/asymmetric", "signed/asymmetric",
                                                               "two-term/implied"}
    assert "power/asymmetric" in payload["verdict"] or "fits better" in payload["verdict"]


@pytest.mark.slow
def test_fit_auto_says_which_form_loo_kept(workspace, run_cli, tmp_path):
    copy = shutil.copytree(workspace, tmp_path / "ws")
    code, out, err = run_cli("--workspace", copy, "fit", "--form", "auto", *FAST_FLAGS, "--json")
    payload = json.loads(out)
    assert code == 0 and payload["form"] in ("power", "two-term")
    assert payload["form_choice"].endswith(f"keep {payload['form']}/{payload['penalty']}") or \
        payload["form_choice"].startswith(f"{payload['form']}/{payload['penalty']} fits better")


@pytest.mark.slow
def test_fit_and_validate_take_the_campaigns_law_unless_asked(workspace, run_cli, tmp_path):
    copy = shutil.copytree(workspace, tmp_path / "ws")
    (copy / "campaign.toml").write_text('[model]\nform = "signed"\n')
    code, out, err = run_cli("--workspace", copy, "fit", *FAST_FLAGS, "--json")
    assert code == 0 and json.loads(out)["form"] == "signed"
    code, out, err = run_cli("--workspace", copy, "fit", "--form", "curved", *FAST_FLAGS, "--json")
    assert code == 0 and json.loads(out)["form"] == "curved"
    code, out, err = run_cli("--workspace", copy, "validate", "--hold-out-sparsity", "0.9538", *FAST_FLAGS)
    assert code == 0 and "(signed law, asymmetric penalty)" in out


@pytest.mark.slow
def test_r_star_says_when_the_law_is_not_settled(fitted, run_cli, tmp_path):
    copy = shutil.copytree(fitted, tmp_path / "ws")
    idata = posterior.load(copy)
    idata.attrs.update(form_settled=0, form_choice="no variant beats power/asymmetric by more than 2 se")
    posterior.save(idata, copy)
    code, out, err = run_cli("--workspace", copy, "r-star", "--compute", "1e20", "--sparsity", "0.9", "--json")
    assert code == 0 and json.loads(out)["law_settled"] is False
    assert "does not yet tell the laws apart" in err and "assumes the power law" in err
