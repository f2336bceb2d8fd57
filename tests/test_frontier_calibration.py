"""The calibration table pooled from the frontier benchmark's records (no fits: records written here)."""

import json

import pytest

from bayes_moe.benchmarks import frontier_calibration
from bayes_moe.benchmarks.calibration import QUERIES

WORLD = "World(law='bending', seed={}, noise=0.01)"


def fit(hits, errors, width=0.2, converged=True):
    """A fit as the frontier benchmark records it: the same scores at every query."""
    scores = {"hit": hits, "half-width": [width] * 4, "error": errors}
    return {"r_star": {query: scores for query in QUERIES}, "converged": converged, "cpu seconds": 10.0,
            "max_rhat": 1.004, "min_ess_bulk": 900.0, "min_ess_tail": 800.0, "divergences": 0}


def write(folder, name, first_seed, results, world=WORLD, **design):
    datasets = len(next(iter(results.values())))
    record = {"world": world.format(first_seed), "datasets": datasets, "first_seed": first_seed, "results": results,
              **design}
    (folder / f"{name}.json").write_text(json.dumps(record))


@pytest.fixture
def records(tmp_path, monkeypatch):
    """Two records of one world, seeds 0-1 and 2: the flexible frontier named as 6a062a0's record named it in
    the first; its errors 0.1 where the power frontier's are 0.2 (data sets 0, 1) and 0.3 (data set 2)."""
    monkeypatch.chdir(tmp_path)
    folder = tmp_path / frontier_calibration.RESULTS
    folder.mkdir(parents=True)
    write(folder, "first", 0, {"power": [fit([True] * 4, [0.2] * 4), fit([True, False] * 2, [-0.2] * 4)],
                               "flexible-valley": [fit([True] * 4, [0.1] * 4, 0.1), fit([True] * 4, [0.1] * 4, 0.1)]})
    write(folder, "second", 2, {"power": [fit([True] * 4, [0.3] * 4, converged=False)],
                                "flexible": [fit([False] * 4, [-0.1] * 4, 0.1)]})
    return folder


def test_pools_the_records_and_compares_on_the_same_data_sets(records):
    frontier_calibration.main(["--name", "pooled", "bending=first,second"])
    table = json.loads((records / "pooled.json").read_text())["worlds"]["bending"]
    assert table["seeds"] == [0, 1, 2]
    power, flexible = table["frontiers"]["power"], table["frontiers"]["flexible"]  # "flexible-valley" pooled in
    assert power["datasets"] == flexible["datasets"] == 3 and power["unconverged"] == 1
    beyond = flexible["queries"]["beyond (1e20)"]
    assert beyond["coverage"] == pytest.approx(8 / 12) and beyond["all covered"] == 2
    assert beyond["half-width ratio"] == pytest.approx(0.5)
    # per data set |error| less power's: -0.1, -0.1, -0.2
    assert beyond["error difference"] == pytest.approx(-0.4 / 3)
    assert beyond["error difference se"] == pytest.approx(0.0577 / 3**0.5, rel=1e-2)
    assert "| bending | flexible | 0.50 / 0.50 / 0.50 | -13.3 +- 3.3 / " in (records / "pooled.md").read_text()


@pytest.mark.parametrize("spec, problem", [("bending=first,first", "a data set's seed in two of them"),
                                           ("bending=first,other", "simulates"),
                                           ("bending=first,fewer", "at computes [1e+17, 1e+19]"),
                                           ("bending=first,missing", "no such record"),
                                           ("bending", "give WORLD=RECORD")])
def test_records_that_cannot_be_pooled_are_one_line_and_exit_2(records, spec, problem, capsys):
    write(records, "other", 5, {"power": [fit([True] * 4, [0.1] * 4)]}, world="World(law='paper', seed={})")
    write(records, "fewer", 6, {"power": [fit([True] * 4, [0.1] * 4)]}, computes=[1e17, 1e19])
    with pytest.raises(SystemExit) as stopped:
        frontier_calibration.main(["--name", "pooled", spec])
    assert stopped.value.code == 2
    assert problem in capsys.readouterr().err
    assert not (records / "pooled.json").exists()
