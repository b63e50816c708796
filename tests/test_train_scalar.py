"""Module 1: a network of Scalars learns the toy datasets (fixed seeds, deterministic)."""

from __future__ import annotations

import pytest

import minitorch
from minitorch import Scalar
from minitorch.demo.scalar_train import ScalarTrainer
from minitorch.scalar_nn import ScalarLinear, ScalarNetwork, binary_log_loss

# dataset -> (hidden units, learning rate, seed, epochs): 30 points from dataset seed 1
CONFIGS = {
    "simple": (4, 1.0, 0, 60),
    "diag": (4, 1.0, 1, 80),
    "xor": (6, 1.0, 1, 120),
}


@pytest.mark.task1_5
@pytest.mark.parametrize("dataset", sorted(CONFIGS))
def test_scalar_network_reaches_95_percent(dataset: str) -> None:
    hidden, lr, seed, epochs = CONFIGS[dataset]
    trainer = ScalarTrainer(hidden=hidden, learning_rate=lr, seed=seed)
    history = trainer.train(minitorch.DATASETS[dataset](30, seed=1), epochs)
    assert history[-1].accuracy >= 0.95, f"{dataset}: {history[-1]}"
    assert history[-1].loss < history[0].loss


@pytest.mark.task1_5
def test_linear_layer_computes_affine_map() -> None:
    import random

    layer = ScalarLinear(2, 3, random.Random(0))
    out = layer.forward([Scalar(1.0), Scalar(-2.0)])
    for j in range(3):
        expected = layer.bias[j].value.data + layer.weights[0][j].value.data - 2 * layer.weights[1][j].value.data
        assert out[j].data == pytest.approx(expected)


@pytest.mark.task1_5
def test_binary_log_loss_values_and_gradient() -> None:
    p = Scalar(0.8)
    loss = binary_log_loss(p, 1)
    assert loss.data == pytest.approx(-__import__("math").log(0.8))
    loss.backward()
    assert p.grad == pytest.approx(-1 / 0.8)
    q = Scalar(0.8)
    binary_log_loss(q, 0).backward()
    assert q.grad == pytest.approx(1 / 0.2)


def test_network_parameters_are_registered() -> None:
    model = ScalarNetwork(hidden=3)
    # 2*3+3 + 3*3+3 + 3*1+1
    assert len(model.parameters()) == 25
    assert "layer1.weight_0_0" in dict(model.named_parameters())


def test_demo_runs(capsys) -> None:
    from minitorch import demo

    assert demo.main(["--scalar", "--dataset", "simple", "--points", "10", "--epochs", "3", "--hidden", "2"]) == 0
    out = capsys.readouterr().out
    assert "network of Scalars" in out and "final training accuracy" in out and "predictions" in out


def test_tensor_demo_runs_and_prints_kernel_timings(capsys, tmp_path) -> None:
    import shutil

    from minitorch import demo

    argv = ["--dataset", "diag", "--points", "20", "--epochs", "3", "--backend", "simple", "--out", str(tmp_path)]
    assert demo.main(argv) == 0
    out = capsys.readouterr().out
    assert "final training accuracy" in out and "Kernel timings" in out and "matmul" in out
    loaded = minitorch.Recording.load(tmp_path / "last-step.json")
    assert loaded.backward_events and loaded.kernel_events
    if shutil.which("dot"):
        assert (tmp_path / "graph.svg").read_text().lstrip().startswith(("<?xml", "<svg"))
    else:
        assert (tmp_path / "graph.dot").exists() and "Graphviz" in out
