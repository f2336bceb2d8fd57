"""``bayes-moe next``: propose runs from a workspace's posterior and record them in its ledger.

The checks come first and nothing is written unless every proposal is ready: a stale or unconverged
posterior is refused unless forced, and so is a batch with a run outside the campaign's [regime] limits
(bayes_moe.regime); with no posterior yet (or an empty ledger) the first batch is space-filling (Sobol);
runs already proposed or running are conditioned on and never proposed again; the batch fits the
campaign's compute budget left; the campaign's guard (``[space] top_picks``) keeps that many picks of a batch
near the largest compute, each at the target sparsity with the fewest runs there.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch

from bayes_moe import regime
from bayes_moe.config import load_campaign
from bayes_moe.design.acquisition import TargetVarianceReduction
from bayes_moe.design.ensemble import EnsembleModel, PosteriorDraws
from bayes_moe.design.space import Candidate, DesignSpace
from bayes_moe.design.strategies import STRATEGIES, make_strategy
from bayes_moe.errors import InputError
from bayes_moe.ledger import Ledger
from bayes_moe.workspace import POSTERIOR_FILE

DESIGN_DRAWS = 256  # posterior draws the design uses (thinned evenly): enough for covariances, fast
LOSS_PROB = 0.9  # central probability of the predicted-loss interval
PENDING = ("proposed", "running")
COMMITTED = ("done", "running", "proposed")  # runs whose compute counts against the budget
FIRST_BATCH_STRATEGY = "sobol"


@dataclass(frozen=True)
class Proposal:
    """A recorded proposal: ledger id, the run, and what the posterior expects of it."""

    id: int
    r: float
    compute: float
    sparsity: float
    n_active: int
    tokens: float
    strategy: str
    acquisition: float | None
    predicted_loss: float | None
    loss_lower: float | None
    loss_upper: float | None
    information_per_flop: float | None

    def to_dict(self) -> dict:
        return asdict(self)


def posterior_draws(idata, targets, max_draws: int = DESIGN_DRAWS) -> PosteriorDraws:
    """The design's view of a fitted posterior, thinned evenly to at most ``max_draws`` draws."""
    from bayes_moe import posterior as posterior_queries  # PyMC-heavy: only where a posterior exists

    n_chains, n_draws = idata.posterior.sizes["chain"], idata.posterior.sizes["draw"]
    thin = max(1, math.ceil(n_chains * n_draws / max_draws))
    idata = idata.isel(draw=slice(None, None, thin))
    compute, sparsity = (np.array([t[i] for t in targets], dtype=float) for i in (0, 1))

    def loss(r, compute, sparsity):
        return posterior_queries.loss_draws(idata, r, compute, sparsity).transpose("sample", "point").values

    return PosteriorDraws(
        loss=loss,
        noise_sd=posterior_queries.noise_sd(idata).values,
        targets=posterior_queries.log_r_star_draws(idata, compute, sparsity).transpose("sample", "point").values,
        target_sparsities=tuple(float(s) for s in sparsity),
    )


def propose_next(workspace, *, batch: int = 1, strategy: str = "active", force: bool = False, seed: int = 0
                 ) -> tuple[list[Proposal], str]:
    """Propose ``batch`` runs with ``strategy``, record them as 'proposed'; returns them and the
    strategy actually used (Sobol for a first batch, before any posterior)."""
    if strategy not in STRATEGIES:
        raise InputError(f"unknown strategy {strategy!r}; choose one of {', '.join(STRATEGIES)}")
    workspace = Path(workspace)
    campaign = load_campaign(workspace)
    space = DesignSpace.from_campaign(campaign)
    with Ledger.open(workspace) as ledger:
        done, pending = ledger.runs("done"), ledger.runs(PENDING)
        budget_left = campaign.compute_budget - sum(run.compute for run in ledger.runs(COMMITTED))
        draws = _fresh_draws(workspace, ledger, campaign.targets, force) if done else None
        candidates, strategy, model = plan(strategy, space, draws, batch=batch, done=done, pending=pending,
                                           budget_left=budget_left, seed=seed, top_picks=campaign.top_picks)
        if not candidates:
            raise InputError(f"compute budget exhausted: {campaign.compute_budget - budget_left:.4g} of "
                             f"{campaign.compute_budget:.4g} FLOPs done or committed; the smallest run costs "
                             f"{space.compute_bounds[0]:.4g}")
        for candidate in candidates:  # nothing is recorded unless every run trains in the campaign's regime
            regime.check_planned(campaign, candidate.arch, candidate.compute, candidate.sparsity, workspace)
        expectations = _expectations(model, draws, space, pending, candidates)
        return [_record(ledger, strategy, candidate, expected)
                for candidate, expected in zip(candidates, expectations)], strategy


def plan(strategy: str, space: DesignSpace, draws: PosteriorDraws | None, *, batch: int, done=(), pending=(),
         budget_left: float = math.inf, seed: int = 0, top_picks: int = 0
         ) -> tuple[list[Candidate], str, EnsembleModel | None]:
    """The runs ``strategy`` proposes given the posterior ``draws`` (None: not fitted yet, and an
    acquisition strategy gives way to a space-filling first batch); returns them, the strategy
    used, and the ensemble model (None without draws). ``top_picks``: the acquisition strategies'
    guard (strategies._AcquisitionStrategy), spread over the targets' sparsities."""
    pending_levels = {space.campaign_sparsity(run.sparsity) for run in pending}
    model = None if draws is None else EnsembleModel.from_draws(draws, space, pending_levels)
    if STRATEGIES[strategy].needs_posterior and model is None:
        strategy = FIRST_BATCH_STRATEGY
    targets = None if draws is None else draws.targets
    chooser = make_strategy(strategy, model=model, targets=targets, seed=seed, top_picks=top_picks,
                            target_sparsities=() if draws is None else draws.target_sparsities)
    candidates = chooser.propose(batch, space, done=done, pending=pending, budget_left=budget_left)
    return candidates, strategy, model


def _fresh_draws(workspace: Path, ledger: Ledger, targets, force: bool) -> PosteriorDraws | None:
    """The posterior's draws; None where none was fitted; an InputError if it is stale or has not
    converged, unless ``force``."""
    if not (workspace / POSTERIOR_FILE).is_file():
        return None
    from bayes_moe import fitting, posterior as posterior_queries  # PyMC-heavy: only where a posterior exists

    idata = posterior_queries.load(workspace)
    stale = fitting.staleness(workspace, idata, ledger)
    if not force and stale:
        raise InputError(f"the posterior is stale: {stale}; run `bayes-moe fit` first (or pass --force to "
                         "propose from it anyway)")
    if not force and not posterior_queries.converged(idata):
        raise InputError("the posterior has not converged (R-hat / effective sample size); refit with more "
                         "draws or tuning (`bayes-moe fit --draws N`), or pass --force to propose from it anyway")
    return posterior_draws(idata, targets)


def _expectations(model, draws, space: DesignSpace, pending, candidates) -> list[dict]:
    """Per candidate: predicted loss with a LOSS_PROB interval (posterior predictive, noise
    included) and the expected information about the targets per FLOP (the run's compute plus the
    campaign's run overhead), given pending runs and the earlier candidates of the batch."""
    if model is None:
        return [{} for _ in candidates]
    X = space.features_of(candidates)
    predictive = model.posterior(X, observation_noise=True)
    tails = torch.tensor([(1 - LOSS_PROB) / 2, (1 + LOSS_PROB) / 2], dtype=torch.float64)
    lower, upper = predictive.quantile(tails).squeeze(-1)
    gain = TargetVarianceReduction(model, draws.targets)
    expected = []
    for i, candidate in enumerate(candidates):
        conditioned_on = space.features_of([*pending, *candidates[:i]])
        gain.set_X_pending(conditioned_on if len(conditioned_on) else None)
        with torch.no_grad():
            nats = float(gain.information(X[i : i + 1].unsqueeze(0)))
        expected.append(dict(predicted_loss=float(predictive.mixture_mean[i]), loss_lower=float(lower[i]),
                             loss_upper=float(upper[i]), information_per_flop=nats / space.run_cost(candidate.compute)))
    return expected


def _record(ledger: Ledger, strategy: str, candidate: Candidate, expected: dict) -> Proposal:
    solved = candidate.arch
    metrics = {"strategy": strategy, "acquisition": candidate.acquisition, "loss_prob": LOSS_PROB, **expected}
    run_id = ledger.add_run(candidate.r, candidate.compute, candidate.sparsity, arch=solved.to_dict(),
                            tokens=candidate.tokens, n_active=solved.n_active, n_total=solved.n_total,
                            label=f"next:{strategy}", metrics={k: v for k, v in metrics.items() if v is not None})
    return Proposal(id=run_id, r=candidate.r, compute=candidate.compute, sparsity=candidate.sparsity,
                    n_active=solved.n_active, tokens=candidate.tokens, strategy=strategy,
                    acquisition=candidate.acquisition, predicted_loss=expected.get("predicted_loss"),
                    loss_lower=expected.get("loss_lower"), loss_upper=expected.get("loss_upper"),
                    information_per_flop=expected.get("information_per_flop"))
