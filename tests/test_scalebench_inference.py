"""bayes_moe.benchmarks.scalebench_inference: the inferences compared on the same runs, on the tiny task."""

import json

from bayes_moe.benchmarks import scalebench_inference
from test_scalebench import make_task  # the tiny power-law task


def test_each_inference_asked_is_scored_on_the_same_runs(tmp_path, capsys):
    folder = make_task(tmp_path / "tiny")
    scalebench_inference.main(["--tasks", str(folder), "--laws", "1", "--seeds", "1", "--draws", "200",
                               "--methods", "laplace", "smc"])
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["inference"] for r in rows] == ["laplace", "smc"]
    assert all(r["task"] == "tiny" and r["budget"] == 0.3 and r["wall_s"] > 0 for r in rows)
    laplace, smc = rows
    # the law is the truth here: the MAP and SMC's posterior median extrapolate 2-10x beyond the runs, and both
    # one's intervals and the other's draws hold the targets
    assert laplace["r2"] > 0.7 and laplace["coverage90"] >= 0.8
    assert smc["r2"] > 0.5 and smc["coverage90"] >= 0.8
