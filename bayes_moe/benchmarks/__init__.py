"""Benchmark scripts (not tests): ``python -m bayes_moe.benchmarks.fit_speed`` and ``.calibration``.
Each writes its numbers as JSON and a Markdown table under experiments/benchmarks/."""

import json
from pathlib import Path

RESULTS = Path("experiments/benchmarks")


def write_results(name: str, payload: dict, markdown: str) -> None:
    """``experiments/benchmarks/<name>.json`` and ``.md``; the Markdown is printed too."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"{name}.json").write_text(json.dumps(payload, indent=2) + "\n")
    (RESULTS / f"{name}.md").write_text(markdown + "\n")
    print(markdown)
