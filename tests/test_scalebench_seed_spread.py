"""experiments/scalebench/seed_spread.py: the R^2 of a benchmark's log per budget and strategy, its standard error
over the seeds and the first three seeds' mean, and which campaigns a rerun repeated exactly."""

import json
from pathlib import Path

from conftest import scalebench_probes


def _log(path: Path, r2: dict) -> Path:
    """A --log file of one task, one budget, the active strategy: ``r2[(law, seed)]``."""
    path.write_text("".join(json.dumps({"task": "toy", "law": law, "strategy": "active", "seed": seed,
                                        "results": [{"budget": 0.01, "r2": value, "coverage90": 0.9,
                                                     "wall_s": 1.0, "cpu_s": 1.0}]}) + "\n"
                            for (law, seed), value in r2.items()))
    return path


def test_seed_spread_reports_the_mean_its_standard_error_and_the_repeats(tmp_path):
    with scalebench_probes("seed_spread") as modules:
        seed_spread = modules["seed_spread"]
    r2 = {(law, seed): seed / 10 + (0.2 if law == "sl_2" else 0.0) for law in ("sl_1", "sl_2") for seed in range(4)}
    (tmp_path / "ref").mkdir()
    _log(tmp_path / "ref" / "toy.jsonl", {**{k: v for k, v in r2.items() if k[1] < 3}, ("sl_1", 0): 0.5})
    [_, _, row] = seed_spread.spread([_log(tmp_path / "toy.jsonl", r2)], tmp_path / "ref")
    cells = [cell.strip() for cell in row.strip("|").split("|")]
    # per seed the forms' mean is seed/10 + 0.1: mean 0.25, sd 0.129 over 4 seeds, se 0.065; seeds 0-2: 0.2
    assert cells == ["toy", "0.01", "active", "4", "0.250", "0.065", "0.200", "0.90", "5 / 6"]


def test_seed_spread_differences_a_variant_against_another_paired_by_form_and_seed(tmp_path):
    with scalebench_probes("seed_spread") as modules:
        seed_spread = modules["seed_spread"]
    base = {(law, seed): seed / 10 for law in ("sl_1", "sl_2") for seed in range(3)}
    _log(tmp_path / "base_toy.jsonl", base)
    # sl_1 gains 0.1 in every seed, sl_2 gains 0.1 x seed: each seed's mean gain 0.05 + 0.05 x seed
    variant = {(law, seed): r2 + (0.1 if law == "sl_1" else 0.1 * seed) for (law, seed), r2 in base.items()}
    [header, _, row] = seed_spread.spread([_log(tmp_path / "info_toy.jsonl", variant)], None, paired="base")
    assert header.endswith("against base (se) |")
    assert row.endswith("| +0.100 (0.029) |")  # gains 0.05, 0.10, 0.15: sd 0.05, se 0.029


def test_seed_spread_of_fresh_seeds_has_no_first_three_to_show(tmp_path):
    with scalebench_probes("seed_spread") as modules:
        seed_spread = modules["seed_spread"]
    fresh = {(law, seed): seed / 100 for law in ("sl_1", "sl_2") for seed in range(10, 14)}  # seeds 10-13
    [_, _, row] = seed_spread.spread([_log(tmp_path / "toy.jsonl", fresh)], None)
    cells = [cell.strip() for cell in row.strip("|").split("|")]
    assert cells[3:7] == ["4", "0.115", "0.006", "-"]  # mean 0.115, se 0.013 / 2; no seed 0-2 to average
