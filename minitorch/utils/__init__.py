"""`minitorch.utils`, after `torch.utils`: `minitorch.utils.data` is the data loading of `minitorch.data`."""

from . import data

__all__ = ["data"]
