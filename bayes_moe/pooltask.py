"""A pool task: a folder with a candidate table, target rows, a cost rule and law files (docs/scalebench.md).

``task.toml`` in the folder names them, so a new task needs no code::

    pool = "pool.csv"                       # candidate runs, one a row (the law's output column observed)
    targets = "targets.csv"                 # the rows to predict (held-out, usually high-cost)
    cost = "6 * N_dense * D1"               # each run's cost: an expression over the pool's columns
    group = "group"                         # optional: each group is its own campaign, fit and budget
    budgets = [0.01, 0.05, 0.10]            # shares of the pool's total cost (per group)
    laws = "laws/*.py"                      # law files (bayes_moe.userlaw)
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from bayes_moe.errors import InputError
from bayes_moe.userlaw import Law, load_law

REQUIRED_KEYS = ("pool", "targets", "cost", "budgets", "laws")
SPEND_TOLERANCE = 1e-12  # relative: a budget share times a total, less summed costs, rounds below an exact fit
TASKS_FOLDER = Path(__file__).resolve().parents[1] / "experiments" / "scalebench"  # the committed ScaleBench tasks


@dataclass(frozen=True)
class PoolTask:
    """A loaded task: ``pool`` and ``targets`` tables, each pool and target row's cost (``costs``,
    ``target_costs``: a run's size for a noise trend), its ``laws``."""

    name: str
    folder: Path
    pool: pd.DataFrame
    targets: pd.DataFrame
    costs: np.ndarray
    target_costs: np.ndarray
    group: str | None
    budgets: tuple[float, ...]
    laws: tuple[Law, ...]

    def groups(self) -> list[tuple[np.ndarray, np.ndarray]]:
        """``(pool rows, target rows)`` index arrays of each group (one group when there is no column)."""
        if self.group is None:
            return [(np.arange(len(self.pool)), np.arange(len(self.targets)))]
        names = sorted(set(self.pool[self.group]) & set(self.targets[self.group]))
        return [(np.flatnonzero(self.pool[self.group].to_numpy() == g),
                 np.flatnonzero(self.targets[self.group].to_numpy() == g)) for g in names]


def read_table(path: Path) -> pd.DataFrame:
    """A CSV (or parquet, when pyarrow is installed) table; ``InputError`` naming the file otherwise."""
    try:
        return pd.read_parquet(path) if path.suffix == ".parquet" else pd.read_csv(path)
    except (OSError, ValueError, ImportError) as error:
        raise InputError(f"{path}: cannot read table: {error}") from error


def check_table(table: pd.DataFrame, law: Law, columns, where) -> None:
    """``InputError`` naming ``where`` (and the data row, 1 = the first after the header, the column and the value)
    for a table with no rows, without one of ``columns`` that ``law`` needs, with an entry of them that is not a
    number, or with an empty entry of one of the law's inputs (an empty output is a candidate's)."""
    if len(table) == 0:
        raise InputError(f"{where}: no rows after the header")
    absent = [c for c in columns if c not in table]
    if absent:
        raise InputError(f"{where}: lacks column(s) {', '.join(absent)} that law {law.name} needs")
    inputs = set(law.inputs.values())
    for column in columns:
        empty = table[column].isna().to_numpy()
        bad = np.flatnonzero(pd.to_numeric(table[column], errors="coerce").isna().to_numpy() & ~empty)
        if bad.size:
            raise InputError(f"{where}: row {bad[0] + 1}, column {column}: {table[column].iloc[bad[0]]!r} is not a number")
        if column in inputs and empty.any():
            raise InputError(f"{where}: row {np.argmax(empty) + 1}, column {column}: empty (every row needs the law's inputs)")


def run_costs(table: pd.DataFrame, rule: str, where: str) -> np.ndarray:
    """Each row's cost by the expression ``rule`` over the table's columns; positive and finite."""
    try:
        costs = np.asarray(table.eval(rule), float) * np.ones(len(table))
    except Exception as error:  # pandas raises many kinds for a bad expression
        raise InputError(f"{where}: cost rule {rule!r}: {error} (its columns: {', '.join(map(str, table.columns))})"
                         ) from error
    bad = np.flatnonzero(~(np.isfinite(costs) & (costs > 0)))
    if bad.size:
        raise InputError(f"{where}: cost rule {rule!r} gives {costs[bad[0]]} at row {bad[0] + 1}; costs must be > 0")
    return costs


def fits_budget(costs: np.ndarray, spend_left: float) -> np.ndarray:
    """Which ``costs`` the budget left can still pay: the one spending rule of the selection and the
    benchmark's campaigns (a run costing exactly what is left fits, up to rounding)."""
    return np.asarray(costs) <= spend_left * (1 + SPEND_TOLERANCE)


def find_task(name: str) -> Path:
    """A task folder: the path as given, else one of the committed tasks under experiments/scalebench/."""
    for folder in (Path(name), TASKS_FOLDER / name):
        if (folder / "task.toml").is_file():
            return folder
    known = sorted(p.parent.name for p in TASKS_FOLDER.glob("*/task.toml"))
    raise InputError(f"task {name}: no task.toml there nor in {TASKS_FOLDER} (tasks: {', '.join(known)})")


def load_task(folder) -> PoolTask:
    """Read ``folder/task.toml`` and everything it names; ``InputError`` naming the first problem."""
    folder = Path(folder)
    spec_path = folder / "task.toml"
    try:
        spec = tomllib.loads(spec_path.read_text())
    except (OSError, tomllib.TOMLDecodeError) as error:
        raise InputError(f"{spec_path}: {error}") from error
    missing = [key for key in REQUIRED_KEYS if key not in spec]
    if missing:
        raise InputError(f"{spec_path}: missing key(s) {', '.join(missing)}")
    budgets = tuple(float(b) for b in spec["budgets"])
    if not budgets or any(not 0 < b <= 1 for b in budgets) or list(budgets) != sorted(budgets):
        raise InputError(f"{spec_path}: budgets must be increasing shares in (0, 1], got {spec['budgets']}")
    law_paths = sorted(folder.glob(spec["laws"]), key=lambda p: (len(p.stem), p.stem))
    if not law_paths:
        raise InputError(f"{spec_path}: no law file matches {spec['laws']!r}")
    pool, targets = read_table(folder / spec["pool"]), read_table(folder / spec["targets"])
    laws = tuple(load_law(p) for p in law_paths)
    group = spec.get("group")
    for law in laws:
        for name, table in (("pool", pool), ("targets", targets)):
            check_table(table, law, [*law.inputs.values(), *law.outputs], folder / spec[name])
            if group and group not in table:
                raise InputError(f"{folder / spec[name]}: lacks column(s) {group} that law {law.name} needs")
    return PoolTask(name=folder.name, folder=folder, pool=pool, targets=targets, costs=run_costs(pool, spec["cost"], str(spec_path)),
                    target_costs=run_costs(targets, spec["cost"], str(folder / spec["targets"])),
                    group=group, budgets=budgets, laws=laws)
