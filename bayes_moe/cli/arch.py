"""``arch``: solve the widths of a model for (r, c_token, sparsity); a calculator that needs no workspace."""

from __future__ import annotations

import argparse

from bayes_moe import arch
from bayes_moe.cli.output import emit, fmt, measured, positive
from bayes_moe.errors import InputError


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
    text = "\n".join(f"{k:>13}  {fmt(v)}" for k, v in summary.items())
    text += (f"\n\nrequested r={args.r:g} c_token={c_token:.4g} sparsity={args.sparsity:g}; achieved "
             f"r off by {solved.r / args.r - 1:+.2%}, c_token off by {solved.c_token / c_token - 1:+.2%}")
    emit(args, payload, text)


def register(command) -> None:
    p = command("arch", _cmd_arch, "solve an architecture for (r, c_token, sparsity)", reports=True)
    p.add_argument("--r", type=measured("r"), required=True, help="expert/attention FLOPs ratio C_E/C_A")
    p.add_argument("--c-token", type=positive(float), help="forward FLOPs per token (attention + experts)")
    p.add_argument("--sparsity", type=measured("sparsity"), required=True, help="S = (E - E_act) / E")
    p.add_argument("--preset", help=f"size preset: {', '.join(arch.PRESETS)}")
    p.add_argument("--layers", type=positive(int))
    p.add_argument("--heads", type=positive(int))
    p.add_argument("--kv-heads", type=positive(int))
    p.add_argument("--d-model", type=positive(int), help=f"residual width, >= {arch.WIDTH_MULTIPLE}")
    p.add_argument("--n-ctx", type=positive(int))
    p.add_argument("--top-k", type=positive(int), default=2)
    p.add_argument("--shared", type=int, default=1)
    p.add_argument("--vocab", type=positive(int), default=arch.DEFAULT_VOCAB)
