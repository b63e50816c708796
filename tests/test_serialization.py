"""Checkpoints: state dicts, exact save/load round trips, atomic writes, clear errors that change nothing."""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

import numpy as np
import pytest

import minitorch
from minitorch import CheckpointError, nn, optim
from minitorch.nn import MLP
from minitorch.serialization import IncompatibleKeys


def make_model(seed: int = 0, dtype: str = "float64") -> MLP:
    return MLP([3, 5, 2], seed=seed, dtype=dtype)


def snapshot(model: minitorch.Module) -> dict[str, np.ndarray]:
    return {name: p.value.numpy().copy() for name, p in model.named_parameters()}


def assert_same(a: dict[str, np.ndarray], b: dict[str, np.ndarray]) -> None:
    assert list(a) == list(b)
    for key, value in a.items():
        assert value.dtype == b[key].dtype, key
        np.testing.assert_array_equal(value, b[key], err_msg=key)


# ## state_dict / load_state_dict


def test_state_dict_names_and_copies() -> None:
    model = make_model()
    state = model.state_dict()
    assert list(state) == ["layers.0.weight", "layers.0.bias", "layers.2.weight", "layers.2.bias"]
    assert state["layers.0.weight"].shape == (5, 3)
    state["layers.0.bias"][:] = 99.0  # a copy: the model is untouched
    assert not np.any(model.layers[0].bias.value.numpy() == 99.0)


def test_load_state_dict_copies_in_place() -> None:
    source, target = make_model(0), make_model(1)
    weight_before = target.layers[0].weight.value
    result = target.load_state_dict(source.state_dict())
    assert result == IncompatibleKeys([], [])
    assert_same(snapshot(target), snapshot(source))
    assert target.layers[0].weight.value is weight_before and weight_before.requires_grad


def test_load_state_dict_non_strict_reports_keys() -> None:
    model = make_model(0)
    state = make_model(1).state_dict()
    del state["layers.2.bias"]
    state["extra"] = np.zeros(1)
    result = model.load_state_dict(state, strict=False)
    assert result.missing_keys == ["layers.2.bias"] and result.unexpected_keys == ["extra"]
    np.testing.assert_array_equal(model.layers[0].weight.value.numpy(), state["layers.0.weight"])


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda s: s.pop("layers.2.bias"), r"missing keys: layers\.2\.bias"),
        (lambda s: s.update(bogus=np.zeros(2)), r"unexpected keys: bogus"),
        (
            lambda s: s.update({"layers.2.weight": np.zeros((5, 2))}),
            r"layers\.2\.weight: the checkpoint has shape \(5, 2\), the model's parameter has shape \(2, 5\)",
        ),
        (lambda s: s.update({"layers.0.bias": np.arange(5)}), r"layers\.0\.bias: expected floating-point.*int64"),
        (lambda s: s.update({"layers.0.bias": "zeros"}), r"layers\.0\.bias: expected an array, got str"),
    ],
    ids=["missing", "unexpected", "shape", "dtype", "type"],
)
def test_bad_state_dict_raises_and_changes_nothing(change, message) -> None:
    model = make_model(0)
    before = snapshot(model)
    state = make_model(1).state_dict()  # every other entry is valid and would change the model
    change(state)
    with pytest.raises(CheckpointError, match=message):
        model.load_state_dict(state)
    assert_same(snapshot(model), before)


def test_every_problem_is_listed() -> None:
    state = make_model(1).state_dict()
    state.pop("layers.0.weight")
    state["layers.2.bias"] = np.zeros(7)
    with pytest.raises(CheckpointError, match=r"(?s)missing keys: layers\.0\.weight.*layers\.2\.bias.*\(7,\)"):
        make_model(0).load_state_dict(state)


def test_scalar_modules_have_state_dicts_too() -> None:
    from minitorch.scalar_nn import ScalarNetwork

    a, b = ScalarNetwork(3, seed=0), ScalarNetwork(3, seed=1)
    b.load_state_dict(a.state_dict())
    assert [p.value.data for p in b.parameters()] == [p.value.data for p in a.parameters()]


# ## save / load


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_model_round_trip_is_exact(tmp_path: Path, dtype: str) -> None:
    model = make_model(0, dtype)
    path = tmp_path / "model.mt"
    minitorch.save(model.state_dict(), path)
    loaded = minitorch.load(path)
    assert_same(loaded, model.state_dict())
    fresh = make_model(1, dtype)
    fresh.load_state_dict(loaded)
    assert_same(snapshot(fresh), snapshot(model))


def test_nested_values_round_trip(tmp_path: Path) -> None:
    special = np.array([np.nan, np.inf, -np.inf, -0.0, 5e-324, 1 / 3], dtype=np.float64)
    obj = {
        "arrays": [
            np.arange(6, dtype=np.int32).reshape(2, 3),
            special,
            np.float32([1.5, 2.25]),
            np.zeros((0, 4)),
            np.array(True),
            np.array(["a", "bc"]),
        ],
        "numbers": {"int": 7, "big": 2**62, "float": 0.1, "nan": float("nan"), "inf": float("-inf"), "bool": False},
        "text": "héllo",
        "none": None,
        "tuple": (1, (2.5, "x")),
        "empty": {},
        "list": [],
        3: "int key",
        (1, 2): "tuple key",
        "np_scalar": np.float32(2.5),
        "tensor": minitorch.tensor([[1.0, 2.0]], dtype="float32"),
    }
    path = tmp_path / "nested.mt"
    minitorch.save(obj, str(path))
    back = minitorch.load(str(path))
    assert set(back) == set(obj)
    for got, want in zip(back["arrays"], obj["arrays"]):
        assert got.dtype == want.dtype and got.shape == want.shape
        assert got.tobytes() == want.tobytes()  # bit for bit, NaN payloads and -0.0 included
    numbers = back["numbers"]
    assert numbers["int"] == 7 and type(numbers["int"]) is int and numbers["big"] == 2**62
    assert numbers["float"] == 0.1 and np.isnan(numbers["nan"]) and numbers["inf"] == float("-inf")
    assert numbers["bool"] is False
    assert back["text"] == "héllo" and back["none"] is None and back["tuple"] == (1, (2.5, "x"))
    assert back["empty"] == {} and back["list"] == [] and back[3] == "int key" and back[(1, 2)] == "tuple key"
    assert type(back["np_scalar"]) is np.float32 and back["np_scalar"] == 2.5
    assert isinstance(back["tensor"], minitorch.Tensor) and back["tensor"].dtype == np.float32
    np.testing.assert_array_equal(back["tensor"].numpy(), [[1.0, 2.0]])


def test_save_rejects_unsupported_values_and_writes_nothing(tmp_path: Path) -> None:
    path = tmp_path / "bad.mt"
    with pytest.raises(TypeError, match=r"obj\['model'\] has type MLP.*state_dict\(\)"):
        minitorch.save({"model": make_model()}, path)
    with pytest.raises(TypeError, match=r"obj\['x'\]\[1\] is an array of Python objects"):
        minitorch.save({"x": [1, np.array([object()])]}, path)
    assert list(tmp_path.iterdir()) == []  # no checkpoint and no stray temporary file


def test_file_is_a_zip_without_pickle(tmp_path: Path) -> None:
    path = tmp_path / "m.mt"
    minitorch.save({"w": np.ones(3)}, path)
    with zipfile.ZipFile(path) as archive:
        assert sorted(archive.namelist()) == ["arrays/0.npy", "manifest.json"]
        assert b"pickle" not in archive.read("manifest.json")


def train_steps(model: MLP, optimizer: optim.Optimizer, steps: int, seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    for _ in range(steps):
        x = minitorch.tensor(rng.normal(size=(4, 3)))
        y = rng.integers(0, 2, size=4)
        optimizer.zero_grad()
        nn.cross_entropy(model(x), y).backward()
        optimizer.step()


@pytest.mark.parametrize(
    "make_optimizer",
    [lambda ps: optim.Adam(ps, lr=0.01, weight_decay=0.01), lambda ps: optim.SGD(ps, lr=0.1, momentum=0.9)],
    ids=["adam", "sgd_momentum"],
)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_training_resumes_bit_identically(tmp_path: Path, make_optimizer, dtype: str) -> None:
    model = make_model(0, dtype)
    optimizer = make_optimizer(model.parameters())
    train_steps(model, optimizer, 3, seed=1)
    path = tmp_path / "checkpoint.mt"
    minitorch.save({"model": model.state_dict(), "optimizer": optimizer.state_dict(), "epoch": 3}, path)

    resumed_model = make_model(5, dtype)
    resumed_optimizer = make_optimizer(resumed_model.parameters())
    checkpoint = minitorch.load(path)
    resumed_model.load_state_dict(checkpoint["model"])
    resumed_optimizer.load_state_dict(checkpoint["optimizer"])
    assert checkpoint["epoch"] == 3

    train_steps(model, optimizer, 4, seed=2)
    train_steps(resumed_model, resumed_optimizer, 4, seed=2)
    assert_same(snapshot(resumed_model), snapshot(model))


def test_save_is_atomic(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "checkpoint.mt"
    minitorch.save({"version": 1, "w": np.ones(3)}, path)
    good_bytes = path.read_bytes()

    def crash(src: str, dst: str) -> None:
        raise OSError("disk vanished mid-save")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError, match="disk vanished"):
        minitorch.save({"version": 2, "w": np.zeros(3)}, path)
    monkeypatch.undo()
    assert path.read_bytes() == good_bytes
    assert minitorch.load(path)["version"] == 1
    assert [p.name for p in tmp_path.iterdir()] == ["checkpoint.mt"]  # the temporary file is gone


def test_save_failure_while_writing_keeps_old_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "checkpoint.mt"
    minitorch.save({"w": np.ones(3)}, path)
    good_bytes = path.read_bytes()
    from minitorch import serialization

    def broken(array: np.ndarray) -> bytes:
        raise RuntimeError("crash while writing arrays")

    monkeypatch.setattr(serialization, "_npy_bytes", broken)
    with pytest.raises(RuntimeError, match="crash while writing"):
        minitorch.save({"w": np.zeros(3)}, path)
    assert path.read_bytes() == good_bytes and len(list(tmp_path.iterdir())) == 1


@pytest.mark.parametrize(
    ("content", "why"),
    [
        (lambda good: good[: len(good) // 2], "truncated"),
        (lambda good: good[:-30], "truncated tail"),
        (lambda good: b"", "empty"),
        (lambda good: b"\x89PNG\r\n\x1a\n not a checkpoint", "foreign"),
        (lambda good: good.replace(b"\x93NUMPY", b"\x93NUMPX"), "corrupt array"),
    ],
    ids=["half", "tail", "empty", "png", "corrupt"],
)
def test_unreadable_files_raise_checkpoint_error_naming_path(tmp_path: Path, content, why: str) -> None:
    good = tmp_path / "good.mt"
    minitorch.save({"w": np.arange(100.0)}, good)
    bad = tmp_path / "bad.mt"
    bad.write_bytes(content(good.read_bytes()))
    with pytest.raises(CheckpointError, match="bad.mt"):
        minitorch.load(bad)


def test_foreign_zip_and_missing_file(tmp_path: Path) -> None:
    other = tmp_path / "other.zip"
    with zipfile.ZipFile(other, "w") as archive:
        archive.writestr("hello.txt", "hi")
    with pytest.raises(CheckpointError, match="other.zip"):
        minitorch.load(other)
    npz = tmp_path / "arrays.npz"
    np.savez(npz, a=np.ones(2))
    with pytest.raises(CheckpointError, match="arrays.npz"):
        minitorch.load(npz)
    with pytest.raises(FileNotFoundError, match="nothing.mt"):
        minitorch.load(tmp_path / "nothing.mt")
    assert issubclass(CheckpointError, ValueError)
