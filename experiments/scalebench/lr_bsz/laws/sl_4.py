"""lr_bsz sl_4: L = exp(quadratic(u, v, s, p) + w_dp (s - p) + w_b / bsz + w_b2 / bsz^2 + w_D / D + w_P / P)

ScaleBench (Li et al. 2026, arXiv 2604.22753) law sl_4 of the lr_bsz task, rewritten as a bayes_moe
law file; the priors are the benchmark's parameter boxes (flat). u, v, s, p: the natural logs of the
learning rate, batch size, data size D and non-embedding parameters P.
quadratic: the full quadratic in (u, v, s, p), coefficients bias, linear, squares, then cross terms
(uv, us, up, vs, vp, sp).
"""
from bayes_moe.userlaw import HalfNormal, Uniform, quadratic

inputs = {"lr": "lr", "bsz": "bsz", "D": "data_size", "P": "non_embedding_param_size"}
output = "lm_loss"
priors = {
    "c0": Uniform(-15.0, 15.0),
    "c1": Uniform(-0.35, 0.35),
    "c2": Uniform(-0.35, 0.35),
    "c3": Uniform(-0.35, 0.35),
    "c4": Uniform(-0.35, 0.35),
    "c5": Uniform(-0.025, 0.025),
    "c6": Uniform(-0.025, 0.025),
    "c7": Uniform(-0.025, 0.025),
    "c8": Uniform(-0.025, 0.025),
    "c9": Uniform(-0.025, 0.025),
    "c10": Uniform(-0.025, 0.025),
    "c11": Uniform(-0.025, 0.025),
    "c12": Uniform(-0.025, 0.025),
    "c13": Uniform(-0.025, 0.025),
    "c14": Uniform(-0.025, 0.025),
    "w_dp": Uniform(-0.3, 0.3),
    "w_b": Uniform(-10.0, 10.0),
    "w_b2": Uniform(-200.0, 200.0),
    "w_D": Uniform(-1.5e9, 1.5e9),
    "w_P": Uniform(-5e7, 5e7),
}
noise_sd = HalfNormal(0.05)


def mean(lr, bsz, D, P, c0, c1, c2, c3, c4, c5, c6, c7, c8, c9, c10, c11, c12, c13, c14, w_dp, w_b, w_b2, w_D, w_P, xp):
    u, v, s, p = xp.log(lr), xp.log(bsz), xp.log(D), xp.log(P)
    return xp.exp(quadratic([u, v, s, p], [c0, c1, c2, c3, c4, c5, c6, c7, c8, c9, c10, c11, c12, c13, c14]) + w_dp * (s - p) + w_b / bsz + w_b2 / bsz**2 + w_D / D + w_P / P)
