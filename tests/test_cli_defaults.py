"""Defaults the CLI writes out (so that ``--help`` imports neither PyMC nor BoTorch) are the library's."""

from bayes_moe.cli import _parser


def test_benchmark_design_defaults_are_the_benchmarks():
    from bayes_moe.benchmarks.design import Settings

    args = _parser().parse_args(["benchmark-design"])
    settings = Settings()
    for name in ("seeds", "batch", "initial", "max_runs", "draws", "chains"):
        assert getattr(args, name) == getattr(settings, name), name
    assert tuple(args.worlds) == settings.worlds and tuple(args.strategies) == settings.strategies


def test_benchmark_design_takes_the_campaigns_model_unless_a_flag_says_otherwise(tmp_path, monkeypatch):
    """The fits of ``benchmark-design`` take the campaign's [model] hinge_scale (and the design its [space]
    top_picks); ``--hinge-scale`` overrides it; a scale <= 0 is refused before any campaign runs."""
    import pytest

    from bayes_moe.benchmarks import design as bench
    from bayes_moe.cli import main
    from bayes_moe.errors import InputError

    campaign = tmp_path / "campaign.toml"
    campaign.write_text("[space]\ntop_picks = 2\n\n[model]\nhinge_scale = 0.15\n")
    seen = []

    def run(settings, report, progress):
        seen.append(settings)
        raise SystemExit(0)  # the campaigns themselves are the design benchmark's tests

    monkeypatch.setattr(bench, "run", run)
    for flags, scale in (([], 0.15), (["--hinge-scale", "0.06"], 0.06)):
        with pytest.raises(SystemExit):
            main(["benchmark-design", "--campaign", str(campaign), "--out", str(tmp_path), *flags])
        assert (seen[-1].hinge_scale, seen[-1].top_picks) == (scale, 2)
        assert bench.config_of(seen[-1])["hinge_scale"] == scale  # the record says which scale its fits used
    with pytest.raises(InputError, match="hinge_scale must be > 0, got 0.0"):
        bench.Settings(hinge_scale=0.0)
