"""The closed-form laws against the paper's table and against their own definitions."""

import numpy as np
import pytensor.tensor as pt
import pytest

from bayes_moe import laws

# docs/paper.md's table: r* at 1e17, 1e19, 1e21 FLOPs for the four sparsities.
PAPER_TABLE = {0.8235: (0.386, 0.833, 1.795), 0.9091: (0.374, 0.729, 1.422),
               0.9538: (0.405, 0.723, 1.291), 0.9767: (0.487, 0.804, 1.327)}


@pytest.mark.parametrize("sparsity, expected", PAPER_TABLE.items())
def test_paper_law_reproduces_the_papers_table(sparsity, expected):
    assert laws.paper_r_star([1e17, 1e19, 1e21], sparsity) == pytest.approx(expected, abs=1e-3)


def test_pivot_coefficients_describe_the_paper_law_at_the_pivot():
    c = laws.paper_pivot_coefficients()
    x = laws.centred_log_active(laws.PAPER_SPARSITIES)
    assert np.log(laws.paper_beta_r(laws.PAPER_SPARSITIES)) == pytest.approx(c["b0"] + c["b1"] * x)
    intercept = laws.paper_log_r_star(laws.PIVOT, laws.PAPER_SPARSITIES)
    assert np.abs(intercept - (c["a0"] + c["a1"] * x)).max() < 2 * c["alpha_resid_sd"]
    # converting raw alpha to the pivot gives the same r* at C0
    assert laws.pivoted_log_alpha(np.log(laws.paper_alpha_r(0.9)), laws.paper_beta_r(0.9)) == pytest.approx(
        laws.paper_log_r_star(laws.PIVOT, 0.9))


def test_penalty_is_zero_at_r_star_and_steeper_on_the_steep_side():
    d = np.array([-0.5, 0.0, 0.5])
    assert laws.penalty(d, 0.1, 0.1) == pytest.approx([0.025, 0.0, 0.025])
    assert laws.penalty(d, 0.1, 0.4) == pytest.approx([0.025, 0.0, 0.1])


def test_valley_flattens_with_compute_by_its_exponent():
    d = np.array([-0.5, 0.5])
    assert laws.valley(d, 1.0, 0.1, 0.4, 0.3) == pytest.approx(laws.penalty(d, 0.1, 0.4))  # at the pivot
    assert laws.valley(d, 100.0, 0.1, 0.4, 0.5) == pytest.approx(laws.penalty(d, 0.1, 0.4) / 10)
    assert laws.valley(d, 100.0, 0.1, 0.4) == pytest.approx(laws.penalty(d, 0.1, 0.4))


def test_building_blocks_evaluate_tensors_like_arrays():
    d, c = np.array([-0.7, 0.3]), np.array([0.1, 10.0])
    symbolic = laws.valley(pt.as_tensor(d), pt.as_tensor(c), 0.2, 0.5, 0.2) + laws.frontier(1.7, 1.1, 0.15, pt.as_tensor(c))
    assert symbolic.eval() == pytest.approx(laws.valley(d, c, 0.2, 0.5, 0.2) + laws.frontier(1.7, 1.1, 0.15, c))
    r = np.exp(d)
    symbolic = laws.two_term_loss(pt.as_tensor(r), pt.as_tensor(c), 1.7, 0.25, 0.4, 0.3, 0.15)
    assert symbolic.eval() == pytest.approx(laws.two_term_loss(r, c, 1.7, 0.25, 0.4, 0.3, 0.15))


def test_foc_r_star_minimises_the_two_term_loss():
    params = dict(A_A=0.25, A_E=0.4, p=0.3, q=0.15)
    r = np.geomspace(0.01, 100, 200001)
    for compute in (1e17, 1e19, 1e21):
        loss = laws.two_term_loss(r, compute / laws.PIVOT, 1.7, params["A_A"], params["A_E"], params["p"], params["q"])
        assert laws.foc_r_star(compute / laws.PIVOT, **params) == pytest.approx(r[loss.argmin()], rel=1e-3)


def test_foc_slope_is_the_derivative_of_log_r_star():
    params = dict(A_A=0.25, A_E=np.array([0.2, 0.4]), p=0.3, q=0.15)
    step = 1e-4
    slope = np.diff(np.log([laws.foc_r_star(np.exp(l), **params) for l in (-step, step)]), axis=0)[0] / (2 * step)
    assert laws.foc_slope(laws.foc_r_star(1.0, **params), 0.3, 0.15) == pytest.approx(slope, rel=1e-6)
    assert laws.foc_slope(1.0, 0.1, 0.3) < 0  # q > p: r* falls with compute


def test_foc_expert_weight_places_the_optimum():
    A_E = laws.foc_expert_weight(0.72, 0.25, 0.3, 0.15)
    assert laws.foc_r_star(1.0, 0.25, A_E, 0.3, 0.15) == pytest.approx(0.72)
