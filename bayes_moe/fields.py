"""The measured fields of a run and the values they may take: one source for the ledger's rows, CSV imports,
the CLI's flags and the model's, posterior's, simulator's and solver's inputs (docs/ledger.md).

A value outside these ranges is not a run anyone trained: a compute of 1e40 FLOPs or an r of 1e-9 is a typo,
and letting it into the ledger would poison every later fit. Light (no numpy): the trainer imports it.
"""

from __future__ import annotations

import math
import numbers

from bayes_moe.errors import InputError

COMPUTE_MAX = 1e30  # FLOPs: ~1e5 x the largest training runs of 2025; beyond is a typo, not a plan
R_RANGE = (1e-3, 1e3)  # C_E / C_A: outside, one of the two parts is a rounding error of the other
SPARSITY_RANGE = "in [0, 1)"


def is_sparsity(value):
    """``0 <= S < 1`` with ``S = (E - E_act) / E``: the one sparsity rule. Works elementwise on numpy arrays
    (callers that check arrays name the offending run or point themselves)."""
    return (value >= 0) & (value < 1)


_FIELD_TYPES = {"r": float, "compute": float, "sparsity": float, "loss": float, "tokens": float,
                "n_active": int, "n_total": int, "seed": int, "label": str}
_FIELD_RULES = {  # (test, what it demands)
    "r": (lambda v: R_RANGE[0] <= v <= R_RANGE[1], f"in [{R_RANGE[0]:g}, {R_RANGE[1]:g}] (C_E / C_A)"),
    "compute": (lambda v: 0 < v <= COMPUTE_MAX, f"in (0, {COMPUTE_MAX:g}] (total training FLOPs)"),
    "sparsity": (is_sparsity, SPARSITY_RANGE),
    "loss": (lambda v: v > 0, "> 0 (nats)"),
    "tokens": (lambda v: v > 0, "> 0"),
    "n_active": (lambda v: v > 0, "> 0"),
    "n_total": (lambda v: v > 0, "> 0"),
    "seed": (lambda v: v >= 0, ">= 0"),
}


def rule(name: str) -> str:
    """What field ``name`` demands, as error messages and docs say it (``"in [0, 1)"``)."""
    return _FIELD_RULES[name][1]


def check_value(name: str, value):
    """``value`` of measured field ``name`` as its Python type; ``InputError`` ("name must be ...")
    if it has the wrong type, is not finite, or breaks the field's rule."""
    kind = _FIELD_TYPES[name]
    if kind is str:
        if not isinstance(value, str):
            raise InputError(f"{name} must be text, got {value!r}")
        return value
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise InputError(f"{name} must be a number, got {value!r}")
    if not math.isfinite(value):
        raise InputError(f"{name} must be finite and {rule(name)}, got {value!r}")
    if kind is int:
        if value != int(value):
            raise InputError(f"{name} must be an integer, got {value!r}")
        value = int(value)
    else:
        value = float(value)
    test, demand = _FIELD_RULES[name]
    if not test(value):
        raise InputError(f"{name} must be {demand}, got {value!r}")
    return value


def parse_value(name: str, text: str):
    """Field ``name`` read from text (a CSV cell or a CLI flag), checked by ``check_value``."""
    kind = _FIELD_TYPES[name]
    if kind is str:
        return text
    try:
        number = int(text) if kind is int and text.strip().lstrip("+-").isdigit() else float(text)
    except ValueError:
        raise InputError(f"{name} must be a number, got {text!r}") from None
    return check_value(name, number)


def check_sparsity(sparsity, where: str = "sparsity") -> float:
    """A single sparsity as a float; ``InputError`` naming ``where`` unless finite and in [0, 1)."""
    if isinstance(sparsity, bool) or not isinstance(sparsity, numbers.Real) or not math.isfinite(sparsity) \
            or not is_sparsity(sparsity):
        raise InputError(f"{where} must be a sparsity {SPARSITY_RANGE}, got {sparsity!r}")
    return float(sparsity)
