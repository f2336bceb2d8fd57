"""lr_bsz sl_2: L = L_inf + softplus(Cp) e^(-softplus(ap) p) + softplus(Cd) e^(-softplus(ad) s) + softplus(Cdp) e^(-softplus(adp) (s - k p))
    + softplus(Cbb) e^(-softplus(abb) v) + cL du^2 + cB dv^2 + 2 tanh(rho) sqrt(cL cB) du dv

ScaleBench (Li et al. 2026, arXiv 2604.22753) law sl_2 of the lr_bsz task, rewritten as a bayes_moe
law file; the priors are the benchmark's parameter boxes (flat). u, v, s, p: the natural logs of the
learning rate, batch size, data size D and non-embedding parameters P.
du = u - (u0 + up p + us s + uv v), dv = v - (v0 + vp p + vs s), cL = softplus(cL0 + cLp p + cLs s + cLv v),
cB = softplus(cB0 + cBp p + cBs s + cBv v); softplus with its argument clipped to +-20, as the authors' code.
"""
from bayes_moe.userlaw import HalfNormal, Uniform, softplus

inputs = {"lr": "lr", "bsz": "bsz", "D": "data_size", "P": "non_embedding_param_size"}
output = "lm_loss"
priors = {
    "L_inf": Uniform(0.0, 3.0),
    "Cp": Uniform(-5.0, 15.0),
    "ap": Uniform(-5.0, 5.0),
    "Cd": Uniform(-5.0, 15.0),
    "ad": Uniform(-5.0, 5.0),
    "Cdp": Uniform(-5.0, 15.0),
    "adp": Uniform(-5.0, 5.0),
    "k": Uniform(-5.0, 3.0),
    "u0": Uniform(-20.0, 2.0),
    "up": Uniform(-3.0, 3.0),
    "us": Uniform(-3.0, 3.0),
    "uv": Uniform(-3.0, 3.0),
    "v0": Uniform(0.0, 20.0),
    "vp": Uniform(-3.0, 3.0),
    "vs": Uniform(-3.0, 3.0),
    "cL0": Uniform(-12.0, 12.0),
    "cLp": Uniform(-12.0, 12.0),
    "cLs": Uniform(-12.0, 12.0),
    "cB0": Uniform(-12.0, 12.0),
    "cBp": Uniform(-12.0, 12.0),
    "cBs": Uniform(-12.0, 12.0),
    "rho": Uniform(-8.0, 8.0),
    "cLv": Uniform(-12.0, 12.0),
    "cBv": Uniform(-12.0, 12.0),
    "Cbb": Uniform(-5.0, 15.0),
    "abb": Uniform(-5.0, 5.0),
}
noise_sd = HalfNormal(0.05)


def mean(lr, bsz, D, P, L_inf, Cp, ap, Cd, ad, Cdp, adp, k, u0, up, us, uv, v0, vp, vs, cL0, cLp, cLs, cB0, cBp, cBs, rho, cLv, cBv, Cbb, abb, xp):
    u, v, s, p = xp.log(lr), xp.log(bsz), xp.log(D), xp.log(P)
    base = (L_inf + softplus(Cp, xp) * xp.exp(-softplus(ap, xp) * p) + softplus(Cd, xp) * xp.exp(-softplus(ad, xp) * s)
            + softplus(Cdp, xp) * xp.exp(-softplus(adp, xp) * (s - k * p)) + softplus(Cbb, xp) * xp.exp(-softplus(abb, xp) * v))
    du, dv = u - (u0 + up * p + us * s + uv * v), v - (v0 + vp * p + vs * s)
    cL = softplus(cL0 + cLp * p + cLs * s + cLv * v, xp)
    cB = softplus(cB0 + cBp * p + cBs * s + cBv * v, xp)
    return base + cL * du**2 + cB * dv**2 + 2 * xp.tanh(rho) * xp.sqrt(cL * cB) * du * dv
