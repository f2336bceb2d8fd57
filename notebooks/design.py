# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Design: which run to do next, and how fast a campaign pins r*
#
# The active strategy scores a candidate run `(r, C, S)` by how much observing its loss would
# shrink the posterior variance of `log r*` at the campaign's targets, per FLOP it costs
# (docs/design.md). This notebook maps that score over the design space, with the batch
# `bayes-moe next` would propose on it, then runs short simulated campaigns from an empty ledger to
# compare the active design with the paper's grid: interval width of `r*` against compute spent.
#
# Workspace: env `WORKSPACE`, else a fresh copy of the demo campaign (see posterior.py). Nothing
# is written to it: proposals here are not recorded, and the campaigns run in temporary folders.

# %%
import shutil
import tempfile
from pathlib import Path

from bayes_moe import plots
from bayes_moe.campaign import run_campaign
from bayes_moe.config import load_campaign
from bayes_moe.design.proposals import PENDING, plan, posterior_draws
from bayes_moe.design.space import DesignSpace
from bayes_moe.design.strategies import make_strategy
from bayes_moe.executors.simulator import SimulatorExecutor
from bayes_moe.ledger import Ledger
from bayes_moe.workspace import create_workspace

workspace, idata, runs = plots.notebook_workspace()
campaign = load_campaign(workspace)
space = DesignSpace.from_campaign(campaign)
BATCH = 2 if plots.fast() else 4
print(f"{workspace}: {runs.sizes['run']} runs; targets {campaign.targets}")

# %% [markdown]
# ## The acquisition over (r, compute)
# One panel per sparsity, one colour scale: the expected drop of `sum Var(log r*)` at the targets
# per unit cost, for a single run added to the ledger as it stands. Circles: the batch the active
# strategy proposes now, numbered in pick order (each pick conditions the next on what it will
# observe, so later picks need not sit on this map's maxima); grey dots: the runs done.

# %%
with Ledger.open(workspace) as ledger:
    done, pending = ledger.runs("done"), ledger.runs(PENDING)
draws = posterior_draws(idata, campaign.targets)
batch, _, ensemble = plan("active", space, draws, batch=BATCH, done=done, pending=pending)
acquisition = make_strategy("active", model=ensemble, targets=draws.targets).acquisition(ensemble, space)
fig = plots.acquisition_map(acquisition, space, proposed=batch, done=done,
                            label=f"expected drop of Σ Var(log r*) per cost\n(cost 1 = one run of "
                                  f"{space.compute_bounds[1]:.0e} FLOPs)")
[(round(c.r, 4), c.compute, round(c.sparsity, 4), round(c.acquisition, 4)) for c in batch]

# %% [markdown]
# ## A campaign's trace: active against grid
# From an empty ledger with this workspace's campaign (space, targets, simulated `[world]`): one
# shared space-filling batch, then rounds of propose -> simulate -> refit with each strategy. After
# each round: the worst relative half-width of the 90% interval of `r*` over the targets against
# the compute spent since the shared start. The grid sweeps `r` in the cheapest (compute, sparsity)
# cells first; the active design places each run where it is worth most per FLOP. One simulated
# world and seed: a trace, not a benchmark (`make bench-design` runs many).

# %%
ROUNDS, INITIAL = (1, 8) if plots.fast() else (6, 8)
trace_fit = plots.fit_options() if plots.fast() else dict(draws=300, tune=300, chains=2, progressbar=False)
traces = {}
with tempfile.TemporaryDirectory(prefix="bayes-moe-trace-") as folder:
    folder = Path(folder)
    create_workspace(folder / "start", workspace)  # the campaign only: runs are not copied
    start = run_campaign(folder / "start", SimulatorExecutor(), rounds=1, batch=INITIAL, strategy="sobol",
                         fit_options=trace_fit, progress=False).final
    for strategy in ("active", "grid"):
        shutil.copytree(folder / "start", folder / strategy)
        traces[strategy] = []
        for index in range(ROUNDS):
            last = run_campaign(folder / strategy, SimulatorExecutor(), rounds=1, batch=BATCH, strategy=strategy,
                                fit_options=trace_fit, seed=index, progress=False).final
            traces[strategy].append((last.compute_spent, last.half_width))
fig = plots.campaign_trace(traces, target_width=campaign.target_width,
                           start=(start.compute_spent, start.half_width))
