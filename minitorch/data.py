"""Module 4 — datasets and batches: `TensorDataset`, `DataLoader`, digits and MNIST readers.

    train = data.load_digits("train")
    for x, y in data.DataLoader(train, batch_size=64, shuffle=True, seed=0):
        ...   # x: Tensor (64, 64) of pixels in [0, 1], y: Tensor (64,) of class indices

Data lives as numpy arrays until a batch is taken; each batch becomes a pair of Tensors on
the backend the loader names. Labels are class indices stored as floats (minitorch tensors
hold floating-point numbers only).
"""

from __future__ import annotations

import functools
import gzip
import math
import os
import struct
import zlib
from collections.abc import Iterator
from typing import Any

import numpy as np

from .backends.base import TensorBackend
from .datasets import DATASETS
from .tensor import Tensor, tensor
from .tensor_data import get_default_dtype, resolve_dtype

ArrayLike = np.ndarray | Tensor


class DataFormatError(ValueError):
    """A data file that is not what it claims to be (bad magic number, truncated)."""


def _as_array(values: ArrayLike | list[Any]) -> np.ndarray:
    return values.numpy() if isinstance(values, Tensor) else np.asarray(values)


class TensorDataset:
    """Inputs `X` and labels `y`, row by row: `dataset[i] == (X[i], y[i])` (PyTorch's TensorDataset)."""

    def __init__(self, X: ArrayLike, y: ArrayLike) -> None:
        self.X, self.y = _as_array(X), _as_array(y)
        if len(self.X) != len(self.y):
            raise ValueError(f"TensorDataset: {len(self.X)} inputs but {len(self.y)} labels")

    def __len__(self) -> int:
        return len(self.X)

    def __getitem__(self, index: int | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """One row, or several at once for an array of indices (how the loader takes a batch)."""
        return self.X[index], self.y[index]

    def __repr__(self) -> str:
        return f"TensorDataset(X: {self.X.shape} {self.X.dtype}, y: {self.y.shape} {self.y.dtype})"


def _check_batch_size(batch_size: Any) -> int:
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
        raise ValueError(f"DataLoader: argument 'batch_size' must be a positive integer, got {batch_size!r}")
    return int(batch_size)


class DataLoader:
    """Batches of `batch_size` rows as `(X, y)` Tensors; with `shuffle`, a new order every epoch.

    `dataset` is any map-style dataset, as in PyTorch: `len(dataset)` and `dataset[i]`. Its
    items (tuples of tensors, arrays or numbers) are collated field by field into batched
    tensors; a `TensorDataset` hands over a whole batch at once. The order comes from a numpy
    Generator seeded once with `seed`, so a run is reproducible and epoch 2 differs from
    epoch 1. `drop_last` drops a final batch smaller than `batch_size`.
    """

    def __init__(
        self,
        dataset: Any,
        batch_size: int = 1,
        shuffle: bool = False,
        seed: int | None = None,
        drop_last: bool = False,
        backend: str | TensorBackend | None = None,
        dtype: Any = None,
    ) -> None:
        batch_size = _check_batch_size(batch_size)
        if not (hasattr(dataset, "__len__") and hasattr(dataset, "__getitem__")):
            raise TypeError(
                f"DataLoader: argument 'dataset' must define __len__ and __getitem__, got {type(dataset).__name__}"
            )
        self.dataset = dataset
        self.batch_size, self.shuffle, self.drop_last = batch_size, shuffle, drop_last
        self.backend, self.dtype = backend, dtype
        self.rng = np.random.default_rng(seed)

    def __len__(self) -> int:
        """Batches per epoch."""
        full, rest = divmod(len(self.dataset), self.batch_size)
        return full + (1 if rest and not self.drop_last else 0)

    def _to_tensor(self, values: np.ndarray) -> Tensor:
        dtype = self.dtype or (values.dtype if values.dtype.name in ("float32", "float64") else get_default_dtype())
        return tensor(values, backend=self.backend, dtype=resolve_dtype(dtype))

    def collate(self, items: list[Any]) -> Any:
        """A list of items -> one batch: tuples field by field, tensors/arrays/numbers stacked."""
        first = items[0]
        if isinstance(first, (tuple, list)):
            return tuple(self.collate([item[i] for item in items]) for i in range(len(first)))
        if isinstance(first, dict):
            return {key: self.collate([item[key] for item in items]) for key in first}
        return self._to_tensor(np.stack([_as_array(item) for item in items]))

    def _batch(self, indices: np.ndarray) -> Any:
        if isinstance(self.dataset, TensorDataset):
            X, y = self.dataset[indices]
            return self._to_tensor(X), self._to_tensor(y)
        return self.collate([self.dataset[int(i)] for i in indices])

    def __iter__(self) -> Iterator[Any]:
        count = len(self.dataset)
        order = self.rng.permutation(count) if self.shuffle else np.arange(count)
        for batch in range(len(self)):
            yield self._batch(order[batch * self.batch_size : (batch + 1) * self.batch_size])


# ## Ready-made datasets


def toy_dataset(name: str, n: int, seed: int = 0) -> TensorDataset:
    """One of the course's 2-D datasets (`minitorch.DATASETS`): X (n, 2), y (n,) of 0.0 / 1.0."""
    if name not in DATASETS:
        raise ValueError(f"toy_dataset: unknown dataset {name!r}; choose from {', '.join(DATASETS)}")
    graph = DATASETS[name](n, seed=seed)
    return TensorDataset(np.array(graph.X, dtype=np.float64), np.array(graph.y, dtype=np.float64))


def load_digits(split: str = "train", test_fraction: float = 0.2, seed: int = 0) -> TensorDataset:
    """scikit-learn's 8x8 handwritten digits (1797 images, bundled: no download).

    X has shape (N, 64) with pixels scaled from 0..16 to [0, 1]; y holds the digit 0..9.
    The images are shuffled with `seed` and the last `test_fraction` of them are the test split.
    """
    if split not in ("train", "test"):
        raise ValueError(f"load_digits: split must be 'train' or 'test', got {split!r}")
    if not 0.0 < test_fraction < 1.0:
        raise ValueError(f"load_digits: test_fraction must be in (0, 1), got {test_fraction}")
    images, labels = _digits_arrays()
    order = np.random.default_rng(seed).permutation(len(labels))
    n_test = round(len(order) * test_fraction)
    chosen = order[len(order) - n_test :] if split == "test" else order[: len(order) - n_test]
    return TensorDataset(images[chosen] / 16.0, labels[chosen].astype(np.float64))


@functools.cache
def _digits_arrays() -> tuple[np.ndarray, np.ndarray]:
    """(images, labels) from scikit-learn, read once per process (parsing takes ~0.3 s)."""
    # scikit-learn is an optional dependency (the "data" extra), so it is imported only here.
    from sklearn.datasets import load_digits as sklearn_digits

    digits = sklearn_digits()
    return digits.data, digits.target


# ## MNIST's IDX files

# IDX header: two zero bytes, a dtype code, the number of dims; then each dim as a big-endian
# uint32; then the values, big-endian, row-major.
IDX_DTYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def _read_bytes(path: str) -> bytes:
    """The file's bytes, gunzipped when it starts with gzip's magic number (whatever its name)."""
    with open(path, "rb") as file:
        raw = file.read()
    if raw[:2] == b"\x1f\x8b":
        try:
            return gzip.decompress(raw)
        except (OSError, EOFError, zlib.error) as error:
            raise DataFormatError(f"read_idx: {path!r} is a damaged gzip file: {error}") from error
    return raw


def read_idx(path: str | os.PathLike[str]) -> np.ndarray:
    """The array stored in an IDX file (MNIST's format), plain or gzipped."""
    path = os.fspath(path)
    raw = _read_bytes(path)
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in IDX_DTYPES:
        raise DataFormatError(
            f"read_idx: {path!r} does not start with an IDX magic number "
            f"(00 00 <dtype code> <dims>), got {raw[:4].hex(' ') or 'an empty file'}"
        )
    dtype, dims = np.dtype(IDX_DTYPES[raw[2]]), raw[3]
    header = 4 + 4 * dims
    if len(raw) < header:
        raise DataFormatError(f"read_idx: {path!r} is truncated inside its header ({len(raw)} bytes)")
    shape = struct.unpack(f">{dims}I", raw[4:header])
    expected = math.prod(shape) * dtype.itemsize  # Python ints: a huge header cannot overflow
    if len(raw) - header != expected:
        raise DataFormatError(
            f"read_idx: {path!r} holds {len(raw) - header} bytes of data but shape {shape} of "
            f"{dtype.name} needs {expected} (truncated or corrupt)"
        )
    return np.frombuffer(raw, dtype=dtype, offset=header).reshape(shape).astype(dtype.newbyteorder("="))


def _find(folder: str, stem: str) -> str:
    """`stem` in `folder`, also as `stem.gz` or with the `.idx` dot some mirrors use."""
    candidates = [stem, stem + ".gz", stem.replace("-idx", ".idx"), stem.replace("-idx", ".idx") + ".gz"]
    for name in candidates:
        if os.path.exists(os.path.join(folder, name)):
            return os.path.join(folder, name)
    raise FileNotFoundError(f"load_mnist: none of {', '.join(candidates)} in {folder!r}")


def load_mnist(folder: str | os.PathLike[str], split: str = "train", flatten: bool = True) -> TensorDataset:
    """MNIST from its four IDX files in `folder` (train-* or t10k-*, plain or .gz; no download).

    X: pixels scaled to [0, 1], shape (N, 784) or, with `flatten=False`, (N, 28, 28); y: digits.
    """
    if split not in ("train", "test"):
        raise ValueError(f"load_mnist: split must be 'train' or 'test', got {split!r}")
    folder = os.fspath(folder)
    prefix = "train" if split == "train" else "t10k"
    images = read_idx(_find(folder, f"{prefix}-images-idx3-ubyte"))
    labels = read_idx(_find(folder, f"{prefix}-labels-idx1-ubyte"))
    if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels):
        raise DataFormatError(
            f"load_mnist: images of shape {images.shape} and labels of shape {labels.shape} do not "
            "match (expected (N, rows, cols) and (N,))"
        )
    X = images.astype(np.float64) / 255.0
    return TensorDataset(X.reshape(len(X), -1) if flatten else X, labels.astype(np.float64))


__all__ = [
    "DataFormatError",
    "DataLoader",
    "TensorDataset",
    "load_digits",
    "load_mnist",
    "read_idx",
    "toy_dataset",
]
