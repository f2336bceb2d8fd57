"""`bayes-moe fit | r-star | compare | validate`: output shapes, warnings and exit codes."""

import json
import shutil

import pytest

from bayes_moe import cli, posterior, sampling, simulate
from bayes_moe.cli import fitting
from bayes_moe.ledger import Ledger

FAST = ["--draws", "150", "--tune", "150", "--chains", "2"]


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    path = tmp_path_factory.mktemp("ws")
    dataset = simulate.sweep_dataset(simulate.World(seed=4), computes=(1e17, 1e18, 1e19), r_grid=(0.2, 0.4, 0.8, 1.5))
    simulate.write_csv(dataset, path / "runs.csv")
    with Ledger.open(path, create=True) as ledger:
        ledger.import_csv(path / "runs.csv")
    return path


def run(capsys, *argv):
    code = cli.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="module")
def fitted(workspace):
    assert cli.main(["--workspace", str(workspace), "fit", *FAST, "--json"]) == 0
    return workspace


def test_r_star_without_posterior_exits_2(capsys, tmp_path):
    code, out, err = run(capsys, "--workspace", tmp_path, "r-star", "--compute", "1e21", "--sparsity", "0.9")
    assert code == 2 and "no posterior" in err and "bayes-moe fit" in err and out == ""


def test_fit_writes_posterior_and_marks_a_short_run_unconverged(fitted, capsys):
    assert (fitted / "posterior.nc").is_file()
    code, out, err = run(capsys, "--workspace", fitted, "r-star", "--compute", "1e21", "--sparsity", "0.95",
                         "--prob", "0.8", "--json")
    payload = json.loads(out)
    assert code == 0
    assert set(payload) == {"compute", "sparsity", "prob", "median", "lower", "upper", "stale", "converged",
                            "law_settled"}
    assert payload["lower"] < payload["median"] < payload["upper"] and payload["prob"] == 0.8
    assert payload["converged"] is False and "did not converge" in err  # 150 draws x 2 chains: ESS < 400


@pytest.mark.parametrize("flags, message", [(["--compute", "0", "--sparsity", "0.9"], "compute must be in (0,"),
                                            (["--compute", "1e21", "--sparsity", "1"], "--sparsity"),
                                            (["--compute", "1e21", "--sparsity", "0.9", "--prob", "2"], "--prob")])
def test_r_star_bad_input_exits_2(fitted, capsys, flags, message):
    code, out, err = run(capsys, "--workspace", fitted, "r-star", *flags)
    assert code == 2 and message in err


def test_r_star_says_when_stale(fitted, capsys):
    with Ledger.open(fitted) as ledger:
        run_id = ledger.add_run(0.5, 5e18, 0.9538)
        ledger.start(run_id, "simulator")
        ledger.finish(run_id, 2.9)
    code, out, err = run(capsys, "--workspace", fitted, "r-star", "--compute", "1e20", "--sparsity", "0.9538",
                         "--json")
    assert code == 0 and json.loads(out)["stale"] is True and "stale" in err


def test_validate_unknown_level_exits_2(fitted, capsys):
    code, out, err = run(capsys, "--workspace", fitted, "validate", "--hold-out-sparsity", "0.5", *FAST)
    assert code == 2 and "no runs at that sparsity" in err


def test_cli_sampler_choices_are_the_librarys():
    assert fitting.SAMPLERS == sampling.SAMPLERS


def test_validate_refits_with_the_form_asked(workspace, capsys):
    code, out, err = run(capsys, "--workspace", workspace, "validate", "--hold-out-sparsity", "0.9538",
                         "--form", "signed", *FAST)
    assert code == 0 and "(signed law, asymmetric penalty)" in out and "coverage_90" in out


def test_compare_reports_every_variant_and_a_verdict(fitted, capsys):
    code, out, err = run(capsys, "--workspace", fitted, "compare", *FAST, "--json")
    payload = json.loads(out)
    assert code == 0
    assert {row["variant"] for row in payload["variants"]} == {"power/asymmetric", "power/symmetric",
                                                               "curved/asymmetric", "signed/asymmetric",
                                                               "two-term/implied"}
    assert "power/asymmetric" in payload["verdict"] or "fits better" in payload["verdict"]


def test_fit_auto_says_which_form_loo_kept(workspace, capsys, tmp_path):
    copy = shutil.copytree(workspace, tmp_path / "ws")
    code, out, err = run(capsys, "--workspace", copy, "fit", "--form", "auto", *FAST, "--json")
    payload = json.loads(out)
    assert code == 0 and payload["form"] in ("power", "two-term")
    assert payload["form_choice"].endswith(f"keep {payload['form']}/{payload['penalty']}") or \
        payload["form_choice"].startswith(f"{payload['form']}/{payload['penalty']} fits better")


def test_fit_and_validate_take_the_campaigns_law_unless_asked(workspace, capsys, tmp_path):
    copy = shutil.copytree(workspace, tmp_path / "ws")
    (copy / "campaign.toml").write_text('[model]\nform = "signed"\n')
    code, out, err = run(capsys, "--workspace", copy, "fit", *FAST, "--json")
    assert code == 0 and json.loads(out)["form"] == "signed"
    code, out, err = run(capsys, "--workspace", copy, "fit", "--form", "curved", *FAST, "--json")
    assert code == 0 and json.loads(out)["form"] == "curved"
    code, out, err = run(capsys, "--workspace", copy, "validate", "--hold-out-sparsity", "0.9538", *FAST)
    assert code == 0 and "(signed law, asymmetric penalty)" in out


def test_r_star_says_when_the_law_is_not_settled(fitted, capsys, tmp_path):
    copy = shutil.copytree(fitted, tmp_path / "ws")
    idata = posterior.load(copy)
    idata.attrs.update(form_settled=0, form_choice="no variant beats power/asymmetric by more than 2 se")
    posterior.save(idata, copy)
    code, out, err = run(capsys, "--workspace", copy, "r-star", "--compute", "1e20", "--sparsity", "0.9", "--json")
    assert code == 0 and json.loads(out)["law_settled"] is False
    assert "does not yet tell the laws apart" in err and "assumes the power law" in err
