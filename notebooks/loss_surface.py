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
# # The loss surface: does the model describe the runs?
#
# The joint model predicts every run's loss, not only `r*`. This notebook checks those predictions:
# observed against posterior-predictive loss for every run, the fitted loss-against-`r` valleys at
# each compute beside the sweeps, and the paper's validation: hold out every run at one sparsity,
# refit on the rest, and score the predicted losses of the held-out runs.
#
# Workspace: env `WORKSPACE`, else a fresh copy of the demo campaign (see posterior.py).

# %%
import pandas as pd

from bayes_moe import model, plots, posterior

workspace, idata, runs = plots.notebook_workspace()
print(f"{workspace}: {runs.sizes['run']} runs")

# %% [markdown]
# ## Observed against predicted loss
# Left: each run's observed loss against the posterior-predictive median with its 90% interval
# (noise included). Right: the residuals against `r`; a systematic bend here would say the
# valley's shape around `r*` is wrong.

# %%
fig = plots.observed_vs_predicted(idata, runs)

# %% [markdown]
# ## Loss against r at each compute
# Each swept (compute, sparsity) cell: the runs and the fitted mean loss (median, 90% band), drawn
# as the excess over the curve's minimum so that all computes share one axis; triangles mark the
# fitted `r*`. The valley moves to larger `r` as compute grows.

# %%
fig = plots.loss_curves(idata, runs)

# %% [markdown]
# ## Held-out sparsity
# As in the paper (Fig. 3b), every run at the sparsest level is held out, the model is refit on
# the others (`bayes-moe validate --hold-out-sparsity S`), and the held-out runs' losses are
# predicted: the report scores them, the figures show them, and `r*` at the held-out sparsity,
# which the refit knows only through the population law across sparsities.

# %%
held_out = float(plots.levels(idata)[-1])
report = posterior.hold_out_validation(runs, held_out, **plots.fit_options())
pd.Series(report, name=f"hold out S = {held_out}").to_frame()

# %%
is_held = model.level_index(runs["sparsity"].values, [held_out]) == 0
refit = model.fit(runs.isel(run=~is_held), **plots.fit_options())  # the fit the report scored (same seed)
fig = plots.observed_vs_predicted(
    refit, runs.isel(run=is_held),
    title=f"S = {held_out} held out: {report['coverage_90']:.0%} of {report['n_held_out']} runs inside the 90% "
          f"interval, RMSE {report['rmse']:.4f} nats")

# %%
fig = plots.r_star_bands(refit, runs.isel(run=is_held), sparsities=[held_out])
