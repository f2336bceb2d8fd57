"""lr_bsz sl_7: L = E + exp(quadratic_a(u, v, s, p)) + exp(quadratic_b(u, v, s, p))

ScaleBench (Li et al. 2026, arXiv 2604.22753) law sl_7 of the lr_bsz task, rewritten as a bayes_moe
law file; the priors are the benchmark's parameter boxes (flat). u, v, s, p: the natural logs of the
learning rate, batch size, data size D and non-embedding parameters P.
quadratic: the full quadratic in (u, v, s, p), coefficients bias, linear, squares, then cross terms
(uv, us, up, vs, vp, sp). Exponents clipped to +-50, as the authors' code.
"""
from bayes_moe.userlaw import HalfNormal, Uniform, quadratic

inputs = {"lr": "lr", "bsz": "bsz", "D": "data_size", "P": "non_embedding_param_size"}
output = "lm_loss"
priors = {
    "E": Uniform(0.0, 2.5),
    "a0": Uniform(-15.0, 15.0),
    "a1": Uniform(-0.35, 0.35),
    "a2": Uniform(-0.35, 0.35),
    "a3": Uniform(-0.35, 0.35),
    "a4": Uniform(-0.35, 0.35),
    "a5": Uniform(-0.03, 0.03),
    "a6": Uniform(-0.03, 0.03),
    "a7": Uniform(-0.03, 0.03),
    "a8": Uniform(-0.03, 0.03),
    "a9": Uniform(-0.03, 0.03),
    "a10": Uniform(-0.03, 0.03),
    "a11": Uniform(-0.03, 0.03),
    "a12": Uniform(-0.03, 0.03),
    "a13": Uniform(-0.03, 0.03),
    "a14": Uniform(-0.03, 0.03),
    "b0": Uniform(-15.0, 15.0),
    "b1": Uniform(-0.35, 0.35),
    "b2": Uniform(-0.35, 0.35),
    "b3": Uniform(-0.35, 0.35),
    "b4": Uniform(-0.35, 0.35),
    "b5": Uniform(-0.03, 0.03),
    "b6": Uniform(-0.03, 0.03),
    "b7": Uniform(-0.03, 0.03),
    "b8": Uniform(-0.03, 0.03),
    "b9": Uniform(-0.03, 0.03),
    "b10": Uniform(-0.03, 0.03),
    "b11": Uniform(-0.03, 0.03),
    "b12": Uniform(-0.03, 0.03),
    "b13": Uniform(-0.03, 0.03),
    "b14": Uniform(-0.03, 0.03),
}
noise_sd = HalfNormal(0.05)


def mean(lr, bsz, D, P, E, a0, a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11, a12, a13, a14, b0, b1, b2, b3, b4, b5, b6, b7, b8, b9, b10, b11, b12, b13, b14, xp):
    u, v, s, p = xp.log(lr), xp.log(bsz), xp.log(D), xp.log(P)
    a = quadratic([u, v, s, p], [a0, a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11, a12, a13, a14])
    b = quadratic([u, v, s, p], [b0, b1, b2, b3, b4, b5, b6, b7, b8, b9, b10, b11, b12, b13, b14])
    return E + xp.exp(xp.clip(a, -50, 50)) + xp.exp(xp.clip(b, -50, 50))
