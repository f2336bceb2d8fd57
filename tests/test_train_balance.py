"""Bias balancing counts the tokens of the whole optimizer step (all micro-batches; all ranks through one
all-reduce) and moves the bias once per step; the training objective compiles as one graph."""

import pytest
import torch

from bayes_moe import arch
from bayes_moe.train import data
from bayes_moe.train.loop import Objective, _build, _train_step
from bayes_moe.train.session import Rank
from bayes_moe.train.plan import Plan
from bayes_moe.train.settings import TrainConfig
from bayes_moe.train.model import MoEGPT
from bayes_moe.train.moe import MoE, grouped_mm_supported
from test_train_loop import small_arch

pytestmark = pytest.mark.skipif(not grouped_mm_supported(torch.device("cpu")),
                                reason="this torch has no CPU grouped_mm")


def test_layer_counts_accumulate_until_reset():
    torch.manual_seed(0)
    layer = MoE(16, 8, n_routed=6, n_shared=1, top_k=2, balance="bias")
    layer.reset_parameters(0.5, 0.5)
    x = torch.randn(40, 16)
    layer(x)
    whole = layer.load.clone()
    layer.reset_load()
    for chunk in x.split(10):
        layer(chunk)
    assert whole.sum() == 40 * 2 and torch.equal(layer.load, whole)
    layer.reset_load()
    assert layer.load.sum() == 0


@pytest.mark.parametrize("balance", ["bias", "aux"])
def test_one_step_in_micro_batches_moves_the_bias_as_one_batch(tmp_path, balance):
    """The bias after a step of 4 micro-batches of 4 sequences equals that after one batch of the same 16
    (it moves by the counts of all of them, not of the last micro-batch); 'aux' mode leaves it at 0."""
    a = small_arch()
    biases = []
    for micro in (16, 4):
        config = TrainConfig.from_dict({"batch_size": 16, "lr": 1e-2, "balance": balance, "bias_rate": 0.1,
                                        "micro_batch_size": micro})
        plan = Plan(a, config, data.SAMPLE_DIR, steps=1, tokens_per_step=16 * a.n_ctx)
        session, _ = _build(tmp_path, 1, plan, Rank(torch.device("cpu")))
        assert session.micro == micro
        _train_step(session, 0)
        biases.append(torch.stack([layer.expert_bias for layer in session.model.moe_layers]))
        assert all(layer.load.sum() == 0 for layer in session.model.moe_layers)  # counts restart each step
    assert torch.equal(biases[0], biases[1])
    if balance == "bias":
        steps = biases[0].abs()
        assert steps.sum() > 0 and torch.all((steps == 0) | torch.isclose(steps, torch.tensor(0.1)))  # one step of sign
    else:
        assert not biases[0].any()


@pytest.mark.slow
def test_the_objective_compiles_as_one_graph_that_counts_routed_tokens():
    """torch.compile(fullgraph=True) traces model and loss without a graph break (the GPU path: bf16
    expert GEMMs, which the CPU's grouped_mm also runs), and the counts it adds up match eager ones."""
    a = arch.solve(1.0, 24 * 32 * 32 * 2 + 8 * 64 * 32, 0.5, n_layers=2, n_heads=2, d_model=32, n_ctx=64)
    torch.manual_seed(0)
    objective = Objective(MoEGPT(a), TrainConfig(batch_size=4, lr=1e-3))
    for layer in objective.model.moe_layers:
        layer.compute_dtype = torch.bfloat16
    x, y = torch.randint(0, a.vocab_size, (2, 4, a.n_ctx))
    eager_loss, _, _ = objective(x, y)
    eager_counts = [layer.load.clone() for layer in objective.model.moe_layers]
    for layer in objective.model.moe_layers:
        layer.reset_load()
    compiled = torch.compile(objective, dynamic=False, backend="aot_eager", fullgraph=True)
    loss, _, _ = compiled(x, y)
    loss.backward()
    assert loss.item() == pytest.approx(eager_loss.item(), rel=1e-5)
    assert all(torch.equal(layer.load, counts) for layer, counts in zip(objective.model.moe_layers, eager_counts))
