"""Programs written for PyTorch run unchanged on minitorch: each file in examples/pytorch_ports/
starts with `import torch`; its minitorch twin is the same source with only that line changed to
`import minitorch as torch`. Both run from the same numpy-seeded weights in float64, so their loss
curves agree to rounding. The programs use the default backend, `fast` (as a user's would)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

import minitorch
from minitorch import backends

PORTS = Path(__file__).resolve().parent.parent / "examples" / "pytorch_ports"
# Short runs: each program's curve over a few steps (the suite stays fast).
STEPS = {"polynomial_fit": 30, "digits_mlp": 6, "digits_cnn": 4}


def twin_source(source: str) -> str:
    """The minitorch twin: exactly the line `import torch` replaced, nothing else."""
    lines = source.splitlines(keepends=True)
    assert [line for line in lines if line.strip() == "import torch"] == ["import torch\n"]
    twin = "".join("import minitorch as torch\n" if line == "import torch\n" else line for line in lines)
    changed = [(a, b) for a, b in zip(lines, twin.splitlines(keepends=True), strict=True) if a != b]
    assert changed == [("import torch\n", "import minitorch as torch\n")]
    return twin


def run(source: str, name: str, steps: int) -> list[float]:
    namespace: dict = {"__name__": f"port_{name}"}
    exec(compile(source, str(PORTS / f"{name}.py"), "exec"), namespace)
    return namespace["main"](steps=steps, seed=0)


@pytest.fixture
def fresh_defaults():
    """Each program sets float64 as the default dtype: put both libraries back afterwards."""
    torch_dtype = torch.get_default_dtype()
    yield
    torch.set_default_dtype(torch_dtype)
    minitorch.set_default_dtype("float64")


@pytest.mark.parametrize("name", sorted(STEPS))
def test_port_matches_pytorch(name: str, fresh_defaults: None) -> None:
    backends.set_default_backend("fast")  # the library's own default (conftest pins `simple`)
    source = (PORTS / f"{name}.py").read_text()
    expected = run(source, name, STEPS[name])
    got = run(twin_source(source), name, STEPS[name])
    assert len(got) == len(expected) > 0
    np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-9)
    assert expected[-1] < expected[0]  # and the programs do learn


def test_set_default_dtype_shapes_new_tensors_and_layers(fresh_defaults: None) -> None:
    minitorch.set_default_dtype(minitorch.float32)
    assert minitorch.get_default_dtype() == np.float32
    assert minitorch.tensor([1.0, 2.0]).dtype == np.float32  # Python numbers: the default
    assert minitorch.tensor(np.array([1.0])).dtype == np.float64  # a numpy float array keeps its own
    assert minitorch.zeros(2).dtype == minitorch.arange(3).dtype == np.float32
    assert minitorch.nn.Linear(2, 2).weight.dtype == np.float32
    assert minitorch.nn.Conv2d(1, 1, 2).weight.dtype == np.float32
    minitorch.set_default_dtype("float64")
    assert minitorch.tensor([1.0]).dtype == np.float64
    with pytest.raises(TypeError, match="not supported"):
        minitorch.set_default_dtype("int64")


def test_torch_utils_data_names() -> None:
    data = minitorch.utils.data
    loader = data.DataLoader(data.TensorDataset(minitorch.arange(4.0), minitorch.arange(4.0)), batch_size=2)
    assert [x.tolist() for x, _ in loader] == [[0.0, 1.0], [2.0, 3.0]]
