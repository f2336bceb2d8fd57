"""Defaults the CLI writes out (so that ``--help`` imports neither PyMC nor BoTorch) are the library's."""

from bayes_moe.cli import _parser


def test_benchmark_design_defaults_are_the_benchmarks():
    from bayes_moe.benchmarks.design import Settings

    args = _parser().parse_args(["benchmark-design"])
    settings = Settings()
    for name in ("seeds", "batch", "initial", "max_runs", "draws", "chains"):
        assert getattr(args, name) == getattr(settings, name), name
    assert tuple(args.worlds) == settings.worlds and tuple(args.strategies) == settings.strategies
