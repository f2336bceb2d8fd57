"""Why an active campaign on the bending world misses a target (issue #17 item 6): replay one campaign of the
design benchmark with the record's settings, keep every fit's runs and posterior under OUT, and print per fit
the batch's picks (log10 FLOPs), r* at the targets against the truth, the hinges' scale and weights, and each
level's slope beta_r against the truth. The replay reproduces the record's trajectory (same seed, same fits).

    nice .venv/bin/python experiments/benchmarks/design_bending_diagnosis.py SEED OUT [--top-picks 1]
        [--top-strata 0.5 1.5] [--campaign experiments/benchmarks/design_campaign.toml] [--hinge-scale 0.03] [--max-runs 72]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from bayes_moe import config, forms, laws, posterior, surfaces
from bayes_moe.benchmarks import design as bench
from bayes_moe.design import strategies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("seed", type=int)
    parser.add_argument("out", type=Path)
    parser.add_argument("--top-picks", type=int, default=1)
    parser.add_argument("--top-strata", type=float, nargs="+", default=strategies.TOP_STRATA,
                        help="the guard's windows (decades down from the largest compute) for this process")
    parser.add_argument("--campaign", default="experiments/benchmarks/design_campaign.toml")
    parser.add_argument("--hinge-scale", type=float, default=forms.DEFAULT_HINGE_SCALE,
                        help="the hinges' HalfNormal scale of the fits")
    parser.add_argument("--max-runs", type=int, default=72)
    args = parser.parse_args()
    strategies.TOP_STRATA = tuple(args.top_strata)  # read when each guarded pick finds its windows
    args.out.mkdir(parents=True, exist_ok=True)
    campaign = config.load_campaign(args.campaign)
    settings = bench.Settings(worlds=("bending",), strategies=("active",), seeds=1, batch=12, initial=12,
                              max_runs=args.max_runs, compute_cap=3e21, draws=200, chains=2, discrepancy="hinges",
                              hinge_scale=args.hinge_scale, top_picks=args.top_picks, campaign=campaign)
    world = bench.World.from_config({**bench.WORLDS["bending"], "seed": args.seed})
    target_c, target_s = (np.array([t[i] for t in campaign.targets]) for i in (0, 1))
    truth = np.exp(world.log_r_star(target_c, target_s))
    fit, seen = bench.model.fit, []

    def kept_fit(dataset, **options):
        idata = fit(dataset, **options)
        k = len(seen)
        dataset.to_netcdf(args.out / f"runs_{k}.nc")
        idata.to_netcdf(args.out / f"posterior_{k}.nc")
        compute = dataset["compute"].values
        picks = np.sort(np.log10(compute[len(seen[-1]) if seen else 0:]))
        seen.append(compute)
        interval = posterior.r_star(idata, target_c, target_s)
        weights = (idata.posterior["bend_scale"] * idata.posterior["z_bend"]).values.reshape(-1, surfaces.HINGE_SEGMENTS - 1)
        print(f"fit {k}: {len(compute)} runs, picks log10 C {np.round(picks, 2).tolist()}\n"
              f"  r*/truth median {np.round(interval['median'].values / truth, 2)} lower "
              f"{np.round(interval['lower'].values / truth, 2)} upper {np.round(interval['upper'].values / truth, 2)}\n"
              f"  bend_scale median {float(idata.posterior['bend_scale'].median()):.3f}, hinge weights "
              f"{np.round(np.median(weights, 0), 3)}; beta_r {np.round(idata.posterior['beta_r'].median(('chain', 'draw')).values, 3)} "
              f"(truth {np.round(laws.paper_beta_r(target_s), 3)}); r-hat {idata.attrs['max_rhat']:.3f}", flush=True)
        return idata

    bench.model.fit = kept_fit
    print(bench.describe(bench.run_campaign("bending", "active", args.seed, settings)))


if __name__ == "__main__":
    main()
