"""The NUTS flags and options that every fitting command shares (loss-law, fit, compare, validate), so they agree."""

from __future__ import annotations

import argparse

from bayes_moe.cli.output import positive

# the choices of sampling.SAMPLERS, named here so that --help does not import PyMC
# (tests/test_cli_model.py checks that they agree)
SAMPLERS = ("nutpie", "pymc", "numpyro")


def sampling_flags(p: argparse.ArgumentParser, **sampler) -> None:
    """``--sampler`` (its choices and help in ``sampler``), then the draws, tuning, chains and seed of a fit."""
    p.add_argument("--sampler", **sampler)
    p.add_argument("--draws", type=positive(int), default=1000, help="draws per chain (1000)")
    p.add_argument("--tune", type=positive(int), default=1000, help="tuning steps per chain (1000)")
    p.add_argument("--chains", type=positive(int), default=4, help="chains (4)")
    p.add_argument("--seed", type=int, default=0, help="random seed (0)")


def fit_options(args: argparse.Namespace) -> dict:
    """The sampler settings of ``sampling_flags`` as the fitting functions take them."""
    from bayes_moe import sampling

    return dict(sampler=args.sampler or sampling.DEFAULT_SAMPLER, draws=args.draws, tune=args.tune,
                chains=args.chains, seed=args.seed)
