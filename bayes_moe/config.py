"""A campaign: the design space, the targets to pin ``r*`` at, when to stop, and the simulated world.

Read from ``campaign.toml`` in a workspace (or any .toml file) and checked strictly: a typo in a key
is an error, not a silent default. The layout (every key optional; missing ones take the defaults
of ``Campaign``)::

    [campaign]
    name = "demo"
    description = "..."

    [space]                                  # where runs may be placed
    r = [0.1, 4.0]                           # expert/attention FLOPs ratio C_E / C_A
    compute = [1e17, 1e20]                   # total training FLOPs of one run
    sparsities = [0.8235, 0.9091, 0.9538, 0.9767]
    preset = "55M"                           # size preset of bayes_moe.arch that builds the runs, or
    # tokens_per_param = 20                  # size each run from its compute: tokens / n_active = 20
    run_overhead = 0.0                       # FLOPs-equivalent fixed cost of a run (start-up, evaluation)
    top_picks = 0                            # picks per batch near the largest compute, each at the target
                                             # sparsity with the fewest runs there (the design's guard)

    [regime]                                 # limits on runs: next/add refuse, fit/r-star/plots flag
    min_tokens_per_param = 10                # tokens / n_active
    min_steps = 1000                         # optimizer steps with the run's batch (bayes_moe.train.hparams)
    max_epochs = 1.0                         # passes over the corpus's training split

    [targets]                                # where the user wants r* known
    points = [{compute = 1e21, sparsity = 0.9538}]

    [stopping]
    target_width = 0.10                      # relative half-width of the 90% interval of r*
    compute_budget = 1e22                    # total FLOPs the campaign may spend

    [model]                                  # the r* law fits assume (bayes_moe.forms; docs/model.md)
    form = "power"                           # power | curved | signed | two-term | auto (LOO picks)
    penalty = "asymmetric"                   # asymmetric | symmetric valley (not for two-term)
    frontier = "flexible"                    # power | anchored (by its value at the pivot and drop below) |
                                             # flexible | anchored-flexible (either, plus shrunk bends in log C
                                             # of the frontier and of the valley's curvature)
    discrepancy = "hinges"                   # hinges (log r* may bend from its law below the runs' top) | none
    pivot = 1e19                             # C0: the compute the laws' intercepts refer to (FLOPs)
    min_compute = 1e16                       # runs below this compute stay in the ledger but are not fitted
    draws = 3000                             # NUTS draws and tuning steps per chain of this campaign's fits
    tune = 1500                              # (the CLI's --draws/--tune say otherwise; default 1000 each)
    seed_offset = true                       # each trainer seed's offset of its runs' losses, where the runs
                                             # have two seeds or more (false: seeds are noise alone)
    hinge_scale = 0.03                       # the hinges' prior scale (tau ~ HalfNormal): wider where the law
                                             # is expected to hold only near the top of the runs' compute

    [world]                                  # the simulator's ground truth (bayes_moe.simulate)
    law = "paper"
    seed = 0
    noise = 0.01

    [slurm]                                  # campaign --executor slurm (docs/campaign.md); every key optional
    partition = "gpu"
    account = "my-project"
    gpus_per_job = 1
    cpus_per_job = 8
    mem_gb = 64
    time_limit_min = 120
    max_jobs = 32                            # jobs in flight at most
    retries = 0                              # resubmissions of a job the scheduler killed
    folder = "/shared/scratch/jobs"          # the jobs' files (default <workspace>/jobs)
"""

from __future__ import annotations

import json
import math
import re
import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path

from bayes_moe import arch
from bayes_moe.errors import InputError
from bayes_moe.fields import check_sparsity
from bayes_moe.forms import (DEFAULT_DISCREPANCY, DEFAULT_FORM, DEFAULT_FRONTIER, DEFAULT_HINGE_SCALE, DEFAULT_PENALTY,
                             DISCREPANCIES, FORM_CHOICES, FRONTIERS, PENALTIES)
from bayes_moe.laws import PIVOT

CAMPAIGN_FILE = "campaign.toml"
PAPER_SPARSITIES = (0.8235, 0.9091, 0.9538, 0.9767)  # E = 17, 33, 65, 129 with 1 shared + 2 routed
TARGET_COMPUTE = 1e21  # the largest compute of the paper
DEFAULT_WORLD = {"law": "paper", "seed": 0, "noise": 0.01}
DEFAULT_PRESET = "55M"  # the paper's middle size label (bayes_moe.arch.PRESETS)


@dataclass(frozen=True)
class Campaign:
    """What a campaign explores and when it is done. Defaults: r in [0.1, 4], compute per run in
    [1e17, 1e20] FLOPs, the paper's four sparsities, targets at compute 1e21 for each sparsity,
    a 90% interval of r* within +-10%, a total budget of 1e22 FLOPs, runs built with the 55M size
    preset, fits of the paper's law with an asymmetric valley, and the world of the paper's law with
    1% noise."""

    name: str = "default"
    description: str = ""
    r_bounds: tuple[float, float] = (0.1, 4.0)
    compute_bounds: tuple[float, float] = (1e17, 1e20)
    sparsities: tuple[float, ...] = PAPER_SPARSITIES
    targets: tuple[tuple[float, float], ...] | None = None  # None: (TARGET_COMPUTE, S) for each sparsity
    target_width: float = 0.10
    compute_budget: float = 1e22
    preset: str | None = None  # None: DEFAULT_PRESET unless tokens_per_param sizes the runs
    tokens_per_param: float | None = None  # size runs from compute (arch.size_for_compute); exclusive with preset
    min_tokens_per_param: float | None = None  # [regime] limits (bayes_moe.regime); None: no limit
    min_steps: int | None = None
    max_epochs: float | None = None
    run_overhead: float = 0.0  # FLOPs-equivalent fixed cost of every run, added to its compute by the design
    top_picks: int = 0  # the design's guard (design.strategies): picks per batch near the largest compute
    form: str = DEFAULT_FORM  # the r* law of the workspace's fits (forms.FORM_CHOICES)
    penalty: str = DEFAULT_PENALTY
    frontier: str = DEFAULT_FRONTIER
    discrepancy: str = DEFAULT_DISCREPANCY  # of log r* from its law along compute (surfaces; docs/model.md)
    pivot: float = PIVOT  # C0 of the fits: put it at the runs' compute when they lie decades below 1e19
    min_compute: float | None = None  # the fit floor: runs below it are in a regime the laws do not describe
    draws: int | None = None  # NUTS draws / tuning steps per chain of the workspace's fits; None: the CLI's default
    tune: int | None = None
    seed_offset: bool = True  # a per-seed offset of the losses where the runs have two trainer seeds or more (model.fit)
    hinge_scale: float = DEFAULT_HINGE_SCALE  # the hinges' prior scale (model.fit; docs/design.md, the bending world)
    world: dict = field(default_factory=lambda: dict(DEFAULT_WORLD))
    slurm: dict = field(default_factory=dict)  # [slurm]: the Slurm executor's settings (SLURM_KEYS)

    def __post_init__(self):
        if self.preset is not None and self.tokens_per_param is not None:
            raise InputError(f"[space] preset = {self.preset!r} and tokens_per_param = {self.tokens_per_param!r} "
                             f"are exclusive: runs are sized by a preset or from their compute, not both")
        if self.preset is None and self.tokens_per_param is None:
            object.__setattr__(self, "preset", DEFAULT_PRESET)
        if self.targets is None:
            object.__setattr__(self, "targets", tuple((TARGET_COMPUTE, s) for s in self.sparsities))


# TOML table -> {key: Campaign field}
_LAYOUT = {
    "campaign": {"name": "name", "description": "description"},
    "space": {"r": "r_bounds", "compute": "compute_bounds", "sparsities": "sparsities", "preset": "preset",
              "run_overhead": "run_overhead", "tokens_per_param": "tokens_per_param", "top_picks": "top_picks"},
    "regime": {"min_tokens_per_param": "min_tokens_per_param", "min_steps": "min_steps", "max_epochs": "max_epochs"},
    "targets": {"points": "targets"},
    "stopping": {"target_width": "target_width", "compute_budget": "compute_budget"},
    "model": {"form": "form", "penalty": "penalty", "frontier": "frontier", "pivot": "pivot",
              "discrepancy": "discrepancy", "min_compute": "min_compute", "draws": "draws", "tune": "tune",
              "seed_offset": "seed_offset", "hinge_scale": "hinge_scale"},
}


def load_campaign(path) -> Campaign:
    """The campaign of a workspace folder (its ``campaign.toml``; defaults if the folder has none)
    or of a .toml file (which must exist). ``InputError`` names the file, key and value at fault."""
    path = Path(path)
    if path.suffix != ".toml":
        path = path / CAMPAIGN_FILE
        if not path.is_file():
            return Campaign()
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(f"no campaign file {path}") from None
    except (IsADirectoryError, PermissionError) as error:
        raise InputError(f"cannot read {path}: {error.strerror}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise InputError(f"{path} is not valid TOML: {error}") from None
    return _campaign(path, document)


def _campaign(path: Path, document: dict) -> Campaign:
    unknown = set(document) - set(_LAYOUT) - {"world", "slurm"}
    if unknown:
        raise InputError(f"{path}: unknown table(s) {sorted(unknown)}; expected {sorted(_LAYOUT) + ['world', 'slurm']}")
    values = {}
    for table, keys in _LAYOUT.items():
        entries = document.get(table, {})
        if not isinstance(entries, dict):
            raise InputError(f"{path}: {table} must be a table [{table}], got {entries!r}")
        for key, value in entries.items():
            if key not in keys:
                raise InputError(f"{path}: unknown key [{table}] {key} = {value!r}; expected one of {sorted(keys)}")
            where = f"{path}: [{table}] {key}"
            values[keys[key]] = _CHECKS[keys[key]](where, value)
    values["world"] = _world(path, document.get("world", {}))
    if values.get("preset") is not None and values.get("tokens_per_param") is not None:
        raise InputError(f"{path}: [space] preset and tokens_per_param are exclusive (runs are sized by a preset "
                         f"or from their compute); keep one")
    values["slurm"] = _slurm(path, document.get("slurm", {}))
    return Campaign(**values)


def _text(where: str, value) -> str:
    if not isinstance(value, str):
        raise InputError(f"{where} must be a string, got {value!r}")
    return value


def _positive(where: str, value) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
        raise InputError(f"{where} must be a finite number > 0, got {value!r}")
    return float(value)


def _nonnegative(where: str, value) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
        raise InputError(f"{where} must be a finite number >= 0, got {value!r}")
    return float(value)


def _sparsity(where: str, value) -> float:
    return check_sparsity(value, where)


def _bounds(where: str, value) -> tuple[float, float]:
    if not isinstance(value, list) or len(value) != 2:
        raise InputError(f"{where} must be [low, high], got {value!r}")
    low, high = (_positive(where, v) for v in value)
    if not low < high:
        raise InputError(f"{where} must have low < high, got {value!r}")
    return low, high


def _sparsities(where: str, value) -> tuple[float, ...]:
    if not isinstance(value, list) or not value:
        raise InputError(f"{where} must be a non-empty list of sparsities, got {value!r}")
    levels = tuple(_sparsity(where, v) for v in value)
    if len(set(levels)) != len(levels):
        raise InputError(f"{where} lists a sparsity twice: {value!r}")
    return levels


def _targets(where: str, value) -> tuple[tuple[float, float], ...]:
    if not isinstance(value, list) or not value:
        raise InputError(f"{where} must be a non-empty list of {{compute = C, sparsity = S}}, got {value!r}")
    points = []
    for point in value:
        if not isinstance(point, dict) or set(point) != {"compute", "sparsity"}:
            raise InputError(f"{where}: each point must be {{compute = C, sparsity = S}}, got {point!r}")
        points.append((_positive(f"{where} compute", point["compute"]),
                       _sparsity(f"{where} sparsity", point["sparsity"])))
    return tuple(points)


def _fraction(where: str, value) -> float:
    if _positive(where, value) >= 1:
        raise InputError(f"{where} must be in (0, 1) (a relative half-width), got {value!r}")
    return float(value)


def _one_of(choices):
    """A check that the value is one of ``choices``."""
    def check(where: str, value) -> str:
        if value not in choices:
            raise InputError(f"{where} must be one of {', '.join(choices)}, got {value!r}")
        return value
    return check


def _boolean(where: str, value) -> bool:
    if not isinstance(value, bool):
        raise InputError(f"{where} must be true or false, got {value!r}")
    return value


def _whole(minimum: int):
    """A check that a value is an integer >= ``minimum`` (not a bool)."""
    def check(where: str, value) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            raise InputError(f"{where} must be an integer >= {minimum}, got {value!r}")
        return value
    return check


_CHECKS = {"name": _text, "description": _text, "r_bounds": _bounds, "compute_bounds": _bounds,
           "sparsities": _sparsities, "targets": _targets, "preset": _one_of(tuple(arch.PRESETS)),
           "run_overhead": _nonnegative, "top_picks": _whole(0), "target_width": _fraction, "compute_budget": _positive,
           "form": _one_of(FORM_CHOICES), "penalty": _one_of(PENALTIES), "frontier": _one_of(FRONTIERS),
           "discrepancy": _one_of(DISCREPANCIES),
           "pivot": _positive, "min_compute": _positive, "tokens_per_param": _positive,
           "min_tokens_per_param": _positive, "min_steps": _whole(1), "max_epochs": _positive,
           "draws": _whole(1), "tune": _whole(1), "seed_offset": _boolean, "hinge_scale": _positive}


def _world(path: Path, entries) -> dict:
    """The simulator's settings: ``DEFAULT_WORLD`` updated by [world]. Keys beyond law, seed and noise
    belong to the simulator, which checks them; here they must be plain values."""
    if not isinstance(entries, dict):
        raise InputError(f"{path}: world must be a table [world], got {entries!r}")
    for key, value in entries.items():
        if not isinstance(value, (str, int, float, bool)):
            raise InputError(f"{path}: [world] {key} must be a string, number or boolean, got {value!r}")
    world = {**DEFAULT_WORLD, **entries}
    _text(f"{path}: [world] law", world["law"])
    if isinstance(world["seed"], bool) or not isinstance(world["seed"], int) or world["seed"] < 0:
        raise InputError(f"{path}: [world] seed must be an integer >= 0, got {world['seed']!r}")
    noise = world["noise"]
    if isinstance(noise, bool) or not isinstance(noise, (int, float)) or not math.isfinite(noise) or noise < 0:
        raise InputError(f"{path}: [world] noise must be a finite number >= 0, got {noise!r}")
    return world


SLURM_KEYS = {"partition": _text, "account": _text, "gpus_per_job": _whole(0), "cpus_per_job": _whole(0),
              "mem_gb": _positive, "time_limit_min": _whole(0), "max_jobs": _whole(0), "retries": _whole(0),
              "folder": _text}


def _slurm(path: Path, entries) -> dict:
    """[slurm], each key checked by SLURM_KEYS."""
    if not isinstance(entries, dict):
        raise InputError(f"{path}: slurm must be a table [slurm], got {entries!r}")
    for key, value in entries.items():
        if key not in SLURM_KEYS:
            raise InputError(f"{path}: unknown key [slurm] {key} = {value!r}; expected one of {sorted(SLURM_KEYS)}")
        SLURM_KEYS[key](f"{path}: [slurm] {key}", value)
    return dict(entries)


def dump_campaign(campaign: Campaign) -> str:
    """``campaign`` as TOML in the layout ``load_campaign`` reads (floats written exactly)."""
    by_field = {f.name: getattr(campaign, f.name) for f in fields(campaign)}
    lines = []
    for table, keys in _LAYOUT.items():
        lines.append(f"[{table}]")
        lines += [f"{key} = {_toml(by_field[name])}" for key, name in keys.items() if by_field[name] is not None]
        lines.append("")
    lines.append("[world]")
    lines += [f"{_toml_key(key)} = {_toml(value)}" for key, value in campaign.world.items()]
    if campaign.slurm:
        lines += ["", "[slurm]"] + [f"{key} = {_toml(value)}" for key, value in campaign.slurm.items()]
    return "\n".join(lines) + "\n"


def _toml_key(key: str) -> str:
    return key if re.fullmatch(r"[A-Za-z0-9_-]+", key) else json.dumps(key)


def _toml(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)  # a TOML basic string: JSON's escapes are a subset of TOML's
    if isinstance(value, tuple) and value and isinstance(value[0], tuple):  # target points
        return "[" + ", ".join(f"{{compute = {_toml(c)}, sparsity = {_toml(s)}}}" for c, s in value) + "]"
    return "[" + ", ".join(_toml(v) for v in value) + "]"
