"""``bayes-moe``: the one entry point (DESIGN.md, CLI contract). Makefile targets call it.

Each command is a ``_cmd_*`` function registered in ``_parser``; the work lives in the library modules.
Bad input raises ``InputError``, which ``main`` prints as one line and turns into exit code 2.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
from pathlib import Path

from bayes_moe import arch
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


# --- parser ---------------------------------------------------------------------------------------


def _parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--workspace", default=argparse.SUPPRESS,
                        help=f"workspace folder (default ${WORKSPACE_ENV} or ./workspace)")
    reporting = argparse.ArgumentParser(add_help=False)
    reporting.add_argument("--json", action="store_true", help="print JSON instead of text")

    parser = argparse.ArgumentParser(prog="bayes-moe", parents=[common], description=__doc__.splitlines()[0])
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
