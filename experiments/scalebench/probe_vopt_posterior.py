"""Our active campaigns with V-opt's pieces in place of ours, one at a time (docs/scalebench_record.md,
"V-opt's pieces in our campaigns").

V-opt (the authors' ``vopt.py``) reads the same linear-Gaussian criterion as ours off a different posterior and
campaign: a positive box's parameter is Gaussian in its logarithm with sd log(upper / lower) / 4 (other boxes:
width / 4; ``log_prior``), the noise variance has an inverse-gamma prior of shape 2 and scale twice the pool's
loss variance (``pool_noise``), every fit is a converged multi-start least squares (``polish_refits``: our
design's refits converged as the scored fits are), and one campaign runs to the largest budget, each smaller one
scored on the runs bought before it was crossed (``horizon``). ``patched`` puts any of them into ``laplace`` and
``benchmarks.scalebench`` for the duration; this script runs ``probe_run_choice.probe`` under them, so that
what separates our picks from V-opt's can be read off R^2 at one budget.

    python experiments/scalebench/probe_vopt_posterior.py moe 0.01 --seeds 3 --log-prior --pool-noise
"""

from __future__ import annotations

import contextlib
import json
import time
from dataclasses import dataclass
from unittest import mock

import numpy as np

from bayes_moe import laplace
from bayes_moe.benchmarks import scalebench
from bayes_moe.pooltask import find_task, load_task
from probe_run_choice import parse_probe, probe, probe_parser

SHAPE = 2.0  # V-opt's inverse-gamma shape of the noise variance
FLAGS = ("log_prior", "pool_noise", "polish_refits")


def log_prior_sd(law, theta) -> np.ndarray:
    """V-opt's prior sd of each parameter at ``theta``: in the log for a positive box, width / 4 otherwise."""
    lower, upper = law.bounds
    positive = lower > 0
    log_sd = np.log(np.where(positive, upper, 2.0) / np.where(positive, lower, 1.0)) / 4
    return np.where(positive, np.abs(theta) * log_sd, (upper - lower) / 4)


def covariance_root_log_prior(law, theta, features, noise_var):
    """``laplace._laplace_covariance_root`` with ``log_prior_sd``'s precision in place of the priors'."""
    _, jacobian = laplace.value_and_jacobian(law, theta, features)
    return laplace.covariance_root(jacobian, noise_var, 1.0 / np.maximum(log_prior_sd(law, theta), 1e-300) ** 2)


@dataclass(frozen=True)
class PoolNoisePosterior:
    """V-opt's noise posterior: sigma^2 inverse-gamma of ``shape`` and ``scale`` (``laplace.NoisePosterior``'s
    interface)."""

    shape: float
    scale: float

    def mean(self) -> float:
        return self.scale / (self.shape - 1)

    def sigma_draws(self, n: int, rng: np.random.Generator) -> np.ndarray:
        return np.sqrt(self.scale / rng.gamma(self.shape, 1.0, n))


def pool_noise(pool_variance: float):
    """``laplace.NoisePosterior.of`` as V-opt's: shape 2 + n / 2, scale 2 var + rss / 2."""
    def noise_posterior(law, theta, features, y, weight):
        rss = float(np.sum(((law.predict(theta, features)[0] - y) / weight) ** 2))
        return PoolNoisePosterior(SHAPE + len(y) / 2, SHAPE * pool_variance + rss / 2)
    return noise_posterior


def advance_toward(horizon: float):
    """``GroupCampaign.advance`` as ScaleBench's methods run: picks are made for the budget ``horizon`` (a share
    of the group's cost), and the campaign stops before the first pick that would exceed the budget scored."""
    def advance(self, budget):
        costs = self.task.costs
        while True:
            spend_left = horizon * self.total - self.spent()
            affordable = scalebench._affordable(costs, self.rows, self.chosen, spend_left)
            if not affordable:
                break
            picks = self._pick(affordable, spend_left)
            within = self.spent() + np.cumsum(costs[picks]) <= budget * self.total
            self.chosen.extend(np.asarray(picks)[within].tolist())
            if not within.all():
                break
        if self.chosen:
            self.refit(self.settings.final_starts, polish=self.settings.polish)
    return advance


@contextlib.contextmanager
def patched(task, flags=(), horizon: float | None = None):
    """V-opt's pieces named in ``flags`` (of ``FLAGS``) and its ``horizon`` in force for the block; the pool
    noise takes its variance from ``task``'s first group."""
    unknown = set(flags) - set(FLAGS)
    if unknown:
        raise ValueError(f"unknown flags {sorted(unknown)}: choose of {', '.join(FLAGS)}")
    with contextlib.ExitStack() as stack:
        if "log_prior" in flags:
            stack.enter_context(mock.patch.object(laplace, "_laplace_covariance_root", covariance_root_log_prior))
        if "pool_noise" in flags:
            observed = task.laws[0].observed(task.pool).reshape(len(task.pool), -1)
            variance = float(np.var(observed[task.groups()[0][0]]))
            stack.enter_context(mock.patch.object(laplace.NoisePosterior, "of", pool_noise(variance)))
        if "polish_refits" in flags:
            refit = scalebench.GroupCampaign.refit
            stack.enter_context(mock.patch.object(scalebench.GroupCampaign, "refit",
                                                  lambda self, starts=0, polish=False: refit(self, starts, True)))
        if horizon:
            stack.enter_context(mock.patch.object(scalebench.GroupCampaign, "advance", advance_toward(horizon)))
        yield


def main(argv=None) -> int:
    parser = probe_parser(__doc__.splitlines()[0])
    parser.add_argument("--log-prior", action="store_true", help="V-opt's prior precision in the Laplace covariance")
    parser.add_argument("--pool-noise", action="store_true", help="V-opt's noise variance, its prior from the pool")
    parser.add_argument("--polish-refits", action="store_true", help="every refit converged, as the scored fits")
    parser.add_argument("--horizon", type=float, help="picks made for this budget, scored at the budget given")
    args, settings = parse_probe(parser, argv)
    task = load_task(find_task(args.task))
    flags = [flag for flag in FLAGS if getattr(args, flag)]
    start = time.process_time()
    with patched(task, flags, args.horizon):
        forms = probe(task, args.budget, args.seeds, settings, args.laws)
    print(json.dumps({"task": task.name, "budget": args.budget, "overrides": args.overrides, "flags": flags,
                      "horizon": args.horizon,
                      "r2_mean": float(np.mean([c["r2"] for f in forms.values() for c in f["campaigns"]])),
                      "cpu_s": time.process_time() - start, "forms": forms}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
