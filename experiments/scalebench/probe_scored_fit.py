"""Is the gap at a budget the scored fit or the picks? Our fit and a least-squares fit of the same runs, on our
picks and on the peer's V-optimal picks.

For each form of a task (first group), at one budget:

- **our picks**: the active campaign's runs (``--seeds`` seeds, the defaults or ``NAME=VALUE`` overrides of
  ``benchmark.scalebench.Settings``), scored by our fit (the benchmark's: Laplace MAP, polished) and by a
  least-squares fit of the same runs, the peer's way (``least_squares_fit``: no priors, ``--ls-starts`` starts
  in the boxes, log-uniform where a box is positive, the lowest residual sum kept);
- **V-opt's picks** (``--vopt-log``, a log of the authors' ``vopt.py`` whose first repeat is verbose, e.g.
  ``results/peer/log_vopt_moe_64starts_3rep.txt``): its first design (the ``2.5 x parameters`` cheapest runs
  within 2% of the cost) and its picks before the one that crossed the budget, the runs whose fit V-opt scores
  there, scored by the same two fits and beside the R^2 V-opt logged for them.

Each fit also gives the R^2 range of the least-squares solutions within 1% of the lowest residual sum (how
much a ridge the runs leave open spans at the targets).

    python experiments/scalebench/probe_scored_fit.py moe 0.01 --seeds 3 \
        --vopt-log experiments/scalebench/results/peer/log_vopt_moe_64starts_3rep.txt
"""

from __future__ import annotations

import json
import re
import time
import warnings

import numpy as np
from scipy.optimize import least_squares

from bayes_moe import laplace
from bayes_moe.benchmarks import scalebench
from bayes_moe.pooltask import find_task, load_task
from probe_run_choice import parse_probe, probe_parser  # this folder's probe

VOPT_FIRST_SHARE = 0.02  # vopt.py's first design: the cheapest runs within this share of the total cost
VOPT_FIRST_PER_PARAMETER = 2.5


def r2(law, theta, features, y) -> float:
    predicted = law.predict(theta, features)[0]
    return scalebench.scores(0, [predicted], [predicted], [predicted], [y])["r2"]


def least_squares_fit(law, features, y, rng, starts: int) -> list[tuple[float, np.ndarray]]:
    """``(residual sum, parameters)`` of every start, lowest first: least squares in the boxes without priors
    from starts uniform in each box, log-uniform where the box is positive (the peer's fits)."""
    lower, upper = law.bounds
    positive = lower > 0
    draws = rng.uniform(np.where(positive, np.log(np.where(positive, lower, 1)), lower),
                        np.where(positive, np.log(np.where(positive, upper, 1)), upper), (starts, len(lower)))
    with np.errstate(over="ignore"):
        draws = np.where(positive, np.exp(draws), draws)

    def residuals(theta):
        r = law.predict(theta, features)[0] - y
        return np.where(np.isfinite(r), r, 1e6)

    def jacobian(theta):
        return laplace.value_and_jacobian(law, theta, features)[1]

    out = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for theta0 in draws:
            theta0 = np.clip(theta0, np.nextafter(lower, upper), np.nextafter(upper, lower))
            try:
                result = least_squares(residuals, theta0, jac=jacobian, bounds=(lower, upper), x_scale="jac",
                                       max_nfev=2000)
            except ValueError:
                continue
            out.append((float(np.sum(result.fun ** 2)), result.x))
    return sorted(out, key=lambda s: s[0])


def vopt_picks(text: str, costs: np.ndarray, budget: float, parameters: dict) -> dict:
    """``{form: runs}``: the runs whose fit V-opt scores at ``budget`` in the verbose repeat of a log's ``text``
    (one log of several forms, or several logs of one form each put together)."""
    total = costs.sum()
    order = np.argsort(costs)  # vopt.py's cheap_init order
    out = {}
    for section in re.split(r"\n(?=\[sl_\d+\])", text)[1:]:
        form = re.match(r"\[(sl_\d+)\]", section).group(1)
        verbose = section.split("  repeat 0 (")[0]
        n_first = int(VOPT_FIRST_PER_PARAMETER * parameters[form] // 1)
        first, spent = [int(order[0])], costs[order[0]]
        for i in order[1:]:
            if len(first) >= n_first:
                break
            if spent + costs[i] <= VOPT_FIRST_SHARE * total:
                first.append(int(i))
                spent += costs[i]
        picks, logged = [], None
        for idx, r2_logged, frac in re.findall(r"idx=\s*(\d+).*?R2=(-?[\d.]+) f=([\d.]+)", verbose):
            if float(frac) >= budget:
                break
            picks.append(int(idx))
            logged = float(r2_logged)
        out[form] = {"runs": first + picks, "first": len(first), "logged_r2": logged}
    return out


def compare(law, campaign, targets_y, ls_starts, rng) -> dict:
    """Our fit of ``campaign.chosen`` (``campaign.fit``) against the least-squares fit of the same runs, scored at
    the campaign's targets (observed ``targets_y``)."""
    chosen = np.array(campaign.chosen)
    features = {key: v[chosen] for key, v in campaign.features.items()}
    y = campaign.y[chosen].ravel()
    ls = least_squares_fit(law, features, y, rng, ls_starts)
    best_rss = ls[0][0]
    near = [r2(law, theta, campaign.target_features, targets_y) for rss, theta in ls if rss <= 1.01 * best_rss]
    ours_rss = float(np.sum((law.predict(campaign.fit.best, features)[0] - y) ** 2))
    return {"runs": len(chosen), "r2_ours": r2(law, campaign.fit.best, campaign.target_features, targets_y),
            "r2_ls": r2(law, ls[0][1], campaign.target_features, targets_y), "rss_ours": ours_rss,
            "rss_ls": best_rss, "ridge_r2": [min(near), max(near)], "ridge_starts": len(near)}


def main(argv=None) -> int:
    parser = probe_parser(__doc__.splitlines()[0])
    parser.add_argument("--ls-starts", type=int, default=64)
    parser.add_argument("--vopt-log")
    args, settings = parse_probe(parser, argv)
    task = load_task(find_task(args.task))
    rows, target_rows = task.groups()[0]
    start = time.process_time()
    vopt = (vopt_picks(open(args.vopt_log).read(), task.costs[rows], args.budget,
                       {law.name: len(law.priors) for law in task.laws}) if args.vopt_log else {})
    forms = {}
    for k, law in enumerate(task.laws):
        if args.laws and law.name not in args.laws:
            continue
        targets_y = law.observed(task.targets).reshape(len(task.targets), -1)[target_rows].ravel()
        ours = []
        for seed in range(args.seeds):
            campaign = scalebench.GroupCampaign(task, law, rows, target_rows, "active",
                                                np.random.default_rng([seed, k, 0]), settings)
            campaign.advance(args.budget)
            ours.append(compare(law, campaign, targets_y, args.ls_starts, np.random.default_rng([seed, k, 1])))
        forms[law.name] = {"our_picks": ours}
        if law.name in vopt:
            campaign = scalebench.GroupCampaign(task, law, rows, target_rows, "active", np.random.default_rng([0, k, 0]),
                                                settings)
            campaign.chosen = vopt[law.name]["runs"]
            campaign.refit(settings.starts, polish=True)
            forms[law.name]["vopt_picks"] = compare(law, campaign, targets_y, args.ls_starts, np.random.default_rng([9, k, 1])) | {
                "first": vopt[law.name]["first"], "logged_r2": vopt[law.name]["logged_r2"]}
        print(json.dumps({law.name: forms[law.name]}), flush=True)
    summary = {"ours_on_ours": float(np.mean([c["r2_ours"] for f in forms.values() for c in f["our_picks"]])),
               "ls_on_ours": float(np.mean([c["r2_ls"] for f in forms.values() for c in f["our_picks"]]))}
    if vopt:
        summary |= {key: float(np.mean([f["vopt_picks"][field] for f in forms.values()]))
                    for key, field in (("ours_on_vopt", "r2_ours"), ("ls_on_vopt", "r2_ls"), ("vopt_logged", "logged_r2"))}
    print(json.dumps({"task": task.name, "budget": args.budget, "overrides": args.overrides, "summary": summary,
                      "cpu_s": time.process_time() - start, "forms": forms}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
