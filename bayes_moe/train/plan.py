"""What a run will train, fixed and checked before it starts (``Plan``: arch, settings, corpus, steps) and
saved beside its checkpoints, so that a killed run resumes on the same plan, in one process or under torchrun."""

from __future__ import annotations

import dataclasses
import math
import os
from dataclasses import dataclass
from pathlib import Path

import torch

from bayes_moe import flops
from bayes_moe.arch import MoEArch
from bayes_moe.errors import InputError
from bayes_moe.ledger import Ledger, Run
from bayes_moe.train import data
from bayes_moe.train.settings import TrainConfig, check_world, resolve_config

EXECUTOR = "trainer"
PLAN = "plan.pt"  # in the run's checkpoint folder


@dataclass(frozen=True)
class Plan:
    """A run as it will train: ``steps`` optimizer steps of ``tokens_per_step`` tokens (all ranks) cover its
    compute's token budget, rounded up to whole steps."""

    arch: MoEArch
    config: TrainConfig
    corpus: Path
    steps: int
    tokens_per_step: int


def make_plan(run: Run, config: dict | None, corpus: Path, world: int) -> Plan:
    """The plan of ``run`` (its arch, settings, corpus and steps), every part checked: bad input raises
    ``InputError`` here, before anything changes."""
    if run.arch is None:
        raise InputError(f"run {run.id} has no architecture; record it with an arch (e.g. `bayes-moe add --preset`)")
    try:
        arch = MoEArch.from_dict(run.arch)
    except TypeError as error:
        raise InputError(f"run {run.id} has an unusable arch {run.arch!r}: {error}") from None
    for name, value in arch.to_dict().items():
        if not isinstance(value, int) or value < (0 if name == "n_shared" else 1):
            raise InputError(f"run {run.id}: arch {name} must be a positive integer, got {value!r}")
    if arch.n_heads % arch.n_kv_heads or arch.top_k > arch.n_routed:
        raise InputError(f"run {run.id}: impossible arch (n_heads {arch.n_heads} not a multiple of n_kv_heads "
                         f"{arch.n_kv_heads}, or top_k {arch.top_k} > n_routed {arch.n_routed})")
    overrides = dict(config or {})
    if run.seed is not None:  # the ledger's seed is part of the run: replicates differ by it
        overrides["seed"] = run.seed
    train_config = resolve_config(arch, run.compute, overrides, world)
    data.open_corpus(corpus, arch.vocab_size)  # checks the shards now, before the run starts
    tokens = flops.tokens_for_compute(run.compute, arch.c_token)
    tokens_per_step = train_config.batch_size * arch.n_ctx
    return Plan(arch, train_config, corpus, max(1, math.ceil(tokens / tokens_per_step)), tokens_per_step)


def plan_to_dict(plan: Plan) -> dict:
    """The plan as plain data, as saved beside the checkpoints (with the corpus's manifest hash)."""
    return {"arch": plan.arch.to_dict(), "config": dataclasses.asdict(plan.config), "corpus": str(plan.corpus),
            "corpus_sha256": data.sha256_file(plan.corpus / data.MANIFEST),
            "steps": plan.steps, "tokens_per_step": plan.tokens_per_step}


def plan_from_dict(saved: dict, corpus: Path | None = None) -> Plan:
    """A saved plan; ``corpus``: where its data are found now (default: the folder it names)."""
    return Plan(MoEArch.from_dict(saved["arch"]), TrainConfig(**saved["config"]), corpus or Path(saved["corpus"]),
                saved["steps"], saved["tokens_per_step"])


def _saved_corpus(saved: dict, corpus: Path | None, workspace: Path, run_id: int) -> Path:
    """The corpus a resumed run reads: the folder its plan names, or, where that folder is gone (the
    workspace moved to another machine or checkout), the corpus resolved now if it is the same data
    (the plan's manifest hash). Plans saved before the hash was recorded resume only from their folder."""
    named = Path(saved["corpus"])
    if (named / data.MANIFEST).is_file():
        return named
    here = data.resolve_corpus(corpus, workspace)
    if saved.get("corpus_sha256") == data.sha256_file(here / data.MANIFEST):
        return here
    raise InputError(f"run {run_id} resumes on the corpus its plan names, {named}, which is gone, and the corpus "
                     f"here ({here}) is not the same data (manifest sha256 {saved.get('corpus_sha256', 'not recorded')})")


def prepare_run(workspace: Path, run_id: int, nproc: int, config: dict | None, corpus: Path | None) -> Plan:
    """The run's plan, checked: a proposed run's is made and saved, and the run moved to 'running'; a
    running run the trainer started gets its saved plan back. Nothing changes on bad input."""
    folder = checkpoint_dir(workspace, run_id)
    with Ledger.open(workspace) as ledger:
        run = ledger.get(run_id)
        resuming = run.status == "running" and (folder / PLAN).is_file()
        if run.status != "proposed" and not resuming:
            raise InputError(f"run {run_id} is {run.status!r}: the trainer takes proposed runs, or running "
                             f"ones it started itself (with {folder / PLAN})")
        if resuming:
            saved = torch.load(folder / PLAN, weights_only=True)
            plan = plan_from_dict(saved, _saved_corpus(saved, corpus, workspace, run_id))
            check_world(plan.config, nproc)
            if str(plan.corpus) != saved["corpus"]:  # the same data found elsewhere: the workers read it there
                save_atomic(plan_to_dict(plan), folder / PLAN)
            return plan
        plan = make_plan(run, config, data.resolve_corpus(corpus, workspace), nproc)  # checks before start()
        ledger.start(run_id, EXECUTOR)
        folder.mkdir(parents=True, exist_ok=True)
        save_atomic(plan_to_dict(plan), folder / PLAN)
        return plan


def checkpoint_dir(workspace: Path, run_id: int) -> Path:
    """Where run ``run_id`` keeps its plan, checkpoints and their temporary files."""
    return Path(workspace) / "checkpoints" / str(run_id)


def plan_spec(run: Run, *, config: dict | None = None, corpus: Path | None = None, workspace: Path) -> dict:
    """The checked plan of ``run`` as plain data (absolute corpus path): all a job needs to train it with
    ``train_spec``. Bad input raises ``InputError`` here, on the campaign's host."""
    plan = make_plan(run, config, data.resolve_corpus(corpus, Path(workspace)).resolve(), 1)
    return {**plan_to_dict(plan), "run_id": run.id}


def save_atomic(content: dict, path: Path) -> None:
    """Written to a temporary file and renamed: a kill leaves the old file or the new one."""
    tmp = path.with_suffix(".tmp")
    torch.save(content, tmp)
    os.replace(tmp, path)
