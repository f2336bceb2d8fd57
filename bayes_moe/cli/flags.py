"""The flags several commands share, so they agree: NUTS sampling (loss-law, fit, compare, validate, campaign), the
r* law (fit, validate) and the trainer's device, settings and corpus (run, campaign)."""

from __future__ import annotations

import argparse
from pathlib import Path

from bayes_moe.cli.output import positive
from bayes_moe.forms import DEFAULT_FORM, DEFAULT_PENALTY, FORM_CHOICES, PENALTIES

# the choices of sampling.SAMPLERS, named here so that --help does not import PyMC
# (tests/test_cli_model.py checks that they agree)
SAMPLERS = ("nutpie", "pymc", "numpyro")


def sampling_flags(p: argparse.ArgumentParser, **sampler) -> None:
    """``--sampler`` (its choices and help in ``sampler``), then the draws, tuning, chains and seed of a fit."""
    p.add_argument("--sampler", **sampler)
    p.add_argument("--draws", type=positive(int),
                   help="draws per chain (default: the campaign's [model] draws, else 1000)")
    p.add_argument("--tune", type=positive(int),
                   help="tuning steps per chain (default: the campaign's [model] tune, else 1000)")
    p.add_argument("--chains", type=positive(int), default=4, help="chains (4)")
    p.add_argument("--seed", type=int, default=0, help="random seed (0)")


def fit_options(args: argparse.Namespace) -> dict:
    """The sampler settings of ``sampling_flags`` as the fitting functions take them; draws and tuning only
    where given (else the campaign's [model], ``fitting.sampling_options``, or the function's default)."""
    from bayes_moe import sampling

    given = {"draws": args.draws, "tune": args.tune}
    return dict(sampler=args.sampler or sampling.DEFAULT_SAMPLER, chains=args.chains, seed=args.seed,
                **{name: value for name, value in given.items() if value is not None})


def law_flags(p: argparse.ArgumentParser) -> None:
    """``--form`` and ``--penalty`` of the r* law (fit, validate); unset, the campaign's [model] decides."""
    p.add_argument("--form", choices=FORM_CHOICES,
                   help="r* law: power (the paper's, beta_r > 0), curved, signed (beta_r of either sign), two-term "
                        "(docs/paper.md point 1: r* from two power laws' first-order condition) or auto (power or "
                        f"two-term, whichever PSIS-LOO prefers); default: the campaign's [model] form, else {DEFAULT_FORM}")
    p.add_argument("--penalty", choices=PENALTIES,
                   help=f"loss valley around r*; default: the campaign's [model] penalty, else {DEFAULT_PENALTY}; "
                        "the two-term form's follows from its surface")


def model_sampling_flags(p: argparse.ArgumentParser) -> None:
    """``sampling_flags`` of the r* model's commands (fit, compare, validate)."""
    sampling_flags(p, choices=SAMPLERS, help="NUTS backend (default nutpie)")


def trainer_flags(p) -> None:
    """``--device``, ``--config`` and ``--corpus`` of the torch trainer (``p``: a parser or an argument group)."""
    p.add_argument("--device", choices=("cpu", "cuda"), help="default: cuda if available")
    p.add_argument("--config", type=Path, help="TOML of trainer settings (batch_size, lr, balance, ...)")
    p.add_argument("--corpus", type=Path, help="token shards with manifest.json, or a folder of .txt files")
