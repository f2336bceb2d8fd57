"""Sizes from compute (the ladder, tokens per parameter), the batch/lr rule, and the [regime] limits."""

import json
import re

import numpy as np
import pytest
import torch

from bayes_moe import arch, flops, regime
from bayes_moe.config import load_campaign
from bayes_moe.errors import InputError
from bayes_moe.ledger import Ledger
from bayes_moe.train import hparams

SPARSITIES = (0.8235, 0.9538, 0.9767)


def workspace(tmp_path, run_cli, campaign: str):
    folder = tmp_path / "source"
    folder.mkdir()
    (folder / "campaign.toml").write_text(campaign)
    assert run_cli("--workspace", tmp_path / "ws", "init", "--from", folder).code == 0
    return tmp_path / "ws"


SMALL = "[space]\nr = [0.3, 4.0]\ncompute = [1e15, 1e16]\nsparsities = [0.9091, 0.9538]\ntokens_per_param = 20\n"


# --- the ladder and the sizing -------------------------------------------------------------------


def test_ladder_grows_depth_and_width_together_from_2m_to_200m_active():
    shapes = [(g.n_layers, g.d_model) for g in arch.LADDER]
    assert shapes == sorted(shapes) and all(d == 64 * layers for layers, d in shapes)
    sizes = [arch.solve(1.0, arch.nominal_c_token(g.n_layers, g.d_model, 2048), 0.9538, n_heads=g.n_heads,
                        **g.shape(2048)).n_active for g in arch.LADDER]
    assert 1.5e6 < sizes[0] < 3e6 and 1.8e8 < sizes[-1] < 2.2e8 and sizes == sorted(sizes)  # vocab 4096 or 8192


@pytest.mark.parametrize("sparsity", SPARSITIES)
def test_tokens_per_active_parameter_hit_across_the_ladder_and_r(sparsity):
    for compute in np.logspace(15, 18.7, 9):
        for r in np.geomspace(0.1, 10, 7):
            a = arch.size_for_compute(float(r), float(compute), sparsity, 20)
            tokens = flops.tokens_for_compute(compute, a.c_token)
            assert tokens / a.n_active == pytest.approx(20, rel=arch.SIZE_TOLERANCE)
            assert a.r == pytest.approx(r, rel=arch.TOLERANCE) and a.sparsity == pytest.approx(sparsity, abs=1e-4)


def test_one_compute_shares_depth_and_width_across_r_and_heads_keep_width_32():
    sized = [arch.size_for_compute(float(r), 3e17, 0.9538, 20) for r in np.geomspace(0.1, 30, 12)]
    assert len({(a.n_layers, a.d_model) for a in sized}) == 1
    assert all(a.head_dim >= 0.9 * arch.MIN_HEAD_DIM for a in sized if a.n_heads > 1)
    assert sized[0].n_heads > sized[-1].n_heads  # attention narrows with r: fewer heads, not thinner ones


def test_other_tokens_per_param_scale_the_size():
    small, large = (arch.size_for_compute(1.0, 1e17, 0.9538, t) for t in (80, 5))
    assert small.n_active < large.n_active
    assert arch.tokens_per_param_of(small, 1e17) == pytest.approx(80, rel=arch.SIZE_TOLERANCE)


@pytest.mark.parametrize("compute, tokens_per_param, match", [
    (1e22, 20, "too large for the size ladder"),
    (1e11, 20, "attention width too small|too small for the size ladder"),
    (1e17, 0, "tokens_per_param must be > 0"),
    (float("nan"), 20, "compute must be a finite number"),
])
def test_sizes_outside_the_ladder_are_refused(compute, tokens_per_param, match):
    with pytest.raises(InputError, match=match):
        arch.size_for_compute(1.0, compute, 0.9538, tokens_per_param)


def test_a_run_is_sized_by_a_preset_or_by_tokens_per_param_never_both():
    assert arch.solve_run(1.0, 1e17, 0.9538, preset="20M") == arch.solve_preset(1.0, 0.9538, "20M")
    assert arch.solve_run(1.0, 1e17, 0.9538, tokens_per_param=20) == arch.size_for_compute(1.0, 1e17, 0.9538, 20)
    with pytest.raises(InputError, match="exclusive"):
        arch.solve_run(1.0, 1e17, 0.9538, preset="20M", tokens_per_param=20)


def test_solver_tries_expert_widths_that_keep_r_exact():
    # 15 heads: one step of head_dim moves r by ~3.5% if c_token is kept exact; before, no pair met 2%
    a = arch.solve(0.1, 5.79575e8, 0.9538, n_layers=15, n_heads=15, d_model=960, n_ctx=2048)
    assert a.r == pytest.approx(0.1, rel=arch.TOLERANCE) and a.c_token == pytest.approx(5.79575e8, rel=arch.TOLERANCE)


# --- campaign.toml and the design space ----------------------------------------------------------


def write(tmp_path, text):
    path = tmp_path / "campaign.toml"
    path.write_text(text)
    return path


def test_campaign_reads_tokens_per_param_and_regime_limits(tmp_path):
    campaign = load_campaign(write(tmp_path, "[space]\ntokens_per_param = 20\n[regime]\nmin_tokens_per_param = 10\n"
                                             "min_steps = 500\nmax_epochs = 1.5\n"))
    assert (campaign.preset, campaign.tokens_per_param) == (None, 20.0)
    assert (campaign.min_tokens_per_param, campaign.min_steps, campaign.max_epochs) == (10.0, 500, 1.5)
    assert regime.limits(campaign) == {"min_tokens_per_param": 10.0, "min_steps": 500, "max_epochs": 1.5}
    assert load_campaign(tmp_path).preset is None
    assert load_campaign(write(tmp_path, "[space]\nr = [0.5, 2.0]\n")).preset == "55M"  # neither: the default


@pytest.mark.parametrize("text, match", [
    ('[space]\npreset = "20M"\ntokens_per_param = 20\n', r"\[space\] preset and tokens_per_param are exclusive"),
    ("[space]\ntokens_per_param = -1\n", r"\[space\] tokens_per_param must be a finite number > 0"),
    ("[regime]\nmin_steps = 1.5\n", r"\[regime\] min_steps must be an integer >= 1"),
    ("[regime]\nmax_epochs = 0\n", r"\[regime\] max_epochs must be a finite number > 0"),
    ("[regime]\nmin_tokens = 3\n", r"unknown key \[regime\] min_tokens"),
])
def test_campaign_rejects_bad_sizing_and_limits(tmp_path, text, match):
    with pytest.raises(InputError, match=match):
        load_campaign(write(tmp_path, text))


def test_design_space_sizes_its_runs_from_compute():
    from bayes_moe.design.space import DesignSpace

    space = DesignSpace((0.3, 4.0), (1e15, 1e18), (0.9091, 0.9538), tokens_per_param=20)
    for x in ([0.2, 0.0, 0.9538], [0.9, 1.0, 0.9091], [0.5, 0.5, 0.9538]):
        candidate = space.snap(torch.tensor(x, dtype=torch.float64))
        assert candidate.tokens / candidate.arch.n_active == pytest.approx(20, rel=arch.SIZE_TOLERANCE)
    with pytest.raises(InputError, match=r"compute bound 1e\+22 of the design space: .*too large for the size ladder"):
        DesignSpace((0.3, 4.0), (1e15, 1e22), (0.9538,), tokens_per_param=20)


# --- the batch and learning-rate rule ------------------------------------------------------------


def test_rule_is_deepseeks_power_laws_in_compute():
    assert hparams.learning_rate(1e17) == pytest.approx(0.3118 * 1e17**-0.125)
    assert hparams.learning_rate(1e15) == pytest.approx(4.16e-3, rel=1e-2)
    assert hparams.batch_tokens(1e18) == pytest.approx(0.2920 * 1e18**0.3271)
    assert hparams.batch_sequences(1e15, 2048) == 8  # 23.5k tokens: 11.5 sequences, a multiple of 8
    assert hparams.batch_sequences(1e19, 2048) == 8 * round(0.2920 * 1e19**0.3271 / 2048 / 8)
    assert hparams.learning_rate(1e16) < hparams.learning_rate(1e15)


@pytest.mark.parametrize("steps, warmup", [(10_000, 500), (2_000, 100), (1_000, 100), (200, 50), (2, 1), (1, 1)])
def test_warmup_is_five_percent_but_at_least_100_steps_where_steps_allow(steps, warmup):
    assert hparams.warmup_steps(steps, hparams.warmup_frac_for(steps)) == warmup


def test_settings_of_a_ladder_run():
    a = arch.size_for_compute(1.0, 3e15, 0.9538, 20)
    settings = hparams.settings(a, 3e15)
    steps = hparams.steps_for(flops.tokens_for_compute(3e15, a.c_token), settings["batch_size"], a.n_ctx)
    assert settings["lr"] == hparams.learning_rate(3e15) and settings["batch_size"] % hparams.BATCH_MULTIPLE == 0
    assert hparams.warmup_steps(steps, settings["warmup_frac"]) == max(round(0.05 * steps), 100)


def test_trainer_takes_the_rule_for_ladder_shapes_and_the_preset_otherwise(tmp_path, run_cli):
    from bayes_moe.train import data
    from bayes_moe.train.plan import make_plan

    ladder = arch.size_for_compute(1.0, 3e15, 0.9538, 20)
    preset = arch.solve_preset(1.0, 0.9538, "20M")
    with Ledger.open(workspace(tmp_path, run_cli, SMALL)) as ledger:
        ids = [ledger.add_run(a.r, 3e15, a.sparsity, arch=a.to_dict(), tokens=1.0, n_active=a.n_active)
               for a in (ladder, preset)]
        runs = [ledger.get(i) for i in ids]
    corpus = data.resolve_corpus(data.SAMPLE_DIR, tmp_path)
    plan = make_plan(runs[0], None, corpus, 1)
    assert (plan.config.batch_size, plan.config.lr) == (hparams.batch_sequences(3e15, 2048), hparams.learning_rate(3e15))
    assert make_plan(runs[0], {"lr": 1e-3}, corpus, 1).config.lr == 1e-3  # a config still wins
    # a campaign trained at another multiple of the rule keeps it; a set lr is taken as it is
    assert make_plan(runs[0], {"lr_scale": 0.5}, corpus, 1).config.lr == pytest.approx(0.5 * hparams.learning_rate(3e15))
    assert make_plan(runs[0], {"lr": 1e-3, "lr_scale": 0.5}, corpus, 1).config.lr == 1e-3
    assert make_plan(runs[1], {"lr_scale": 2.0}, corpus, 1).config.lr == 2.0 * arch.PRESETS["20M"].lr
    with pytest.raises(InputError, match="lr_scale must be > 0"):
        make_plan(runs[0], {"lr_scale": 0}, corpus, 1)
    assert make_plan(runs[1], None, corpus, 1).config.lr == arch.PRESETS["20M"].lr


# --- the regime ----------------------------------------------------------------------------------


def test_violations_name_the_limit(tmp_path):
    campaign = load_campaign(write(tmp_path, "[regime]\nmin_tokens_per_param = 10\nmin_steps = 500\nmax_epochs = 1\n"))
    broken = regime.violations({"tokens_per_param": 0.5, "steps": 44, "epochs": 3.0}, campaign)
    assert broken == ["tokens per parameter 0.5 < [regime] min_tokens_per_param = 10",
                      "optimizer steps 44 < [regime] min_steps = 500",
                      "passes over the corpus 3 > [regime] max_epochs = 1"]
    assert regime.violations({"tokens_per_param": 20, "steps": 600, "epochs": None}, campaign) == []


def test_add_sizes_from_compute_and_refuses_runs_outside_the_regime(tmp_path, run_cli):
    ws = workspace(tmp_path, run_cli, SMALL + "[regime]\nmin_steps = 1000\n")
    code, out, _ = run_cli("--workspace", ws, "add", "--r", "1", "--compute", "3e15", "--sparsity", "0.9538", "--json")
    added = json.loads(out)
    assert code == 0 and added["tokens_per_param"] == 20 and "preset" not in added
    assert added["tokens"] / added["n_active"] == pytest.approx(20, rel=arch.SIZE_TOLERANCE)
    (ws / "campaign.toml").write_text(SMALL + "[regime]\nmin_steps = 100000\n")
    code, out, err = run_cli("--workspace", ws, "add", "--r", "1", "--compute", "3e15", "--sparsity", "0.9538")
    assert code == 2 and out == ""
    assert "outside the campaign's regime: optimizer steps" in err and "< [regime] min_steps = 100000" in err
    with Ledger.open(ws) as ledger:
        assert len(ledger.runs(None)) == 1  # the refused run was not recorded


def test_next_shows_sizes_and_refuses_a_batch_outside_the_regime(tmp_path, run_cli):
    ws = workspace(tmp_path, run_cli, SMALL + "[regime]\nmin_tokens_per_param = 10\n")
    code, out, _ = run_cli("--workspace", ws, "next", "--batch", "3", "--strategy", "sobol", "--json")
    proposals = json.loads(out)
    assert code == 0 and len(proposals) == 3
    for p in proposals:
        assert p["tokens"] / p["n_active"] == pytest.approx(20, rel=arch.SIZE_TOLERANCE)
    (ws / "campaign.toml").write_text(SMALL + "[regime]\nmin_tokens_per_param = 30\n")
    code, out, err = run_cli("--workspace", ws, "next", "--batch", "2", "--strategy", "sobol")
    limit = re.search(r"tokens per parameter ([0-9.]+) < \[regime\] min_tokens_per_param = 30", err)
    assert code == 2 and limit and float(limit[1]) == pytest.approx(20, rel=arch.SIZE_TOLERANCE)
    with Ledger.open(ws) as ledger:
        assert len(ledger.runs(None)) == 3


def test_finished_runs_outside_the_regime_are_flagged(tmp_path, capsys, run_cli):
    campaign = load_campaign(write(tmp_path, "[regime]\nmin_tokens_per_param = 10\nmin_steps = 500\n"))
    with Ledger.open(workspace(tmp_path, run_cli, SMALL)) as ledger:
        short = ledger.add_run(1.0, 1e17, 0.9538, tokens=1e7, n_active=2e7)
        ledger.start(short, "test")
        ledger.finish(short, 3.0, metrics={"steps": 44})
        good = ledger.add_run(1.0, 1e17, 0.9538, tokens=4e8, n_active=2e7)
        ledger.start(good, "test")
        ledger.finish(good, 3.0, metrics={"steps": 900})
        runs = ledger.runs("done")
    outside = regime.warn_flagged("fit", campaign, runs)
    assert list(outside) == [short] and len(outside[short]) == 2
    err = capsys.readouterr().err
    assert err.startswith("bayes-moe fit: warning: 1 of 2 done runs are outside") and f"run {short}: tokens" in err


def test_runs_outside_the_regime_are_marked_for_the_plots(tmp_path, run_cli):
    campaign = load_campaign(write(tmp_path, "[regime]\nmin_steps = 500\n"))
    with Ledger.open(workspace(tmp_path, run_cli, SMALL)) as ledger:
        for steps in (44, 900):
            run_id = ledger.add_run(1.0, 1e17, 0.9538, tokens=4e8, n_active=2e7)
            ledger.start(run_id, "test")
            ledger.finish(run_id, 3.0, metrics={"steps": steps})
        marked = regime.mark(ledger.to_dataset(), campaign, ledger.runs("done"))
    assert marked["outside_regime"].values.tolist() == [True, False]
