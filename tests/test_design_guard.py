"""The acquisition strategies' guard: picks kept near the top of the affordable compute.

The hand-built posterior is unsure only of log r*'s level, the same at every compute, so a run at
1e17 FLOPs teaches as much about the targets as one at 1e20 and the criterion per FLOP buys the
cheapest runs; the guard keeps the first picks of a batch within half a decade of the largest run
allowed (budget included), each at a target sparsity with the fewest runs there so far and, within its level, in
the window below the top (guard_strata: down a half decade, down a decade and a half) with the fewest of its runs,
the rest as before.
"""

import math

import numpy as np
import pytest

from bayes_moe.config import Campaign, dump_campaign, load_campaign
from bayes_moe.design import DesignSpace, EnsembleModel, PosteriorDraws, make_strategy
from bayes_moe.design.strategies import TOP_DECADES, TOP_STRATA, guard_strata, sobol_features
from bayes_moe.errors import InputError

SPARSITIES = (0.8235, 0.9091)


def level_only_draws(n_draws=64, seed=0):
    """Draws of a quadratic-in-log-r loss whose optimum's level (not its slope in compute) is uncertain."""
    level = np.log(0.5) + 0.3 * np.random.default_rng(seed).standard_normal(n_draws)

    def loss(r, compute, sparsity):
        frontier = 2.0 + 5.0 * (np.asarray(compute) / 1e17) ** -0.05
        return frontier[None] + 0.05 * (np.log(np.asarray(r))[None] - level[:, None]) ** 2

    return PosteriorDraws(loss, np.full(n_draws, 0.01), np.repeat(level[:, None], 2, axis=1))


@pytest.fixture(scope="module")
def setting():
    space = DesignSpace(r_bounds=(0.1, 4.0), compute_bounds=(1e17, 1e20), sparsities=SPARSITIES)
    draws = level_only_draws()
    return space, draws, EnsembleModel.from_draws(draws, space)


def test_the_guard_keeps_the_first_picks_near_the_top_and_leaves_the_rest(setting):
    space, draws, model = setting
    unguarded = make_strategy("active", model=model, targets=draws.targets).propose(3, space)
    assert max(c.compute for c in unguarded) < 1e18  # per FLOP, the cheapest runs win here
    guarded = make_strategy("active", model=model, targets=draws.targets, top_picks=1).propose(3, space)
    floor = 1e20 / 10**TOP_DECADES
    assert floor <= guarded[0].compute <= 1e20
    assert max(c.compute for c in guarded[1:]) < 1e18


def test_the_top_follows_the_budget_left(setting):
    space, draws, model = setting
    [pick] = make_strategy("max-variance", model=model, targets=draws.targets, top_picks=1).propose(
        1, space, budget_left=5e19)
    assert 5e19 / 10**TOP_DECADES <= pick.compute <= 5e19
    top = space.capped(5e19).top(TOP_DECADES)
    assert top.smallest_compute == pytest.approx(5e19 / 10**TOP_DECADES)
    computes = top.compute_of(sobol_features(top, 64, seed=0))
    assert computes.min() >= top.smallest_compute * (1 - 1e-9) and computes.max() <= 5e19 * (1 + 1e-9)
    assert space.top(5).smallest_compute == 1e17  # a top wider than the space is the space
    assert math.isclose(space.top(1).bounds()[0, 1], 2 / 3)  # log-compute feature of 1e19 in [1e17, 1e20]


def test_the_guard_gives_every_target_sparsity_a_run_near_the_top(setting):
    space, draws, model = setting
    floor = 1e20 / 10**TOP_DECADES
    picks = make_strategy("active", model=model, targets=draws.targets, top_picks=2).propose(3, space)
    assert all(c.compute >= floor for c in picks[:2]) and picks[2].compute < 1e18
    assert sorted(c.sparsity for c in picks[:2]) == pytest.approx(sorted(SPARSITIES), abs=1e-3)
    # a level that already has a run near the top gets the next guarded pick only after the others
    done = [space.snap(space.to_features(0.5, 5e19, SPARSITIES[0])[0])]
    [pick] = make_strategy("active", model=model, targets=draws.targets, top_picks=1).propose(1, space, done=done)
    assert pick.compute >= floor and pick.sparsity == pytest.approx(SPARSITIES[1], abs=1e-3)
    # only the targets' sparsities are guarded (that level's next run goes to the window its run is not in)
    [pick] = make_strategy("active", model=model, targets=draws.targets, top_picks=1,
                           target_sparsities=SPARSITIES[:1]).propose(1, space, done=done)
    floors = [1e20 / 10**d for d in sorted(TOP_STRATA)]
    assert floors[1] <= pick.compute < floors[0] and pick.sparsity == pytest.approx(SPARSITIES[0], abs=1e-3)


def test_a_level_s_guarded_picks_take_turns_among_the_windows(setting):
    """Per FLOP every pick in one window goes to its floor; the windows put a level's runs near the top at more
    than one compute, so that they measure the law's slope there and not only its level at one compute."""
    space, draws, model = setting
    windows = guard_strata(space)
    floors = [1e20 / 10**d for d in sorted(TOP_STRATA)]
    assert [w.smallest_compute for w in windows] == pytest.approx(floors) and floors[0] == 1e20 / 10**TOP_DECADES
    guard = make_strategy("active", model=model, targets=draws.targets, top_picks=2, target_sparsities=SPARSITIES[:1])
    first, second = guard.propose(2, space)
    assert first.compute >= floors[0] and floors[1] <= second.compute < floors[0]
    [third] = guard.propose(1, space, done=[first, second])
    assert third.compute >= floors[0]  # one run in each window: the narrowest's turn again
    assert len(guard_strata(space.capped(1.05e17))) == 1  # windows clipped to the same floor are one


def test_a_bad_guard_is_named(setting):
    _, draws, model = setting
    with pytest.raises(InputError, match="top_picks must be a whole number >= 0, got -1"):
        make_strategy("active", model=model, targets=draws.targets, top_picks=-1)


def test_the_guard_is_a_campaign_setting(tmp_path):
    path = tmp_path / "campaign.toml"
    path.write_text("[space]\ntop_picks = 4\n")
    campaign = load_campaign(path)
    assert campaign.top_picks == 4 and Campaign().top_picks == 0
    path.write_text(dump_campaign(campaign))
    assert load_campaign(path) == campaign
    path.write_text("[space]\ntop_picks = 1.5\n")
    with pytest.raises(InputError, match=r"\[space\] top_picks must be an integer >= 0, got 1.5"):
        load_campaign(path)


def test_a_guarded_record_names_its_strata(tmp_path):
    from bayes_moe.benchmarks.design import Outcome, Settings, write

    outcomes = [Outcome("bending", "active", 0, False, 1e20, 24, 2, 0.5, 1.0, 1.0, ((24, 1e20, 0.5, 1.0),))]
    _, md_path = write(outcomes, Settings(worlds=("bending",), strategies=("active",), seeds=1, top_picks=4),
                       tmp_path, 1.0)
    assert f"largest compute 4, taking turns among windows reaching down (decades) {list(TOP_STRATA)}," in md_path.read_text()
    _, md_path = write(outcomes, Settings(worlds=("bending",), strategies=("active",), seeds=1), tmp_path, 1.0)
    assert "strata" not in md_path.read_text()  # no guard, no strata
