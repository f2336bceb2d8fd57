"""The first design (design.pool.first_design_pick): cheap runs that vary every input, not the cheapest
runs alone when those share a value of some input."""

import numpy as np

from bayes_moe.design.pool import first_design_pick


def first_design(features, costs, n):
    chosen, tiebreak = [], np.arange(len(costs))
    for _ in range(n):
        left = [i for i in range(len(costs)) if i not in chosen]
        chosen.append(first_design_pick(features, costs, left, chosen, tiebreak))
    return chosen


def test_the_first_design_varies_every_input_at_little_more_than_the_cheapest_runs_cost():
    """Six runs at the smallest size (varying the learning rate only) are the cheapest; the first design
    of four takes the cheapest, then the cheapest with a new size, and so on, inputs in turn."""
    size = np.array([1, 1, 1, 1, 1, 1, 2, 2, 4, 8.0])
    lr = np.array([1, 2, 3, 4, 5, 6, 1, 2, 1, 1.0])
    costs = size * np.array([1, 1.1, 1.2, 1.3, 1.4, 1.5, 1, 1, 1, 1])
    chosen = first_design({"lr": lr, "size": size}, costs, 4)
    assert chosen == [0, 1, 6, 2]            # cheapest; a new lr; a new size; the fewest-seen input again
    assert len(set(size[chosen])) == 2 and len(set(lr[chosen])) == 3
    assert first_design({"lr": lr, "size": size}, costs, 6)[4] == 8  # size 4: the cheapest new size


def test_without_a_new_value_anywhere_the_first_design_takes_the_cheapest_in_tiebreak_order():
    features = {"x": np.ones(4)}
    costs = np.array([2.0, 1.0, 1.0, 3.0])
    assert first_design_pick(features, costs, [0, 1, 2, 3], [], np.array([0, 3, 2, 1])) == 2
    assert first_design_pick(features, costs, [0, 2, 3], [1], np.array([0, 3, 2, 1])) == 2
