"""The names of the design strategies, of the pool selection's criteria and of the Laplace fit's rules, in a
module light enough for the CLI's ``--help`` to offer them without importing BoTorch or SciPy
(bayes_moe/design/strategies.py builds the strategies; a test checks the lists agree; bayes_moe/design/pool.py
reads the criteria from here, bayes_moe/laplace.py the rules, bayes_moe/discrepancy.py where predictions add the
discrepancy's mean)."""

from __future__ import annotations

STRATEGY_NAMES = ("active", "max-variance", "sobol", "grid")
DEFAULT_STRATEGY = "active"
POOL_CRITERIA = ("variance", "information")  # a pool row's value: variance reduction at the targets, or nats
# the Laplace fit's rules, each tuple's first the default: where flat boxes enter the MAP search centred, and where
# the selection's posterior draws go through the law
BOXES = ("centred-underdetermined", "flat", "centred")
DESIGN_DRAWS = ("partly-determined", "linearized", "underdetermined", "through-law")
# where a prediction adds the law's discrepancy's posterior mean: where its prior sd was learnt from the residuals
# (the default), always, never
DISCREPANCY_MEANS = ("learnt", "always", "none")
