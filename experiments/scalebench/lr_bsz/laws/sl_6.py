"""lr_bsz sl_6: L = L_inf + exp(w0 + w_d s + w_p p + w_dp s p + w_lr u + w_lr2 u^2 + w_bsz v + w_bsz2 v^2 + w_lrbsz u v
    + w_lrD u s + w_lrP u p + w_bszD v s + w_bszP v p)

ScaleBench (Li et al. 2026, arXiv 2604.22753) law sl_6 of the lr_bsz task, rewritten as a bayes_moe
law file; the priors are the benchmark's parameter boxes (flat). u, v, s, p: the natural logs of the
learning rate, batch size, data size D and non-embedding parameters P.
The exponent clipped to +-50, as the authors' code.
"""
from bayes_moe.userlaw import HalfNormal, Uniform

inputs = {"lr": "lr", "bsz": "bsz", "D": "data_size", "P": "non_embedding_param_size"}
output = "lm_loss"
priors = {
    "L_inf": Uniform(0.0, 3.0),
    "w0": Uniform(-8.0, 8.0),
    "w_d": Uniform(-0.5, 0.5),
    "w_p": Uniform(-0.5, 0.5),
    "w_dp": Uniform(-0.025, 0.025),
    "w_lr": Uniform(-0.6, 0.6),
    "w_lr2": Uniform(-0.6, 0.6),
    "w_bsz": Uniform(-0.5, 0.5),
    "w_bsz2": Uniform(-0.5, 0.5),
    "w_lrbsz": Uniform(-0.04, 0.04),
    "w_lrD": Uniform(-0.02, 0.02),
    "w_lrP": Uniform(-0.04, 0.04),
    "w_bszD": Uniform(-0.05, 0.05),
    "w_bszP": Uniform(-0.02, 0.02),
}
noise_sd = HalfNormal(0.05)


def mean(lr, bsz, D, P, L_inf, w0, w_d, w_p, w_dp, w_lr, w_lr2, w_bsz, w_bsz2, w_lrbsz, w_lrD, w_lrP, w_bszD, w_bszP, xp):
    u, v, s, p = xp.log(lr), xp.log(bsz), xp.log(D), xp.log(P)
    exponent = (w0 + w_d * s + w_p * p + w_dp * s * p + w_lr * u + w_lr2 * u**2 + w_bsz * v + w_bsz2 * v**2
                + w_lrbsz * u * v + w_lrD * u * s + w_lrP * u * p + w_bszD * v * s + w_bszP * v * p)
    return L_inf + xp.exp(xp.clip(exponent, -50, 50))
