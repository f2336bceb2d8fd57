"""The dense loss law: recovery of a known law, Chinchilla's published fit, CSV validation, the CLI.

All fits in this file share nutpie's compiled code (loss_law.fit's one cache key), so nutpie compiles once.
"""

import json
from pathlib import Path

import numpy as np
import pytest

from bayes_moe import loss_law
from bayes_moe.errors import InputError

CHINCHILLA_CSV = Path(__file__).parent / "data" / "epoch_chinchilla" / "chinchilla_runs.csv"
# Besiroglu et al. 2024 (arXiv:2404.10102), 240 points: estimate and 95% bootstrap interval.
EPOCH_FIT = {"E": (1.817, 1.769, 1.871), "A": (482.01, 285.2, 743.6), "alpha": (0.3478, 0.317, 0.373),
             "B": (2085.43, 1042.4, 5810.3), "beta": (0.3658, 0.331, 0.415)}
TRUTH = {"E": 2.0, "A": 300.0, "alpha": 0.30, "B": 1000.0, "beta": 0.32}  # not Chinchilla's values
SAMPLING = dict(draws=1000, tune=700, chains=2)  # real data: enough for the converged verdict (ESS >= 400)
# simulated data: every fit must pass the convergence gate (r-hat <= 1.01, bulk and tail ESS >= 400, no
# divergences). At 2 x 1000 draws all of 30 data sets (seeds 0-29) passed, with bulk ESS >= 594, tail ESS
# >= 575, r-hat <= 1.007 (the noise's sigma and nu mix slowest); at 2 x 500, 18 of 25 did.
COVERAGE_SAMPLING = dict(draws=1000, tune=500, chains=2)
COVERAGE_DATASETS = 10
# A calibrated model's 90% interval misses the truth in a data set with probability 0.1, independently
# across data sets: P(fewer than 5 of 10 covered) = P(Binomial(10, 0.9) <= 4) = 1.5e-4 per parameter,
# < 7.4e-4 for any of the five (union bound): the test fails a calibrated model less than 0.1% of the time.
MIN_COVERED = 5


def simulated_runs(seed) -> loss_law.Runs:
    """36 runs on a size x tokens-per-parameter grid with heavy-tailed (Student-t, 4 dof) 1% noise."""
    rng = np.random.default_rng(seed)
    n_params, tokens_per_param = np.meshgrid(np.logspace(7, 9.5, 6), [5, 10, 20, 40, 80, 160])
    n_params = n_params.ravel()
    tokens = n_params * tokens_per_param.ravel()
    noise = np.exp(0.01 * rng.standard_t(4, size=n_params.size))
    return loss_law.Runs(n_params=n_params, tokens=tokens, loss=loss_law.expected_loss(n_params, tokens, **TRUTH) * noise)


def write_runs(path, runs: loss_law.Runs) -> Path:
    lines = ["n_params,tokens,loss"] + [f"{n:.17g},{d:.17g},{y:.17g}" for n, d, y in
                                        zip(runs.n_params, runs.tokens, runs.loss)]
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture(scope="module")
def simulated_fits():
    """90% summaries of 10 independent simulated data sets (one compile; 2-4 s a fit after it)."""
    return [loss_law.summarise(loss_law.fit(simulated_runs(seed), seed=seed, **COVERAGE_SAMPLING), prob=0.9)
            for seed in range(COVERAGE_DATASETS)]


@pytest.fixture(scope="module")
def simulated_fit(simulated_fits):
    return simulated_fits[0]


@pytest.fixture(scope="module")
def chinchilla_runs():
    return loss_law.read_runs(CHINCHILLA_CSV)


@pytest.fixture(scope="module")
def chinchilla_fit(chinchilla_runs):
    runs = chinchilla_runs
    keep = runs.loss < np.sort(runs.loss)[-5]  # Epoch's selection: drop the 5 highest losses -> 240 runs
    runs = loss_law.Runs(runs.n_params[keep], runs.tokens[keep], runs.loss[keep])
    assert len(runs) == 240
    return loss_law.summarise(loss_law.fit(runs, seed=2, **SAMPLING), prob=0.9)


# --- statistics -------------------------------------------------------------------------------------


@pytest.mark.slow
def test_90_percent_intervals_cover_the_known_law(simulated_fits):
    """Calibration, not one lucky data set: each parameter's truth lies in its 90% interval in at least
    MIN_COVERED of 10 data sets, and every fit passed the convergence gate."""
    for name, true_value in TRUTH.items():
        covered = [fit[name]["lower"] < true_value < fit[name]["upper"] for fit in simulated_fits]
        assert sum(covered) >= MIN_COVERED, (name, covered)
    for fit in simulated_fits:
        assert fit["diagnostics"]["converged"], fit["diagnostics"]


@pytest.mark.slow
def test_intervals_are_informative(simulated_fits):
    """Covering the truth means something only if the data narrowed the priors: their 90% intervals are
    about 5.7 wide for E (HalfNormal(3)) and 1.1 for alpha and beta (Gamma(2, 4)): 10x wider than these."""
    for fit in simulated_fits:
        assert fit["E"]["upper"] - fit["E"]["lower"] < 0.57, fit["E"]
        for name in ("alpha", "beta"):
            assert fit[name]["upper"] - fit[name]["lower"] < 0.11, (name, fit[name])


@pytest.mark.slow
def test_reproduces_besiroglu_chinchilla_fit(chinchilla_fit):
    assert chinchilla_fit["diagnostics"]["converged"], chinchilla_fit["diagnostics"]
    for name, (estimate, low95, high95) in EPOCH_FIT.items():
        ours = chinchilla_fit[name]
        assert ours["lower"] < estimate < ours["upper"], (name, estimate, ours)  # their estimate in our 90%
        assert low95 < ours["median"] < high95, (name, ours["median"], low95, high95)  # ours in their 95%
    # the well-determined parameters agree closely, not only within wide intervals
    for name, tolerance in (("E", 0.02), ("alpha", 0.03), ("beta", 0.03)):
        assert chinchilla_fit[name]["median"] == pytest.approx(EPOCH_FIT[name][0], rel=tolerance)


@pytest.mark.slow
def test_student_t_needs_no_outlier_removal(chinchilla_runs):
    """With all 245 points (the 5 Epoch dropped included) the fit still lands in Epoch's 95% intervals."""
    fit = loss_law.summarise(loss_law.fit(chinchilla_runs, seed=3, **SAMPLING), prob=0.9)
    for name, (_, low95, high95) in EPOCH_FIT.items():
        assert low95 < fit[name]["median"] < high95, (name, fit[name], low95, high95)


@pytest.mark.parametrize("prob", [0.0, 1.0, 1.5])
def test_interval_probability_must_be_inside_0_1(prob):
    with pytest.raises(InputError, match=f"--prob {prob}"):
        loss_law.check_prob(prob)


# --- reading ----------------------------------------------------------------------------------------

GOOD_ROWS = ["1e8,2e9,3.1", "2e8,4e9,2.9", "4e8,8e9,2.7", "8e8,1.6e10,2.6", "1.6e9,3.2e10,2.5"]


def read_text(tmp_path, text):
    path = tmp_path / "runs.csv"
    path.write_text(text)
    return loss_law.read_runs(path)


def test_reads_required_columns_and_ignores_others(tmp_path):
    runs = read_text(tmp_path, "label,loss,tokens,n_params\n" +
                     "\n".join(f"run{i},{row.split(',')[2]},{row.split(',')[1]},{row.split(',')[0]}"
                               for i, row in enumerate(GOOD_ROWS)) + "\n")
    np.testing.assert_allclose(runs.n_params, [1e8, 2e8, 4e8, 8e8, 1.6e9])
    np.testing.assert_allclose(runs.loss, [3.1, 2.9, 2.7, 2.6, 2.5])


def test_chinchilla_file_has_all_extracted_points(chinchilla_runs):
    runs = chinchilla_runs
    assert len(runs) == 245
    assert runs.loss.min() == pytest.approx(2.077, abs=1e-3) and runs.loss.max() == pytest.approx(5.006, abs=1e-3)


@pytest.mark.parametrize("text, message", [
    ("", r"runs\.csv: empty file"),
    ("n_params,loss\n1e8,3.0\n", r"runs\.csv: missing column\(s\) tokens"),
    ("n_params,tokens,loss\n1e8,2e9,3.1\n2e8,abc,2.9\n", r"runs\.csv line 3 \(data row 2\), column 'tokens': 'abc' is not a number"),
    ("n_params,tokens,loss\n-1e8,2e9,3.1\n", r"line 2 \(data row 1\), column 'n_params': '-1e8' must be a positive"),
    ("n_params,tokens,loss\n1e8,2e9,3.1\n2e8,4e9,nan\n", r"line 3 \(data row 2\), column 'loss': 'nan' must be a positive finite"),
    ("n_params,tokens,loss\n1e8,2e9,inf\n", r"column 'loss': 'inf' must be a positive finite"),
    ("n_params,tokens,loss\n1e8,2e9,0\n", r"column 'loss': '0' must be a positive"),
    ("n_params,tokens,loss\n1e8,2e9\n", r"line 2 \(data row 1\), column 'loss': missing value"),
    ("n_params,tokens,loss\n1e8,2e9,3.1\n", r"1 data row\(s\).*at least 5 runs"),
])
def test_bad_csv_names_file_row_column_and_value(tmp_path, text, message):
    with pytest.raises(InputError, match=message):
        read_text(tmp_path, text)


def test_missing_file_is_input_error(tmp_path):
    with pytest.raises(InputError, match=r"nope\.csv: cannot read"):
        loss_law.read_runs(tmp_path / "nope.csv")


# --- CLI --------------------------------------------------------------------------------------------


@pytest.mark.slow
def test_cli_json_shape(tmp_path, run_cli, simulated_fit):  # after simulated_fit: the model is compiled
    path = write_runs(tmp_path / "runs.csv", simulated_runs(0))
    same_fit = [f"--{name}={value}" for name, value in COVERAGE_SAMPLING.items()]
    code, out, _ = run_cli("loss-law", path, "--json", *same_fit, "--seed", "0", "--prob", "0.8")
    assert code == 0
    payload = json.loads(out)
    required = {"E", "A", "alpha", "B", "beta", "diagnostics", "n_runs", "prob"}
    assert required <= set(payload)
    assert set(payload) - required == ({"warning"} if not payload["diagnostics"]["converged"] else set())
    for name in loss_law.LAW_PARAMETERS:
        assert set(payload[name]) == {"median", "lower", "upper"}
        assert payload[name]["lower"] < payload[name]["median"] < payload[name]["upper"]
        # an 80% interval sits inside the 90% one from the same data and seed
        assert simulated_fit[name]["lower"] < payload[name]["lower"] < payload[name]["upper"] < simulated_fit[name]["upper"]
    assert payload["n_runs"] == 36 and payload["prob"] == 0.8
    assert set(payload["diagnostics"]) == {"max_rhat", "min_ess_bulk", "min_ess_tail", "divergences", "converged"}


@pytest.mark.slow
def test_cli_warns_when_unconverged(tmp_path, run_cli, simulated_fit):
    path = write_runs(tmp_path / "runs.csv", simulated_runs(0))
    too_short = ["--draws", "30", "--tune", "30", "--chains", "2"]
    code, out, err = run_cli("loss-law", path, "--json", *too_short)
    assert code == 0 and json.loads(out)["warning"].startswith("not converged")
    assert "warning: not converged" in err
    code, out, err = run_cli("loss-law", path, *too_short)  # the text table
    assert code == 0 and out.splitlines()[1].split() == ["parameter", "median", "lower", "upper"]
    assert [line.split()[0] for line in out.splitlines()[2:7]] == list(loss_law.LAW_PARAMETERS)
    assert "warning: not converged" in err


def test_cli_bad_input_exits_2(tmp_path, run_cli):
    path = tmp_path / "runs.csv"
    path.write_text("n_params,tokens\n1e8,2e9\n")
    code, _, err = run_cli("loss-law", path, "--json")
    assert code == 2 and "missing column(s) loss" in err
