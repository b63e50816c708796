"""Module 4 — checkpoints: a model's `state_dict`, and `save` / `load` of nested state to a file.

    minitorch.save({"model": model.state_dict(), "optimizer": optimizer.state_dict(),
                    "epoch": 7}, "checkpoint.mt")
    checkpoint = minitorch.load("checkpoint.mt")
    model.load_state_dict(checkpoint["model"])

The file is a zip archive: `manifest.json` describes the nested structure (dicts, lists,
numbers, strings) and each array is an `.npy` entry beside it. There is no pickle anywhere,
so loading a file can never run code from it, and every array comes back with its exact
dtype and bits. Saving writes a temporary file next to the target and then renames it over
the target in one step (`os.replace`), so a crash mid-save leaves the old checkpoint intact.
"""

from __future__ import annotations

import contextlib
import io
import json
import math
import os
import tempfile
import zipfile
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from .tensor import Tensor, tensor

if TYPE_CHECKING:
    from .module import Module

FORMAT = "minitorch-checkpoint"
VERSION = 1
MANIFEST = "manifest.json"
PathLike = str | os.PathLike[str]


class CheckpointError(ValueError):
    """A checkpoint file that cannot be read, or a state dict that does not fit the model."""


# ## Module state dicts


def _value_array(value: Any) -> np.ndarray:
    """The values a parameter holds, as a fresh numpy array (a Scalar becomes a 0-d array)."""
    if isinstance(value, Tensor):
        return value.numpy().copy()
    return np.array(value.data, dtype=np.float64)  # a Scalar


def state_dict(module: Module) -> dict[str, np.ndarray]:
    """Every parameter's values by dotted name, as copies: `{"layer1.weight": array, ...}`."""
    return {name: _value_array(p.value) for name, p in module.named_parameters()}


@dataclass
class IncompatibleKeys:
    """What `load_state_dict(strict=False)` left out (PyTorch returns the same two lists)."""

    missing_keys: list[str] = field(default_factory=list)
    unexpected_keys: list[str] = field(default_factory=list)


def _problem(name: str, target: Any, value: Any) -> str | None:
    """Why `value` cannot be loaded into parameter `name` holding `target` (None if it can)."""
    if not isinstance(value, (np.ndarray, np.generic, Tensor, float, int)) or isinstance(value, bool):
        return f"{name}: expected an array, got {type(value).__name__}"
    array = value.numpy() if isinstance(value, Tensor) else np.asarray(value)
    expected = _value_array(target)
    if array.dtype.kind != "f":
        return f"{name}: expected floating-point values, got dtype {array.dtype}"
    if array.shape != expected.shape:
        return f"{name}: the checkpoint has shape {array.shape}, the model's parameter has shape {expected.shape}"
    return None


def _assign(parameter: Any, value: Any) -> None:
    """Copy values into a parameter in place (a Scalar parameter gets a new Scalar)."""
    array = value.numpy() if isinstance(value, Tensor) else np.asarray(value)
    if isinstance(parameter.value, Tensor):
        parameter.value.copy_(array)
    else:
        parameter.update(type(parameter.value)(float(array)))


def load_state_dict(module: Module, state: dict[str, Any], strict: bool = True) -> IncompatibleKeys:
    """Copy the arrays of `state` into the module's parameters (in place), by dotted name.

    Everything is checked first (missing keys, and unexpected ones when `strict`; shapes;
    floating-point dtype), and one `CheckpointError` lists every problem. Only when all is
    well is any parameter changed, so a failed load leaves the model as it was. Values are
    cast to each parameter's dtype (float64 into a float32 model rounds).
    """
    if not isinstance(state, dict):
        raise CheckpointError(f"load_state_dict: expected a dict of arrays, got {type(state).__name__}")
    parameters = dict(module.named_parameters())
    keys = IncompatibleKeys(
        missing_keys=[name for name in parameters if name not in state],
        unexpected_keys=[str(key) for key in state if key not in parameters],
    )
    problems = [
        problem
        for name, parameter in parameters.items()
        if name in state and (problem := _problem(name, parameter.value, state[name])) is not None
    ]
    if strict and keys.missing_keys:
        problems.insert(0, f"missing keys: {', '.join(keys.missing_keys)}")
    if strict and keys.unexpected_keys:
        problems.insert(0, f"unexpected keys: {', '.join(keys.unexpected_keys)}")
    if problems:
        raise CheckpointError(
            f"load_state_dict into {type(module).__name__} failed; nothing was changed:\n  " + "\n  ".join(problems)
        )
    for name, parameter in parameters.items():
        if name in state:
            _assign(parameter, state[name])
    return keys


# ## Nested values <-> a JSON manifest plus arrays


def _encode(value: Any, arrays: list[np.ndarray], where: str) -> dict[str, Any]:
    """A JSON-able description of `value`; arrays are appended to `arrays` and named by number."""
    if value is None:
        return {"type": "none"}
    if type(value) in (bool, int, str):
        return {"type": type(value).__name__, "value": value}
    if type(value) is float:  # exactly float: np.float64 is a subclass and is kept as a numpy scalar
        return {"type": "float", "value": value.hex()}  # hex is exact, and covers inf and nan
    if isinstance(value, (np.ndarray, np.generic, Tensor)):
        array = value.numpy() if isinstance(value, Tensor) else np.asarray(value)
        if array.dtype.hasobject:
            raise TypeError(f"save: {where} is an array of Python objects, which cannot be saved without pickle")
        arrays.append(array)
        kind = "npscalar" if isinstance(value, np.generic) else "ndarray"
        kind = "tensor" if isinstance(value, Tensor) else kind
        return {"type": kind, "file": f"arrays/{len(arrays) - 1}.npy"}
    if isinstance(value, dict):
        items = [
            [_encode(k, arrays, f"{where} key {k!r}"), _encode(v, arrays, f"{where}[{k!r}]")] for k, v in value.items()
        ]
        return {"type": "dict", "items": items}
    if isinstance(value, (list, tuple)):
        return {
            "type": type(value).__name__,
            "items": [_encode(v, arrays, f"{where}[{i}]") for i, v in enumerate(value)],
        }
    hint = "; save its .state_dict() instead" if hasattr(value, "state_dict") else ""
    raise TypeError(f"save: {where} has type {type(value).__name__}, which cannot be saved{hint}")


def _read_npy(data: bytes, where: str) -> np.ndarray:
    """The array in `.npy` bytes, after checking that the header's shape matches the bytes present.

    (numpy's own reader allocates what the header claims first: a forged header of
    $10^{13}$ elements would ask for terabytes before finding the data missing.)
    """
    stream = io.BytesIO(data)
    version = np.lib.format.read_magic(stream)
    read_header = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
    shape, fortran_order, dtype = read_header(stream)
    if dtype.hasobject:
        raise ValueError(f"{where}: an array of Python objects (needs pickle)")
    size = math.prod(shape) * dtype.itemsize  # Python ints: no overflow
    if size != len(data) - stream.tell():
        raise ValueError(
            f"{where}: its header claims shape {shape} ({size} bytes), it holds {len(data) - stream.tell()}"
        )
    array = np.frombuffer(data, dtype=dtype, offset=stream.tell(), count=math.prod(shape))
    return array.reshape(shape, order="F" if fortran_order else "C").copy()


def _decode(node: Any, archive: zipfile.ZipFile, backend: Any = None) -> Any:
    """Rebuild the value a manifest node describes, reading arrays from `archive`."""
    kind = node["type"]
    if kind == "none":
        return None
    if kind in ("bool", "int", "str"):
        value = node["value"]
        if type(value).__name__ != kind:
            raise ValueError(f"a {kind} entry holds {value!r}")
        return value
    if kind == "float":
        return float.fromhex(node["value"])
    if kind in ("ndarray", "npscalar", "tensor"):
        array = _read_npy(archive.read(node["file"]), node["file"])
        if kind == "tensor":
            return tensor(array, dtype=array.dtype, backend=backend)
        return array[()] if kind == "npscalar" else array
    if kind == "dict":
        return {_decode(k, archive, backend): _decode(v, archive, backend) for k, v in node["items"]}
    if kind in ("list", "tuple"):
        items = [_decode(v, archive, backend) for v in node["items"]]
        return items if kind == "list" else tuple(items)
    raise ValueError(f"unknown entry type {kind!r}")


def _npy_bytes(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.lib.format.write_array(buffer, np.asarray(array), allow_pickle=False)
    return buffer.getvalue()


# ## save and load


def save(obj: Any, path: PathLike) -> None:
    """Write `obj` (nested dicts, lists and tuples of arrays, tensors, numbers, strings) to `path`.

    Atomic: the archive goes to a temporary file in the same folder, which then replaces
    `path` in one rename. Unsupported values raise TypeError before anything is written.
    """
    arrays: list[np.ndarray] = []
    manifest = {"format": FORMAT, "version": VERSION, "root": _encode(obj, arrays, "obj")}
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    handle, temporary = tempfile.mkstemp(prefix=f".{os.path.basename(path)}.", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(handle, "wb") as file:
            with zipfile.ZipFile(file, "w", compression=zipfile.ZIP_STORED) as archive:
                archive.writestr(MANIFEST, json.dumps(manifest))
                for i, array in enumerate(arrays):
                    archive.writestr(f"arrays/{i}.npy", _npy_bytes(array))
            file.flush()
            os.fsync(file.fileno())  # the bytes are on disk before the rename makes them the checkpoint
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.remove(temporary)
        raise


# A checkpoint is written uncompressed; a compressed one may inflate to at most this many
# times its size on disk (plus 1 MiB), so a small forged file cannot fill memory.
MAX_INFLATION = 10


def _check_inflation(archive: zipfile.ZipFile, path: str) -> None:
    """Refuse an archive whose entries claim far more bytes than the file holds (a zip bomb).

    The declared sizes bound what reading can return: zipfile stops at them and checks the CRC.
    """
    total = sum(info.file_size for info in archive.infolist())
    limit = MAX_INFLATION * os.path.getsize(path) + 2**20
    if total > limit:
        raise ValueError(f"its entries inflate to {total} bytes, more than the {limit} allowed for its size")


def _backend_of(map_location: Any) -> Any:
    """`map_location` as a backend: devices are backends ("cpu" is `fast`); None keeps the default."""
    if map_location is None or callable(map_location) and not isinstance(map_location, str):
        return None
    return "fast" if map_location == "cpu" else map_location


def load(path: PathLike, map_location: Any = None, weights_only: bool = True) -> Any:
    """Read what `save` wrote. A truncated, corrupt or foreign file raises `CheckpointError`.

    `map_location` names the backend tensors come back on ("cpu" is `fast`, "cuda", "simple").
    `weights_only` is accepted for PyTorch's sake: loading never runs code from the file anyway.
    """
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"load: no checkpoint at {path!r}")
    if os.path.isdir(path):
        raise CheckpointError(f"load: argument 'path' is a directory ({path!r}), not a checkpoint file")
    backend = _backend_of(map_location)
    try:
        with zipfile.ZipFile(path) as archive:
            _check_inflation(archive, path)
            manifest = json.loads(archive.read(MANIFEST))
            if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
                raise ValueError("it has no minitorch manifest")
            if manifest.get("version") != VERSION:
                version = manifest.get("version")
                raise ValueError(f"format version {version!r}, this minitorch reads {VERSION}")
            return _decode(manifest["root"], archive, backend)
    except RecursionError:
        raise CheckpointError(f"load: {path!r} is not a readable minitorch checkpoint (nested too deeply)") from None
    except (zipfile.BadZipFile, KeyError, ValueError, TypeError, EOFError, NotImplementedError) as error:
        raise CheckpointError(
            f"load: {path!r} is not a readable minitorch checkpoint (truncated, corrupt or another format): {error}"
        ) from error


__all__ = ["CheckpointError", "IncompatibleKeys", "load", "load_state_dict", "save", "state_dict"]
