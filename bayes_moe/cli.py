"""``bayes-moe``: the one entry point (DESIGN.md, CLI contract). Makefile targets call it.

Each command is a ``_cmd_*`` function registered in ``_parser``; the work lives in the library modules.
Bad input raises ``InputError``, which ``main`` prints as one line and turns into exit code 2.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import os
import sys
from pathlib import Path

from bayes_moe import arch
from bayes_moe import config, flops
from bayes_moe.ledger import POSTERIOR_FILE, RUNS_FILE, STATUSES, Ledger, create_workspace, parse_value
from bayes_moe.errors import InputError

WORKSPACE_ENV = "BAYES_MOE_WORKSPACE"


def workspace_path(args: argparse.Namespace) -> Path:
    """``--workspace``, else ``$BAYES_MOE_WORKSPACE``, else ``./workspace``."""
    return Path(getattr(args, "workspace", None) or os.environ.get(WORKSPACE_ENV) or "workspace")


def emit(args: argparse.Namespace, payload, text: str) -> None:
    """Print ``payload`` as JSON under ``--json``, else the human-readable ``text``."""
    print(json.dumps(payload, indent=2, default=_jsonable) if getattr(args, "json", False) else text)


def table(rows: list[dict], columns: list[str]) -> str:
    """A plain aligned text table; numbers in 4 significant digits."""
    cells = [[_fmt(row.get(c)) for c in columns] for row in rows]
    widths = [max(len(c), *(len(r[i]) for r in cells)) if cells else len(c) for i, c in enumerate(columns)]
    lines = ["  ".join(c.rjust(w) for c, w in zip(columns, widths))]
    lines += ["  ".join(v.rjust(w) for v, w in zip(r, widths)) for r in cells]
    return "\n".join(lines)


def _fmt(value) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def _jsonable(value):
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


# --- commands -------------------------------------------------------------------------------------


def _cmd_arch(args: argparse.Namespace) -> None:
    if args.preset:
        p = arch.preset(args.preset)
        shape = dict(n_layers=p.n_layers, n_heads=p.n_heads, d_model=p.d_model, n_ctx=p.n_ctx)
        c_token = args.c_token if args.c_token is not None else p.c_token
    else:
        missing = [flag for flag, v in (("--c-token", args.c_token), ("--layers", args.layers),
                                         ("--heads", args.heads), ("--d-model", args.d_model)) if v is None]
        if missing:
            raise InputError(f"arch needs {', '.join(missing)} (or --preset NAME)")
        shape, c_token = {}, args.c_token
    shape.update({k: v for k, v in (("n_layers", args.layers), ("n_heads", args.heads),
                                    ("d_model", args.d_model), ("n_ctx", args.n_ctx),
                                    ("n_kv_heads", args.kv_heads)) if v is not None})
    shape.setdefault("n_ctx", 2048)
    solved = arch.solve(args.r, c_token, args.sparsity, top_k=args.top_k, n_shared=args.shared,
                        vocab_size=args.vocab, **shape)
    summary = solved.summary()
    payload = {"requested": {"r": args.r, "c_token": c_token, "sparsity": args.sparsity}, **summary}
    text = "\n".join(f"{k:>13}  {_fmt(v)}" for k, v in summary.items())
    text += (f"\n\nrequested r={args.r:g} c_token={c_token:.4g} sparsity={args.sparsity:g}; achieved "
             f"r off by {solved.r / args.r - 1:+.2%}, c_token off by {solved.c_token / c_token - 1:+.2%}")
    emit(args, payload, text)


def _cmd_loss_law(args: argparse.Namespace) -> None:
    from bayes_moe import loss_law, sampling  # imports PyMC: only when this command runs

    loss_law.check_prob(args.prob)
    runs = loss_law.read_runs(args.file)
    idata = loss_law.fit(runs, sampler=args.sampler or sampling.DEFAULT_SAMPLER, draws=args.draws,
                         tune=args.tune, chains=args.chains, seed=args.seed)
    summary = loss_law.summarise(idata, prob=args.prob)
    payload = {**summary, "n_runs": len(runs), "prob": args.prob}
    diag = summary["diagnostics"]
    if not diag["converged"]:
        payload["warning"] = (f"not converged (max r-hat {diag['max_rhat']:.3f}, min ESS bulk "
                              f"{diag['min_ess_bulk']:.0f} / tail {diag['min_ess_tail']:.0f}, "
                              f"{diag['divergences']} divergences): rerun with more --draws or --chains")
        print(f"bayes-moe loss-law: warning: {payload['warning']}", file=sys.stderr)
    rows = [{"parameter": name, **summary[name]} for name in loss_law.LAW_PARAMETERS]
    text = (f"L = E + A / N**alpha + B / D**beta on {len(runs)} runs of {args.file} "
            f"(median, {args.prob:g} equal-tailed interval)\n"
            + table(rows, ["parameter", "median", "lower", "upper"])
            + f"\n\nmax r-hat {diag['max_rhat']:.3f}, min ESS bulk {diag['min_ess_bulk']:.0f} / tail "
              f"{diag['min_ess_tail']:.0f}, {diag['divergences']} divergences")
    emit(args, payload, text)


def _cmd_run(args: argparse.Namespace) -> None:
    if args.executor == "trainer":  # in this process: the trainer executor of a campaign calls this command
        from bayes_moe.train.loop import read_config, train_run  # torch loads only for this command

        config = read_config(args.config) if args.config else None
        run = train_run(workspace_path(args), args.id, nproc=args.nproc, device=args.device, config=config,
                        corpus=args.corpus, progress=not args.json)
    else:
        from bayes_moe.executors import make_executor

        run = make_executor(args.executor).execute(workspace_path(args), args.id)
    payload = run.to_dict()
    if run.status == "done" and "train_loss" in run.metrics:
        m = run.metrics
        text = (f"run {run.id} done: validation loss {run.loss:.4f} nats, train loss {m['train_loss']:.4f}, "
                f"{m['tokens']:.4g} tokens at {m['tokens_per_s']:.4g} tokens/s"
                + (f", MFU {m['mfu']:.1%}" if "mfu" in m else "") + f", {m['wall_s']:.1f} s")
    elif run.status == "done":
        text = f"run {run.id} done ({run.executor}): loss {run.loss:.4f} nats"
    else:
        text = f"run {run.id} {run.status}" + (f": {run.reason}" if run.reason else "")
    emit(args, payload, text)


# --- workspace and runs: init, import, export, status, add --------------------------------------------

STATUS_LAST = 10  # runs `status` lists unless --all
RUN_COLUMNS = ["id", "status", "r", "compute", "sparsity", "loss", "tokens", "executor", "label", "reason"]


def _cmd_init(args: argparse.Namespace) -> None:
    workspace = workspace_path(args)
    ids = create_workspace(workspace, Path(args.source) if args.source else None)
    campaign = config.load_campaign(workspace)
    seeded = f"{len(ids)} runs imported from {Path(args.source) / RUNS_FILE}" if ids else "no runs"
    payload = {"workspace": str(workspace), "campaign": campaign.name, "imported": ids}
    emit(args, payload, f"created workspace {workspace}: campaign {campaign.name!r}, {seeded}")


def _cmd_import(args: argparse.Namespace) -> None:
    with Ledger.open(workspace_path(args)) as ledger:
        ids = ledger.import_csv(args.file)
        payload = {"file": args.file, "ledger": str(ledger.path), "imported": ids}
        emit(args, payload, f"imported {len(ids)} runs (ids {ids[0]}-{ids[-1]}) from {args.file} into {ledger.path}")


def _cmd_export(args: argparse.Namespace) -> None:
    with Ledger.open(workspace_path(args)) as ledger:
        count = ledger.export_csv(args.file, status=args.status)
    which = "" if args.status is None else f" {'/'.join(args.status)}"
    emit(args, {"file": args.file, "exported": count}, f"exported {count}{which} runs to {args.file}")


def _cmd_status(args: argparse.Namespace) -> None:
    workspace = workspace_path(args)
    with Ledger.open(workspace) as ledger:
        counts, runs = ledger.counts(), ledger.runs()
        fit = _posterior_state(workspace, ledger)
    campaign = config.load_campaign(workspace)
    done = [run for run in runs if run.status == "done"]
    compute_done = sum(run.compute for run in done)
    per_level = {s: sum(run.sparsity == s for run in done) for s in sorted({run.sparsity for run in done})}
    shown = runs if args.all else runs[-STATUS_LAST:]
    payload = {
        "workspace": str(workspace), "campaign": campaign.name, "counts": counts,
        "compute_done": compute_done, "compute_budget": campaign.compute_budget,
        "compute_range": [min(r.compute for r in done), max(r.compute for r in done)] if done else None,
        "sparsities": {repr(s): n for s, n in per_level.items()},
        "posterior": fit,
        "runs": [run.to_dict() for run in shown],
    }
    lines = [
        f"workspace {workspace}: campaign {campaign.name!r}",
        "runs: " + ", ".join(f"{n} {status}" for status, n in counts.items()),
        f"compute done: {compute_done:.3g} FLOPs of the {campaign.compute_budget:.3g} budget "
        f"({compute_done / campaign.compute_budget:.1%})",
    ]
    if done:
        low, high = payload["compute_range"]
        lines.append(f"compute per done run: {low:.3g} to {high:.3g} FLOPs")
        lines.append("sparsities of done runs: " + ", ".join(f"{s:g} ({n})" for s, n in per_level.items()))
    if fit is None:
        lines.append("posterior: none yet (`bayes-moe fit`)")
    else:
        lines.append(f"posterior: {'fresh' if fit['fresh'] else 'STALE: the done runs changed since the fit; refit'}, "
                     f"{'converged' if fit['converged'] else 'NOT converged'}")
    if runs:
        lines += ["", table(payload["runs"], RUN_COLUMNS)]
        if len(shown) < len(runs):
            lines.append(f"(last {len(shown)} of {len(runs)} runs; --all lists every run)")
    emit(args, payload, "\n".join(lines))


def _posterior_state(workspace: Path, ledger: Ledger) -> dict | None:
    """Whether the workspace's posterior was fitted on the ledger's current done runs; None if none."""
    if not (workspace / POSTERIOR_FILE).is_file():
        return None
    from bayes_moe import posterior  # imports ArviZ: only when there is a posterior to read

    idata = posterior.load(workspace)
    return {"fresh": not posterior.is_stale(idata, ledger), "converged": posterior.converged(idata)}


def _cmd_add(args: argparse.Namespace) -> None:
    workspace = workspace_path(args)
    preset = args.preset or config.load_campaign(workspace).preset
    with Ledger.open(workspace) as ledger:
        solved = arch.solve_preset(args.r, args.sparsity, preset)
        tokens = flops.tokens_for_compute(args.compute, solved.c_token)
        run_id = ledger.add_run(solved.r, args.compute, solved.sparsity, arch=solved.to_dict(), tokens=tokens,
                              n_active=solved.n_active, n_total=solved.n_total, seed=args.seed, label=args.label,
                              metrics={"requested_r": args.r, "requested_sparsity": args.sparsity, "preset": preset})
    payload = {"id": run_id, "r": solved.r, "compute": args.compute, "sparsity": solved.sparsity,
               "n_active": solved.n_active, "n_total": solved.n_total, "tokens": tokens, "arch": solved.to_dict(),
               "preset": preset, "requested": {"r": args.r, "sparsity": args.sparsity}}
    emit(args, payload, f"proposed run {run_id}: r={solved.r:.4g} (requested {args.r:g}), compute={args.compute:.4g}, "
                        f"sparsity={solved.sparsity:.4g}, preset {preset}, {tokens:.4g} tokens, "
                        f"n_active={solved.n_active:,}, n_total={solved.n_total:,}")


def _measured(name: str):
    """An argparse type that checks a flag as the ledger checks field ``name``, keeping its message."""
    def parse(text: str):
        try:
            return parse_value(name, text)
        except InputError as error:
            raise argparse.ArgumentTypeError(str(error)) from None

    parse.__name__ = name
    return parse


# --- design: next, benchmark-design --------------------------------------------------------------------

NEXT_COLUMNS = ["id", "r", "compute", "sparsity", "n_active", "tokens", "predicted_loss", "loss_lower",
                "loss_upper", "information_per_flop"]


def _cmd_next(args: argparse.Namespace) -> None:
    if args.unless_pending:
        with Ledger.open(workspace_path(args)) as ledger:
            pending = ledger.runs("proposed")
        if pending:
            rows = [{"id": run.id, "r": run.r, "compute": run.compute, "sparsity": run.sparsity,
                     "n_active": run.n_active, "tokens": run.tokens, "label": run.label} for run in pending]
            emit(args, rows, f"{len(rows)} proposed run(s) not yet run, so none proposed (--unless-pending)\n"
                 + table(rows, list(rows[0])) + _run_commands(args, rows))
            return
    from bayes_moe.design.proposals import propose_next  # BoTorch loads only for this command

    proposals, used = propose_next(workspace_path(args), batch=args.batch, strategy=args.strategy,
                                   force=args.force, seed=args.seed)
    rows = [p.to_dict() for p in proposals]
    note = "" if used == args.strategy else f" (no posterior yet: a space-filling {used} batch instead of {args.strategy})"
    columns = [c for c in NEXT_COLUMNS if any(row[c] is not None for row in rows)]
    emit(args, rows, f"proposed {len(rows)} run(s) by {used}{note}\n" + table(rows, columns) + _run_commands(args, rows))


def _run_commands(args: argparse.Namespace, rows: list[dict]) -> str:
    """The commands that run ``rows``, naming the workspace unless it is the default one."""
    given = getattr(args, "workspace", None)
    workspace = "" if given is None else f" --workspace {given}"
    return "\n\nrun them with:\n" + "\n".join(f"  bayes-moe{workspace} run {row['id']}" for row in rows)


# --- the r* model: fit, r-star, compare, validate ---------------------------------------------------


def _fit_options(args: argparse.Namespace) -> dict:
    from bayes_moe import sampling

    return dict(sampler=args.sampler or sampling.DEFAULT_SAMPLER, draws=args.draws, tune=args.tune,
                chains=args.chains, seed=args.seed)


def _diagnostics_text(report: dict) -> str:
    return table([report], ["max_rhat", "min_ess_bulk", "min_ess_tail", "divergences", "converged"])


def _cmd_fit(args: argparse.Namespace) -> None:
    from bayes_moe import campaign, posterior  # imports PyMC: only when this command runs

    workspace = workspace_path(args)
    idata = campaign.fresh_posterior(workspace) if args.if_stale else None
    refitted = idata is None
    if refitted:
        idata = campaign.refit(workspace, form=args.form, penalty=args.penalty, **_fit_options(args))
    path = workspace / POSTERIOR_FILE
    report = {k: idata.attrs[k] for k in ("max_rhat", "min_ess_bulk", "min_ess_tail", "divergences")}
    report["converged"] = posterior.converged(idata)
    payload = {"posterior": str(path), "refitted": refitted, "n_runs": int(idata.attrs["n_runs"]),
               "form": idata.attrs["form"], "penalty": idata.attrs["penalty"], **report}
    if not report["converged"]:
        print("bayes-moe fit: warning: posterior NOT converged (needs r-hat <= 1.01, ESS >= 400, no divergences); "
              "rerun with more --draws/--tune or --chains", file=sys.stderr)
    what = "fit" if refitted else "posterior is fresh, kept: fit on"
    emit(args, payload, f"{what} {payload['n_runs']} runs ({payload['form']} law, {payload['penalty']} penalty) "
                        f"-> {path}\n" + _diagnostics_text(report))


def _cmd_r_star(args: argparse.Namespace) -> None:
    from bayes_moe import posterior

    workspace = workspace_path(args)
    if args.targets == (args.compute is not None or args.sparsity is not None):
        raise InputError("give --compute and --sparsity, or --targets for the campaign's target points")
    if args.targets:
        points = list(config.load_campaign(workspace).targets)
    elif args.compute is None or args.sparsity is None:
        raise InputError("r-star needs both --compute and --sparsity")
    else:
        points = [(args.compute, args.sparsity)]
    for compute, sparsity in points:
        if not compute > 0 or not 0 <= sparsity < 1:
            raise InputError(f"need --compute > 0 and 0 <= --sparsity < 1, got {compute!r}, {sparsity!r}")
    idata = posterior.load(workspace)
    with Ledger.open(workspace) as ledger:
        stale = posterior.is_stale(idata, ledger)
    compute, sparsity = ([p[i] for p in points] for i in (0, 1))
    interval = posterior.r_star(idata, compute, sparsity, prob=args.prob)
    rows = [{"compute": c, "sparsity": s, "prob": args.prob,
             **{k: float(interval[k].values[i]) for k in ("median", "lower", "upper")},
             "stale": stale, "converged": posterior.converged(idata)} for i, (c, s) in enumerate(points)]
    if stale:
        print("bayes-moe r-star: warning: the posterior is stale (the ledger changed since the fit): run "
              "`bayes-moe fit`", file=sys.stderr)
    if not posterior.converged(idata):
        print("bayes-moe r-star: warning: the posterior did not converge: treat the interval with care",
              file=sys.stderr)
    text = "\n".join(f"r* at C={row['compute']:.3g} FLOPs, S={row['sparsity']:g}: {row['median']:.4g} "
                     f"({args.prob:g} interval {row['lower']:.4g} .. {row['upper']:.4g})" for row in rows)
    emit(args, rows if args.targets else rows[0], text)


def _cmd_compare(args: argparse.Namespace) -> None:
    from bayes_moe import model

    with Ledger.open(workspace_path(args)) as ledger:
        runs = ledger.to_dataset()
    comparison, verdict = model.compare_forms(runs, **_fit_options(args))
    columns = ["rank", "elpd_loo", "se", "elpd_diff", "dse", "p_loo", "weight", "warning"]
    rows = [{"variant": name, **{c: row[c] for c in columns}} for name, row in comparison.iterrows()]
    emit(args, {"variants": rows, "verdict": verdict},
         table(rows, ["variant"] + columns) + f"\n\nverdict: {verdict}")


def _cmd_validate(args: argparse.Namespace) -> None:
    from bayes_moe import posterior

    with Ledger.open(workspace_path(args)) as ledger:
        runs = ledger.to_dataset()
    report = posterior.hold_out_validation(runs, args.hold_out_sparsity, form=args.form, penalty=args.penalty,
                                           **_fit_options(args))
    emit(args, report, f"held out S={args.hold_out_sparsity:g} ({report['n_held_out']} runs), refit on "
                       f"{report['n_fit']} runs ({args.form} law, {args.penalty} penalty)\n"
                       + table([report], ["rmse", "mean_abs_error", "coverage_50", "coverage_90", "converged"]))


def _register_model_commands(command) -> None:
    def sampling_flags(p: argparse.ArgumentParser) -> None:
        p.add_argument("--sampler", choices=("nutpie", "pymc", "numpyro"), help="NUTS backend (default nutpie)")
        p.add_argument("--draws", type=int, default=1000, help="draws per chain (1000)")
        p.add_argument("--tune", type=int, default=1000, help="tuning steps per chain (1000)")
        p.add_argument("--chains", type=int, default=4, help="chains (4)")
        p.add_argument("--seed", type=int, default=0, help="random seed (0)")

    def law_flags(p: argparse.ArgumentParser) -> None:
        p.add_argument("--form", choices=("power", "curved", "signed"), default="power",
                       help="log r* law in log C: power (the paper's, beta_r > 0), curved, or signed (beta_r of either sign)")
        p.add_argument("--penalty", choices=("asymmetric", "symmetric"), default="asymmetric",
                       help="loss valley around r* (asymmetric)")

    p = command("fit", _cmd_fit, "fit the r* model to the finished runs; writes posterior.nc", reports=True)
    sampling_flags(p)
    law_flags(p)
    p.add_argument("--if-stale", action="store_true",
                   help="keep the saved posterior if it was fit on the ledger's current runs")
    p = command("r-star", _cmd_r_star, "r* with a credible interval at any compute and sparsity", reports=True)
    p.add_argument("--compute", type=float, help="total training FLOPs")
    p.add_argument("--sparsity", type=float, help="S = (E - E_act) / E, 0 <= S < 1")
    p.add_argument("--targets", action="store_true", help="every target point of the campaign (a JSON list)")
    p.add_argument("--prob", type=float, default=0.9, help="equal-tailed interval probability (0.9)")
    p = command("compare", _cmd_compare, "PSIS-LOO: power law vs curved and signed laws, asymmetric vs symmetric valley",
                reports=True)
    sampling_flags(p)
    p = command("validate", _cmd_validate, "refit without one sparsity and score its predicted losses",
                reports=True)
    p.add_argument("--hold-out-sparsity", type=float, required=True, help="the sparsity level to hold out")
    sampling_flags(p)
    law_flags(p)


def _cmd_campaign(args: argparse.Namespace) -> None:
    from bayes_moe.campaign import run_campaign
    from bayes_moe.executors import make_executor

    options = {"nproc": args.nproc} if args.executor == "trainer" else {}
    executor = make_executor(args.executor, **options)
    fit_options = {"sampler": args.sampler, "draws": args.draws, "tune": args.draws, "chains": args.chains,
                   "progressbar": False}
    result = run_campaign(workspace_path(args), executor, rounds=args.rounds, batch=args.batch,
                          strategy=args.strategy, fit_options=fit_options, seed=args.seed, progress=not args.json)
    rows = [{"round": r.index, "runs": len(r.executed), "failed": len(r.failed),
             "compute_spent": r.after.compute_spent, "r*_half_width": r.after.half_width,
             "converged": r.after.converged} for r in result.rounds]
    payload = {"stopped": result.stopped, "start": dataclasses.asdict(result.start),
               "rounds": [dataclasses.asdict(r) for r in result.rounds]}
    text = (table(rows, list(rows[0])) + "\n\n" if rows else "") + f"stopped: {result.stopped}"
    if result.final.intervals:
        text += "\n\nr* at the targets (90% interval):\n" + table(
            result.final.intervals, ["compute", "sparsity", "median", "lower", "upper", "half_width"])
    emit(args, payload, text)


def _cmd_benchmark_design(args: argparse.Namespace) -> None:
    import time

    from bayes_moe.benchmarks import design as bench  # PyMC and BoTorch load only for this command

    campaign = config.load_campaign(args.campaign) if args.campaign else config.Campaign()
    if args.target_width is not None:
        campaign = dataclasses.replace(campaign, target_width=args.target_width)
    settings = bench.Settings(worlds=tuple(args.worlds), strategies=tuple(args.strategies), seeds=args.seeds,
                              batch=args.batch, initial=args.initial, max_runs=args.max_runs,
                              compute_cap=args.compute_cap, draws=args.draws, chains=args.chains, campaign=campaign)
    started = time.perf_counter()

    def report(outcomes):
        print(bench.describe(outcomes[-1]), file=sys.stderr, flush=True)
        bench.write(outcomes, settings, Path(args.out), time.perf_counter() - started)

    outcomes = bench.run(settings, report)
    summary = bench.summarise(outcomes)
    emit(args, summary, bench.markdown(summary, bench.config_of(settings), time.perf_counter() - started))


# --- parser ---------------------------------------------------------------------------------------


class _OneLineErrors(argparse.ArgumentParser):
    """Argument errors as one line naming the flag and value, exit code 2 (not argparse's usage dump)."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message} (see `{self.prog} --help`)\n")


def _parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--workspace", default=argparse.SUPPRESS,
                        help=f"workspace folder (default ${WORKSPACE_ENV} or ./workspace)")
    reporting = argparse.ArgumentParser(add_help=False)
    reporting.add_argument("--json", action="store_true", help="print JSON instead of text")

    parser = _OneLineErrors(prog="bayes-moe", parents=[common], description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, handler, help: str, reports: bool = False) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help, parents=[common] + ([reporting] if reports else []))
        p.set_defaults(handler=handler)
        return p

    p = command("arch", _cmd_arch, "solve an architecture for (r, c_token, sparsity)", reports=True)
    p.add_argument("--r", type=float, required=True, help="expert/attention FLOPs ratio C_E/C_A")
    p.add_argument("--c-token", type=float, help="forward FLOPs per token (attention + experts)")
    p.add_argument("--sparsity", type=float, required=True, help="S = (E - E_act) / E")
    p.add_argument("--preset", help=f"size preset: {', '.join(arch.PRESETS)}")
    p.add_argument("--layers", type=int)
    p.add_argument("--heads", type=int)
    p.add_argument("--kv-heads", type=int)
    p.add_argument("--d-model", type=int)
    p.add_argument("--n-ctx", type=int)
    p.add_argument("--top-k", type=int, default=2)
    p.add_argument("--shared", type=int, default=1)
    p.add_argument("--vocab", type=int, default=arch.DEFAULT_VOCAB)

    p = command("loss-law", _cmd_loss_law, "fit the dense law L = E + A/N**alpha + B/D**beta to a CSV",
                reports=True)
    p.add_argument("file", help="CSV with columns n_params, tokens, loss (other columns are ignored)")
    p.add_argument("--prob", type=float, default=0.9, help="equal-tailed interval probability (0.9)")
    p.add_argument("--sampler", help="NUTS backend: nutpie (default), pymc or numpyro")
    p.add_argument("--draws", type=int, default=1000, help="draws per chain (1000)")
    p.add_argument("--tune", type=int, default=1000, help="tuning steps per chain (1000)")
    p.add_argument("--chains", type=int, default=4, help="chains (4)")
    p.add_argument("--seed", type=int, default=0, help="random seed (0)")
    p = command("run", _cmd_run, "train a proposed run and record its loss", reports=True)
    p.add_argument("id", type=int, help="run id in the ledger")
    p.add_argument("--executor", choices=("trainer", "simulator", "slurm"), default="trainer",
                   help="who runs it: the torch trainer here, the campaign's simulated world, or a submitit job")
    p.add_argument("--nproc", type=int, default=1, help="processes (GPUs) through torchrun")
    p.add_argument("--device", choices=("cpu", "cuda"), help="default: cuda if available")
    p.add_argument("--config", type=Path, help="TOML of trainer settings (batch_size, lr, balance, ...)")
    p.add_argument("--corpus", type=Path, help="token shards with manifest.json, or a folder of .txt files")

    p = command("init", _cmd_init, "create a workspace (ledger + campaign.toml), optionally from a campaign folder",
                reports=True)
    p.add_argument("--from", dest="source", metavar="DIR",
                   help=f"campaign folder: copy its {config.CAMPAIGN_FILE}, import its {RUNS_FILE}")
    p = command("import", _cmd_import, "import measured runs from a CSV (all or nothing)", reports=True)
    p.add_argument("file", metavar="FILE.csv", help="columns r, compute, sparsity, loss (+ n_active, n_total, "
                                                    "tokens, seed, label)")
    p = command("export", _cmd_export, "write the runs to a CSV", reports=True)
    p.add_argument("file", metavar="FILE.csv")
    p.add_argument("--status", nargs="+", choices=STATUSES, help="only runs with these statuses")
    p = command("status", _cmd_status, "runs by status, compute spent, the latest runs", reports=True)
    p.add_argument("--all", action="store_true", help=f"list every run, not only the last {STATUS_LAST}")
    p = command("add", _cmd_add, "record a hand-chosen run as proposed; prints its id", reports=True)
    p.add_argument("--r", type=_measured("r"), required=True, help="expert/attention FLOPs ratio C_E/C_A")
    p.add_argument("--compute", type=_measured("compute"), required=True, help="total training FLOPs")
    p.add_argument("--sparsity", type=_measured("sparsity"), required=True, help="S = (E - E_act) / E")
    p.add_argument("--preset", help=f"size preset (default: the campaign's): {', '.join(arch.PRESETS)}")
    p.add_argument("--label", type=_measured("label"))
    p.add_argument("--seed", type=_measured("seed"))
    p = command("next", _cmd_next, "propose the next runs and record them as proposed", reports=True)
    p.add_argument("--batch", type=int, default=1, help="runs to propose, jointly informative (1)")
    p.add_argument("--strategy", default="active", help="active (default), max-variance, sobol or grid")
    p.add_argument("--force", action="store_true", help="propose even from a stale or unconverged posterior")
    p.add_argument("--seed", type=int, default=0, help="seed of the space-filling strategies (0)")
    p.add_argument("--unless-pending", action="store_true",
                   help="propose nothing while proposed runs are waiting; list them instead")
    _register_model_commands(command)
    p = command("campaign", _cmd_campaign, "the closed loop: propose, execute, record, refit", reports=True)
    p.add_argument("--rounds", type=int, required=True, help="rounds of propose -> execute -> refit")
    p.add_argument("--batch", type=int, default=1, help="runs proposed per round")
    p.add_argument("--executor", choices=("simulator", "trainer", "slurm"), default="simulator")
    p.add_argument("--strategy", choices=("active", "max-variance", "sobol", "grid"), default="active",
                   help="how runs are chosen (active)")
    p.add_argument("--nproc", type=int, default=1, help="GPUs per run (trainer executor)")
    p.add_argument("--sampler", choices=("nutpie", "pymc", "numpyro"), default="nutpie", help="NUTS backend")
    p.add_argument("--draws", type=int, default=1000, help="draws (and tuning steps) per chain of each refit")
    p.add_argument("--chains", type=int, default=4, help="chains per refit (4)")
    p.add_argument("--seed", type=int, default=0, help="seed of the proposals and the fits (0)")
    p = command("benchmark-design", _cmd_benchmark_design, "simulated campaigns: compute each design strategy "
                "spends to pin r* at the targets", reports=True)
    p.add_argument("--worlds", nargs="+", default=["paper", "two-term"], help="simulated worlds (paper two-term)")
    p.add_argument("--strategies", nargs="+", default=["active", "grid", "sobol", "max-variance"])
    p.add_argument("--seeds", type=int, default=3, help="campaigns per world and strategy (3)")
    p.add_argument("--batch", type=int, default=4, help="runs per round (4)")
    p.add_argument("--initial", type=int, default=8, help="space-filling first batch (8)")
    p.add_argument("--max-runs", type=int, default=120, help="runs per campaign at most (120)")
    p.add_argument("--compute-cap", type=float, help="FLOPs per campaign at most (default: the campaign budget)")
    p.add_argument("--target-width", type=float, help="relative half-width to reach (default: the campaign's)")
    p.add_argument("--campaign", help="campaign .toml or workspace (default: the built-in default campaign)")
    p.add_argument("--draws", type=int, default=300, help="posterior draws (and tuning steps) per chain per fit")
    p.add_argument("--chains", type=int, default=2)
    p.add_argument("--out", default="experiments/benchmarks", help="folder for design_benchmark.json|md")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        args.handler(args)
    except InputError as error:
        print(f"bayes-moe {args.command}: error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
