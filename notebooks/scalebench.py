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
# # Any law, a pool of runs: the next runs, and ScaleBench
#
# `bayes-moe pool-next` takes any parametric law written in a small Python file and a table of runs, some
# done and some candidates, each with a cost; it fits the law to the runs done and proposes the candidates
# that most lower the predictive variance at the target rows per unit cost (docs/scalebench.md). Here, on
# ScaleBench's MoE task (Krajewski et al.'s runs: loss against dense parameters N and experts E), with its
# 12 cheapest runs done; then the benchmark's results on its six tasks against the published methods.

# %%
import numpy as np
import pandas as pd

from bayes_moe.benchmarks.scalebench_table import coverage_table, results_table
from bayes_moe.pool_next import propose
from bayes_moe.pool_plots import benchmark_figure, coverage_figure, proposal_figure
from bayes_moe.pooltask import find_task, load_task

task = load_task(find_task("moe"))
law = next(law for law in task.laws if law.name == "sl_1")  # L = L_inf + B / (N^alpha E^beta)
pool = task.pool.copy()
pool.loc[pd.Series(task.costs).rank(method="first").to_numpy() > 12, "loss_validation"] = np.nan  # candidates
proposal = propose(law, pool, task.targets, "dense_parameter_count * num_experts", budget=3e10, batch=4)
pd.DataFrame(proposal.next)

# %% [markdown]
# The law fitted to the runs done, the runs proposed (numbered in pick order) at their predicted loss with
# its 90% interval, and the targets (1.3B dense parameters, 1 to 512 experts) with theirs; the targets'
# observed losses are the benchmark's held-out truth. Twelve runs of at most 57M parameters and 4 experts
# leave the experts' effect unknown: the predictions at the targets are flat in E and their intervals wide.

# %%
proposal_figure(proposal, "cost (dense parameters x experts)", truth=law.observed(task.targets));

# %% [markdown]
# ## The benchmark
#
# R^2 on each task's held-out target region at its three budgets (shares of the pool's cost), averaged over
# the law forms: our active strategy with 30 seeds and our random baselines with 10 (bars: standard error over the
# seeds), the paper's Table 2 for MSPE and V-optimal (sparsity's and domain_mixture's on the paper's larger
# data), and the authors' code run here where it finished. Read from the committed records under
# `experiments/scalebench/results/`.

# %%
table = results_table()
benchmark_figure(table);

# %%
table.pivot_table(index=["task", "budget"], columns="method", values="r2").round(2)

# %% [markdown]
# ## Coverage of the 90% intervals
#
# The share of each task's target points inside the active strategy's 90% predictive intervals (30 seeds, today's
# defaults), per law form and over the forms, against the nominal 90% and the 80-95% band that #20 asks for.
# Above the band the noise learnt from the pool's runs is wider than the targets' scatter, or the runs are as few as
# the parameters and the intervals as wide as the priors allow (0.26-1.02 nats, not the hundreds of nats of the
# noise posterior before); parallel at 5% and vocab at 10% sit below it (docs/scalebench.md, "Why coverage stays
# above 95% where it does").

# %%
coverage = coverage_table()
coverage_figure(coverage);
