"""One list of names per concern: the CLI offers exactly what the library builds."""

import pytest

from bayes_moe.cli import _parser
from bayes_moe.design.strategies import STRATEGIES, make_strategy
from bayes_moe.executors import EXECUTORS, make_executor
from bayes_moe.cli.scalebench import CRITERION_NAMES
from bayes_moe.strategy_names import POOL_CRITERIA, STRATEGY_NAMES


def choices(command: str, dest: str) -> tuple:
    subcommands = next(a for a in _parser()._actions if a.dest == "command").choices
    return tuple(next(a for a in subcommands[command]._actions if a.dest == dest).choices)


def test_strategy_names_are_the_strategies_built():
    assert STRATEGY_NAMES == tuple(STRATEGIES)
    assert choices("campaign", "strategy") == choices("next", "strategy") == STRATEGY_NAMES


def test_executor_names_are_the_executors_built():
    assert choices("campaign", "executor") == choices("run", "executor") == EXECUTORS
    assert tuple(make_executor(name).name for name in EXECUTORS) == EXECUTORS


def test_pool_criteria_are_offered_and_named_alike():
    assert choices("pool-next", "criterion") == choices("benchmark-scalebench", "criterion") == POOL_CRITERIA
    assert tuple(CRITERION_NAMES) == POOL_CRITERIA


@pytest.mark.parametrize("name", ["sobol", "grid"])
def test_space_filling_strategies_take_their_seed_like_the_others(name):
    assert make_strategy(name, seed=5).seed == 5
