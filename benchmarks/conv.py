"""conv2d forward + backward, and one training epoch of the digits CNN: minitorch against
PyTorch (CPU) and a numpy reference, in one process.

    python -m benchmarks.conv                  # 64x1x8x8 input, 16 filters 3x3, padding 1
    python -m benchmarks.conv --batch 256 --repeats 20

The numpy reference: windows by `sliding_window_view`, products by `einsum` (forward, weight
gradient) and the input gradient by a padded-sum of shifted products. The epoch: the demo's
LeNet (minitorch/demo/cnn.py) and the same network in PyTorch, Adam, batch 32, float64, on the
1,437 training digits. PyTorch is timed first, before any minitorch kernel ran (its own clean
state). Each figure is the median of `--repeats` timed runs after a warm-up (which compiles
Numba kernels); ratios are to PyTorch, so lower is better. Absolute times move with the load
of the machine.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable

import numpy as np
from rich.console import Console
from rich.table import Table

import minitorch
from minitorch import conv

from .timing import median_seconds


def numpy_conv_step(x: np.ndarray, w: np.ndarray, padding: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(out, grad_x, grad_w) of `sum(conv2d(x, w))`, in numpy."""
    kh, kw = w.shape[2:]
    padded = np.pad(x, [(0, 0), (0, 0), (padding, padding), (padding, padding)])
    windows = np.lib.stride_tricks.sliding_window_view(padded, (kh, kw), axis=(2, 3))  # (N, C, H', W', kh, kw)
    out = np.einsum("nchwij,ocij->nohw", windows, w, optimize=True)
    grad = np.ones_like(out)
    grad_w = np.einsum("nchwij,nohw->ocij", windows, grad, optimize=True)
    grad_padded = np.zeros_like(padded)
    for i in range(kh):  # each kernel tap adds its share back: fold, by shifted slices
        for j in range(kw):
            grad_padded[:, :, i : i + out.shape[2], j : j + out.shape[3]] += np.einsum(
                "nohw,oc->nchw", grad, w[:, :, i, j]
            )
    grad_x = grad_padded[:, :, padding : padding + x.shape[2], padding : padding + x.shape[3]]
    return out, grad_x, grad_w


def minitorch_conv_step(x: np.ndarray, w: np.ndarray, padding: int, backend: str) -> Callable[[], tuple]:
    xt = minitorch.tensor(x, backend=backend, requires_grad=True)
    wt = minitorch.tensor(w, backend=backend, requires_grad=True)

    def step() -> tuple:
        xt.grad = wt.grad = None
        out = conv.conv2d(xt, wt, padding=padding)
        out.sum().backward()
        return out, xt.grad, wt.grad

    return step


def torch_conv_step(x: np.ndarray, w: np.ndarray, padding: int) -> Callable[[], tuple]:
    import torch

    xt = torch.tensor(x, requires_grad=True)
    wt = torch.tensor(w, requires_grad=True)

    def step() -> tuple:
        xt.grad = wt.grad = None
        out = torch.nn.functional.conv2d(xt, wt, padding=padding)
        out.sum().backward()
        return out.detach(), xt.grad, wt.grad

    return step


def torch_epoch(seed: int = 0) -> Callable[[], None]:
    """One epoch of the demo's LeNet, written in PyTorch."""
    import torch

    torch.manual_seed(seed)
    train = minitorch.data.load_digits("train", seed=seed)
    X, y = torch.tensor(np.asarray(train.X, dtype=np.float64)), torch.tensor(np.asarray(train.y)).long()
    model = torch.nn.Sequential(
        torch.nn.Unflatten(1, (1, 8, 8)),
        torch.nn.Conv2d(1, 8, 3, padding=1),
        torch.nn.ReLU(),
        torch.nn.MaxPool2d(2),
        torch.nn.Conv2d(8, 16, 3, padding=1),
        torch.nn.ReLU(),
        torch.nn.MaxPool2d(2),
        torch.nn.Flatten(),
        torch.nn.Linear(16 * 2 * 2, 10),
    ).double()
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)

    def epoch() -> None:
        for start in range(0, len(X), 32):
            optimizer.zero_grad()
            loss = torch.nn.functional.cross_entropy(model(X[start : start + 32]), y[start : start + 32])
            loss.backward()
            optimizer.step()

    return epoch


def minitorch_epoch(backend: str, seed: int = 0) -> Callable[[], None]:
    """One epoch of the demo's LeNet (minitorch/demo/cnn.py)."""
    from minitorch.demo.cnn import LeNet

    train = minitorch.data.load_digits("train", seed=seed)
    model = LeNet(8, backend=backend, seed=seed)
    loader = minitorch.data.DataLoader(train, batch_size=32, shuffle=False, backend=backend)
    optimizer = minitorch.optim.Adam(model.parameters(), lr=0.01)

    def epoch() -> None:
        for X, y in loader:
            optimizer.zero_grad()
            minitorch.nn.cross_entropy(model(X), y).backward()
            optimizer.step()

    return epoch


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--filters", type=int, default=16)
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--backends", nargs="+", default=["fast", "simple"])
    args = parser.parse_args(argv)
    rng = np.random.default_rng(0)
    x, w = rng.normal(size=(args.batch, 1, 8, 8)), rng.normal(size=(args.filters, 1, 3, 3))
    reference = numpy_conv_step(x, w, 1)
    torch_step, torch_train = torch_conv_step(x, w, 1), torch_epoch()
    for got, want in zip(torch_step(), reference):
        np.testing.assert_allclose(got.numpy(), want, atol=1e-9)
    torch_time = median_seconds(torch_step, args.repeats)  # PyTorch first: no minitorch kernel ran yet
    torch_epoch_time = median_seconds(torch_train, max(3, args.repeats // 3))
    numpy_time = median_seconds(lambda: numpy_conv_step(x, w, 1), args.repeats)
    table = Table(title=f"conv2d forward + backward, input {x.shape}, weight {w.shape}, padding 1")
    for column in ("implementation", "median ms", "ratio to PyTorch"):
        table.add_column(column, justify="right")
    table.add_row("PyTorch (CPU)", f"{torch_time * 1e3:.2f}", "1.00")
    table.add_row("numpy (sliding_window_view + einsum)", f"{numpy_time * 1e3:.2f}", f"{numpy_time / torch_time:.2f}")
    for backend in args.backends:
        step = minitorch_conv_step(x, w, 1, backend)
        for got, want in zip(step(), reference):  # the same answer, or the timing means nothing
            np.testing.assert_allclose(got.numpy(), want, atol=1e-9)
        seconds = median_seconds(step, args.repeats if backend != "simple" else 1)
        table.add_row(f"minitorch {backend}", f"{seconds * 1e3:.2f}", f"{seconds / torch_time:.2f}")
    epochs = Table(title="one training epoch of the digits LeNet (1,437 images, batch 32, Adam, float64)")
    for column in ("implementation", "median s", "ratio to PyTorch"):
        epochs.add_column(column, justify="right")
    epochs.add_row("PyTorch (CPU)", f"{torch_epoch_time:.3f}", "1.00")
    seconds = median_seconds(minitorch_epoch("fast"), max(3, args.repeats // 3))
    epochs.add_row("minitorch fast", f"{seconds:.3f}", f"{seconds / torch_epoch_time:.2f}")
    Console().print(table, epochs)


if __name__ == "__main__":
    main()
