"""Module 1 — a neural network made of Scalars, and its loss.

Every weight is a `Parameter` holding a `Scalar`; a forward pass builds one graph per
point; `backward()` fills each weight's `.grad`. The training loop that moves each
weight by gradient descent (`minitorch.demo.scalar_train`) is

    w <- w - lr * dL/dw
"""

from __future__ import annotations

import random
from collections.abc import Sequence

from .module import Module, ScalarParameter
from .scalar import Scalar


class ScalarLinear(Module):
    """`out_j = b_j + sum_i x_i * w_ij`, each weight a Scalar initialised in [-1, 1)."""

    def __init__(self, in_size: int, out_size: int, rng: random.Random) -> None:
        super().__init__()
        self.in_size, self.out_size = in_size, out_size
        self.weights = [
            [self.scalar_parameter(f"weight_{i}_{j}", Scalar(2 * (rng.random() - 0.5))) for j in range(out_size)]
            for i in range(in_size)
        ]
        self.bias = [self.scalar_parameter(f"bias_{j}", Scalar(2 * (rng.random() - 0.5))) for j in range(out_size)]

    def scalar_parameter(self, name: str, value: Scalar) -> ScalarParameter:
        """`add_parameter` for a Scalar (which gives a ScalarParameter)."""
        parameter = self.add_parameter(name, value)
        assert isinstance(parameter, ScalarParameter)
        return parameter

    def forward(self, inputs: Sequence[Scalar | float]) -> list[Scalar]:
        """$out_j = b_j + \\sum_i x_i w_{ij}$ for each of the `out_size` outputs, as a list of Scalars.

        `self.weights[i][j]` joins input `i` to output `j`; parameters hold their Scalar in
        `.value`. Inputs may be Scalars or plain floats. Build the sums from Scalar ops so that
        `backward()` reaches every weight and bias.
        """
        if len(inputs) != self.in_size:
            raise ValueError(f"ScalarLinear: expected {self.in_size} inputs, got {len(inputs)}")
        # BEGIN ASSIGN1_5
        outputs = []
        for j in range(self.out_size):
            total = self.bias[j].value
            for i, x in enumerate(inputs):
                total = total + x * self.weights[i][j].value
            outputs.append(total)
        return outputs
        # END ASSIGN1_5


class ScalarNetwork(Module):
    """2 -> hidden -> hidden -> 1 with ReLU, and a sigmoid output: P(label = 1)."""

    def __init__(self, hidden: int, seed: int = 0) -> None:
        super().__init__()
        rng = random.Random(seed)
        self.layer1 = ScalarLinear(2, hidden, rng)
        self.layer2 = ScalarLinear(hidden, hidden, rng)
        self.layer3 = ScalarLinear(hidden, 1, rng)

    def forward(self, x: Sequence[Scalar | float]) -> Scalar:
        h = [v.relu() for v in self.layer1.forward(x)]
        h = [v.relu() for v in self.layer2.forward(h)]
        return self.layer3.forward(h)[0].sigmoid()


def binary_log_loss(prob: Scalar, label: int) -> Scalar:
    """$-\\log p$ for label 1, $-\\log(1 - p)$ for label 0 (`label` is the int 0 or 1).

    Returns a Scalar built from Scalar ops, so its gradient reaches `prob`:
    $\\partial L/\\partial p = -1/p$ for label 1 and $1/(1 - p)$ for label 0.
    """
    # BEGIN ASSIGN1_5
    likelihood = prob if label == 1 else -prob + 1.0
    return -likelihood.log()
    # END ASSIGN1_5
