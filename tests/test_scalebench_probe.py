"""experiments/scalebench/probe_run_choice.py: where the active strategy's runs come from, on the tiny task."""

import json

import pytest

from conftest import scalebench_probes
from test_scalebench import make_task  # the tiny power-law task


@pytest.fixture(scope="module")
def probe():
    with scalebench_probes("probe_run_choice") as modules:
        yield modules["probe_run_choice"]


def test_settings_overrides_take_their_fields_types(probe):
    settings = probe.settings_from(["first_design=0", "restarts=8", "polish=0"])
    assert (settings.first_design, settings.restarts, settings.polish) == (0.0, 8, False)
    with pytest.raises(AttributeError):
        probe.settings_from(["no_such_setting=1"])
    with pytest.raises(SystemExit) as exit_code:
        probe.main(["lr_bsz", "0.01", "restarts=many"])
    assert exit_code.value.code == 2


def test_probe_splits_the_runs_into_first_design_and_selection(probe, tmp_path, capsys):
    folder = make_task(tmp_path / "tiny")
    assert probe.main([str(folder), "0.3", "--seeds", "1", "starts=4"]) == 0
    campaign = json.loads(capsys.readouterr().out)["forms"]["power"]["campaigns"][0]
    # 3 parameters: the first design takes the cheapest run and one more (half as many observations as
    # parameters), the selection the rest, dearer runs near the targets; 30 runs' worth of budget fits the law
    assert campaign["first"] == 2 and campaign["first_cheapest"] == 1
    assert campaign["selected"] >= 1 and campaign["selected_cheapest"] == 0 and campaign["r2"] > 0.8
    # a selection step buys at least one run: at most as many steps as runs bought, each with the fit's
    # nonlinearity at the targets and at its runs
    assert 1 <= len(campaign["nonlinearity"]) <= campaign["selected"]
    assert all(len(step) == 2 and min(step) > 0 for step in campaign["nonlinearity"])
    assert probe.main([str(folder), "0.3", "--seeds", "1", "starts=4", "first_design=0", "--ratio-only"]) == 0
    assert json.loads(capsys.readouterr().out)["forms"]["power"]["campaigns"][0]["first"] == 1
