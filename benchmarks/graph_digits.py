"""One side of the graph-mode digits benchmark (`bench_graph_digits` in run.py), in a process
of its own: `python -m benchmarks.graph_digits minitorch|torch`.

Each side runs in a clean process because PyTorch loads its own OpenMP runtime: in a process
that has imported torch, minitorch's parallel Numba kernels ran 3-4x slower (measured on the
digits epoch). The worker trains one untimed epoch, prints "ready", then for each line read
from stdin trains one epoch and prints its seconds, so the parent can alternate the two sides.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable

import numpy as np

HIDDEN, BATCH = 128, 64


def digits() -> tuple[np.ndarray, np.ndarray]:
    import minitorch

    data = minitorch.data.load_digits("train")
    return data.X, data.y.astype(np.int64)


def minitorch_epoch() -> Callable[[], None]:
    """`compile(model)`, eager cross-entropy and Adam, float64 (the last batch is smaller)."""
    import minitorch

    images, labels = digits()
    batches = [
        (minitorch.tensor(images[i : i + BATCH], backend="fast"), labels[i : i + BATCH])
        for i in range(0, len(labels), BATCH)
    ]
    model = minitorch.nn.MLP([64, HIDDEN, 10], backend="fast", seed=0)
    compiled, optimizer = minitorch.compile(model), minitorch.optim.Adam(model.parameters(), lr=1e-3)

    def epoch() -> None:
        for x, y in batches:
            loss = minitorch.nn.cross_entropy(compiled(x), y)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()

    return epoch


def torch_epoch() -> Callable[[], None]:
    """The same epoch in PyTorch on one thread."""
    import torch

    torch.set_num_threads(1)
    torch.manual_seed(0)
    images, labels = digits()
    batches = [
        (torch.tensor(images[i : i + BATCH]), torch.tensor(labels[i : i + BATCH])) for i in range(0, len(labels), BATCH)
    ]
    net = torch.nn.Sequential(torch.nn.Linear(64, HIDDEN), torch.nn.ReLU(), torch.nn.Linear(HIDDEN, 10)).double()
    optimizer = torch.optim.Adam(net.parameters(), lr=1e-3)

    def epoch() -> None:
        for x, y in batches:
            loss = torch.nn.functional.cross_entropy(net(x), y)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()

    return epoch


def main(side: str) -> None:
    epoch = minitorch_epoch() if side == "minitorch" else torch_epoch()
    start = time.perf_counter()
    epoch()  # traces both batch shapes (minitorch) or warms up (PyTorch)
    print(f"ready {time.perf_counter() - start}", flush=True)
    for _ in sys.stdin:
        start = time.perf_counter()
        epoch()
        print(time.perf_counter() - start, flush=True)


if __name__ == "__main__":
    main(sys.argv[1])
