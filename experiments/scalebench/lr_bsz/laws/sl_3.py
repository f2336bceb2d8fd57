"""lr_bsz sl_3: L = E + A P^-alpha + B D^-beta + F / (P^wN D^wD) + C0 e^(CN p + CD s + CB v) (u - u*)^2 + G0 e^(GN p + GD s) (v - v*)^2

ScaleBench (Li et al. 2026, arXiv 2604.22753) law sl_3 of the lr_bsz task, rewritten as a bayes_moe
law file; the priors are the benchmark's parameter boxes (flat). u, v, s, p: the natural logs of the
learning rate, batch size, data size D and non-embedding parameters P.
u* = mu0 + muN p + muD s + muB v + muND p s, v* = nu0 + nuN p + nuD s + nuND p s.
"""
from bayes_moe.userlaw import HalfNormal, Uniform

inputs = {"lr": "lr", "bsz": "bsz", "D": "data_size", "P": "non_embedding_param_size"}
output = "lm_loss"
priors = {
    "E": Uniform(0.5, 3.0),
    "A": Uniform(0.0, 5e5),
    "alpha": Uniform(0.05, 2.0),
    "B": Uniform(0.0, 5e5),
    "beta": Uniform(0.05, 2.0),
    "F": Uniform(0.0, 2e7),
    "wN": Uniform(0.05, 2.0),
    "wD": Uniform(0.05, 2.0),
    "C0": Uniform(0.0, 3.0),
    "CN": Uniform(-3.0, 3.0),
    "CD": Uniform(-3.0, 3.0),
    "CB": Uniform(-3.0, 3.0),
    "mu0": Uniform(-20.0, 5.0),
    "muN": Uniform(-10.0, 3.0),
    "muD": Uniform(-10.0, 3.0),
    "muB": Uniform(-10.0, 3.0),
    "muND": Uniform(-10.0, 3.0),
    "G0": Uniform(0.0, 3.0),
    "GN": Uniform(-3.0, 3.0),
    "GD": Uniform(-3.0, 3.0),
    "nu0": Uniform(0.0, 15.0),
    "nuN": Uniform(-3.0, 3.0),
    "nuD": Uniform(-3.0, 3.0),
    "nuND": Uniform(-3.0, 3.0),
}
noise_sd = HalfNormal(0.05)


def mean(lr, bsz, D, P, E, A, alpha, B, beta, F, wN, wD, C0, CN, CD, CB, mu0, muN, muD, muB, muND, G0, GN, GD, nu0, nuN, nuD, nuND, xp):
    u, v, s, p = xp.log(lr), xp.log(bsz), xp.log(D), xp.log(P)
    lr_opt = mu0 + muN * p + muD * s + muB * v + muND * p * s
    bsz_opt = nu0 + nuN * p + nuD * s + nuND * p * s
    return (E + A * P**-alpha + B * D**-beta + F / (P**wN * D**wD)
            + C0 * xp.exp(CN * p + CD * s + CB * v) * (u - lr_opt) ** 2 + G0 * xp.exp(GN * p + GD * s) * (v - bsz_opt) ** 2)
