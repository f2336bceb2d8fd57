"""lr_bsz sl_5: L = L0 + AN e^(-aN p) + AD e^(-aD s) + AB e^(-aB v) + AR e^(-aR (s - p)^2) + AX e^(-aX (s - v))
    + clr0 e^(-wb v - wn p - ws s) (u - u0 - kb v - kn p - kd s)^2

ScaleBench (Li et al. 2026, arXiv 2604.22753) law sl_5 of the lr_bsz task, rewritten as a bayes_moe
law file; the priors are the benchmark's parameter boxes (flat). u, v, s, p: the natural logs of the
learning rate, batch size, data size D and non-embedding parameters P.
"""
from bayes_moe.userlaw import HalfNormal, Uniform

inputs = {"lr": "lr", "bsz": "bsz", "D": "data_size", "P": "non_embedding_param_size"}
output = "lm_loss"
priors = {
    "L0": Uniform(0.0, 3.0),
    "AN": Uniform(0.0, 2e4),
    "aN": Uniform(0.01, 2.0),
    "AD": Uniform(0.0, 2e4),
    "aD": Uniform(0.01, 2.0),
    "AB": Uniform(0.0, 20.0),
    "aB": Uniform(0.01, 2.0),
    "clr0": Uniform(0.0, 200.0),
    "u0": Uniform(-12.0, 3.0),
    "kb": Uniform(-2.0, 2.0),
    "kn": Uniform(-2.0, 2.0),
    "kd": Uniform(-2.0, 2.0),
    "wb": Uniform(-2.0, 2.0),
    "wn": Uniform(-2.0, 2.0),
    "ws": Uniform(-2.0, 2.0),
    "AR": Uniform(0.0, 5.0),
    "aR": Uniform(0.0, 2.0),
    "AX": Uniform(0.0, 2000.0),
    "aX": Uniform(0.0, 2.0),
}
noise_sd = HalfNormal(0.05)


def mean(lr, bsz, D, P, L0, AN, aN, AD, aD, AB, aB, clr0, u0, kb, kn, kd, wb, wn, ws, AR, aR, AX, aX, xp):
    u, v, s, p = xp.log(lr), xp.log(bsz), xp.log(D), xp.log(P)
    return (L0 + AN * xp.exp(-aN * p) + AD * xp.exp(-aD * s) + AB * xp.exp(-aB * v) + AR * xp.exp(-aR * (s - p) ** 2)
            + AX * xp.exp(-aX * (s - v)) + clr0 * xp.exp(-wb * v - wn * p - ws * s) * (u - u0 - kb * v - kn * p - kd * s) ** 2)
