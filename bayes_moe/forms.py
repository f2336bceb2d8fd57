"""The names of the r* law forms and loss valleys the model fits, in a module light enough for the
CLI's ``--help`` and the campaign config to check choices without importing PyMC (model.py has the math)."""

from __future__ import annotations

SIGNED_FORM = "signed"  # beta_r of either sign: r* may fall with compute
TWO_TERM_FORM = "two-term"  # docs/paper.md point 1: r* from the first-order condition of two power laws
FORMS = ("power", "curved", SIGNED_FORM, TWO_TERM_FORM)
AUTO_FORM = "auto"  # fit the paper's law and the two-term form, keep the one PSIS-LOO prefers
FORM_CHOICES = FORMS + (AUTO_FORM,)
PENALTIES = ("asymmetric", "symmetric")
IMPLIED_PENALTY = "implied"  # the two-term form's valley follows from its surface
DEFAULT_FORM, DEFAULT_PENALTY = "power", "asymmetric"
# how a valley form's frontier E + A (C/C0)^-gamma is parametrised: by E, A, gamma, or "anchored" by its
# value at C0 and its drop over the decade below (surfaces.ValleyForm.at_levels); either "flexible": plus a
# shrunk piecewise-linear bend in log C below the runs' top, shared by the levels, and the valley's curvature
# bent the same way (surfaces.ValleyForm); the plain one's power law drawn by its value and scale at the top
# knot ("top", as the bends leave only the top segment to pin it)
ANCHORED_FRONTIER = "anchored"
TOP_FRONTIER = "top"
FLEXIBLE_FRONTIERS = {"flexible": TOP_FRONTIER, "anchored-flexible": ANCHORED_FRONTIER}  # name: its power law's
FRONTIERS = ("power", ANCHORED_FRONTIER, *FLEXIBLE_FRONTIERS)
DEFAULT_FRONTIER = "flexible"  # issue #17 item 7: calibrated on three worlds, converged on three computes
# a discrepancy of log r* from its law along log C (surfaces.ValleyForm): none, or hinges below the top of
# the runs' compute, shrunk together, so that the data say over which compute the law holds
HINGES_DISCREPANCY = "hinges"
NO_DISCREPANCY = "none"
DISCREPANCIES = (NO_DISCREPANCY, HINGES_DISCREPANCY)
DEFAULT_DISCREPANCY = HINGES_DISCREPANCY
# the hinges' prior: tau ~ HalfNormal(scale), the change of slope of log r* per unit of log C ([model] hinge_scale).
# On the paper's world (seed 0) 0.1 widened r*'s 90% interval at 1e21 by 65% (r-hat 1.015), HalfCauchy(0.02) by
# 28% (4 divergences), HalfNormal(0.03) by 20%, and still covered the bending world's r* at 1e20 and 1e21; a campaign
# that expects its law to hold only near the top of its compute sets a wider one (docs/design.md, the bending world)
DEFAULT_HINGE_SCALE = 0.03


def penalty_of(form: str, penalty: str) -> str:
    """The valley a fit assumes: ``penalty``, or ``IMPLIED_PENALTY`` for the two-term form, whose
    surface fixes its own valley."""
    return IMPLIED_PENALTY if form == TWO_TERM_FORM else penalty


def discrepancy_of(form: str, discrepancy: str) -> str:
    """The discrepancy a fit has: ``discrepancy``, or none for the two-term form, whose r* is no law to
    bend from (it comes from the first-order condition of its surface)."""
    return NO_DISCREPANCY if form == TWO_TERM_FORM else discrepancy


def frontier_law(frontier: str) -> str:
    """How ``frontier``'s power law is parametrised ("power" or "anchored"), with or without its bends."""
    return FLEXIBLE_FRONTIERS.get(frontier, frontier)
