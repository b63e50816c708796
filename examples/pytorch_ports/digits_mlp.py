"""A small MLP on sklearn's 8x8 digits with Adam, a DataLoader and a checkpoint, written for PyTorch.

The twin for minitorch is this file with only `import torch` changed to
`import minitorch as torch` (tests/test_pytorch_ports.py checks that the two loss curves agree).
Halfway through, the model and optimizer are saved with `torch.save`, loaded with `torch.load`
into a fresh model and optimizer, and training goes on from there.
Run it: `python examples/pytorch_ports/digits_mlp.py`.
"""

import os
import tempfile

import numpy as np
import torch
from sklearn.datasets import load_digits


def make_model(seed: int) -> torch.nn.Module:
    """64 -> 32 -> 10 with ReLU, weights drawn from a seeded numpy generator."""
    model = torch.nn.Sequential(torch.nn.Linear(64, 32), torch.nn.ReLU(), torch.nn.Linear(32, 10))
    rng = np.random.default_rng(seed)
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.copy_(torch.tensor(rng.normal(0.0, 0.1, size=tuple(parameter.shape))))
    return model


def train(model, optimizer, loader, steps: int) -> list[float]:
    """`steps` optimizer steps over the loader (cycling epochs); the loss of each."""
    losses = []
    while len(losses) < steps:
        for images, labels in loader:
            loss = torch.nn.functional.cross_entropy(model(images), labels)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
            if len(losses) == steps:
                break
    return losses


def main(steps: int = 20, seed: int = 0) -> list[float]:
    """Train `steps` steps, checkpoint, restore into fresh objects, train `steps` more."""
    torch.set_default_dtype(torch.float64)
    digits = load_digits()
    images = torch.tensor(digits.data[:320] / 16.0)
    labels = torch.tensor(digits.target[:320])
    dataset = torch.utils.data.TensorDataset(images, labels)
    loader = torch.utils.data.DataLoader(dataset, batch_size=64, shuffle=False)

    model = make_model(seed)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    losses = train(model, optimizer, loader, steps)

    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "checkpoint.pt")
        torch.save({"model": model.state_dict(), "optimizer": optimizer.state_dict(), "step": steps}, path)
        checkpoint = torch.load(path)
    restored = make_model(seed + 1)
    restored.load_state_dict(checkpoint["model"])
    optimizer = torch.optim.Adam(restored.parameters(), lr=1e-2)
    optimizer.load_state_dict(checkpoint["optimizer"])
    return losses + train(restored, optimizer, loader, steps)


if __name__ == "__main__":
    curve = main()
    print(f"loss {curve[0]:.4f} -> {curve[-1]:.4f}")
