"""``init``: create a workspace (ledger + campaign.toml), optionally from a campaign folder, all or nothing."""

from __future__ import annotations

import argparse
from pathlib import Path

from bayes_moe import config
from bayes_moe.cli.output import emit, workspace_path
from bayes_moe.workspace import RUNS_FILE, create_workspace, load_campaign


def _cmd_init(args: argparse.Namespace) -> None:
    workspace = workspace_path(args)
    ids = create_workspace(workspace, Path(args.source) if args.source else None)
    campaign = load_campaign(workspace)
    seeded = f"{len(ids)} runs imported from {Path(args.source) / RUNS_FILE}" if ids else "no runs"
    payload = {"workspace": str(workspace), "campaign": campaign.name, "imported": ids}
    emit(args, payload, f"created workspace {workspace}: campaign {campaign.name!r}, {seeded}")


def register(command) -> None:
    p = command("init", _cmd_init, "create a workspace (ledger + campaign.toml), optionally from a campaign folder",
                reports=True)
    p.add_argument("--from", dest="source", metavar="DIR",
                   help=f"campaign folder: copy its {config.CAMPAIGN_FILE}, import its {RUNS_FILE}")
