"""Bad input gets a clear minitorch error naming the argument, at the call, and changes nothing."""

from __future__ import annotations

import io
import json
import struct
import zipfile

import numpy as np
import pytest

import minitorch
from minitorch import nn, optim
from minitorch.data import DataFormatError, DataLoader, TensorDataset, read_idx
from minitorch.serialization import MANIFEST, CheckpointError


def test_creation_and_layers() -> None:
    with pytest.raises(ValueError, match=r"zeros: argument 'size' has a negative dimension -1"):
        minitorch.zeros((-1, 2))
    with pytest.raises(ValueError, match=r"Linear: argument 'in_features' must be a positive integer, got 0"):
        nn.Linear(0, 3)
    x = minitorch.tensor([[1.0, 2.0]])
    with pytest.raises(TypeError, match=r"sum: argument 'dim' must be an integer, got 1.5"):
        x.sum(1.5)
    np.testing.assert_array_equal(x.numpy(), [[1.0, 2.0]])


def test_optimizers_check_at_construction() -> None:
    w = minitorch.tensor([1.0], requires_grad=True)
    with pytest.raises(TypeError, match=r"SGD: argument 'lr' must be a number, got '0.1'"):
        optim.SGD([w], lr="0.1")
    with pytest.raises(ValueError, match=r"Adam: argument 'betas' must be a pair"):
        optim.Adam([w], betas=(0.9,))
    assert w.item() == 1.0 and w.grad is None


def test_dataloader_batch_size() -> None:
    with pytest.raises(ValueError, match=r"DataLoader: argument 'batch_size' must be a positive integer, got 2.5"):
        DataLoader(TensorDataset(np.zeros((4, 2)), np.zeros(4)), batch_size=2.5)


def test_load_of_a_directory(tmp_path) -> None:
    with pytest.raises(CheckpointError, match=r"argument 'path' is a directory"):
        minitorch.load(tmp_path)


def test_deeply_nested_recording(tmp_path) -> None:
    path = tmp_path / "deep.json"
    path.write_text("[" * 5000 + "]" * 5000)
    with pytest.raises(minitorch.RecordingError, match="nested too deeply"):
        minitorch.Recording.load(path)


def write_checkpoint(path, entries: dict[str, bytes], compression: int = zipfile.ZIP_STORED) -> None:
    with zipfile.ZipFile(path, "w", compression=compression) as archive:
        for name, data in entries.items():
            archive.writestr(name, data)


MANIFEST_ONE_ARRAY = json.dumps(
    {"format": "minitorch-checkpoint", "version": 1, "root": {"type": "ndarray", "file": "arrays/0.npy"}}
)


def test_npy_header_claiming_huge_shape(tmp_path) -> None:
    buffer = io.BytesIO()
    header = {"descr": "<f8", "fortran_order": False, "shape": (10**13,)}
    np.lib.format.write_array_header_1_0(buffer, header)
    path = tmp_path / "huge.mt"
    write_checkpoint(path, {MANIFEST: MANIFEST_ONE_ARRAY.encode(), "arrays/0.npy": buffer.getvalue() + b"\0" * 8})
    with pytest.raises(CheckpointError, match=r"claims shape \(10000000000000,\)"):
        minitorch.load(path)


def test_deeply_nested_checkpoint(tmp_path) -> None:
    root = '{"type": "list", "items": [' * 5000 + "]}" * 5000
    manifest = '{"format": "minitorch-checkpoint", "version": 1, "root": ' + root + "}"
    path = tmp_path / "deep.mt"
    write_checkpoint(path, {MANIFEST: manifest.encode()})
    with pytest.raises(CheckpointError, match="nested too deeply"):
        minitorch.load(path)


def test_checkpoint_that_inflates_far_beyond_its_size(tmp_path) -> None:
    path = tmp_path / "bomb.mt"
    # 64 MiB of zeros deflate to ~64 KiB: 1000x its size (a 1 MB file inflating to 1 GiB is the same ratio)
    write_checkpoint(
        path, {MANIFEST: MANIFEST_ONE_ARRAY.encode(), "arrays/0.npy": bytes(64 * 2**20)}, zipfile.ZIP_DEFLATED
    )
    assert path.stat().st_size < 2**20
    with pytest.raises(CheckpointError, match="inflate"):
        minitorch.load(path)


def test_idx_header_whose_size_overflows(tmp_path) -> None:
    path = tmp_path / "overflow-idx3-ubyte"
    # 3 dims of 2^32 - 1 doubles: the product overflows int64; the data holds 8 bytes
    path.write_bytes(bytes([0, 0, 0x0E, 3]) + struct.pack(">3I", *[2**32 - 1] * 3) + b"\0" * 8)
    with pytest.raises(DataFormatError, match="holds 8 bytes of data but shape"):
        read_idx(path)
