"""Design benchmark: simulated campaigns against a known world, one per (world, strategy, seed).

Each campaign starts from an empty ledger. Strategies that use the posterior (active, max-variance)
and Sobol start with the same space-filling batch for a given seed; the grid follows the paper's
design from its first run. Every round: fit the joint model to the runs done, stop if the 90%
interval of r* at every target lies within ±target_width of its median under a law that may stop it
(the campaign's stopping rule; campaign.law_may_stop) or the compute cap is spent, else propose a batch
and answer it with the world's noisy loss. Reported per campaign: compute spent, runs, the final
relative half-width, whether the interval covers the true r* at every target, and the trajectory
(after each round: runs, compute, half-width, coverage), from which ``summarise`` reads, for each of ``MILESTONES``, the compute and
runs each strategy needed to first get within that width and the coverage at that moment (so a
campaign that stops short of the target width still measures compute-to-width against the grid),
with medians per (world, strategy).

    bayes-moe benchmark-design [--seeds 3] [--worlds paper two-term two-term-qs bending] [--batch 4] [--out DIR]
    python -m bayes_moe.benchmarks.design design_benchmark.json [more.json]  # the tables again, from the JSON(s)
"""

from __future__ import annotations

import json
import math
import tempfile
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from bayes_moe import forms, model, posterior
from bayes_moe.campaign import law_may_stop, target_intervals, worst_half_width
from bayes_moe.config import Campaign
from bayes_moe.design.proposals import plan, posterior_draws
from bayes_moe.design.space import DesignSpace
from bayes_moe.design import strategies
from bayes_moe.design.strategies import STRATEGIES
from bayes_moe.errors import InputError
from bayes_moe.ledger import Ledger
from bayes_moe.simulate import LAWS, World

# the worlds a benchmark can simulate (simulate.World settings): the paper's law; the two-term surface of
# docs/paper.md point 1 (outside the paper's law, inside the two-term form); and the same with the experts'
# exponent varying with sparsity, q(S) = 0.15 ((1-S)/0.1)^0.3 (r*'s exponent of C 0.10-0.17 across the
# paper's sparsities, as the paper's beta_r(S)), inside the two-term form only through its q_slope
WORLDS = {"paper": {"law": "paper"}, "two-term": {"law": "two-term"},
          "two-term-qs": {"law": "two-term", "q_exponent": 0.3},
          # the paper's law from 1e18 FLOPs up, r* inflated and the frontier bent up below (issue #17)
          "bending": {"law": "bending", "bend_compute": 1e18, "r_star_bend": 0.3, "frontier_bend": 0.05}}
DEFAULT_WORLDS = ("paper", "two-term")
DEFAULT_STRATEGIES = ("active", "grid", "sobol", "max-variance")
PROB = 0.9
MILESTONES = (1.0, 0.6, 0.4, 0.3, 0.2, 0.15, 0.1)  # half-widths at which compute-to-width is read off trajectories


@dataclass(frozen=True)
class Settings:
    """What one benchmark runs. ``compute_cap`` bounds each campaign's FLOPs (the campaign budget
    by default), ``max_runs`` its runs; fits use few draws to stay fast."""

    worlds: tuple[str, ...] = DEFAULT_WORLDS
    strategies: tuple[str, ...] = DEFAULT_STRATEGIES
    seeds: int = 3
    batch: int = 4
    initial: int = 8
    max_runs: int = 120
    compute_cap: float | None = None
    draws: int = 300
    chains: int = 2
    noise: float = 0.01
    form: str = forms.DEFAULT_FORM  # the r* law every fit assumes (forms.FORM_CHOICES; auto: LOO picks)
    discrepancy: str = forms.DEFAULT_DISCREPANCY  # of log r* from that law along compute (forms.DISCREPANCIES)
    frontier: str = forms.DEFAULT_FRONTIER  # the frontier every fit assumes (forms.FRONTIERS)
    hinge_scale: float = forms.DEFAULT_HINGE_SCALE  # the hinges' prior scale of every fit ([model] hinge_scale)
    top_picks: int = 0  # active / max-variance: picks per batch kept near the largest compute (the guard)
    campaign: Campaign = field(default_factory=Campaign)

    def __post_init__(self):
        for world in self.worlds:
            if world not in WORLDS:
                raise InputError(f"unknown world {world!r}; choose from {', '.join(WORLDS)}")
        for strategy in self.strategies:
            if strategy not in STRATEGIES:
                raise InputError(f"unknown strategy {strategy!r}; choose from {', '.join(STRATEGIES)}")
        if self.form not in forms.FORM_CHOICES:
            raise InputError(f"unknown form {self.form!r}; choose from {', '.join(forms.FORM_CHOICES)}")
        if self.discrepancy not in forms.DISCREPANCIES:
            raise InputError(f"unknown discrepancy {self.discrepancy!r}; choose from {', '.join(forms.DISCREPANCIES)}")
        if self.frontier not in forms.FRONTIERS:
            raise InputError(f"unknown frontier {self.frontier!r}; choose from {', '.join(forms.FRONTIERS)}")
        if not self.hinge_scale > 0:
            raise InputError(f"hinge_scale must be > 0, got {self.hinge_scale!r}")
        for name in ("seeds", "batch", "initial", "max_runs", "draws", "chains"):
            if getattr(self, name) < 1:
                raise InputError(f"{name} must be >= 1, got {getattr(self, name)!r}")
        if self.top_picks < 0:
            raise InputError(f"top_picks must be >= 0, got {self.top_picks!r}")

    @property
    def cap(self) -> float:
        return self.campaign.compute_budget if self.compute_cap is None else self.compute_cap


@dataclass(frozen=True)
class Outcome:
    """One simulated campaign's result."""

    world: str
    strategy: str
    seed: int
    reached: bool
    compute: float
    runs: int
    rounds: int
    half_width: float  # max over targets of the relative half-width of the 90% interval of r*
    covered: float  # fraction of targets whose 90% interval covers the true r*
    seconds: float
    trajectory: tuple = ()  # (runs, compute, half_width, covered) after each fit
    forms: tuple = ()  # the r* law of each fit (under form "auto", the one PSIS-LOO kept)
    converged: bool | None = None  # the last fit's verdict (posterior.converged)

    def first_within(self, width: float) -> tuple | None:
        """(runs, compute, covered) when the half-width first was <= ``width``, None if never."""
        return next(((runs, compute, covered) for runs, compute, w, covered in self.trajectory if w <= width), None)


def run_campaign(world_name: str, strategy: str, seed: int, settings: Settings, progress=None) -> Outcome:
    """One campaign from an empty ledger in a temporary workspace; see the module docstring.
    ``progress(line)`` is called after each fit with the campaign's standing."""
    campaign = settings.campaign
    world = World.from_config({**WORLDS[world_name], "seed": seed, "noise": settings.noise})
    rng = np.random.default_rng([seed, LAWS.index(world.law)])
    space = DesignSpace.from_campaign(campaign)
    target_c, target_s = (np.array([t[i] for t in campaign.targets]) for i in (0, 1))
    truth = np.exp(world.log_r_star(target_c, target_s))
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as folder, Ledger.open(Path(folder), create=True) as ledger:
        rounds, draws, trajectory, fitted_forms, reached = 0, None, [], [], False
        while True:
            done = ledger.runs("done")
            spent = sum(run.compute for run in done)
            if done:
                idata = model.fit(ledger.to_dataset(), draws=settings.draws, tune=settings.draws,
                                  chains=settings.chains, seed=seed + rounds, form=settings.form,
                                  discrepancy=settings.discrepancy, frontier=settings.frontier,
                                  hinge_scale=settings.hinge_scale, progressbar=False)
                rows = target_intervals(idata, campaign.targets, prob=PROB)
                half_width = worst_half_width(rows)
                covered = float(np.mean([row["lower"] <= t <= row["upper"] for row, t in zip(rows, truth)]))
                trajectory.append((len(done), spent, half_width, covered))
                fitted_forms.append(idata.attrs["form"])
                settled = posterior.law_settled(idata)
                if progress is not None:
                    progress(f"{world_name} {strategy} seed {seed}: {len(done)} runs, {spent:.3g} FLOPs, half-width "
                             f"{half_width:.3f}, covered {covered:.0%}, {fitted_forms[-1]} law"
                             + ("" if settled else " (not settled)"))
                previous_law = fitted_forms[-2] if len(fitted_forms) > 1 else None
                reached = half_width <= campaign.target_width and law_may_stop(fitted_forms[-1], settled, previous_law)
                if reached or spent >= settings.cap or len(done) >= settings.max_runs:
                    break
                if STRATEGIES[strategy].needs_posterior:
                    draws = posterior_draws(idata, campaign.targets)
            batch = settings.initial if not done and strategy != "grid" else settings.batch
            batch = min(batch, settings.max_runs - len(done))
            candidates, _, _ = plan(strategy, space, draws, batch=batch, done=done,
                                    budget_left=settings.cap - spent, seed=seed, top_picks=settings.top_picks)
            if not candidates:
                break
            for c in candidates:
                run_id = ledger.add_run(c.r, c.compute, c.sparsity, tokens=c.tokens, n_active=c.arch.n_active,
                                        n_total=c.arch.n_total, label=f"bench:{strategy}")
                ledger.start(run_id, "simulator")
                ledger.finish(run_id, float(world.loss(c.r, c.compute, c.sparsity, rng=rng)))
            rounds += 1
    return Outcome(world_name, strategy, seed, reached, spent, len(done), rounds,
                   half_width, covered, time.perf_counter() - started, tuple(trajectory), tuple(fitted_forms),
                   posterior.converged(idata) if fitted_forms else None)


def run(settings: Settings, report=None, progress=None) -> list[Outcome]:
    """Every (seed, world, strategy) campaign, seeds outermost so a partial run is balanced;
    ``report(outcomes)`` is called after each campaign (e.g. to write the results so far), ``progress``
    after each fit (``run_campaign``)."""
    outcomes = []
    for seed in range(settings.seeds):
        for world in settings.worlds:
            for strategy in settings.strategies:
                outcomes.append(run_campaign(world, strategy, seed, settings, progress))
                if report is not None:
                    report(outcomes)
    return outcomes


def describe(outcome: Outcome) -> str:
    return (f"{outcome.world:>9} {outcome.strategy:>12} seed {outcome.seed}: "
            f"{'reached' if outcome.reached else 'stopped'} at half-width {outcome.half_width:.3f}, "
            f"{outcome.runs} runs, {outcome.compute:.3g} FLOPs, covered {outcome.covered:.0%}, {outcome.seconds:.0f} s")


def summarise(outcomes: list[Outcome]) -> list[dict]:
    """Per (world, strategy): campaigns, how many reached the target width, median final compute,
    runs and half-width, mean coverage at the end, and for each milestone width the median compute
    and runs to reach it (None where most campaigns never did), that compute relative to the grid's,
    how many campaigns got there and their mean coverage at that moment."""
    rows = []
    keys = list(dict.fromkeys((o.world, o.strategy) for o in outcomes))
    for world, strategy in keys:
        group = [o for o in outcomes if (o.world, o.strategy) == (world, strategy)]
        row = dict(world=world, strategy=strategy, campaigns=len(group), reached=sum(o.reached for o in group),
                   compute=float(np.median([o.compute for o in group])),
                   runs=float(np.median([o.runs for o in group])),
                   half_width=float(np.median([o.half_width for o in group])),
                   coverage=float(np.mean([o.covered for o in group])),
                   final_forms=", ".join(f"{form} {n}/{len(group)}" for form, n in
                                         Counter(o.forms[-1] for o in group if o.forms).most_common()),
                   converged=sum(bool(o.converged) for o in group))
        for width in MILESTONES:
            hits = [o.first_within(width) for o in group]
            got = [hit for hit in hits if hit is not None]
            for name, column in (("runs_to", 0), ("compute_to", 1)):
                median = float(np.median([math.inf if hit is None else hit[column] for hit in hits]))
                row[f"{name}_{width:g}"] = median if math.isfinite(median) else None
            row[f"got_to_{width:g}"] = len(got)
            row[f"coverage_at_{width:g}"] = float(np.mean([hit[2] for hit in got])) if got else None
        rows.append(row)
    for row in rows:
        grid = next((r for r in rows if r["world"] == row["world"] and r["strategy"] == "grid"), None)
        for width in MILESTONES:
            key = f"compute_to_{width:g}"
            both = grid is not None and row[key] is not None and grid[key] is not None
            row[f"vs_grid_{width:g}"] = row[key] / grid[key] if both else None
    return rows


def write(outcomes: list[Outcome], settings: Settings, out: Path, seconds: float) -> tuple[Path, Path]:
    """``design_benchmark.json`` (settings, every campaign, the summary) and ``design_benchmark.md``."""
    out.mkdir(parents=True, exist_ok=True)
    summary, config = summarise(outcomes), config_of(settings)
    payload = dict(settings=config, seconds=seconds, summary=summary, campaigns=[asdict(o) for o in outcomes])
    json_path, md_path = out / "design_benchmark.json", out / "design_benchmark.md"
    json_path.write_text(json.dumps(payload, indent=2, allow_nan=False) + "\n")
    md_path.write_text(markdown(summary, config, seconds, outcomes))
    return json_path, md_path


def load(path) -> list[Outcome]:
    """The campaigns of a ``design_benchmark.json``, to tabulate again (e.g. after changing MILESTONES)."""
    campaigns = json.loads(Path(path).read_text())["campaigns"]
    return [Outcome(**{**c, "trajectory": tuple(tuple(t) for t in c["trajectory"]), "forms": tuple(c.get("forms", ()))})
            for c in campaigns]


def config_of(settings: Settings) -> dict:
    """The settings as JSON-ready values (the hinges' prior scale among them), with the campaign's targets,
    width and the compute cap and the guard's strata (strategies.TOP_STRATA)."""
    config = {k: v for k, v in asdict(settings).items() if k != "campaign"}
    config.update(targets=settings.campaign.targets, target_width=settings.campaign.target_width, cap=settings.cap,
                  run_overhead=settings.campaign.run_overhead)
    if settings.top_picks:
        config.update(top_strata=list(strategies.TOP_STRATA))
    return config


def markdown(summary: list[dict], config: dict, seconds: float, outcomes: list[Outcome] = ()) -> str:
    """The final state per (world, strategy), then the milestones: per width, the median compute (its
    ratio to the grid's), median runs, coverage of the true r* at that moment and [campaigns that got there];
    then, given the ``outcomes``, each campaign's final state and its lowest coverage after any fit."""
    final = ("| world | strategy | reached / campaigns | final FLOPs | runs | final half-width | coverage | final law "
             "| final fit converged |\n|---|---|---|---|---|---|---|---|---|\n"
             + "".join(f"| {r['world']} | {r['strategy']} | {r['reached']} / {r['campaigns']} | {r['compute']:.3g} "
                       f"| {r['runs']:.0f} | {r['half_width']:.3f} | {r['coverage']:.0%} "
                       f"| {r.get('final_forms') or config.get('form', forms.DEFAULT_FORM)} "
                       f"| {r.get('converged', 0)} / {r['campaigns']} |\n" for r in summary))

    def cell(row, width):
        key = f"{width:g}"
        got = f"[{row[f'got_to_{key}']}/{row['campaigns']}]"
        if row[f"compute_to_{key}"] is None:
            return f"not reached {got}"
        ratio = row[f"vs_grid_{key}"]
        return (f"{row[f'compute_to_{key}']:.3g}" + ("" if ratio is None else f" ({ratio:.2f})")
                + f", {row[f'runs_to_{key}']:.0f}, {row[f'coverage_at_{key}']:.0%} {got}")

    milestones = ("| world | strategy | " + " | ".join(f"to ±{w:.0%}" for w in MILESTONES) + " |\n|---|---|"
                  + "---|" * len(MILESTONES) + "\n"
                  + "".join(f"| {r['world']} | {r['strategy']} | " + " | ".join(cell(r, w) for w in MILESTONES)
                            + " |\n" for r in summary))
    extras = "".join(f", {name} {config[key]}" for key, name, default in
                     (("form", "law form", forms.DEFAULT_FORM),
                      ("frontier", "frontier", None),  # named wherever recorded: its default changed (power, flexible)
                      ("top_picks", "picks per batch near the largest compute", 0),
                      ("top_strata", "taking turns among windows reaching down (decades)", None),
                      ("run_overhead", "run overhead", 0.0),
                      ("hinge_scale", "hinges' prior scale", forms.DEFAULT_HINGE_SCALE))
                     if config.get(key, default) != default)
    extras += f", discrepancy {config.get('discrepancy', 'none')}"  # records before the setting had none
    settings = {k: config[k] for k in ('worlds', 'strategies', 'seeds', 'batch', 'initial', 'draws', 'chains', 'noise')}
    return (f"# Design benchmark\n\nSimulated campaigns: stop when the {PROB:.0%} interval of r* at every target "
            f"({len(config['targets'])} points at {config['targets'][0][0]:.0e} FLOPs) is within "
            f"±{config['target_width']:.0%} of its median, or at {_number(config['cap'])} FLOPs / {config['max_runs']} runs"
            f"{extras}. Half-width: the largest over targets of max(upper/median - 1, 1 - lower/median). "
            f"Settings: {json.dumps(settings)}. Wall time {seconds / 60:.1f} min.\n\n## Final state\n\n" + final
            + "\n## Milestones\n\nPer width: the median compute when the interval was first that narrow (its ratio "
            "to the grid's), the median runs, the coverage of the true r* at that moment, [campaigns that got "
            "there]; \"not reached\" where the median campaign did not.\n\n" + milestones + campaign_table(outcomes))


def campaign_table(outcomes: list[Outcome]) -> str:
    """Each campaign's final half-width, compute, runs and coverage, and its lowest coverage after any fit
    (a campaign may cover at its end and have missed on the way); empty without campaigns."""
    if not outcomes:
        return ""
    rows = "".join(f"| {o.world} | {o.strategy} | {o.seed} | {o.half_width:.3f} | {o.compute:.3g} | {o.runs} "
                   f"| {o.covered:.0%} | {min((t[3] for t in o.trajectory), default=o.covered):.0%} |\n"
                   for o in outcomes)
    return ("\n## Campaigns\n\n| world | strategy | seed | final half-width | FLOPs | runs | coverage at the end "
            "| lowest coverage on the way |\n|---|---|---|---|---|---|---|---|\n" + rows)


def pooled_config(configs: list[dict]) -> dict:
    """The settings of several result files as one: a setting they share as it is, the lists of worlds
    and strategies joined, any other that differs as its values in file order joined by '/'."""
    pooled = {}
    for key in dict.fromkeys(k for config in configs for k in config):
        values = [config.get(key) for config in configs]
        if key in ("worlds", "strategies"):
            pooled[key] = list(dict.fromkeys(v for value in values for v in value or ()))
        elif all(value == values[0] for value in values):
            pooled[key] = values[0]
        else:
            pooled[key] = "/".join(str(value) for value in values)
    return pooled


def _number(value) -> str:
    """A number to 3 significant digits; pooled settings that differ (a string) as they are."""
    return value if isinstance(value, str) else f"{value:.3g}"


def main(argv: list[str] | None = None) -> None:
    """Print the tables of one or several ``design_benchmark.json`` again (e.g. after changing
    MILESTONES), several pooled into one table (e.g. strategies run with different run caps)."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m bayes_moe.benchmarks.design", description=main.__doc__)
    parser.add_argument("json", type=Path, nargs="+")
    paths = parser.parse_args(argv).json
    payloads = [json.loads(path.read_text()) for path in paths]
    outcomes = [outcome for path in paths for outcome in load(path)]
    config = pooled_config([payload["settings"] for payload in payloads])
    print(markdown(summarise(outcomes), config, sum(payload["seconds"] for payload in payloads), outcomes), end="")


if __name__ == "__main__":
    main()
