"""Fit a cubic polynomial to sin(x) with plain SGD, written for PyTorch.

The twin for minitorch is this file with only `import torch` changed to
`import minitorch as torch` (tests/test_pytorch_ports.py checks that the two loss curves agree).
Run it: `python examples/pytorch_ports/polynomial_fit.py`.
"""

import math

import numpy as np
import torch


def main(steps: int = 200, seed: int = 0) -> list[float]:
    """Train y = a + b x + c x^2 + d x^3 on sin(x), x in [-pi, pi]; the loss after each step."""
    torch.set_default_dtype(torch.float64)
    rng = np.random.default_rng(seed)
    x = torch.linspace(-math.pi, math.pi, 100)
    y = torch.sin(x)
    powers = torch.tensor([1.0, 2.0, 3.0])
    features = x.unsqueeze(-1).pow(powers)  # (100, 3): x, x^2, x^3

    model = torch.nn.Sequential(torch.nn.Linear(3, 1), torch.nn.Flatten(0, 1))
    with torch.no_grad():  # the same starting point in every library
        model[0].weight.copy_(torch.tensor(rng.normal(0.0, 0.1, size=(1, 3))))
        model[0].bias.zero_()
    loss_fn = torch.nn.MSELoss(reduction="sum")
    optimizer = torch.optim.SGD(model.parameters(), lr=1e-4, momentum=0.9)

    losses = []
    for _ in range(steps):
        loss = loss_fn(model(features), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return losses


if __name__ == "__main__":
    curve = main()
    print(f"loss {curve[0]:.4f} -> {curve[-1]:.4f}")
