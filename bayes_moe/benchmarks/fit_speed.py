"""Wall time of one fit of the joint model to 200 simulated runs (4 sparsities x 5 computes x 10 r):
nutpie (the default) against PyMC's own NUTS, both at the CLI's defaults (1000 draws, 1000 tune,
4 chains). Each sampler fits 3 data sets of the same shape; the first fit includes compilation,
later ones reuse it where the backend can (nutpie: ``with_data``). Goals: median <= 20 s, >= 5x.

    nice python -m bayes_moe.benchmarks.fit_speed
"""

from __future__ import annotations

import os
import platform
import statistics
import time

import numpy as np

from bayes_moe import model, simulate
from bayes_moe.benchmarks import write_results

R_GRID = tuple(np.round(np.geomspace(0.2, 1.5, 10), 3))
SAMPLERS = ("nutpie", "pymc")
FITS = 3


def main() -> None:
    datasets = [simulate.sweep_dataset(simulate.World(law="paper", seed=seed), r_grid=R_GRID) for seed in range(FITS)]
    times, converged = {}, {}
    for sampler in SAMPLERS:
        times[sampler], converged[sampler] = [], []
        for seed, dataset in enumerate(datasets):
            start = time.perf_counter()
            idata = model.fit(dataset, sampler=sampler, seed=seed, progressbar=False)
            times[sampler].append(time.perf_counter() - start)
            converged[sampler].append(bool(idata.attrs["converged"]))
    median = {s: statistics.median(t) for s, t in times.items()}
    payload = {"n_runs": datasets[0].sizes["run"], "draws": 1000, "tune": 1000, "chains": 4,
               "cpus": os.cpu_count(), "machine": platform.processor() or platform.machine(),
               "load_average_after": os.getloadavg()[0], "seconds": times, "median_seconds": median,
               "speedup_median": median["pymc"] / median["nutpie"], "converged": converged}
    rows = "\n".join(f"| {s} | {' / '.join(f'{t:.1f}' for t in times[s])} | {median[s]:.1f} | "
                     f"{sum(converged[s])}/{FITS} |" for s in SAMPLERS)
    markdown = (f"# Fit speed: joint r* model, {payload['n_runs']} runs, 1000 draws + 1000 tune x 4 chains\n\n"
                f"{payload['cpus']} CPUs shared with other jobs (load average {payload['load_average_after']:.1f} "
                f"at the end). Fit 1 includes compilation.\n\n"
                "| sampler | fit 1 / 2 / 3 (s) | median (s) | converged |\n|---|---|---|---|\n" + rows +
                f"\n\nnutpie is {payload['speedup_median']:.1f}x faster than PyMC's NUTS (median). Goals: <= 20 s, >= 5x.")
    write_results("model_fit_speed", payload, markdown)


if __name__ == "__main__":
    main()
