"""Coverage of the 90% r* intervals with and without the per-seed offset, on simulated campaigns whose runs carry
three trainer seeds (the measured campaigns' case: experiments/h100_wide_r), with a shared seed offset in the world
(``simulate.World.seed_offset``) or without one.

Each data set is the calibration benchmark's design (bayes_moe.benchmarks.calibration: 4 sparsities x 5 computes
1e17..1e19 x 9 r, one run each), its runs' seeds 0, 1, 2 in turn, fitted at the CLI defaults (4 chains x 1000
draws + 1000 tune) with the default model and with ``seed_offset=False``; scored as that benchmark scores
(``interval_scores``: the truth inside the 90% interval at 1e18, 1e20, 1e21 FLOPs, four sparsities each).

    nice python experiments/h100_wide_r/seed_offset_calibration.py [--datasets 10] [--law paper] [--offset 0.05]

Writes experiments/h100_wide_r/seed_offset_calibration_LAW_OFFSET.json.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from bayes_moe import model, posterior, sampling, simulate
from bayes_moe.benchmarks.calibration import QUERIES, interval_scores

SEEDS = 3


def seeded_sweep(world: simulate.World):
    """The calibration design, run i trained with seed i mod SEEDS, its loss with that seed's offset."""
    sweep = simulate.sweep_dataset(world)
    seed = np.arange(sweep.sizes["run"]) % SEEDS
    loss = world.loss(sweep["r"].values, sweep["compute"].values, sweep["sparsity"].values, trainer_seed=seed)
    return sweep.assign(loss=("run", loss)).assign_coords(seed=("run", seed.astype(float)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", type=int, default=10)
    parser.add_argument("--law", default="paper", choices=simulate.LAWS)
    parser.add_argument("--offset", type=float, default=0.05, help="the world's seed_offset (sd, nats)")
    args = parser.parse_args()
    rows = {True: [], False: []}
    for data_seed in range(args.datasets):
        world = simulate.World(law=args.law, seed=data_seed, seed_offset=args.offset)
        runs = seeded_sweep(world)
        for offset in (True, False):
            start = time.process_time()
            idata = model.fit(runs, seed=data_seed, seed_offset=offset, progressbar=False)
            scores = interval_scores(world, idata)
            rows[offset].append({"data_seed": data_seed, "cpu_s": time.process_time() - start,
                                 **{k: idata.attrs[k] for k in (*sampling.DIAGNOSTICS, "converged")},
                                 "noise": posterior.noise_summary(idata), "scores": scores})
            print(data_seed, offset, {n: sum(s["hit"]) for n, s in scores.items()}, idata.attrs["converged"], flush=True)
    summary = {label: {"unconverged": sum(not r["converged"] for r in rows[offset]),
                       "median_cpu_s": float(np.median([r["cpu_s"] for r in rows[offset]])),
                       **{f"coverage {n}": float(np.mean([r["scores"][n]["hit"] for r in rows[offset]])) for n in QUERIES},
                       **{f"relative half-width {n}": float(np.median([r["scores"][n]["half-width"] for r in rows[offset]]))
                          for n in QUERIES}}
               for label, offset in (("with_offset", True), ("without_offset", False))}
    record = {"law": args.law, "world_seed_offset": args.offset, "datasets": args.datasets, "seeds_per_dataset": SEEDS,
              "settings": "model.fit at the CLI defaults (4 chains x 1000 draws + 1000 tune), default model",
              "summary": summary, "fits": {"with_offset": rows[True], "without_offset": rows[False]}}
    path = Path(__file__).with_name(f"seed_offset_calibration_{args.law}_{args.offset:g}.json")
    path.write_text(json.dumps(record, indent=1) + "\n")
    print(json.dumps(summary, indent=1))


if __name__ == "__main__":
    main()
