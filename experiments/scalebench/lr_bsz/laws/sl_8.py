"""lr_bsz sl_8: L = L0 + softplus(cP) e^(-softplus(aP) p) + softplus(cD) e^(-softplus(aD) s) + softplus(cR) e^(-softplus(aR) (s - p))
    + softplus(k_lr) d^2 (1 + tanh(a_lr) tanh(d)) + softplus(k_ns) e^2 (1 + tanh(a_ns) tanh(e)) + softplus(k_dp) (s - p - delta0)^2

ScaleBench (Li et al. 2026, arXiv 2604.22753) law sl_8 of the lr_bsz task, rewritten as a bayes_moe
law file; the priors are the benchmark's parameter boxes (flat). u, v, s, p: the natural logs of the
learning rate, batch size, data size D and non-embedding parameters P.
d = u - (phi0 + phi_b v + phi_p p + phi_d s), e = u - v / 2 - (psi0 + psi_p p + psi_d s); softplus with its
argument clipped to +-20, as the authors' code.
"""
from bayes_moe.userlaw import HalfNormal, Uniform, softplus

inputs = {"lr": "lr", "bsz": "bsz", "D": "data_size", "P": "non_embedding_param_size"}
output = "lm_loss"
priors = {
    "L0": Uniform(-1.0, 3.0),
    "cP": Uniform(-3.0, 12.0),
    "aP": Uniform(-5.0, 5.0),
    "cD": Uniform(-3.0, 12.0),
    "aD": Uniform(-5.0, 5.0),
    "cR": Uniform(-3.0, 12.0),
    "aR": Uniform(-5.0, 5.0),
    "phi0": Uniform(-20.0, 3.0),
    "phi_b": Uniform(-5.0, 5.0),
    "phi_p": Uniform(-5.0, 5.0),
    "phi_d": Uniform(-5.0, 5.0),
    "k_lr": Uniform(-5.0, 10.0),
    "a_lr": Uniform(-5.0, 5.0),
    "psi0": Uniform(-15.0, 5.0),
    "psi_p": Uniform(-5.0, 5.0),
    "psi_d": Uniform(-5.0, 5.0),
    "k_ns": Uniform(-5.0, 10.0),
    "a_ns": Uniform(-5.0, 5.0),
    "delta0": Uniform(-5.0, 10.0),
    "k_dp": Uniform(-5.0, 10.0),
}
noise_sd = HalfNormal(0.05)


def mean(lr, bsz, D, P, L0, cP, aP, cD, aD, cR, aR, phi0, phi_b, phi_p, phi_d, k_lr, a_lr, psi0, psi_p, psi_d, k_ns, a_ns, delta0, k_dp, xp):
    u, v, s, p = xp.log(lr), xp.log(bsz), xp.log(D), xp.log(P)
    d = u - (phi0 + phi_b * v + phi_p * p + phi_d * s)
    e = u - 0.5 * v - (psi0 + psi_p * p + psi_d * s)
    return (L0 + softplus(cP, xp) * xp.exp(-softplus(aP, xp) * p) + softplus(cD, xp) * xp.exp(-softplus(aD, xp) * s)
            + softplus(cR, xp) * xp.exp(-softplus(aR, xp) * (s - p))
            + softplus(k_lr, xp) * d**2 * (1 + xp.tanh(a_lr) * xp.tanh(d))
            + softplus(k_ns, xp) * e**2 * (1 + xp.tanh(a_ns) * xp.tanh(e)) + softplus(k_dp, xp) * (s - p - delta0) ** 2)
