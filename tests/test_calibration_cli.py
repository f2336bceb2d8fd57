"""The calibration benchmark's command line and table (no fits: those are the benchmark's own runs)."""

import pytest

from bayes_moe.benchmarks import calibration


@pytest.mark.parametrize("argv", [["--first-seed", "-1"], ["--datasets", "0"]])
def test_bad_seed_range_is_one_line_and_exit_2(argv, capsys):
    with pytest.raises(SystemExit) as stopped:
        calibration.main(argv)
    assert stopped.value.code == 2
    assert "--first-seed >= 0" in capsys.readouterr().err


def test_table_names_the_seeds_and_leaves_out_per_data_set_lists():
    row = {"world": "two-term", "form": "power", "penalty": "asymmetric", "discrepancy": "hinges", "datasets": 2,
           "seeds": [20, 21], "unconverged": 0, "unconverged fits": {}, "median seconds per fit": 30.0,
           "coverage beyond (1e20)": 0.875, "covered per data set": {"beyond (1e20)": [4, 3]}}
    table = calibration._markdown([row], 2, 60.0, 50.0)
    assert "seeds 20-21" in table
    assert "| two-term | power/asymmetric/hinges | 0 | 30 | 88% |" in table
    assert "covered per data set" not in table
