"""Active experimental design: which runs to do next to pin r* at the targets (docs/design.md).

``space``        the design space in BoTorch features, the FLOPs cost model, snapping to buildable runs
``ensemble``     posterior draws as a fully Bayesian BoTorch model (a Gaussian mixture over draws)
``acquisition``  targeted variance reduction of log r* and predictive variance, conditioned on pending runs
``strategies``   active, max-variance, sobol and grid behind one ``Strategy.propose`` interface
``proposals``    `bayes-moe next`: gates on the posterior, plans a batch, records it in the ledger
"""

from bayes_moe.design.acquisition import PredictiveVariance, TargetVarianceReduction
from bayes_moe.design.ensemble import EnsembleModel, PosteriorDraws
from bayes_moe.design.space import Candidate, DesignSpace, same_run
from bayes_moe.design.strategies import STRATEGIES, Strategy, make_strategy

__all__ = ["Candidate", "DesignSpace", "EnsembleModel", "PosteriorDraws", "PredictiveVariance", "STRATEGIES",
           "Strategy", "TargetVarianceReduction", "make_strategy", "same_run"]
