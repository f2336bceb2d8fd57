"""docs/scalebench.md's `pool-next` example prints what the command prints: its picks and predictions."""

import re
from pathlib import Path

import pandas as pd

from bayes_moe.cli import main

ROOT = Path(__file__).resolve().parents[1]


def documented_output() -> list[str]:
    """The example's output lines in docs/scalebench.md, from the fit's line to the first blank one."""
    text = (ROOT / "docs" / "scalebench.md").read_text()
    block = text[text.index("    law sl_1 fitted to 12 runs"):]
    return [line[4:] for line in block[:block.index("\n\n")].splitlines()]


def test_the_documented_example_prints_the_documented_picks(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(ROOT)
    pool = pd.read_csv("experiments/scalebench/moe/pool.csv")  # the example's own pandas line
    pool.loc[(pool.dense_parameter_count * pool.num_experts).rank(method="first") > 12, "loss_validation"] = None
    pool.to_csv(tmp_path / "my_pool.csv", index=False)
    main(["pool-next", "--law", "experiments/scalebench/moe/laws/sl_1.py", "--pool", str(tmp_path / "my_pool.csv"),
          "--targets", "experiments/scalebench/moe/targets.csv", "--cost", "dense_parameter_count * num_experts",
          "--budget", "3e10", "--batch", "4"])
    printed = capsys.readouterr().out.splitlines()
    documented = documented_output()
    assert printed[:2] == documented[:2]  # the fit's line and the header

    def row_and_prediction(line):  # the row, its inputs and cost, and the prediction; not the intervals' last digits
        return re.split(r"\s+", line.strip())[:5]
    assert [row_and_prediction(line) for line in printed[2:len(documented)]] == \
        [row_and_prediction(line) for line in documented[2:]]
