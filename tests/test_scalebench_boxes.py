"""Flat boxes as Gaussians of their centre and sd in the MAP search (laplace.fit's ``centred_boxes``): where the
runs do not determine a direction, the mode is the box's centre there, not wherever a random start left it."""

import json
import textwrap

import numpy as np
import pandas as pd
import pytest

from bayes_moe import laplace
from bayes_moe.cli import main
from bayes_moe.userlaw import load_law

LINE = textwrap.dedent('''
    from bayes_moe.userlaw import HalfNormal, Uniform

    inputs = {"x": "x"}
    output = "y"
    priors = {"a": Uniform(-10, 10), "b": Uniform(0, 4)}
    noise_sd = HalfNormal(0.05)

    def mean(x, a, b, xp):
        return a + b * x
''')


def line_law(tmp_path):
    path = tmp_path / "line.py"
    path.write_text(LINE)
    return load_law(path)


def modes(law, x, y, centred, seeds=range(6)):
    return np.array([laplace.fit(law, {"x": np.asarray(x, float)}, np.asarray(y, float), rng=np.random.default_rng(s),
                                 starts=2, n_draws=16, centred_boxes=centred).best for s in seeds])


def test_an_undetermined_direction_goes_to_the_box_centre_not_to_the_start(tmp_path):
    law = line_law(tmp_path)
    flat, centred = modes(law, [1.0], [3.0], False), modes(law, [1.0], [3.0], True)  # one run: only a + b = 3 is known
    assert np.allclose(flat.sum(axis=1), 3.0, atol=1e-3) and np.ptp(flat[:, 1]) > 0.5  # anywhere on the line
    # on a + b = 3, the point nearest the centre (0, 2) in the boxes' sds (20 and 4 over sqrt 12)
    var_a, var_b = 20.0 ** 2 / 12, 4.0 ** 2 / 12
    b = 2.0 + var_b / (var_a + var_b)
    assert np.allclose(centred, [3.0 - b, b], atol=2e-3)


def test_determined_parameters_are_the_datas_with_or_without_the_centre(tmp_path):
    law = line_law(tmp_path)
    x = np.linspace(0, 10, 20)
    y = 1.5 + 0.7 * x + 0.01 * np.random.default_rng(0).standard_normal(20)
    flat, centred = modes(law, x, y, False, [0]), modes(law, x, y, True, [0])
    assert np.allclose(flat, [1.5, 0.7], atol=0.02) and np.allclose(centred, flat, atol=2e-3)


def test_pool_next_centres_a_fit_of_fewer_runs_than_parameters(tmp_path, capsys):
    """pool-next fits as the benchmark does: one run for the line's two parameters leaves a + b = 3 open, and the
    prediction at x = 0 is a at the point of that line nearest the boxes' centre (the test above)."""
    (tmp_path / "line.py").write_text(LINE)
    pd.DataFrame({"x": [1.0, 2.0, 3.0], "y": [3.0, np.nan, np.nan]}).to_csv(tmp_path / "pool.csv", index=False)
    pd.DataFrame({"x": [0.0]}).to_csv(tmp_path / "targets.csv", index=False)
    code = main(["pool-next", "--law", str(tmp_path / "line.py"), "--pool", str(tmp_path / "pool.csv"),
                 "--targets", str(tmp_path / "targets.csv"), "--cost", "1", "--starts", "2", "--json"])
    assert code == 0
    var_a, var_b = 20.0 ** 2 / 12, 4.0 ** 2 / 12
    [target] = json.loads(capsys.readouterr().out)["targets"]
    assert target["predicted"] == pytest.approx(3.0 - (2.0 + var_b / (var_a + var_b)), abs=0.01)
