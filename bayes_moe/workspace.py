"""A workspace: the folder of one campaign's files, and its creation (docs/ledger.md, "The workspace").

    ledger.sqlite   the runs (bayes_moe.ledger)
    campaign.toml   what the campaign explores and when it stops (bayes_moe.config)
    posterior.nc    the last fit (bayes_moe.posterior)

Creation is exclusive and all or nothing: concurrent ``init``s of one workspace take turns (a lock the kernel
drops when a process dies, even by ``kill -9``), the workspace is built in a hidden folder beside it and put in
place at the end, and the ledger is linked in only if none exists (``os.link`` fails on an existing name), so
an existing ledger, and every run in it, is never replaced.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import tempfile
from pathlib import Path

from bayes_moe import config
from bayes_moe.config import CAMPAIGN_FILE
from bayes_moe.errors import InputError
from bayes_moe.ledger import LEDGER_FILE, Ledger

POSTERIOR_FILE = "posterior.nc"
RUNS_FILE = "runs.csv"  # the runs a campaign folder ships (experiments/*/runs.csv), imported by `init --from`


def load_campaign(workspace) -> config.Campaign:
    """The campaign of ``workspace``, whose ``campaign.toml`` must exist and not be empty: a workspace without
    one was not made by ``init`` or lost it, and guessing the defaults would aim the campaign at targets
    nobody chose. (``config.load_campaign`` of a bare folder gives the defaults, for library callers.)"""
    path = Path(workspace) / CAMPAIGN_FILE
    if not path.is_file():
        raise InputError(f"no {CAMPAIGN_FILE} in workspace {workspace}: `bayes-moe init` writes one; "
                         f"copy one from a campaign folder (experiments/*/{CAMPAIGN_FILE}) to restore it")
    if path.stat().st_size == 0:
        raise InputError(f"{path} is empty (0 bytes): was it truncated? `bayes-moe init` writes a complete one; "
                         f"copy one from a campaign folder (experiments/*/{CAMPAIGN_FILE}) to restore it")
    return config.load_campaign(path)


def create_workspace(workspace, source=None) -> list[int]:
    """Create ``workspace`` with an empty ledger and a ``campaign.toml``, seeded from the campaign folder
    ``source``: its campaign.toml (else a campaign.toml already in the workspace, else the defaults)
    and its runs.csv if there is one. Returns the ids of the imported runs. ``InputError`` if the
    workspace has a ledger, also one another process created meanwhile."""
    workspace = Path(workspace)
    if source is not None and not Path(source).is_dir():
        raise InputError(f"--from {source}: no such folder")
    seed_campaign = Path(source) / CAMPAIGN_FILE if source is not None else None
    seed_runs = Path(source) / RUNS_FILE if source is not None else None
    if seed_campaign is not None and seed_campaign.is_file():
        config.load_campaign(seed_campaign)  # check it before copying it
    workspace.parent.mkdir(parents=True, exist_ok=True)
    with _creation_lock(workspace):
        _remove_leftovers(workspace)
        campaign_text = _campaign_text(workspace, seed_campaign)
        staging = Path(tempfile.mkdtemp(prefix=_staging_prefix(workspace), dir=workspace.parent))
        try:
            with Ledger.open(staging, create=True) as ledger:
                ids = ledger.import_csv(seed_runs) if seed_runs is not None and seed_runs.is_file() else []
            if campaign_text is not None:
                (staging / CAMPAIGN_FILE).write_text(campaign_text, encoding="utf-8")
            _put_in_place(staging, workspace)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    return ids


def _campaign_text(workspace: Path, seed_campaign: Path | None) -> str | None:
    """The campaign.toml to write, None to keep the workspace's own; ``InputError`` if the workspace cannot
    take a new ledger or its campaign.toml would be replaced by a different one."""
    if workspace.exists() and not workspace.is_dir():
        raise InputError(f"workspace {workspace} is a file, not a folder")
    if (workspace / LEDGER_FILE).exists():
        raise InputError(f"{workspace} already has a ledger ({workspace / LEDGER_FILE}); remove it or "
                         f"choose another --workspace")
    kept = workspace / CAMPAIGN_FILE
    if seed_campaign is not None and seed_campaign.is_file():
        text = seed_campaign.read_text(encoding="utf-8")
        if kept.exists() and kept.read_text(encoding="utf-8") != text:
            raise InputError(f"{kept} exists and would be replaced by {seed_campaign}; remove one of them")
        return None if kept.exists() else text
    if kept.exists():
        config.load_campaign(kept)
        return None
    return config.dump_campaign(config.Campaign())


def _put_in_place(staging: Path, workspace: Path) -> None:
    """Move the staged files into ``workspace``: the whole folder at once if there is none, else the
    campaign.toml and then the ledger, each only where no file of that name exists."""
    try:
        os.rename(staging, workspace)  # replaces at most an empty folder
        return
    except OSError:
        if not workspace.is_dir():
            raise
    placed = []
    try:
        for name in (CAMPAIGN_FILE, LEDGER_FILE):
            if (staging / name).exists():
                os.link(staging / name, workspace / name)
                placed.append(workspace / name)
    except FileExistsError as error:
        for path in placed:
            path.unlink()
        raise InputError(f"{error.filename2 or error.filename} appeared while the workspace was being "
                         f"created (another process?); nothing was changed") from None


@contextlib.contextmanager
def _creation_lock(workspace: Path):
    """Held while ``workspace`` is created: an exclusive ``flock`` on the folder that will hold it, released
    by the kernel when the holder ends in any way, so a killed ``init`` never blocks the next."""
    descriptor = os.open(workspace.parent, os.O_RDONLY)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX)
        yield
    finally:
        os.close(descriptor)


def _staging_prefix(workspace: Path) -> str:
    return f".{workspace.name}.init-"


def _remove_leftovers(workspace: Path) -> None:
    """Staging folders of earlier inits of ``workspace`` that were killed: under the lock none is in use."""
    for leftover in workspace.parent.glob(_staging_prefix(workspace) + "*"):
        shutil.rmtree(leftover, ignore_errors=True)
