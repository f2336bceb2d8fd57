"""sampling.approximate: ADVI and SMC draws from a model whose posterior is known (a Normal mean)."""

import numpy as np
import pymc as pm
import pytest

from bayes_moe import sampling
from bayes_moe.errors import InputError


def normal_mean_model(y):
    with pm.Model() as model:
        mu = pm.Normal("mu", 0.0, 10.0)
        pm.Normal("observed", mu, 1.0, observed=y)
    return model


@pytest.mark.parametrize("method", ["advi", "smc"])
def test_approximate_draws_the_known_posterior(method):
    y = np.random.default_rng(0).normal(3.0, 1.0, 25)
    precision = len(y) + 1 / 100  # the conjugate posterior: mean sum(y) / precision, sd 1 / sqrt(precision)
    idata = sampling.approximate(normal_mean_model(y), method=method, draws=400, seed=1, steps=5000)
    draws = idata.posterior["mu"].values.ravel()
    assert draws.size == (400 if method == "advi" else 800)
    assert abs(draws.mean() - y.sum() / precision) < 0.05
    assert draws.std() == pytest.approx(1 / np.sqrt(precision), rel=0.25)


def test_an_unknown_approximation_is_named():
    with pytest.raises(InputError, match="approximation 'laplace'"):
        sampling.approximate(normal_mean_model(np.zeros(3)), method="laplace")
    with pytest.raises(InputError, match="need draws"):
        sampling.approximate(normal_mean_model(np.zeros(3)), method="smc", draws=0)
