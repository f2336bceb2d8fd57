"""A trainer seed's offset, shared by the runs of that seed (model._seed_offsets): read, simulated, and
recovered by a fit; absent where the runs have one seed."""

import numpy as np
import pytest
import xarray as xr

from bayes_moe import laws, model, posterior, simulate
from bayes_moe.errors import InputError
from bayes_moe.train.settings import TrainConfig
from conftest import COMPUTES, R_GRID, RECOVERY, assert_near_truth

SEEDS = (0, 1, 2)
OFFSET_SD, NOISE = 0.05, 0.01


def seeded_runs(world, seeds, repeats=None):
    """The sweep once per trainer seed in ``seeds`` (the seed a coordinate, as Ledger.to_dataset has it; NaN
    for a blank one), each run's loss from ``world`` with its seed's offset. ``repeats``: only every
    ``repeats``-th run of the sweep for the seeds after the first (replicates of a few cells)."""
    sweep = simulate.sweep_dataset(world, computes=COMPUTES, r_grid=R_GRID)
    parts = []
    for k, seed in enumerate(seeds):
        part = sweep if k == 0 or repeats is None else sweep.isel(run=slice(k % repeats, None, repeats))
        trainer_seed = np.full(part.sizes["run"], np.nan if seed is None else seed, float)
        loss = world.loss(part["r"].values, part["compute"].values, part["sparsity"].values, trainer_seed=trainer_seed)
        parts.append(part.assign(loss=("run", loss)).assign_coords(seed=("run", trainer_seed)))
    runs = xr.concat(parts, "run")
    return runs.assign_coords(run=np.arange(1, runs.sizes["run"] + 1))


def test_a_run_without_a_seed_is_read_as_the_trainers_default():
    assert laws.TRAINER_SEED == TrainConfig(batch_size=1, lr=1e-3).seed  # what a run without a seed in the ledger trains with
    assert laws.trainer_seeds([np.nan, 1.0, None, 2]).tolist() == [0, 1, 0, 2]


def test_world_seed_offset_is_shared_by_the_runs_of_a_seed():
    world = simulate.World.from_config({"law": "paper", "seed": 3, "noise": 0.0, "seed_offset": OFFSET_SD})
    r, compute, sparsity = np.array([0.3, 0.9, 1.5]), np.array([1e17, 1e18, 1e19]), 0.9
    shift = {s: world.loss(r, compute, sparsity, trainer_seed=s) - world.mean_loss(r, compute, sparsity)
             for s in SEEDS}
    for s in SEEDS:  # one shift per seed, the same for every run of it, whichever rng draws the noise
        assert shift[s] == pytest.approx(np.full(3, world.seed_offsets([s])[0]))
    assert len({round(float(shift[s][0]), 12) for s in SEEDS}) == 3
    assert world.loss(r, compute, sparsity) == pytest.approx(world.loss(r, compute, sparsity, trainer_seed=0))
    assert simulate.World(noise=0.0).loss(r, compute, sparsity, trainer_seed=2) == pytest.approx(
        simulate.World(noise=0.0).mean_loss(r, compute, sparsity))  # no offset unless the world has one
    with pytest.raises(InputError, match="seed_offset"):
        simulate.World(seed_offset=-0.1)


def test_one_trainer_seed_has_no_offset_term():
    """With one seed (blank ones read as the trainer's default), its offset would be the surface's level:
    the term is left out; with two, each seed has an offset along dim ``seed``."""
    world = simulate.World(seed=4, seed_offset=OFFSET_SD)
    levels = tuple(laws.PAPER_SPARSITIES)
    for seeds, expected in (((None,), ()), ((None, 0), ()), ((0, 2), (0, 2)), ((None, 1), (0, 1))):
        runs = seeded_runs(world, seeds, repeats=4)
        assert model.seed_levels(runs) == expected
        built = model.build_model(model.checked_runs(runs), levels, seeds=model.seed_levels(runs))
        assert ("tau_seed" in built.named_vars) == bool(expected)
        assert list(built.coords.get("seed", ())) == list(expected)


# the offset is one term on any surface: the power frontier without hinges, the structure nutpie compiles fastest
# (~33 CPU s; the default's ~60), bears it here
CHEAP = dict(frontier="power", discrepancy="none")


def offsets_fit(offset_sd):
    """A fit to the sweep under seed 0 and every third cell again under seeds 1 and 2, with the offsets
    ``offset_sd`` x N(0, 1) per seed and normal seed noise 0.01 (no misfit)."""
    world = simulate.World(seed=11, noise=NOISE, noise_dist="normal", seed_offset=offset_sd)
    runs = seeded_runs(world, SEEDS, repeats=3)
    return world, model.fit(runs, seed=5, **CHEAP, **RECOVERY)


@pytest.fixture(scope="module", params=[OFFSET_SD, 0.0], ids=["offsets", "no-offsets"])
def seeded_fit(request):
    return offsets_fit(request.param)


@pytest.mark.slow  # recovery fits of a structure of its own (nutpie compiles it)
def test_seed_offsets_are_recovered_and_not_read_as_seed_noise(seeded_fit):
    """With offsets or without (then the term's offsets are ~0), each seed's offset against seed 0 and the seed
    noise are recovered, and r*: the fit today's model makes reads offsets of 0.05 as seed noise."""
    world, idata = seeded_fit
    truth = world.seed_offsets(SEEDS)
    offsets = idata.posterior["seed_offset"]
    assert offsets.dims[-1] == "seed" and offsets.seed.values.tolist() == list(SEEDS)
    assert idata.attrs["seed_offset"] == 1 and "tau_seed" in idata.posterior
    # the surface absorbs their mean: each seed's offset against seed 0's is what the runs pin
    contrast = (offsets - offsets.sel(seed=0)).stack(sample=("chain", "draw")).transpose("sample", "seed")
    assert_near_truth(contrast.values[:, 1:], truth[1:] - truth[0], "seed offsets against seed 0")
    interval = contrast.quantile([0.05, 0.95], dim="sample").values[:, 1:]
    assert np.all((interval[0] <= truth[1:] - truth[0]) & (truth[1:] - truth[0] <= interval[1]))
    # replicates' differences net of the offsets are seed noise: 0.01, where the offsets differ by ~0.05
    assert_near_truth(idata.posterior["sigma_seed"].values.ravel(), NOISE, "sigma_seed")
    assert float(idata.posterior["sigma_seed"].quantile(0.95)) < 2 * NOISE
    sparsity = np.array(laws.PAPER_SPARSITIES)  # r* inside the data and a decade beyond
    for compute in (1e18, 1e20):
        assert_near_truth(posterior.log_r_star_draws(idata, compute, sparsity).values,
                          world.log_r_star(compute, sparsity), f"log r* at {compute:g}")


@pytest.mark.slow  # the fit above
def test_a_prediction_carries_its_seeds_offset(seeded_fit):
    """A fitted seed's runs are predicted with its offset; an unseen seed's with a new one (sd ~ tau_seed)."""
    _, idata = seeded_fit
    draws = posterior.seed_offset_draws(idata, [1, 1, 7, np.nan])
    fitted = idata.posterior["seed_offset"].stack(sample=("chain", "draw"))
    assert draws[:, 0] == pytest.approx(fitted.sel(seed=1).values) and draws[:, 1] == pytest.approx(draws[:, 0])
    assert draws[:, 3] == pytest.approx(fitted.sel(seed=0).values)  # blank: the trainer's default seed
    tau = idata.posterior["tau_seed"].values.ravel()
    assert np.std(draws[:, 2]) == pytest.approx(np.sqrt(np.mean(tau**2) * (1 + 1 / len(SEEDS))), rel=0.2)
    summary = posterior.noise_summary(idata)
    assert {"tau_seed", "seed_offset[2]", "sigma_seed"} <= set(summary)
    assert summary["tau_seed"][1] <= summary["tau_seed"][0] <= summary["tau_seed"][2]
