"""The simulated worlds: their optimum, their shape, their noise, and the data sets they make."""

import numpy as np
import pytest

from bayes_moe import laws, simulate
from bayes_moe.errors import InputError
from bayes_moe.ledger import Ledger

R = np.geomspace(0.05, 20, 20001)


@pytest.mark.parametrize("config", [{"law": law} for law in simulate.LAWS] + [{"law": "two-term", "q_exponent": 0.3}])
def test_mean_loss_is_lowest_at_the_worlds_r_star(config):
    world = simulate.World(**config)
    for compute, sparsity in ((1e17, 0.8235), (1e21, 0.9767)):
        best = R[world.mean_loss(R, compute, sparsity).argmin()]
        assert np.log(best) == pytest.approx(world.log_r_star(compute, sparsity), abs=1e-3)


def test_paper_world_follows_the_paper_and_two_term_world_does_not():
    compute = np.array([1e17, 1e21])
    assert simulate.World(law="paper").log_r_star(compute, 0.9) == pytest.approx(laws.paper_log_r_star(compute, 0.9))
    two_term = simulate.World(law="two-term").log_r_star(compute, 0.9)
    assert two_term == pytest.approx(laws.paper_log_r_star(compute, 0.9), abs=0.2)  # same r* at the pivot, ~12% apart at the ends
    assert not np.allclose(two_term, laws.paper_log_r_star(compute, 0.9), atol=1e-3)


def test_bending_world_follows_the_paper_from_its_bend_up_and_departs_below():
    world = simulate.World(law="bending", bend_compute=1e18, r_star_bend=0.3, frontier_bend=0.05)
    above = np.array([1e18, 1e20])
    assert world.log_r_star(above, 0.9) == pytest.approx(laws.paper_log_r_star(above, 0.9))
    assert world.log_r_star(1e16, 0.9) - laws.paper_log_r_star(1e16, 0.9) == pytest.approx(0.6)  # two decades below
    paper = simulate.World(law="paper")
    at_r_star = lambda w, c: w.mean_loss(np.exp(w.log_r_star(c, 0.9)), c, 0.9)  # noqa: E731 -- the frontier
    assert at_r_star(world, 1e17) - at_r_star(paper, 1e17) == pytest.approx(0.05)
    assert at_r_star(world, 1e19) == pytest.approx(at_r_star(paper, 1e19))


def test_two_term_world_with_q_of_sparsity_has_an_exponent_of_compute_per_sparsity():
    """q(S) = q ((1-S)/(1-S_REF))^q_exponent: sparser experts learn slower, so r* rises faster with C
    there (0.10 at E = 17 to 0.17 at E = 129 over 1e17-1e20 FLOPs), as the paper's beta_r(S) does."""
    world = simulate.World(law="two-term", q_exponent=0.3)
    sparsity = np.array(laws.PAPER_SPARSITIES)
    slope = (world.log_r_star(1e20, sparsity) - world.log_r_star(1e17, sparsity)) / np.log(1e3)
    assert np.all(np.diff(slope) > 0.015) and slope[0] == pytest.approx(0.10, abs=0.01)
    assert world.log_r_star(laws.PIVOT, sparsity) == pytest.approx(laws.paper_log_r_star(laws.PIVOT, sparsity))


def test_asymmetric_world_is_steeper_above_r_star():
    world = simulate.World(law="asymmetric", asymmetry=4.0)
    log_r_star = world.log_r_star(1e18, 0.9)
    floor = world.mean_loss(np.exp(log_r_star), 1e18, 0.9)
    rise = [world.mean_loss(np.exp(log_r_star + d), 1e18, 0.9) - floor for d in (-0.5, 0.5)]
    assert rise[1] == pytest.approx(4 * rise[0])


def test_noise_is_seeded_and_has_the_configured_scale():
    config = {"law": "paper", "seed": 3, "noise": 0.02, "noise_dist": "normal"}
    a = simulate.World.from_config(config).loss(np.full(20000, 0.5), 1e18, 0.9)
    b = simulate.World.from_config(config).loss(np.full(20000, 0.5), 1e18, 0.9)
    assert np.array_equal(a, b)
    assert np.std(a) == pytest.approx(0.02, rel=0.05)


@pytest.mark.parametrize("config", [{"law": "nope"}, {"law": "paper", "nosie": 0.1}, {"noise": -1.0}])
def test_bad_world_config_is_an_input_error(config):
    with pytest.raises(InputError):
        simulate.World.from_config(config)


@pytest.mark.parametrize("bad", [dict(r=0.0), dict(compute=-1.0), dict(sparsity=1.0)])
def test_bad_run_is_an_input_error(bad):
    run = {"r": 0.5, "compute": 1e18, "sparsity": 0.9, **bad}
    with pytest.raises(InputError, match=next(iter(bad))):
        simulate.World().loss(**run)


def test_sweep_dataset_round_trips_through_the_ledger(tmp_path):
    dataset = simulate.sweep_dataset(simulate.World(seed=1), sparsities=[0.8, 0.9], computes=[1e17, 1e18],
                                     r_grid=[0.3, 1.0, 1.5])
    assert dataset.sizes["run"] == 12
    assert set(dataset.data_vars) == {"r", "compute", "sparsity", "loss", "n_active", "n_total", "tokens"}
    simulate.write_csv(dataset, tmp_path / "runs.csv")
    with Ledger.open(tmp_path, create=True) as ledger:
        ledger.import_csv(tmp_path / "runs.csv")
        back = ledger.to_dataset()
    for name in ("r", "compute", "sparsity", "loss"):
        assert back[name].values == pytest.approx(dataset[name].values, rel=1e-7)


def test_the_bending_worlds_valley_curvature_bends_below_the_bend_compute_only():
    """kappa_bend multiplies the valley's curvature by e^kappa_bend per decade below bend_compute."""
    bent = simulate.World(law="bending", frontier_bend=0.0, r_star_bend=0.0, kappa_bend=np.log(2.0), noise=0.0)
    flat = simulate.World(law="bending", frontier_bend=0.0, r_star_bend=0.0, noise=0.0)
    for compute, factor in ((1e17, 2.0), (1e18, 1.0), (1e19, 1.0)):
        r_star = np.exp(flat.log_r_star(compute, 0.9))
        rise = [world.mean_loss(2 * r_star, compute, 0.9) - world.mean_loss(r_star, compute, 0.9) for world in (bent, flat)]
        assert rise[0] == pytest.approx(factor * rise[1])


def test_simulator_executor_gives_each_trainer_seed_its_offset():
    """A campaign's [world] seed_offset reaches its runs: the simulator executor passes each run's seed."""
    from bayes_moe.executors.simulator import simulated_loss

    config = {"law": "paper", "seed": 3, "noise": 0.0, "seed_offset": 0.05}
    world = simulate.World.from_config(config)
    loss = {seed: simulated_loss(config, 7, 0.5, 1e18, 0.9, seed=seed) for seed in (None, 0, 1)}
    assert loss[None] == loss[0] == pytest.approx(world.mean_loss(0.5, 1e18, 0.9) + world.seed_offsets([0])[0])
    assert loss[1] - loss[0] == pytest.approx(world.seed_offsets([1])[0] - world.seed_offsets([0])[0])
    assert abs(loss[1] - loss[0]) > 1e-3
