"""``add``: record a hand-chosen run as proposed, with its solved architecture and token budget."""

from __future__ import annotations

import argparse
from pathlib import Path

from bayes_moe import arch, config, flops, regime
from bayes_moe.cli.output import emit, measured, workspace_path
from bayes_moe.errors import InputError
from bayes_moe.ledger import Ledger
from bayes_moe.workspace import load_campaign


def _cmd_add(args: argparse.Namespace) -> None:
    workspace = workspace_path(args)
    campaign = load_campaign(workspace)
    if not args.force:
        _check_in_space(args, campaign, workspace)
    # --preset overrides the campaign's sizing: its preset, or tokens per parameter from the run's compute
    sizing = ({"preset": args.preset or campaign.preset} if args.preset or campaign.preset
              else {"tokens_per_param": campaign.tokens_per_param})
    solved = arch.solve_run(args.r, args.compute, args.sparsity, **sizing)
    sized = f"preset {sizing['preset']}" if "preset" in sizing else f"{sizing['tokens_per_param']:g} tokens per parameter"
    if not args.force:
        regime.check_planned(campaign, solved, args.compute, solved.sparsity, workspace)
    tokens = flops.tokens_for_compute(args.compute, solved.c_token)
    if tokens < solved.n_ctx:
        raise InputError(f"--compute {args.compute:g} buys {tokens:.3g} tokens of this model ({sized}) "
                         f"({solved.c_token:.3g} FLOPs per token): a run needs at least one sequence of "
                         f"{solved.n_ctx} tokens, {3 * solved.c_token * solved.n_ctx:.3g} FLOPs")
    with Ledger.open(workspace) as ledger:
        run_id = ledger.add_run(solved.r, args.compute, solved.sparsity, arch=solved.to_dict(), tokens=tokens,
                              n_active=solved.n_active, n_total=solved.n_total, seed=args.seed, label=args.label,
                              metrics={"requested_r": args.r, "requested_sparsity": args.sparsity, **sizing})
    payload = {"id": run_id, "r": solved.r, "compute": args.compute, "sparsity": solved.sparsity,
               "n_active": solved.n_active, "n_total": solved.n_total, "tokens": tokens, "arch": solved.to_dict(),
               **sizing, "requested": {"r": args.r, "sparsity": args.sparsity}}
    emit(args, payload, f"proposed run {run_id}: r={solved.r:.4g} (requested {args.r:g}), compute={args.compute:.4g}, "
                        f"sparsity={solved.sparsity:.4g}, {sized}, {tokens:.4g} tokens, "
                        f"n_active={solved.n_active:,}, n_total={solved.n_total:,}")


def _check_in_space(args: argparse.Namespace, campaign: config.Campaign, workspace: Path) -> None:
    """``InputError`` if the run lies outside the campaign's space: a hand-chosen run there is usually a typo
    (``--compute 1e40``), and one the design never meant is better recorded on purpose (``--force``)."""
    where = f"the campaign's [space] in {workspace / config.CAMPAIGN_FILE}"
    for flag, value, (low, high) in (("--r", args.r, campaign.r_bounds),
                                     ("--compute", args.compute, campaign.compute_bounds)):
        if not low <= value <= high:
            raise InputError(f"{flag} {value:g} is outside {where}: [{low:g}, {high:g}]; widen it there, "
                             f"or pass --force to record the run anyway")
    if all(abs(args.sparsity - level) > arch.SPARSITY_TOLERANCE for level in campaign.sparsities):
        raise InputError(f"--sparsity {args.sparsity:g} is not one of the sparsities of {where} "
                         f"({', '.join(f'{s:g}' for s in campaign.sparsities)}); add it there, or pass --force")


def register(command) -> None:
    p = command("add", _cmd_add, "record a hand-chosen run as proposed; prints its id", reports=True)
    p.add_argument("--r", type=measured("r"), required=True, help="expert/attention FLOPs ratio C_E/C_A")
    p.add_argument("--compute", type=measured("compute"), required=True, help="total training FLOPs")
    p.add_argument("--sparsity", type=measured("sparsity"), required=True, help="S = (E - E_act) / E")
    p.add_argument("--preset", help=f"size preset (default: the campaign's): {', '.join(arch.PRESETS)}")
    p.add_argument("--label", type=measured("label"))
    p.add_argument("--seed", type=measured("seed"))
    p.add_argument("--force", action="store_true", help="record a run outside the campaign's [space] or [regime]")
