"""`minitorch.utils.data`, under PyTorch's name `torch.utils.data`: the loader and datasets of
`minitorch.data`, so `torch.utils.data.DataLoader(...)` in a PyTorch program runs unchanged."""

from ..data import DataLoader, TensorDataset

__all__ = ["DataLoader", "TensorDataset"]
