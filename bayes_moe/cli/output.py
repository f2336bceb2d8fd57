"""Where a command's workspace is and how its answer is printed, so every command reads and reports alike."""

from __future__ import annotations

import argparse
import json
import math
import os
from pathlib import Path

WORKSPACE_ENV = "BAYES_MOE_WORKSPACE"


def workspace_path(args: argparse.Namespace) -> Path:
    """``--workspace``, else ``$BAYES_MOE_WORKSPACE``, else ``./workspace``."""
    return Path(getattr(args, "workspace", None) or os.environ.get(WORKSPACE_ENV) or "workspace")


def emit(args: argparse.Namespace, payload, text: str) -> None:
    """Print ``payload`` as JSON under ``--json``, else the human-readable ``text``."""
    print(json.dumps(payload, indent=2, default=_jsonable) if getattr(args, "json", False) else text)


def table(rows: list[dict], columns: list[str]) -> str:
    """A plain aligned text table; numbers in 4 significant digits."""
    cells = [[fmt(row.get(c)) for c in columns] for row in rows]
    widths = [max(len(c), *(len(r[i]) for r in cells)) if cells else len(c) for i, c in enumerate(columns)]
    lines = ["  ".join(c.rjust(w) for c, w in zip(columns, widths))]
    lines += ["  ".join(v.rjust(w) for v, w in zip(r, widths)) for r in cells]
    return "\n".join(lines)


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
