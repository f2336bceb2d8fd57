"""Campaign configuration: defaults, the TOML layout, strict validation, and dump/load round trips."""

import pytest

from bayes_moe.config import DEFAULT_WORLD, PAPER_SPARSITIES, Campaign, dump_campaign, load_campaign
from bayes_moe.errors import InputError

FULL = """
[campaign]
name = "demo"
description = "the paper's sparsities"

[space]
r = [0.2, 1.5]
compute = [1e17, 1e19]
sparsities = [0.9091, 0.9538]
preset = "tiny"
run_overhead = 2e16

[targets]
points = [{compute = 1e21, sparsity = 0.9538}, {compute = 3e21, sparsity = 0.9091}]

[stopping]
target_width = 0.05
compute_budget = 5e21

[model]
form = "auto"
penalty = "symmetric"
seed_offset = false
hinge_scale = 0.15

[world]
law = "asymmetric"
seed = 3
noise = 0.02
skew = 1.5
"""


def write(tmp_path, text):
    path = tmp_path / "campaign.toml"
    path.write_text(text)
    return path


def test_defaults_when_the_workspace_has_no_campaign(tmp_path):
    campaign = load_campaign(tmp_path)
    assert campaign == Campaign()
    assert campaign.r_bounds == (0.1, 4.0) and campaign.compute_bounds == (1e17, 1e20)
    assert campaign.sparsities == PAPER_SPARSITIES == (0.8235, 0.9091, 0.9538, 0.9767)
    assert campaign.targets == tuple((1e21, s) for s in PAPER_SPARSITIES)
    assert (campaign.target_width, campaign.compute_budget, campaign.preset) == (0.10, 1e22, "55M")
    assert campaign.world == {"law": "paper", "seed": 0, "noise": 0.01}


def test_full_file_is_read(tmp_path):
    campaign = load_campaign(write(tmp_path, FULL))
    assert load_campaign(tmp_path) == campaign  # the workspace folder reads its campaign.toml
    assert (campaign.name, campaign.description) == ("demo", "the paper's sparsities")
    assert campaign.r_bounds == (0.2, 1.5) and campaign.compute_bounds == (1e17, 1e19)
    assert campaign.sparsities == (0.9091, 0.9538) and campaign.preset == "tiny"
    assert campaign.run_overhead == 2e16 and Campaign().run_overhead == 0.0
    assert campaign.targets == ((1e21, 0.9538), (3e21, 0.9091))
    assert (campaign.target_width, campaign.compute_budget) == (0.05, 5e21)
    assert campaign.world == {"law": "asymmetric", "seed": 3, "noise": 0.02, "skew": 1.5}
    assert (campaign.form, campaign.penalty) == ("auto", "symmetric")
    assert (Campaign().form, Campaign().penalty) == ("power", "asymmetric")
    assert campaign.seed_offset is False and Campaign().seed_offset is True
    assert campaign.hinge_scale == 0.15 and Campaign().hinge_scale == 0.03


def test_targets_default_to_the_campaign_sparsities(tmp_path):
    campaign = load_campaign(write(tmp_path, "[space]\nsparsities = [0.5, 0.75]\n"))
    assert campaign.targets == ((1e21, 0.5), (1e21, 0.75))
    assert campaign.world == DEFAULT_WORLD and campaign.world is not DEFAULT_WORLD


@pytest.mark.parametrize("text", [FULL, ""])
def test_dump_then_load_is_the_same_campaign(tmp_path, text):
    campaign = load_campaign(write(tmp_path, text))
    assert load_campaign(write(tmp_path, dump_campaign(campaign))) == campaign


@pytest.mark.parametrize("text, match", [
    ("[space]\nr = [1.5, 0.2]\n", r"\[space\] r must have low < high, got \[1.5, 0.2\]"),
    ("[space]\nr = [0, 1]\n", r"\[space\] r must be a finite number > 0, got 0"),
    ("[space]\ncompute = [1e17]\n", r"\[space\] compute must be \[low, high\], got \[1e\+17\]"),
    ("[space]\nsparsities = [0.9, 1.0]\n", r"\[space\] sparsities must be a sparsity in \[0, 1\), got 1.0"),
    ("[space]\nsparsities = []\n", r"\[space\] sparsities must be a non-empty list"),
    ("[space]\nsparsities = [0.9, 0.9]\n", r"\[space\] sparsities lists a sparsity twice"),
    ("[space]\npreset = \"huge\"\n", r"\[space\] preset must be one of tiny, 20M.*got 'huge'"),
    ("[space]\nrun_overhead = -1\n", r"\[space\] run_overhead must be a finite number >= 0, got -1"),
    ("[space]\nrr = [1, 2]\n", r"unknown key \[space\] rr = \[1, 2\]"),
    ("[spaces]\nr = [1, 2]\n", r"unknown table\(s\) \['spaces'\]"),
    ("[targets]\npoints = [{compute = 1e21}]\n", r"\[targets\] points: each point must be"),
    ("[targets]\npoints = [{compute = -1.0, sparsity = 0.9}]\n", r"\[targets\] points compute must be a finite"),
    ("[stopping]\ntarget_width = 1.5\n", r"\[stopping\] target_width must be in \(0, 1\)"),
    ("[stopping]\ncompute_budget = \"lots\"\n", r"\[stopping\] compute_budget must be a finite number > 0, got 'lots'"),
    ("[campaign]\nname = 3\n", r"\[campaign\] name must be a string, got 3"),
    ("[model]\nform = \"cubic\"\n", r"\[model\] form must be one of power, curved, signed, two-term, auto, got 'cubic'"),
    ("[model]\npenalty = \"implied\"\n", r"\[model\] penalty must be one of asymmetric, symmetric, got 'implied'"),
    ("[model]\nseed_offset = \"no\"\n", r"\[model\] seed_offset must be true or false, got 'no'"),
    ("[model]\nhinge_scale = 0\n", r"\[model\] hinge_scale must be a finite number > 0, got 0"),
    ("[world]\nseed = -1\n", r"\[world\] seed must be an integer >= 0, got -1"),
    ("[world]\nnoise = nan\n", r"\[world\] noise must be a finite number >= 0, got nan"),
    ("[world]\nlaw = {a = 1}\n", r"\[world\] law must be a string, number or boolean"),
    ("space = 3\n", r"space must be a table \[space\], got 3"),
    ("[space\n", r"is not valid TOML"),
])
def test_bad_campaign_names_file_key_and_value(tmp_path, text, match):
    with pytest.raises(InputError, match=rf"campaign\.toml.*{match}"):
        load_campaign(write(tmp_path, text))


def test_named_toml_file_must_exist(tmp_path):
    with pytest.raises(InputError, match=r"no campaign file .*other\.toml"):
        load_campaign(tmp_path / "other.toml")


def test_bad_model_switch_is_one_line_and_exit_2(tmp_path, run_cli):
    (tmp_path / "campaign.toml").write_text('[model]\nseed_offset = "yes"\n')
    code, out, err = run_cli("--workspace", tmp_path, "fit")
    assert code == 2 and out == ""
    assert err.strip().splitlines() == [f"bayes-moe fit: error: {tmp_path / 'campaign.toml'}: [model] seed_offset must "
                                        f"be true or false, got 'yes'"]
