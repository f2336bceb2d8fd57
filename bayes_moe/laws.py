"""Closed-form laws for the attention/expert split ``r``: the paper's ``r*`` law, its pivoted form,
the loss surfaces around ``r*``, and the first-order-condition (FOC) alternative of docs/paper.md point 1.

The building blocks (``log_r_star``, ``penalty``, ``frontier``) use only arithmetic and ``abs``, so the
same function evaluates numpy arrays (simulator, posterior queries) and PyTensor tensors (the PyMC
model in model.py): one definition of the math, not a numpy twin of the model.

Conventions: ``compute`` C is total training FLOPs; ``x = log(1 - S) - log(1 - S_REF)`` is the centred
log activated fraction; ``l = log(C / C0)`` is log compute about the pivot ``C0``.
"""

from __future__ import annotations

import numpy as np

# The paper's law (docs/paper.md, §3.3): r* = alpha_r(S) C^beta_r(S), alpha_r, beta_r power laws in (1 - S).
PAPER_ALPHA = 6.7e-5
PAPER_ALPHA_EXPONENT = -1.23
PAPER_BETA = 0.24
PAPER_BETA_EXPONENT = 0.21
PAPER_SPARSITIES = (0.8235, 0.9091, 0.9538, 0.9767)  # E = 17, 33, 65, 129 with E_act = 3

PIVOT = 1e19  # C0: the middle of the paper's compute range; decorrelates intercept and slope
S_REF = 0.9  # sparsity about which log(1 - S) is centred (1 - S = 0.1)
CURVE_ANCHOR = np.log(1e17 / PIVOT)  # l at the paper's smallest compute, where the curved law's bend is 0
# the seed a run without one in the ledger trained with: the trainer's default (train.settings.TrainConfig.seed,
# which the measured campaigns' train.toml keep); not imported, so that the laws do not load the trainer
TRAINER_SEED = 0


# --- the paper's law --------------------------------------------------------------------------------


def paper_alpha_r(sparsity):
    """``alpha_r(S) = 6.7e-5 (1 - S)^-1.23`` (raw: r* at C = 1 FLOP)."""
    return PAPER_ALPHA * (1.0 - np.asarray(sparsity, float)) ** PAPER_ALPHA_EXPONENT


def paper_beta_r(sparsity):
    """``beta_r(S) = 0.24 (1 - S)^0.21``: the exponent of compute."""
    return PAPER_BETA * (1.0 - np.asarray(sparsity, float)) ** PAPER_BETA_EXPONENT


def paper_log_r_star(compute, sparsity):
    """``log r*(C, S) = log alpha_r(S) + beta_r(S) log C`` of the paper, broadcast over C and S."""
    return np.log(paper_alpha_r(sparsity)) + paper_beta_r(sparsity) * np.log(np.asarray(compute, float))


def paper_r_star(compute, sparsity):
    """The paper's ``r* = alpha_r(S) C^beta_r(S)``."""
    return np.exp(paper_log_r_star(compute, sparsity))


# --- pivot and centring -----------------------------------------------------------------------------


def centred_log_active(sparsity):
    """``x = log(1 - S) - log(1 - S_REF)``: the predictor of the population law across sparsities."""
    return np.log1p(-np.asarray(sparsity, float)) - np.log1p(-S_REF)


def pivoted_log_alpha(log_alpha_raw, beta, pivot=PIVOT):
    """Pivot conversion: ``log r*(C0) = log alpha_raw + beta log C0``, the intercept at ``C = C0``."""
    return log_alpha_raw + beta * np.log(pivot)


def paper_pivot_coefficients(sparsities=PAPER_SPARSITIES, pivot=PIVOT) -> dict:
    """The paper's law in the model's coordinates: ``log beta = b0 + b1 x`` holds exactly
    (``b1 = 0.21``); the pivoted intercept ``log r*(C0, S)`` is not linear in ``x`` (beta depends on S),
    so ``a0, a1`` are its least-squares line over ``sparsities`` -- the values a linear population law
    can recover -- and ``alpha_resid_sd`` is the spread the per-level deviations must absorb."""
    x = centred_log_active(sparsities)
    intercepts = paper_log_r_star(pivot, sparsities)
    a1, a0 = np.polyfit(x, intercepts, 1)
    residuals = intercepts - (a0 + a1 * x)
    b0 = np.log(PAPER_BETA) + PAPER_BETA_EXPONENT * np.log1p(-S_REF)
    return {"a0": float(a0), "a1": float(a1), "b0": float(b0), "b1": PAPER_BETA_EXPONENT,
            "alpha_resid_sd": float(np.sqrt(np.mean(residuals**2)))}


# --- building blocks shared by the simulator and the PyMC model -------------------------------------


def log_r_star(log_alpha, beta, log_c, curvature=0.0):
    """``log r* = log alpha + beta l + curvature l (l - l_1)`` with ``l = log(C/C0)``: the pure power
    law when ``curvature`` is 0, a curved log-log law otherwise. The bend vanishes at C0 and at
    ``l_1`` = log(1e17/C0), so alpha stays r* at C0 and beta the mean slope over 1e17..C0: with a plain
    ``l^2`` the bend and beta traded off over data below C0 (correlation 0.9, 16/20 fits unconverged)."""
    return log_alpha + beta * log_c + curvature * log_c * (log_c - CURVE_ANCHOR)


def penalty(distance, kappa_left, kappa_right):
    """Loss above the frontier at ``distance = log r - log r*``: quadratic with curvature
    ``kappa_left`` below ``r*`` and ``kappa_right`` above it (symmetric when they are equal)."""
    above = (abs(distance) + distance) / 2
    below = (abs(distance) - distance) / 2
    return kappa_left * below**2 + kappa_right * above**2


def valley(distance, relative_compute, kappa_left, kappa_right, kappa_exponent=0.0):
    """``penalty`` with curvatures scaled by ``(C/C0)^-kappa_exponent``: a valley that flattens as
    compute grows (``kappa_exponent`` > 0), as the two-term surface's does, or keeps its shape (0)."""
    return penalty(distance, kappa_left, kappa_right) * relative_compute**-kappa_exponent


def frontier(E, A, gamma, relative_compute):
    """``L_opt = E + A (C/C0)^-gamma``: the lowest loss reachable at compute C (over r)."""
    return E + A * relative_compute**-gamma


# --- the first-order-condition alternative (docs/paper.md point 1) --------------------------------------


def two_term_loss(r, relative_compute, E, A_A, A_E, p, q):
    """``L = E + A_A (C_A/C0)^-p + A_E (C_E/C0)^-q`` with ``C_A = C/(1+r)``, ``C_E = C r/(1+r)``:
    attention and experts as two separate power laws sharing the compute C (``relative_compute`` = C/C0)."""
    return E + A_A * (relative_compute / (1 + r)) ** -p + A_E * (relative_compute * r / (1 + r)) ** -q


def foc_r_star(relative_compute, A_A, A_E, p, q, tolerance=1e-12, iterations=60):
    """The minimiser of ``two_term_loss`` over r: the root of the first-order condition
    ``r^(q+1) (1+r)^(p-q) = (q A_E / (p A_A)) (C/C0)^(p-q)``, found by Newton's method in ``u = log r``
    (the left side is increasing in r, so the root is unique), broadcast over every argument."""
    target = np.log(q * np.asarray(A_E, float) / (p * np.asarray(A_A, float))) + (p - q) * np.log(relative_compute)
    u = target / (q + 1)
    for _ in range(iterations):
        residual = (q + 1) * u + (p - q) * np.logaddexp(0.0, u) - target
        step = residual / ((q + 1) + (p - q) / (1 + np.exp(-u)))
        u = u - step
        if np.max(np.abs(step)) < tolerance:
            break
    return np.exp(u)


def foc_slope(r_star, p, q):
    """``d log r* / d log C`` of the two-term optimum at ``r_star`` (implicit differentiation of the
    first-order condition): ``(p - q) / (q + 1 + (p - q) r*/(1 + r*))``, the local ``beta_r``."""
    return (p - q) / (q + 1 + (p - q) * r_star / (1 + r_star))


def foc_expert_weight(r_star_at_pivot, A_A, p, q):
    """``A_E`` that puts the two-term optimum at ``r_star_at_pivot`` when ``C = C0``."""
    r0 = np.asarray(r_star_at_pivot, float)
    return p * A_A / q * r0 ** (q + 1) * (1 + r0) ** (p - q)


def trainer_seeds(seed, shape=None) -> np.ndarray:
    """Each run's trainer seed from the ledger's ``seed`` values (NaN or None where blank), as integers, flat: a
    blank one is ``TRAINER_SEED``, what the trainer ran it with; ``shape``: ``seed`` broadcast to it first (one
    seed, or None, for every run). The model's per-seed offsets and the simulated worlds read seeds through it."""
    seed = np.asarray(seed, dtype=object)
    seed = np.broadcast_to(seed, seed.shape if shape is None else shape).ravel()
    values = np.asarray([np.nan if v is None else v for v in seed], dtype=float)
    return np.where(np.isfinite(values), values, TRAINER_SEED).astype(np.int64)
