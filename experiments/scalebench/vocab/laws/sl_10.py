"""vocab sl_10: L = L_min + exp(a + bP log P + bV1 log V + bV2 log^2 V + bD log D + bVD log V log D)

ScaleBench (Li et al. 2026, arXiv 2604.22753) law sl_10 of the vocab task, rewritten as a bayes_moe
law file; the priors are the benchmark's parameter boxes (flat).
The exponent clipped to +-50, as the authors' code.
"""
from bayes_moe.userlaw import HalfNormal, Uniform

inputs = {"P": "non_vocab_parameters", "V": "vocab_size", "D": "num_characters"}
output = "unigram_normalized_loss"
priors = {
    "L_min": Uniform(-100.0, 100.0),
    "a": Uniform(-20.0, 20.0),
    "bP": Uniform(-2.0, 2.0),
    "bV1": Uniform(-2.0, 2.0),
    "bV2": Uniform(-0.1, 0.1),
    "bD": Uniform(-2.0, 2.0),
    "bVD": Uniform(-0.1, 0.1),
}
noise_sd = HalfNormal(0.05)


def mean(P, V, D, L_min, a, bP, bV1, bV2, bD, bVD, xp):
    lv = xp.log(V)
    exponent = a + bP * xp.log(P) + bV1 * lv + bV2 * lv**2 + bD * xp.log(D) + bVD * lv * xp.log(D)
    return L_min + xp.exp(xp.clip(exponent, -50, 50))
