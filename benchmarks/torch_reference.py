"""PyTorch's side of `benchmarks.run`'s comparisons, run in a fresh process of its own:

    python -m benchmarks.torch_reference dispatch|training

It imports neither minitorch nor Numba: PyTorch loads its own OpenMP runtime, and in a process
that had both, minitorch's parallel kernels ran 3-4x slower (and minitorch's passive wait policy
would change PyTorch's). Prints the median seconds of one call.
"""

from __future__ import annotations

import sys

import numpy as np
import torch

from .timing import median_seconds


def dispatch() -> float:
    """One 1-element multiply of two tensors that require grad (float64)."""
    ta = torch.tensor([1.5], requires_grad=True, dtype=torch.float64)
    tb = torch.tensor([2.5], requires_grad=True, dtype=torch.float64)
    return median_seconds(lambda: ta * tb, repeat=7, number=2000)


def training(points: int = 500, hidden: int = 100) -> float:
    """One full-batch SGD epoch of a 2→hidden→hidden→1 MLP with BCE (float64), as run.py's."""
    torch.manual_seed(0)
    net = torch.nn.Sequential(
        torch.nn.Linear(2, hidden),
        torch.nn.ReLU(),
        torch.nn.Linear(hidden, hidden),
        torch.nn.ReLU(),
        torch.nn.Linear(hidden, 1),
    ).double()
    opt = torch.optim.SGD(net.parameters(), lr=0.1)
    rng = np.random.default_rng(0)  # same shapes as the circle dataset: the time depends on shapes only
    tX = torch.tensor(rng.random((points, 2)))
    ty = torch.tensor((rng.random((points, 1)) > 0.5).astype(np.float64))

    def epoch() -> None:
        loss = torch.nn.functional.binary_cross_entropy(torch.sigmoid(net(tX)), ty)
        opt.zero_grad()
        loss.backward()
        opt.step()

    return median_seconds(epoch, repeat=7, number=3)


if __name__ == "__main__":
    print({"dispatch": dispatch, "training": training}[sys.argv[1]]())
