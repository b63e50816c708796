"""data: TensorDataset, DataLoader batching and shuffling, digits, IDX files and MNIST folders."""

from __future__ import annotations

import gzip
import struct
from pathlib import Path

import numpy as np
import pytest

import minitorch
from minitorch import data
from minitorch.data import DataFormatError, DataLoader, TensorDataset

X10 = np.arange(20.0).reshape(10, 2)
Y10 = np.arange(10.0)


def batches(loader: DataLoader) -> list[tuple[np.ndarray, np.ndarray]]:
    return [(x.numpy(), y.numpy()) for x, y in loader]


def test_tensor_dataset_rows_and_tensor_input() -> None:
    dataset = TensorDataset(minitorch.tensor(X10), Y10)
    assert len(dataset) == 10
    x, y = dataset[3]
    np.testing.assert_array_equal(x, [6.0, 7.0])
    assert y == 3.0
    with pytest.raises(ValueError, match="10 inputs but 9 labels"):
        TensorDataset(X10, Y10[:9])


def test_batches_in_order_with_a_short_last_batch() -> None:
    loader = DataLoader(TensorDataset(X10, Y10), batch_size=4)
    assert len(loader) == 3
    got = batches(loader)
    assert [len(y) for _, y in got] == [4, 4, 2]
    np.testing.assert_array_equal(np.concatenate([x for x, _ in got]), X10)
    np.testing.assert_array_equal(got[2][1], [8.0, 9.0])
    x, y = next(iter(loader))
    assert isinstance(x, minitorch.Tensor) and x.shape == (4, 2) and y.shape == (4,)


def test_drop_last() -> None:
    loader = DataLoader(TensorDataset(X10, Y10), batch_size=4, drop_last=True)
    assert len(loader) == 2 and [len(y) for _, y in batches(loader)] == [4, 4]
    assert len(DataLoader(TensorDataset(X10, Y10), batch_size=5, drop_last=True)) == 2


def test_shuffle_is_a_permutation_reproducible_by_seed_and_new_each_epoch() -> None:
    def epochs(seed: int) -> list[np.ndarray]:
        loader = DataLoader(TensorDataset(X10, Y10), batch_size=3, shuffle=True, seed=seed)
        return [np.concatenate([y for _, y in batches(loader)]) for _ in range(3)]

    first = epochs(0)
    for order in first:
        assert sorted(order) == list(Y10)  # every row exactly once
    assert not np.array_equal(first[0], first[1])  # a new order every epoch
    assert not np.array_equal(first[0], Y10)
    for a, b in zip(first, epochs(0)):
        np.testing.assert_array_equal(a, b)  # same seed, same orders
    assert not np.array_equal(first[0], epochs(1)[0])


def test_rows_stay_paired_with_labels_when_shuffled() -> None:
    for x, y in DataLoader(TensorDataset(X10, Y10), batch_size=4, shuffle=True, seed=3):
        np.testing.assert_array_equal(x.numpy()[:, 0], 2 * y.numpy())


def test_backend_and_dtype() -> None:
    loader = DataLoader(TensorDataset(X10.astype(np.float32), Y10), batch_size=5, dtype="float64")
    x, y = next(iter(loader))
    assert x.dtype == np.float64 and y.dtype == np.float64
    x, _ = next(iter(DataLoader(TensorDataset(X10.astype(np.float32), Y10), batch_size=5)))
    assert x.dtype == np.float32
    x, _ = next(iter(DataLoader(TensorDataset(X10, Y10), batch_size=5, backend="simple")))
    assert x.backend.name == "simple"
    with pytest.raises(ValueError, match="batch_size"):
        DataLoader(TensorDataset(X10, Y10), batch_size=0)


def test_toy_dataset() -> None:
    dataset = data.toy_dataset("xor", 40, seed=2)
    graph = minitorch.DATASETS["xor"](40, seed=2)
    assert dataset.X.shape == (40, 2) and dataset.y.shape == (40,)
    np.testing.assert_array_equal(dataset.X, graph.X)
    np.testing.assert_array_equal(dataset.y, graph.y)
    with pytest.raises(ValueError, match="unknown dataset 'moons'"):
        data.toy_dataset("moons", 10)


def test_load_digits_splits_shapes_and_range() -> None:
    train, test = data.load_digits("train"), data.load_digits("test")
    assert len(train) + len(test) == 1797 and len(test) == 359
    assert train.X.shape == (1438, 64) and test.X.shape == (359, 64)
    assert train.X.min() == 0.0 and train.X.max() == 1.0
    assert set(np.unique(train.y)) == set(range(10))
    rows = {row.tobytes() for row in train.X}
    assert sum(row.tobytes() in rows for row in test.X) < 5  # disjoint splits (a few duplicate images exist)
    again = data.load_digits("train", seed=0)
    np.testing.assert_array_equal(again.X, train.X)
    assert not np.array_equal(data.load_digits("train", seed=1).y, train.y)
    assert len(data.load_digits("test", test_fraction=0.5)) == 898
    with pytest.raises(ValueError, match="split"):
        data.load_digits("validation")


# ## IDX files


def idx_bytes(array: np.ndarray, code: int) -> bytes:
    """The IDX encoding written out by hand: 0, 0, dtype code, ndim, big-endian dims, big-endian data."""
    big_endian = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}[code]
    header = struct.pack(">BBBB", 0, 0, code, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.astype(big_endian).tobytes()


@pytest.mark.parametrize(
    ("code", "dtype"),
    [(0x08, np.uint8), (0x09, np.int8), (0x0B, np.int16), (0x0C, np.int32), (0x0D, np.float32), (0x0E, np.float64)],
)
def test_idx_round_trip_every_dtype(tmp_path: Path, code: int, dtype: type) -> None:
    array = (np.arange(24) * 3 - 10).reshape(2, 3, 4).astype(dtype)
    if dtype == np.uint8:
        array = np.arange(24, dtype=np.uint8).reshape(2, 3, 4) * 10
    path = tmp_path / "values.idx"
    path.write_bytes(idx_bytes(array, code))
    got = data.read_idx(path)
    assert got.dtype == np.dtype(dtype) and got.shape == (2, 3, 4)
    np.testing.assert_array_equal(got, array)


def test_idx_gzipped_and_one_dimensional(tmp_path: Path) -> None:
    labels = np.array([5, 0, 4, 1, 9], dtype=np.uint8)
    path = tmp_path / "labels.idx1"  # gzip is recognised by content, not by name
    path.write_bytes(gzip.compress(idx_bytes(labels, 0x08)))
    np.testing.assert_array_equal(data.read_idx(path), labels)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"\x00\x00\x08", "magic number"),
        (b"PK\x03\x04 not idx", "magic number"),
        (b"\x00\x00\x07\x01\x00\x00\x00\x02ab", "magic number"),  # 0x07 is no IDX dtype
        (b"\x00\x00\x08\x03\x00\x00\x00\x02", "truncated inside its header"),
        (b"\x00\x00\x08\x01\x00\x00\x00\x05abc", r"holds 3 bytes of data but shape \(5,\)"),
        (b"\x00\x00\x08\x01\x00\x00\x00\x01ab", r"holds 2 bytes of data but shape \(1,\)"),
        (b"\x1f\x8b\x08\x00broken gzip", "damaged gzip"),
    ],
    ids=["short", "zip", "dtype", "header", "truncated", "trailing", "gzip"],
)
def test_idx_errors_name_the_file(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "broken-idx1-ubyte"
    path.write_bytes(content)
    with pytest.raises(DataFormatError, match=message) as error:
        data.read_idx(path)
    assert "broken-idx1-ubyte" in str(error.value)


def write_mnist(folder: Path, prefix: str, count: int, gz: bool) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(count)
    images = rng.integers(0, 256, size=(count, 28, 28), dtype=np.uint8)
    labels = rng.integers(0, 10, size=count, dtype=np.uint8)
    for stem, array, code in (
        (f"{prefix}-images-idx3-ubyte", images, 0x08),
        (f"{prefix}-labels-idx1-ubyte", labels, 0x08),
    ):
        content = idx_bytes(array, code)
        (folder / (stem + ".gz" if gz else stem)).write_bytes(gzip.compress(content) if gz else content)
    return images, labels


def test_load_mnist_plain_and_gzipped(tmp_path: Path) -> None:
    train_images, train_labels = write_mnist(tmp_path, "train", 6, gz=True)
    _, test_labels = write_mnist(tmp_path, "t10k", 3, gz=False)
    train = data.load_mnist(tmp_path, "train")
    assert train.X.shape == (6, 784) and train.X.min() >= 0.0 and train.X.max() <= 1.0
    np.testing.assert_allclose(train.X * 255.0, train_images.reshape(6, -1), atol=1e-9)
    np.testing.assert_array_equal(train.y, train_labels)
    test = data.load_mnist(str(tmp_path), "test", flatten=False)
    assert test.X.shape == (3, 28, 28)
    np.testing.assert_array_equal(test.y, test_labels)


def test_load_mnist_errors(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="train-images-idx3-ubyte"):
        data.load_mnist(tmp_path, "train")
    write_mnist(tmp_path, "train", 4, gz=False)
    (tmp_path / "train-labels-idx1-ubyte").write_bytes(idx_bytes(np.zeros(3, dtype=np.uint8), 0x08))
    with pytest.raises(DataFormatError, match=r"\(4, 28, 28\).*\(3,\)"):
        data.load_mnist(tmp_path, "train")
