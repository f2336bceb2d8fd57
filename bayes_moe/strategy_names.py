"""The names of the design strategies, in a module light enough for the CLI's ``--help`` to offer them
without importing BoTorch (bayes_moe/design/strategies.py builds them; a test checks the lists agree)."""

from __future__ import annotations

STRATEGY_NAMES = ("active", "max-variance", "sobol", "grid")
DEFAULT_STRATEGY = "active"
