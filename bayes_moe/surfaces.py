"""Each law form's loss surface, defined once: its PyMC priors and the arithmetic that turns
parameters into ``log r*`` and the mean loss, which the PyMC model (model.py, on PyTensor tensors) and
the posterior queries (posterior.py, on numpy draws) both call. Adding a form touches this module.

Every form's ``mean_loss`` and ``log_r_star`` take ``p``, a mapping from variable name to its value at
each point (a PyMC variable already indexed by the run's level, or numpy draws of shape (sample, point)),
and ``xp``, the array module (``numpy`` or ``pytensor.tensor``). A form declares its variables by role so
that a query at a sparsity no run has knows what to do with each (``Form.roles``, kept in the posterior's
attrs): ``deviation`` variables are a level's standard-normal draw from the population law (a new level
draws a fresh one), ``unpooled`` ones are free per level (a new level takes the line in ``x`` through the
fitted levels' logs), ``knot`` ones are the steps of a smooth function of log compute (below), the rest
are scalars.

Smooth functions of log compute (``compute_deviation``): a piecewise-linear function through knots spread
evenly over the runs' log compute, zero at the smallest compute, each knot-to-knot step Normal(0, tau),
less their mean so that it also ends at zero: a first-order random walk pinned at both ends (a bridge), so
``tau`` -> 0 shrinks it to nothing, and it is zero beyond the runs' range: outside the data the power laws
hold. The
frontier's (``tau_frontier``) lets the lowest loss at each compute follow the runs where the power law
``E + A (C/C0)^-gamma`` does not; the valley's (``tau_valley``) lets its curvature change with compute in
the same way. Without them, misfit in compute leaked into r* and into the noise scale (docs/model.md).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from bayes_moe import laws
from bayes_moe.forms import SIGNED_FORM, TWO_TERM_FORM

N_KNOTS = 6  # knots of the smooth functions of log compute: 5 steps over the runs' compute range
SCALE_SHAPE, SCALE_MEAN = 4.0, 0.08  # Gamma prior of sigma_alpha, sigma_beta: 98% in [0.016, 0.2]
SIGNED_SCALE_MEAN = 0.03  # form "signed": sigma_beta on beta's scale (the paper's beta_r span 0.13-0.19)
FRONTIER_STEP_SCALE = 0.05  # HalfNormal scale of tau_frontier: nats per knot step
VALLEY_STEP_SCALE = 0.2  # HalfNormal scale of tau_valley: log-curvature per knot step


def knots(log_compute) -> np.ndarray:
    """``N_KNOTS`` knots spread evenly over the runs' ``log(C/C0)`` (a width of 1e-6 if all are equal)."""
    low, high = float(np.min(log_compute)), float(np.max(log_compute))
    return np.linspace(low, max(high, low + 1e-6), N_KNOTS)


def compute_basis(log_compute, knot_positions) -> np.ndarray:
    """Ramps of the piecewise-linear functions through ``knot_positions``, shape (point, knot step):
    column k rises from 0 to 1 between knots k and k+1 and is flat outside, so ``basis @ steps`` is
    zero at the first knot, moves by ``steps[k]`` over the k-th interval and stays constant beyond."""
    knot_positions = np.asarray(knot_positions, float)
    log_compute = np.asarray(log_compute, float).reshape(-1, 1)
    return np.clip((log_compute - knot_positions[:-1]) / np.diff(knot_positions), 0.0, 1.0)


@dataclass(frozen=True)
class ComputeAt:
    """Where the points lie in compute: ``log_c`` = log(C/C0) and the ramps of the smooth functions of
    compute there (``compute_basis``)."""

    log_c: object
    basis: object

    @classmethod
    def of(cls, log_c, knot_positions) -> "ComputeAt":
        """Query points (numpy) given the knots a posterior was fit with."""
        return cls(log_c, compute_basis(log_c, knot_positions))


def compute_deviation(tau, steps, basis):
    """``tau (basis @ (steps - mean steps))``: a smooth function of log compute at each point, zero at
    both ends of the runs' range (the steps sum to zero), so that it bends the power law it is added
    to between them but does not trade off with its level or trend. ``steps`` is (knot step,) in PyMC
    and (sample, 1, knot step) over draws, ``basis`` (point, knot step)."""
    return tau * ((steps - steps.mean(axis=-1, keepdims=True)) * basis).sum(axis=-1)


@dataclass(frozen=True)
class Form:
    """A law form: its name, the valley it assumes, and its variables' roles."""

    name: str
    penalty: str

    @property
    def roles(self) -> dict:
        raise NotImplementedError

    def declare(self):
        """Declare the form's priors in the current PyMC model; returns {name: variable}."""
        raise NotImplementedError

    def mean_loss(self, p, x, log_r, compute: ComputeAt, xp):
        raise NotImplementedError

    def log_r_star(self, p, x, compute: ComputeAt, xp):
        raise NotImplementedError

    def slope(self, p, x, log_c, xp):
        """``d log r* / d log C`` at ``log_c``."""
        raise NotImplementedError


@dataclass(frozen=True)
class ValleyForm(Form):
    """The frontier plus a valley around an r* law (forms power, curved, signed):

        log r*       = log alpha + beta l (+ curvature l (l - l_1), form curved)
        log alpha    = a0 + a1 x + sigma_alpha z_alpha,   log beta = b0 + b1 x + sigma_beta z_beta  (beta itself: signed)
        L_opt        = E + A (C/C0)^-gamma + f(l)                     f: the frontier's deviation in compute
        valley       = (C/C0)^-eta e^g(l) [kappa_left d^2 (d < 0), kappa_right d^2 (d > 0)],  d = log r - log r*
    """

    @property
    def roles(self) -> dict:
        return {"deviation": ("z_alpha", "z_beta"), "unpooled": ("A",), "knot": ("steps_frontier", "steps_valley")}

    def declare(self):
        import pymc as pm

        # Four levels less two population slopes leave two degrees of freedom for each scale, so the
        # data barely move sigma_alpha, sigma_beta and the prior decides their range: a Gamma(4, 50)
        # keeps them in [0.016, 0.2] (98%). Under a HalfNormal(0.2) the sampler went out to 0.4, where
        # the data-pinned levels squeeze z into an inverted funnel (divergences); centred diverged more.
        signed = self.name == SIGNED_FORM
        beta_scale = SIGNED_SCALE_MEAN if signed else SCALE_MEAN
        v = {
            "a0": pm.Normal("a0", 0.0, 1.0),  # log r* at C0 and S_REF
            "a1": pm.Normal("a1", 0.0, 1.0),
            "sigma_alpha": pm.Gamma("sigma_alpha", alpha=SCALE_SHAPE, beta=SCALE_SHAPE / SCALE_MEAN),
            "z_alpha": pm.Normal("z_alpha", 0.0, 1.0, dims="sparsity"),
            # the signed form's line is beta itself (either sign), its level spread on beta's own scale
            "b0": pm.Normal("b0", 0.0, 0.5) if signed else pm.Normal("b0", -1.5, 1.0),
            "b1": pm.Normal("b1", 0.0, 0.5),
            "sigma_beta": pm.Gamma("sigma_beta", alpha=SCALE_SHAPE, beta=SCALE_SHAPE / beta_scale),
            "z_beta": pm.Normal("z_beta", 0.0, 1.0, dims="sparsity"),
            "E": pm.HalfNormal("E", 3.0),
            # per level, unpooled: each frontier is pinned by many runs, and a hierarchy whose spread
            # the data put near zero makes a funnel
            "A": pm.LogNormal("A", 0.0, 1.5, dims="sparsity"),
            "gamma": pm.LogNormal("gamma", np.log(0.2), 0.7),
            "tau_frontier": pm.HalfNormal("tau_frontier", FRONTIER_STEP_SCALE),
            "steps_frontier": pm.Normal("steps_frontier", 0.0, 1.0, dims="knot_step"),
            "kappa": pm.LogNormal("kappa", np.log(0.05), 1.0),
            # the valley flattens (eta > 0) or steepens as compute grows: where attention and experts
            # are separate power laws (PAPER.md point 1) its curvature follows their reducible loss
            "kappa_exponent": pm.Normal("kappa_exponent", 0.0, 0.3),
            "tau_valley": pm.HalfNormal("tau_valley", VALLEY_STEP_SCALE),
            "steps_valley": pm.Normal("steps_valley", 0.0, 1.0, dims="knot_step"),
        }
        if self.name == "curved":
            v["curvature"] = pm.Normal("curvature", 0.0, 0.05)
        if self.penalty == "asymmetric":
            v["kappa_skew"] = pm.Normal("kappa_skew", 0.0, 1.0)  # log(kappa_right / kappa_left)
        return v

    def law(self, p, x, xp):
        """``(log alpha, beta)`` of the r* law at ``x``: the population line plus the level's deviation."""
        log_alpha = p["a0"] + p["a1"] * x + p["sigma_alpha"] * p["z_alpha"]
        beta_line = p["b0"] + p["b1"] * x + p["sigma_beta"] * p["z_beta"]
        return log_alpha, beta_line if self.name == SIGNED_FORM else xp.exp(beta_line)

    def log_r_star(self, p, x, compute, xp):
        log_alpha, beta = self.law(p, x, xp)
        return laws.log_r_star(log_alpha, beta, compute.log_c, p.get("curvature", 0.0))

    def slope(self, p, x, log_c, xp):
        return self.law(p, x, xp)[1] + p.get("curvature", 0.0) * (2 * log_c - laws.CURVE_ANCHOR)

    def kappas(self, p, xp):
        """``(kappa_left, kappa_right)``: equal for a symmetric valley."""
        if self.penalty != "asymmetric":
            return p["kappa"], p["kappa"]
        return p["kappa"] * xp.exp(-p["kappa_skew"] / 2), p["kappa"] * xp.exp(p["kappa_skew"] / 2)

    def mean_loss(self, p, x, log_r, compute, xp):
        relative = xp.exp(compute.log_c)  # C / C0
        frontier = (laws.frontier(p["E"], p["A"], p["gamma"], relative)
                    + compute_deviation(p["tau_frontier"], p["steps_frontier"], compute.basis))
        shape = xp.exp(compute_deviation(p["tau_valley"], p["steps_valley"], compute.basis))
        distance = log_r - self.log_r_star(p, x, compute, xp)
        return frontier + shape * laws.valley(distance, relative, *self.kappas(p, xp), p["kappa_exponent"])


@dataclass(frozen=True)
class TwoTermForm(Form):
    """PAPER.md point 1: attention and experts as separate power laws in their own compute,
    ``E + A_A (C_A/C0)^-p + A_E (C_E/C0)^-q_s``, ``log q_s = log q + q_slope x``; r* is where the two
    marginal returns balance (the first-order condition, numpy only: ``alpha_r``, ``beta_r`` are
    added per draw after sampling, ``model.two_term_law``)."""

    @property
    def roles(self) -> dict:
        return {"deviation": (), "unpooled": ("A_E",), "knot": ()}

    def declare(self):
        import pymc as pm

        return {
            "E": pm.HalfNormal("E", 3.0),
            # attention's term does not depend on the experts' count; the experts' does, per level
            "A_A": pm.LogNormal("A_A", 0.0, 1.5),
            "A_E": pm.LogNormal("A_E", 0.0, 1.5, dims="sparsity"),
            "p": pm.LogNormal("p", np.log(0.2), 0.7),
            # the experts' exponent, a power law in 1 - S as the paper's beta_r: q at S_REF and its slope in x
            "q": pm.LogNormal("q", np.log(0.2), 0.7),
            "q_slope": pm.Normal("q_slope", 0.0, 0.5),
        }

    def expert_exponent(self, p, x, xp):
        return p["q"] * xp.exp(p["q_slope"] * x)

    def mean_loss(self, p, x, log_r, compute, xp):
        return laws.two_term_loss(xp.exp(log_r), xp.exp(compute.log_c), p["E"], p["A_A"], p["A_E"], p["p"],
                                  self.expert_exponent(p, x, xp))

    def log_r_star(self, p, x, compute, xp):
        return np.log(laws.foc_r_star(np.exp(compute.log_c), p["A_A"], p["A_E"], p["p"], self.expert_exponent(p, x, np)))

    def slope(self, p, x, log_c, xp):
        r_star = laws.foc_r_star(np.exp(log_c), p["A_A"], p["A_E"], p["p"], self.expert_exponent(p, x, np))
        return laws.foc_slope(r_star, p["p"], self.expert_exponent(p, x, np))


def form(name: str, penalty: str) -> Form:
    """The surface of law form ``name`` with valley ``penalty`` (names checked by the caller)."""
    return TwoTermForm(name, penalty) if name == TWO_TERM_FORM else ValleyForm(name, penalty)
