"""Where a command's workspace is and how its answer is printed, so every command reads and reports alike."""

from __future__ import annotations

import argparse
import json
import math
import numbers
import os
from pathlib import Path

from bayes_moe.errors import InputError
from bayes_moe.fields import parse_value

WORKSPACE_ENV = "BAYES_MOE_WORKSPACE"


def workspace_path(args: argparse.Namespace) -> Path:
    """``--workspace``, else ``$BAYES_MOE_WORKSPACE``, else ``./workspace``."""
    return Path(getattr(args, "workspace", None) or os.environ.get(WORKSPACE_ENV) or "workspace")


def emit(args: argparse.Namespace, payload, text: str, file=None) -> None:
    """Print ``payload`` as JSON under ``--json``, else the human-readable ``text`` (to ``file``, else stdout).
    The JSON is always valid: a NaN or infinity becomes null, and its object gains ``"non_finite"``
    naming each such key and its value (``{"median": "nan"}``), so a reader sees why it is missing."""
    if getattr(args, "json", False):
        text = json.dumps(_finite(payload), indent=2, default=_jsonable, allow_nan=False)
    print(text, file=file)


def _finite(value):
    """``value`` with every non-finite float replaced by None, the reason kept beside it (see ``emit``)."""
    if isinstance(value, dict):
        reasons = {key: repr(item) for key, item in value.items() if _is_non_finite(item)}
        cleaned = {key: None if key in reasons else _finite(item) for key, item in value.items()}
        return {**cleaned, "non_finite": reasons} if reasons else cleaned
    if isinstance(value, (list, tuple)):
        return [None if _is_non_finite(item) else _finite(item) for item in value]
    return value


def _is_non_finite(value) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, numbers.Integral) and not math.isfinite(value)


def measured(name: str):
    """An argparse type that checks a flag as the ledger checks field ``name`` (``bayes_moe.fields``),
    keeping its message: ``--compute inf`` is refused with the allowed range."""
    def parse(text: str):
        try:
            return parse_value(name, text)
        except InputError as error:
            raise argparse.ArgumentTypeError(str(error)) from None

    parse.__name__ = name
    return parse


def table(rows: list[dict], columns: list[str]) -> str:
    """A plain aligned text table; numbers in 4 significant digits."""
    cells = [[fmt(row.get(c)) for c in columns] for row in rows]
    widths = [max(len(c), *(len(r[i]) for r in cells)) if cells else len(c) for i, c in enumerate(columns)]
    lines = ["  ".join(c.rjust(w) for c, w in zip(columns, widths))]
    lines += ["  ".join(v.rjust(w) for v, w in zip(r, widths)) for r in cells]
    return "\n".join(lines)


def noise_line(noise: dict) -> str:
    """The noise's scales of ``posterior.noise_summary`` on one line: median [90% interval], nats."""
    return "noise (nats, median [90%]): " + ", ".join(f"{name} {m:.3g} [{lo:.3g}, {hi:.3g}]"
                                                      for name, (m, lo, hi) in noise.items())


def fmt(value) -> str:
    """One cell: ``-`` for missing or NaN, floats in 4 significant digits."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def _jsonable(value):
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def positive(kind: type, *, or_zero: bool = False):
    """An argparse type: a finite number of ``kind`` (int or float) > 0 (>= 0 with ``or_zero``), else one
    line naming the value."""
    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {'an integer' if kind is int else 'a number'}, got {text!r}") \
                from None
        if not math.isfinite(value) or value < 0 or (value == 0 and not or_zero):
            raise argparse.ArgumentTypeError(f"must be finite and {'>=' if or_zero else '>'} 0, got {text!r}")
        return value

    parse.__name__ = f"{'non-negative' if or_zero else 'positive'} {kind.__name__}"
    return parse

