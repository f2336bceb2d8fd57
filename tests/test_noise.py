"""Seed noise from replicates (model._likelihood): runs at one (r, C, S) that differ only by seed measure
the seed noise alone, so what the surface misses at a cell (misfit) is not read as seed noise. The
recovery fit is in test_model.py, which compiles the default structure it needs."""

import numpy as np
import pytest
from scipy import stats

from bayes_moe import model


def test_replicates_share_a_cell_in_run_order():
    cells = model.replicate_cells(np.log([1.0, 2.0, 1.0, 1.0, 2.0]), np.zeros(5), np.array([0, 0, 0, 1, 0]))
    # run 3 (index) is at another level: a cell of its own; runs 2 and 4 follow their cells' first runs
    np.testing.assert_array_equal(cells["cell_position"] - cells["cell_start"], [0, 0, 1, 0, 1])
    np.testing.assert_array_equal(cells["cell_order"][cells["cell_position"]], np.arange(5))


def test_a_cells_conditionals_multiply_to_its_joint_normal_density():
    """Seed variance on the diagonal, the misfit's shared by the cell's runs: the chain of conditionals
    the likelihood uses is that joint density, and a lone run's is the plain N(0, sigma)."""
    sigma, share = 0.03, 0.3
    cells_of = np.array([0, 1, 0, 2, 0, 1])  # a cell of three runs, one of two, one lone run
    residual = np.array([0.02, -0.01, 0.035, 0.004, 0.01, -0.03])
    cells = model.replicate_cells(cells_of.astype(float), np.zeros(6), np.zeros(6, int))
    shift, scale = model.replicate_conditionals(residual, sigma, share, cells, np)
    chain = stats.norm.logpdf(residual, shift, scale).sum()
    joint = 0.0
    for cell in np.unique(cells_of):
        members = residual[cells_of == cell]
        n = members.size
        covariance = sigma**2 * (share * np.eye(n) + (1 - share) * np.ones((n, n)))
        joint += stats.multivariate_normal(np.zeros(n), covariance).logpdf(members)
    assert chain == pytest.approx(joint, rel=1e-10)
    assert shift[3] == 0.0 and scale[3] == pytest.approx(sigma)  # the lone run
