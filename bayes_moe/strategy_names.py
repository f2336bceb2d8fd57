"""The names of the design strategies and of the pool selection's criteria, in a module light enough for the
CLI's ``--help`` to offer them without importing BoTorch (bayes_moe/design/strategies.py builds the strategies;
a test checks the lists agree; bayes_moe/design/pool.py reads the criteria from here)."""

from __future__ import annotations

STRATEGY_NAMES = ("active", "max-variance", "sobol", "grid")
DEFAULT_STRATEGY = "active"
POOL_CRITERIA = ("variance", "information")  # a pool row's value: variance reduction at the targets, or nats
