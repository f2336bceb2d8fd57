"""The regime of a run against the campaign's ``[regime]`` limits: scaling laws hold for runs trained
long enough (tokens per parameter, optimizer steps) on data seen at most a few times (epochs).

``next`` and ``add`` refuse a run whose planned regime is outside the limits (``check_planned``, one
line naming the limit); ``fit``, ``r-star`` and the plots flag finished runs outside them (``flagged``:
they are still fitted, never silently). A planned run's steps use the batch the trainer would take
(its size preset's, else ``train.hparams``'s rule) and its epochs the corpus the trainer would read; a
finished run's come from what the trainer recorded (metrics ``steps`` and ``epochs``), its tokens per
parameter from the ledger's ``tokens`` and ``n_active``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from bayes_moe import flops
from bayes_moe.arch import MoEArch
from bayes_moe.errors import InputError

# limit key of [regime] -> (the regime's key, "min" or "max", words)
LIMITS = {
    "min_tokens_per_param": ("tokens_per_param", "min", "tokens per parameter"),
    "min_steps": ("steps", "min", "optimizer steps"),
    "max_epochs": ("epochs", "max", "passes over the corpus"),
}


def limits(campaign) -> dict:
    """The limits the campaign sets, ``{limit key: value}``."""
    return {key: getattr(campaign, key) for key in LIMITS if getattr(campaign, key) is not None}


def violations(regime: dict, campaign) -> list[str]:
    """One phrase per limit that ``regime`` breaks (values it lacks are not judged)."""
    broken = []
    for key, bound in limits(campaign).items():
        name, side, words = LIMITS[key]
        value = regime.get(name)
        if value is not None and (value < bound if side == "min" else value > bound):
            shown = f"{value:,}" if isinstance(value, int) else f"{value:.3g}"
            broken.append(f"{words} {shown} {'<' if side == 'min' else '>'} [regime] {key} = {bound:g}")
    return broken


def planned(solved: MoEArch, compute: float, workspace: Path, *, need_epochs: bool = True) -> dict:
    """The regime a proposed run of ``solved`` on ``compute`` FLOPs will train in with the trainer's
    default settings and corpus (epochs None when ``need_epochs`` is false)."""
    from bayes_moe.train import data, hparams, settings as trainer  # torch: only where a run is planned

    tokens = flops.tokens_for_compute(compute, solved.c_token)
    settings = trainer.default_settings(solved, compute)
    steps = hparams.steps_for(tokens, settings["batch_size"], solved.n_ctx)
    warmup_frac = settings.get("warmup_frac", trainer.TrainConfig.__dataclass_fields__["warmup_frac"].default)
    train_tokens = _train_tokens(data.resolve_corpus(None, Path(workspace)) / data.MANIFEST) if need_epochs else None
    return hparams.regime(solved, tokens, steps, warmup_frac, train_tokens)


def check_planned(campaign, solved: MoEArch, compute: float, sparsity: float, workspace: Path) -> None:
    """``InputError`` naming the limit if the run at (``solved.r``, ``compute``, ``sparsity``) would
    train outside the campaign's regime; nothing to check when the campaign sets no limits."""
    if not limits(campaign):
        return
    regime = planned(solved, compute, workspace, need_epochs=campaign.max_epochs is not None)
    broken = violations(regime, campaign)
    if broken:
        raise InputError(f"run at r={solved.r:.4g}, compute={compute:.4g}, sparsity={sparsity:.4g} is outside the "
                         f"campaign's regime: {'; '.join(broken)}")


def recorded(run) -> dict:
    """The regime of a finished run from the ledger: tokens / n_active, and the trainer's metrics."""
    tokens_per_param = run.tokens / run.n_active if run.tokens and run.n_active else None
    return {"tokens_per_param": tokens_per_param, "steps": run.metrics.get("steps"),
            "epochs": run.metrics.get("epochs")}


def flagged(campaign, runs) -> dict[int, list[str]]:
    """``{run id: broken limits}`` of the ``runs`` outside the campaign's regime."""
    found = {run.id: violations(recorded(run), campaign) for run in runs}
    return {run_id: broken for run_id, broken in found.items() if broken}


def warn_flagged(command: str, campaign, runs) -> dict[int, list[str]]:
    """Print one warning line on stderr naming the runs outside the regime (if any); returns them."""
    outside = flagged(campaign, runs)
    if outside:
        listed = "; ".join(f"run {run_id}: {', '.join(broken)}" for run_id, broken in sorted(outside.items()))
        print(f"bayes-moe {command}: warning: {len(outside)} of {len(runs)} done runs are outside the campaign's "
              f"regime, fitted all the same: {listed}", file=sys.stderr)
    return outside


def mark(runs_dataset, campaign, runs):
    """``runs_dataset`` (``Ledger.to_dataset()``) with a boolean ``outside_regime`` along ``run``: the
    plots draw those runs apart (``runs`` are the ledger's rows of the same ids)."""
    outside = flagged(campaign, runs)
    return runs_dataset.assign(outside_regime=("run", [int(i) in outside for i in runs_dataset["run"].values]))


def _train_tokens(manifest: Path) -> int:
    """Tokens in the training split of a corpus, from its manifest (no shard is read)."""
    try:
        return int(json.loads(manifest.read_text())["splits"]["train"]["tokens"])
    except (OSError, ValueError, KeyError) as error:
        raise InputError(f"cannot read the training split's size from {manifest}: {error}") from None
