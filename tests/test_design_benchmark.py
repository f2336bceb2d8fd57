"""The design benchmark's bookkeeping: compute-to-width read off trajectories, the summary against
the grid, the written table; bad settings named. (The campaigns themselves run in make bench-design.)"""

import json

import pytest

from bayes_moe.benchmarks.design import Outcome, Settings, load, main, run_campaign, summarise, write
from bayes_moe.errors import InputError


def outcome(strategy, seed, trajectory):
    runs, compute, width, covered = trajectory[-1]
    return Outcome("paper", strategy, seed, width <= 0.3, compute, runs, len(trajectory), width, covered, 1.0,
                   tuple(trajectory))


OUTCOMES = [
    outcome("active", 0, [(8, 1e19, 2.0, 1.0), (16, 4e19, 0.9, 1.0), (24, 1e20, 0.25, 0.75)]),
    outcome("active", 1, [(8, 1e19, 2.0, 1.0), (16, 6e19, 0.6, 1.0)]),
    outcome("grid", 0, [(8, 1e18, 3.0, 1.0), (16, 1e21, 0.95, 1.0)]),
    outcome("grid", 1, [(8, 1e18, 3.0, 1.0), (16, 2e21, 0.8, 1.0)]),
]


def test_compute_to_width_is_the_first_round_at_or_below_it():
    assert OUTCOMES[0].first_within(1.0) == (16, 4e19, 1.0)  # (runs, compute, covered)
    assert OUTCOMES[0].first_within(0.4) == (24, 1e20, 0.75)
    assert OUTCOMES[1].first_within(0.4) is None


def test_summary_compares_compute_to_width_with_the_grid():
    active, grid = summarise(OUTCOMES)
    assert (active["campaigns"], active["reached"], grid["reached"]) == (2, 1, 0)
    assert active["compute_to_1"] == 5e19 and grid["compute_to_1"] == 1.5e21
    assert active["vs_grid_1"] == pytest.approx(5e19 / 1.5e21)
    assert active["compute_to_0.4"] is None  # the median campaign never got there
    assert (active["got_to_0.4"], active["coverage_at_0.4"]) == (1, 0.75)  # the one that did covered 3 of 4
    assert active["runs_to_1"] == 16 and active["coverage_at_1"] == 1.0
    assert active["coverage"] == pytest.approx(0.875)


def test_results_are_written_as_strict_json_and_a_table(tmp_path):
    json_path, md_path = write(OUTCOMES, Settings(seeds=2), tmp_path, 12.0)
    payload = json.loads(json_path.read_text())
    assert len(payload["campaigns"]) == 4 and payload["summary"][0]["strategy"] == "active"
    table = md_path.read_text()
    assert "| paper | active | 1 / 2 |" in table and "not reached [1/2]" in table
    assert "5e+19 (0.03), 16, 100% [2/2]" in table  # to ±100%: compute (vs grid), runs, coverage [got there]
    assert "| 88% | power | 0 / 2 |" in table  # the law every fit assumed; no final fit known to converge
    assert "| paper | active | 0 | 0.250 | 1e+20 | 24 | 75% | 75% |" in table  # each campaign, its lowest coverage
    assert load(json_path) == OUTCOMES


def test_tables_are_printed_again_from_the_json(tmp_path, capsys):
    json_path, md_path = write(OUTCOMES, Settings(seeds=2), tmp_path, 12.0)
    main([str(json_path)])
    assert capsys.readouterr().out == md_path.read_text()


def test_result_files_are_pooled_into_one_table(tmp_path, capsys):
    """Strategies run separately (here with different run caps) are compared in one table."""
    active_json, _ = write(OUTCOMES[:2], Settings(seeds=2, strategies=("active",), max_runs=72), tmp_path / "a", 60.0)
    grid_json, _ = write(OUTCOMES[2:], Settings(seeds=2, strategies=("grid",)), tmp_path / "g", 60.0)
    main([str(active_json), str(grid_json)])
    table = capsys.readouterr().out
    assert "/ 72/120 runs" in table and '"strategies": ["active", "grid"]' in table and "Wall time 2.0 min" in table
    assert "5e+19 (0.03), 16, 100% [2/2]" in table  # active's compute to ±100% against the grid's


def test_a_real_campaign_is_written_as_json(tmp_path):
    """One short simulated campaign end to end, the law chosen by LOO each fit: its numbers (numpy's,
    from the fits) serialise, each fit reports its standing, and the table names the law kept."""
    settings = Settings(worlds=("paper",), strategies=("sobol",), seeds=1, initial=8, max_runs=8, draws=100,
                        form="auto")
    lines = []
    result = run_campaign("paper", "sobol", 0, settings, progress=lines.append)
    assert result.runs == 8 and len(result.trajectory) == 1 and 0 <= result.covered <= 1
    assert result.forms[0] in ("power", "two-term") and len(result.forms) == len(result.trajectory)
    assert result.converged is False  # 2 chains x 100 draws
    assert len(lines) == 1 and lines[0].startswith("paper sobol seed 0: 8 runs") and result.forms[0] in lines[0]
    json_path, md_path = write([result], settings, tmp_path, 1.0)
    assert load(json_path) == [result]
    assert f"| {result.forms[0]} 1/1 |" in md_path.read_text()


@pytest.mark.parametrize("settings, message", [
    (dict(worlds=("moon",)), "unknown world 'moon'"),
    (dict(strategies=("best",)), "unknown strategy 'best'"),
    (dict(seeds=0), "seeds must be >= 1, got 0"),
    (dict(form="wavy"), "unknown form 'wavy'"),
    (dict(discrepancy="wiggles"), "unknown discrepancy 'wiggles'"),
    (dict(frontier="wavy"), "unknown frontier 'wavy'"),
])
def test_bad_settings_are_named(settings, message):
    with pytest.raises(InputError, match=message):
        Settings(**settings)


def test_every_fit_gets_the_discrepancy_and_the_table_names_it(tmp_path, monkeypatch):
    """The campaign's fits are the hinged model's when asked (model.fit is stopped at its first call,
    having recorded what it was asked for), and the table says so."""
    from bayes_moe.benchmarks import design

    class Stopped(Exception):
        pass

    asked = {}

    def fit(dataset, **options):
        asked.update(options, runs=dataset.sizes["run"])
        raise Stopped

    monkeypatch.setattr(design.model, "fit", fit)
    settings = Settings(worlds=("bending",), strategies=("sobol",), seeds=1, initial=4, discrepancy="hinges",
                        frontier="flexible")
    with pytest.raises(Stopped):
        run_campaign("bending", "sobol", 0, settings)
    assert (asked["discrepancy"], asked["form"], asked["frontier"], asked["runs"]) == ("hinges", "power", "flexible", 4)
    _, md_path = write(OUTCOMES, settings, tmp_path, 1.0)
    assert ", frontier flexible, discrepancy hinges." in md_path.read_text()
    _, md_path = write(OUTCOMES, Settings(seeds=2, discrepancy="none"), tmp_path, 1.0)
    assert ", discrepancy none." in md_path.read_text()
