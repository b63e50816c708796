"""A small CNN on sklearn's 8x8 digits (Conv2d, MaxPool2d, Flatten, cross_entropy), written for PyTorch.

The twin for minitorch is this file with only `import torch` changed to
`import minitorch as torch` (tests/test_pytorch_ports.py checks that the two loss curves agree).
Run it: `python examples/pytorch_ports/digits_cnn.py`.
"""

import numpy as np
import torch
from sklearn.datasets import load_digits


class Net(torch.nn.Module):
    """conv 3x3 (4 channels) -> ReLU -> 2x2 max pool -> flatten -> linear to 10 classes."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = torch.nn.Conv2d(1, 4, kernel_size=3, padding=1)
        self.pool = torch.nn.MaxPool2d(2)
        self.flatten = torch.nn.Flatten()
        self.fc = torch.nn.Linear(4 * 4 * 4, 10)

    def forward(self, x):
        x = self.pool(torch.relu(self.conv(x)))
        return self.fc(self.flatten(x))


def main(steps: int = 15, seed: int = 0) -> list[float]:
    """Full-batch SGD on 128 digits; the loss after each step."""
    torch.set_default_dtype(torch.float64)
    digits = load_digits()
    images = torch.tensor(digits.images[:128] / 16.0).unsqueeze(1)  # (N, 1, 8, 8)
    labels = torch.tensor(digits.target[:128])

    model = Net()
    rng = np.random.default_rng(seed)
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.copy_(torch.tensor(rng.normal(0.0, 0.2, size=tuple(parameter.shape))))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.5)

    losses = []
    for _ in range(steps):
        loss = torch.nn.functional.cross_entropy(model(images), labels)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return losses


if __name__ == "__main__":
    curve = main()
    print(f"loss {curve[0]:.4f} -> {curve[-1]:.4f}")
