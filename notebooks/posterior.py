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
# # The posterior of r*: where to split FLOPs between attention and experts
#
# The joint model (docs/model.md) reads the optimal split `r* = C_E / C_A` off every run of the
# workspace, not only off each sweep's lowest loss. This notebook draws what it learned: `r*`
# against compute at each sparsity with 50% and 90% credible bands, the law's parameters
# against the activated fraction `1 - S`, both beside the paper's law, and the convergence checks
# that say whether to trust them.
#
# Workspace: env `WORKSPACE`, else a fresh copy of the demo campaign (experiments/demo, simulated
# from the paper's law), fitted here if its posterior is missing or stale.

# %%
import pandas as pd

from bayes_moe import laws, plots, posterior, sampling
from bayes_moe.config import load_campaign

workspace, idata, runs = plots.notebook_workspace()
campaign = load_campaign(workspace)
print(f"{workspace}: {runs.sizes['run']} runs, sparsity levels {plots.levels(idata).tolist()}")

# %% [markdown]
# ## r* against compute
# Blue: the posterior median with 50% and 90% credible bands. Dashed: the paper's law
# `r* = 6.7e-5 (1-S)^-1.23 C^(0.24 (1-S)^0.21)`. Orange dots: the lowest-loss `r` of each sweep,
# the paper's reading of `r*`, which jumps by a grid step with the noise of a single run. Grey:
# compute beyond the largest run, where the bands are an extrapolation of the power law.

# %%
fig = plots.r_star_bands(idata, runs)

# %% [markdown]
# At the campaign's targets (90% intervals):

# %%
compute, sparsity = zip(*campaign.targets)
targets = posterior.r_star(idata, list(compute), list(sparsity), prob=0.9).to_dataframe()
targets.assign(paper=laws.paper_r_star(targets["compute"], targets["sparsity"])).round(4)

# %% [markdown]
# ## The law's parameters against the activated fraction 1 - S
# Per fitted sparsity level: 50% (thick) and 90% (thin) intervals. Blue: the population law that
# links the levels (`log alpha`, `log beta` linear in `log(1 - S)`), which is what a new sparsity
# gets. The model's intercept is `r*` at the pivot `C0`, well determined; the paper's raw
# `alpha_r` (r* at one FLOP) is the same law extrapolated over 19 decades of compute, hence wide.

# %%
fig = plots.law_parameters(idata)

# %% [markdown]
# ## Residuals against compute
# Each run's observed loss less its predictive median, per sparsity, with 90% predictive intervals:
# a trend in compute says the frontier or the valley misses the runs there, and that misfit leaks into
# `r*` and into the noise scale `sigma` (issue #17; replicates of a run, if any, split `sigma` into
# `sigma_seed` and `sigma_misfit`: docs/model.md). `bayes-moe validate` scores the same predictions on
# a held-out sparsity (coverage of the 50% and 90% intervals, and the PIT).

# %%
fig = plots.residuals_by_compute(idata, runs)

# %% [markdown]
# ## Convergence
# The verdict (r-hat <= 1.01, bulk and tail ESS >= 400, no divergences), the population-level
# parameters with their 90% HDI, and their rank plots: in a chain that mixes, the ranks of its
# draws among all chains are uniform (flat bars near the dashed line).

# %%
pd.Series(sampling.diagnostics(idata), name="diagnostics").to_frame()

# %%
plots.diagnostics_table(idata)

# %%
fig = plots.rank_plots(idata)
