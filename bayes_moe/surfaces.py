"""Each law form's loss surface, defined once: its PyMC priors and the arithmetic that turns its
parameters into ``log r*`` and the mean loss, which the PyMC model (model.py, on PyTensor tensors) and
the posterior queries (posterior.py, on numpy draws) both call. Adding a form touches this module.

A form works in two steps. ``at_levels(v, x, xp)`` turns its variables ``v`` into the quantities its
arithmetic needs (r* at C0 and its slope, the frontier's terms, the valley's curvatures) at sparsities
``x`` (the centred log activated fraction); ``mean_loss``, ``log_r_star`` and ``slope`` then evaluate those
quantities ``q`` at log compute ``log_c`` = log(C/C0). ``xp`` is the array module (``numpy`` or
``pytensor.tensor``). The PyMC model evaluates ``at_levels`` on its sparsity levels and indexes the result
by each run's level; the queries evaluate it on draws at each query point, (sample, point) arrays.

A form declares its variables by role (``Form.roles``, kept in the posterior's attrs), so that a query
at a sparsity no run has knows what to do with each: ``deviation`` variables are a level's
standard-normal draw from the population law (a new level draws a fresh one), ``unpooled`` ones are
free per level (a new level takes the line in ``x`` through the fitted levels' logs); the rest are
shared by every level.

A valley form may carry a **discrepancy** of log r* from its law along compute (``discrepancy =
"hinges"``): ``delta(l) = sum_j w_j max(0, t_j - l)``, hinges at knots ``t_j`` inside the runs' range of
log compute (``hinge_knots``), zero from the top knot up, so that the law holds at the top of the data
and beyond it and may bend below; the weights ``w_j = tau z_j`` share one scale tau (non-centred), so
that data that follow the law shrink every bend together and data that do not free the law from the
compute where they disagree. The knots are data of the fit (their log C in the posterior's attrs).

The sampler sees the hinges **orthogonal to the law's line**: the line it samples (``a0``, ``b0``, ...)
is the one the runs follow on average over their compute, and the law at the top of the data is that
line less each hinge's least-squares line over the runs (``hinge_projection``), so that the hinges bend
log r* without moving its average level and slope. Drawn as plain hinges on top of the top law, the
hinges' weights traded off against the law's slope along a ridge the scale tau bent (tail ESS of b0 and
beta_r 480-560, r-hat up to 1.015 on four data sets); orthogonal, the same functions of log C are drawn
with every tail ESS above 1,100 at half the time. The queries' ``log_alpha`` and ``beta`` (and the
reported ``alpha_r``, ``beta_r``) are the top law's, so r* at C0 is still ``alpha_r`` when C0 is at the
top of the runs or above.

A **flexible frontier** (``frontier = "flexible"`` or ``"anchored-flexible"``) bends the same way, in
loss: ``sum_j u_j max(0, t_j - l)`` added to the power law, at the same knots, shared by every level,
``u_j ~ Normal(0, FRONTIER_BEND_SCALE)``: a piecewise-linear penalised spline in log C whose changes of
slope are shrunk towards 0 (the power law), zero from the top knot up, so that the power law
fitted to the top of the runs is the frontier beyond them. A bend the power law cannot follow then stays
in the frontier instead of leaking into the valley, r* and sigma.

The flexible frontier's power law is drawn by **what the runs above the top knot t_0 pin** (``TOP_FRONTIER``):
``A_top`` per level, its reducible loss at t_0, and ``frontier_top``, the levels' mean frontier there, with
``E = frontier_top - mean(A_top)`` (a deterministic) and the frontier ``E + A_top exp(gamma (t_0 - l))``. Below
t_0 the bends take the frontier's shape, so the runs pin the power law only through its top segment: drawn
as E, A and gamma, its floor E sat on a curved ridge ``E = value - slope / gamma`` along the loosely pinned
gamma (lowest ESS 240-660 on the paper world at 1000 draws, 10 of 20 fits unconverged); at t_0 the value is
one variable and the slope ``gamma A_top`` a line in the sampler's log coordinates (lowest ESS 1,010-1,170,
0 of 10 unconverged; docs/model.md). E is not bounded below there (the power frontier's is HalfNormal).

With a flexible frontier the **valley's curvature** bends the same way: ``kappa (C/C0)^-eta
exp(sum_j w_j max(0, t_j - l))``, ``w_j ~ Normal(0, VALLEY_BEND_SCALE)`` at the same knots, shared by the
levels, so that a curvature that changes with compute other than as a power of C is followed below the top
knot, and beyond the runs the valley changes as the power of C fitted to their top.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from bayes_moe import laws
from bayes_moe.forms import (ANCHORED_FRONTIER, DEFAULT_DISCREPANCY, DEFAULT_FRONTIER, DEFAULT_HINGE_SCALE,
                             FLEXIBLE_FRONTIERS, HINGES_DISCREPANCY, SIGNED_FORM, TOP_FRONTIER, TWO_TERM_FORM,
                             frontier_law)

SCALE_SHAPE, SCALE_MEAN = 4.0, 0.08  # Gamma prior of sigma_alpha, sigma_beta: 98% in [0.016, 0.2]
SIGNED_SCALE_MEAN = 0.03  # form "signed": sigma_beta on beta's scale (the paper's beta_r span 0.13-0.19)
HINGE_SEGMENTS = 4  # discrepancy: the runs' range of log C cut in this many, a hinge at each inner cut
# frontier "flexible": the Normal prior's sd of each of the frontier's bends, a change of its slope in nats per
# unit of log C at a knot (the bending world's 0.05 nats per decade is 0.022, its 0.2 is 0.087). One fixed scale:
# under a shared HalfNormal(0.05) scale, non-centred, a bend the data pin at 0.083 and two near 0 made a
# funnel of scale and weights (r-hat 1.04, bulk ESS 155 on the scale; the bent world of the tests, seed 0)
FRONTIER_BEND_SCALE = 0.05
# flexible frontiers: the Normal prior's sd of each of the valley's bends, a change of d log kappa / d log C at a knot
# (0.1: a factor 1.26 per decade; the bending world's kappa_bend 0.7 per decade is 0.30)
VALLEY_BEND_SCALE = 0.1
# quantities along the knots of compute, not per sparsity level
ALONG_COMPUTE = ("knots", "bend_weights", "frontier_knots", "frontier_bends", "valley_bends")
# the knots' data of a fit (model.build_model), as the posterior's attrs keep them: {data name: attr name}
KNOT_ATTRS = {"knots": "discrepancy_knots", "hinge_offsets": "discrepancy_offsets", "hinge_tilts": "discrepancy_tilts",
              "frontier_knots": "frontier_knots"}


def hinge_knots(log_c) -> np.ndarray:
    """The discrepancy's knots in ``log_c`` = log(C/C0) of the runs: ``HINGE_SEGMENTS - 1`` inner cuts of
    their range, highest first (equal when the runs share one compute: no hinge then reaches a run)."""
    top, bottom = float(np.max(log_c)), float(np.min(log_c))
    return top - (top - bottom) * np.arange(1, HINGE_SEGMENTS) / HINGE_SEGMENTS


def frontier_knots(log_c) -> np.ndarray:
    """The flexible frontier's knots in ``log_c`` = log(C/C0) of the runs, highest first: the discrepancy's
    (``hinge_knots``) unless fewer than two of the runs' computes lie at or above the top one. There the power
    law's level at the top knot and the first bend trade off along a ridge that only the bend's prior bounds (runs
    at 1e17, 1e18 and 1e19 FLOPs: r-hat up to 1.04, tail ESS 49-342 at the CLI's draws, 5 of 5 data sets), so the
    top knot moves down to the second-highest compute and the others cut the range below it evenly."""
    knots = hinge_knots(log_c)
    computes = np.sort(np.asarray(log_c, float))
    computes = computes[np.r_[True, np.diff(computes) > 1e-6]]  # distinct: replicates' log C agree to 6 decimals
    if computes.size < 2 or (computes >= knots[0] - 1e-6).sum() >= 2:
        return knots
    top, bottom = computes[-2], computes[0]
    return top - (top - bottom) * np.arange(HINGE_SEGMENTS - 1) / (HINGE_SEGMENTS - 1)


def hinge_projection(knots, log_c) -> tuple:
    """Each hinge's least-squares line in ``log_c`` over the runs' ``log_c``: its (offset, tilt) per knot,
    which the law's line less the hinges' lines makes the hinges orthogonal to (module docstring)."""
    log_c = np.asarray(log_c, float)
    design = np.stack([np.ones_like(log_c), log_c], axis=1)
    coefficients, *_ = np.linalg.lstsq(design, hinges(knots, log_c, np), rcond=None)
    return coefficients[0], coefficients[1]


def hinges(knots, log_c, xp):
    """``max(0, t_j - l)`` per point and knot: shape ``log_c.shape + (knots,)``."""
    return xp.maximum(_below_knots(knots, log_c, xp), 0.0)


def hinge_slopes(knots, log_c, xp):
    """``d max(0, t_j - l) / dl``: -1 below a knot, 0 above it, per point and knot."""
    return -1.0 * (_below_knots(knots, log_c, xp) > 0)


def _below_knots(knots, log_c, xp):
    """``t_j - l`` per point and knot (``log_c`` a number, an array or a tensor)."""
    return knots - (np.asarray(log_c, float) if xp is np else log_c)[..., None]


@dataclass(frozen=True)
class Form:
    """A law form: its name, the valley it assumes, how its frontier is parametrised
    (``forms.FRONTIERS``), and its variables' roles."""

    name: str
    penalty: str
    frontier: str = DEFAULT_FRONTIER
    discrepancy: str = DEFAULT_DISCREPANCY
    hinge_scale: float = DEFAULT_HINGE_SCALE  # the hinges' prior: tau ~ HalfNormal(hinge_scale)

    @property
    def roles(self) -> dict:
        """``{"deviation": names, "unpooled": names}`` (module docstring)."""
        raise NotImplementedError

    def declare(self) -> dict:
        """Declare the form's priors in the current PyMC model (dim ``sparsity`` for per-level ones);
        returns ``{name: variable}``."""
        raise NotImplementedError

    def at_levels(self, v: dict, x, xp) -> dict:
        """The quantities the arithmetic needs, at sparsities ``x``, from the variables ``v``."""
        raise NotImplementedError

    def reported(self, q: dict, xp) -> dict:
        """The per-level quantities the posterior keeps for plots and notebooks, from ``at_levels``."""
        raise NotImplementedError

    def mean_loss(self, q, log_r, log_c, xp):
        raise NotImplementedError

    def log_r_star(self, q, log_c, xp):
        raise NotImplementedError

    def slope(self, q, log_c, xp):
        """``d log r* / d log C`` at ``log_c``."""
        raise NotImplementedError

    @property
    def knots_data(self) -> tuple:
        """The names of the knots' data the form reads (``KNOT_ATTRS``): none unless it bends along compute."""
        return ()


@dataclass(frozen=True)
class ValleyForm(Form):
    """The frontier plus a valley around an r* law (forms power, curved, signed):

        log r*       = log alpha + beta l (+ curvature l (l - l_1), form curved)
        log alpha    = a0 + a1 x + sigma_alpha z_alpha
        log beta     = b0 + b1 x + sigma_beta z_beta                  (beta itself in the signed form)
                       (+ sum_j tau z_bend_j max(0, t_j - l), discrepancy "hinges"; the line above is
                        then the runs' average law, less the hinges' lines: module docstring)
        L_opt        = E + A (C/C0)^-gamma  (frontier "flexible": E + A_top exp(gamma (t_0 - l))
                       + sum_j u_j max(0, t_j - l), u_j ~ N(0, 0.05), E = frontier_top - mean(A_top))
        valley       = (C/C0)^-eta [kappa_left d^2 (d < 0), kappa_right d^2 (d > 0)],  d = log r - log r*
                       (x exp(sum_j w_j max(0, t_j - l)), w_j ~ N(0, 0.1), with either flexible frontier)
    """

    @property
    def roles(self) -> dict:
        unpooled = {ANCHORED_FRONTIER: ("L_pivot", "drop"), TOP_FRONTIER: ("A_top",)}
        frontier = unpooled.get(frontier_law(self.frontier), ("A",))
        return {"deviation": ("z_alpha", "z_beta"), "unpooled": frontier}

    def declare(self) -> dict:
        import pymc as pm

        # where r* lies: the population law across sparsity and each level's deviation from it
        # (non-centred). Four levels less two population slopes leave two degrees of freedom for each
        # scale, so the data barely move sigma_alpha, sigma_beta and the prior decides their range.
        # Under a HalfNormal(0.2) the sampler went out to 0.4, where the data-pinned levels squeeze z
        # into an inverted funnel (divergences, r-hat > 1.01 on sigma_alpha); a Gamma(4, 50) keeps the
        # scales in [0.016, 0.2] (98%): a level's r* strays 2-20% from the population law. The centred
        # form diverged more.
        signed = self.name == SIGNED_FORM
        v = {"a0": pm.Normal("a0", 0.0, 1.0),  # log r* at C0 and S_REF
             "a1": pm.Normal("a1", 0.0, 1.0),
             "sigma_alpha": pm.Gamma("sigma_alpha", alpha=SCALE_SHAPE, beta=SCALE_SHAPE / SCALE_MEAN),
             "z_alpha": pm.Normal("z_alpha", 0.0, 1.0, dims="sparsity"),
             "z_beta": pm.Normal("z_beta", 0.0, 1.0, dims="sparsity"),
             # the signed form's line is beta itself (either sign), its level spread on beta's own
             # scale; the others' is log beta
             "b0": pm.Normal("b0", 0.0, 0.5) if signed else pm.Normal("b0", -1.5, 1.0),
             "b1": pm.Normal("b1", 0.0, 0.5),
             "sigma_beta": pm.Gamma("sigma_beta", alpha=SCALE_SHAPE,
                                    beta=SCALE_SHAPE / (SIGNED_SCALE_MEAN if signed else SCALE_MEAN))}
        if self.name == "curved":
            v["curvature"] = pm.Normal("curvature", 0.0, 0.05)
        # the frontier, the lowest loss at each compute, per level unpooled (each frontier is pinned by
        # many runs, and a hierarchy whose spread the data put near zero makes a funnel)
        if frontier_law(self.frontier) == ANCHORED_FRONTIER:
            # by what the runs pin: its value at C0 and its drop over the decade below, per level
            v.update(L_pivot=pm.Normal("L_pivot", 3.0, 3.0, dims="sparsity"),
                     drop=pm.LogNormal("drop", np.log(0.3), 1.5, dims="sparsity"))
        elif frontier_law(self.frontier) == TOP_FRONTIER:
            # by what the runs above the top knot pin: its reducible loss there per level and the levels'
            # mean frontier there (module docstring); E follows, shared by the levels as the power law's
            A_top = pm.LogNormal("A_top", 0.0, 1.5, dims="sparsity")
            frontier_top = pm.Normal("frontier_top", 3.0, 3.0)
            v.update(A_top=A_top, frontier_top=frontier_top, E=pm.Deterministic("E", frontier_top - A_top.mean()))
        else:
            v.update(E=pm.HalfNormal("E", 3.0), A=pm.LogNormal("A", 0.0, 1.5, dims="sparsity"))
        if self.frontier in FLEXIBLE_FRONTIERS:
            # its bends below the top of the runs' compute (module docstring), under one fixed scale
            v["frontier_bends"] = pm.Normal("frontier_bends", 0.0, FRONTIER_BEND_SCALE, dims="knot")
            # and the valley's curvature bent at the same knots (module docstring)
            v["valley_bends"] = pm.Normal("valley_bends", 0.0, VALLEY_BEND_SCALE, dims="knot")
        v.update(gamma=pm.LogNormal("gamma", np.log(0.2), 0.7), kappa=pm.LogNormal("kappa", np.log(0.05), 1.0))
        if self.penalty == "asymmetric":
            v["kappa_skew"] = pm.Normal("kappa_skew", 0.0, 1.0)  # log(kappa_right / kappa_left)
        # the valley flattens (eta > 0) or steepens as compute grows: where attention and experts are
        # separate power laws (docs/paper.md point 1), its curvature follows their shrinking reducible loss
        v["kappa_exponent"] = pm.Normal("kappa_exponent", 0.0, 0.3)
        if self.discrepancy == HINGES_DISCREPANCY:
            # the bends of log r* below the top of the runs' compute (module docstring), non-centred
            v["bend_scale"] = pm.HalfNormal("bend_scale", self.hinge_scale)
            v["z_bend"] = pm.Normal("z_bend", 0.0, 1.0, dims="knot")
        return v

    def at_levels(self, v, x, xp):
        log_alpha = v["a0"] + v["a1"] * x + v["sigma_alpha"] * v["z_alpha"]
        beta_line = v["b0"] + v["b1"] * x + v["sigma_beta"] * v["z_beta"]
        if frontier_law(self.frontier) == ANCHORED_FRONTIER:
            # E, A from the frontier's value at C0 and its drop over the decade below: over one or two
            # decades of compute E, A and gamma lie on a curved ridge (only the frontier's level and
            # slope are pinned), which these coordinates straighten, with E per level
            A = v["drop"] / (xp.exp(v["gamma"] * np.log(10.0)) - 1)
            E = v["L_pivot"] - A
        elif frontier_law(self.frontier) == TOP_FRONTIER:
            E, A = v["E"], v["A_top"]  # A at the top knot (frontier_loss)
        else:
            E, A = v["E"], v["A"]
        if self.penalty == "asymmetric":
            kappa_left = v["kappa"] * xp.exp(-v["kappa_skew"] / 2)
            kappa_right = v["kappa"] * xp.exp(v["kappa_skew"] / 2)
        else:
            kappa_left = kappa_right = v["kappa"]
        beta = beta_line if self.name == SIGNED_FORM else xp.exp(beta_line)
        if self.discrepancy == HINGES_DISCREPANCY:
            # the sampled line is the runs' average law; the top law is that less the hinges' lines
            bend_weights = v["bend_scale"][..., None] * v["z_bend"]
            log_alpha = log_alpha - (bend_weights * v["hinge_offsets"]).sum(-1)
            beta = beta - (bend_weights * v["hinge_tilts"]).sum(-1)
        q = {"log_alpha": log_alpha, "beta": beta,
             "curvature": v.get("curvature", 0.0), "E": E, "A": A, "gamma": v["gamma"],
             "kappa_left": kappa_left, "kappa_right": kappa_right, "kappa_exponent": v["kappa_exponent"]}
        if self.discrepancy == HINGES_DISCREPANCY:
            q.update(knots=v["knots"], bend_weights=bend_weights)
        if self.frontier in FLEXIBLE_FRONTIERS:
            q.update(frontier_knots=v["frontier_knots"], frontier_bends=v["frontier_bends"],
                     valley_bends=v["valley_bends"])
        return q

    def reported(self, q, xp):
        levels = {"alpha_r": xp.exp(q["log_alpha"]), "beta_r": q["beta"]}
        if frontier_law(self.frontier) == ANCHORED_FRONTIER:
            levels.update(E=q["E"], A=q["A"])
        return levels

    def log_r_star(self, q, log_c, xp):
        law = laws.log_r_star(q["log_alpha"], q["beta"], log_c, q["curvature"])
        if self.discrepancy != HINGES_DISCREPANCY:
            return law
        return law + (q["bend_weights"] * hinges(q["knots"], log_c, xp)).sum(-1)

    def slope(self, q, log_c, xp):
        law = q["beta"] + q["curvature"] * (2 * log_c - laws.CURVE_ANCHOR)
        if self.discrepancy != HINGES_DISCREPANCY:
            return law
        return law + (q["bend_weights"] * hinge_slopes(q["knots"], log_c, xp)).sum(-1)

    @property
    def knots_data(self) -> tuple:
        return ((("knots", "hinge_offsets", "hinge_tilts") if self.discrepancy == HINGES_DISCREPANCY else ())
                + (("frontier_knots",) if self.frontier in FLEXIBLE_FRONTIERS else ()))

    def frontier_loss(self, q, log_c, xp):
        """The lowest mean loss at ``log_c``: the power law, plus the flexible frontier's bends."""
        if self.frontier not in FLEXIBLE_FRONTIERS:
            return laws.frontier(q["E"], q["A"], q["gamma"], xp.exp(log_c))
        below = _below_knots(q["frontier_knots"], log_c, xp)  # t_j - l
        # with the top parametrisation, A is the scale at the top knot t_0: (C / C_t0)^-gamma = exp(gamma (t_0 - l)),
        # t_0 - l read off the bends' own t_j - l (t_0 taken from the knots apart, e.g. knots[0] or a data
        # variable of its own, made nutpie's numba compilation log a failed rewrite: KeyError on the data)
        reducible = (q["A"] * xp.exp(q["gamma"] * below[..., 0]) if frontier_law(self.frontier) == TOP_FRONTIER
                     else q["A"] * xp.exp(-q["gamma"] * log_c))
        return q["E"] + reducible + (q["frontier_bends"] * xp.maximum(below, 0.0)).sum(-1)

    def mean_loss(self, q, log_r, log_c, xp):
        relative = xp.exp(log_c)  # C / C0
        valley = laws.valley(log_r - self.log_r_star(q, log_c, xp), relative, q["kappa_left"], q["kappa_right"],
                             q["kappa_exponent"])
        if self.frontier in FLEXIBLE_FRONTIERS:  # the valley's curvature bent below the top knot
            valley = valley * xp.exp((q["valley_bends"] * hinges(q["frontier_knots"], log_c, xp)).sum(-1))
        return self.frontier_loss(q, log_c, xp) + valley


@dataclass(frozen=True)
class TwoTermForm(Form):
    """docs/paper.md point 1: attention and experts as separate power laws in their own compute,
    ``E + A_A (C_A/C0)^-p + A_E (C_E/C0)^-q_s``, ``log q_s = log q + q_slope x``; r* is where the two
    marginal returns balance (the first-order condition, solved in numpy only: ``alpha_r``, ``beta_r``
    are added per draw after sampling, ``model.two_term_law``)."""

    @property
    def roles(self) -> dict:
        return {"deviation": (), "unpooled": ("A_E",)}

    def declare(self) -> dict:
        import pymc as pm

        return {"E": pm.HalfNormal("E", 3.0),
                # attention's term does not depend on the experts' count; the experts' does, per level,
                # unpooled as the other forms' frontier A
                "A_A": pm.LogNormal("A_A", 0.0, 1.5),
                "A_E": pm.LogNormal("A_E", 0.0, 1.5, dims="sparsity"),
                "p": pm.LogNormal("p", np.log(0.2), 0.7),
                # the experts' exponent, a power law in 1 - S as the paper's beta_r (with one q, r*'s
                # exponent of compute would barely depend on S): q at S_REF and its slope in x
                "q": pm.LogNormal("q", np.log(0.2), 0.7),
                "q_slope": pm.Normal("q_slope", 0.0, 0.5)}

    def at_levels(self, v, x, xp):
        return {"E": v["E"], "A_A": v["A_A"], "A_E": v["A_E"], "p": v["p"], "q_s": v["q"] * xp.exp(v["q_slope"] * x)}

    def reported(self, q, xp):
        return {"q_s": q["q_s"]}

    def mean_loss(self, q, log_r, log_c, xp):
        return laws.two_term_loss(xp.exp(log_r), xp.exp(log_c), q["E"], q["A_A"], q["A_E"], q["p"], q["q_s"])

    def log_r_star(self, q, log_c, xp):
        return np.log(self._r_star(q, log_c))

    def slope(self, q, log_c, xp):
        return laws.foc_slope(self._r_star(q, log_c), q["p"], q["q_s"])

    def _r_star(self, q, log_c):
        return laws.foc_r_star(np.exp(log_c), q["A_A"], q["A_E"], q["p"], q["q_s"])


def form(name: str, penalty: str, frontier: str = DEFAULT_FRONTIER, discrepancy: str = DEFAULT_DISCREPANCY,
         hinge_scale: float = DEFAULT_HINGE_SCALE) -> Form:
    """The surface of law form ``name`` with valley ``penalty``, ``frontier``, ``discrepancy`` and the hinges'
    prior scale (names checked by the caller; the two-term form has neither frontier nor discrepancy of its own)."""
    return (TwoTermForm(name, penalty) if name == TWO_TERM_FORM
            else ValleyForm(name, penalty, frontier, discrepancy, hinge_scale))
