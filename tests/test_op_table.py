"""The op table (minitorch/ops.py): every primitive runs on every backend, compiled and in
ONNX, against an independent numpy oracle; a new primitive needs one entry; edge values are
PyTorch's."""

from __future__ import annotations

import math
import os
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

import minitorch
from minitorch import ops
from minitorch.graph.onnx import export, run_onnxruntime
from minitorch.tensor_functions import primitive_function, run_map, run_zip

ROOT = Path(__file__).resolve().parent.parent
Array = np.ndarray


def _where(cond: Array, a: Array | float, b: Array) -> Array:
    with np.errstate(all="ignore"):
        return np.where(cond, a, b)


# name -> (numpy oracle, domain of the first input, domain of the second). Every entry of the
# table must be here: a primitive added without an oracle fails `test_every_primitive_has_an_oracle`.
ORACLES: dict[str, tuple[Callable[..., Array], str, str]] = {
    "add": (np.add, "any", "any"),
    "mul": (np.multiply, "any", "any"),
    "lt": (lambda a, b: (a < b).astype(float), "grid", "grid"),
    "eq": (lambda a, b: (a == b).astype(float), "grid", "grid"),
    "maximum": (np.maximum, "any", "any"),
    "is_close": (lambda a, b: (np.abs(a - b) < 1e-2).astype(float), "grid", "grid"),
    "neg": (np.negative, "any", ""),
    "id": (lambda a: a, "any", ""),
    "sigmoid": (lambda a: 1 / (1 + np.exp(-a)), "any", ""),
    "relu": (lambda a: np.maximum(a, 0.0), "any", ""),
    "relu_back": (lambda x, d: _where(x > 0, d, 0.0), "any", "any"),
    "log": (np.log, "positive", ""),
    "log_back": (lambda x, d: d / x, "positive", "any"),
    "exp": (np.exp, "any", ""),
    "inv": (lambda a: 1 / a, "positive", ""),
    "inv_back": (lambda x, d: -d / (x * x), "positive", "any"),
    "tanh": (np.tanh, "any", ""),
    "tanh_back": (lambda x, d: d * (1 - np.tanh(x) ** 2), "any", "any"),
    "sqrt": (np.sqrt, "positive", ""),
    "sqrt_back": (lambda x, d: d / (2 * np.sqrt(x)), "positive", "any"),
    "abs": (np.abs, "any", ""),
    "abs_back": (lambda x, d: d * np.sign(x), "any", "any"),
    "sin": (np.sin, "any", ""),
    "sin_back": (lambda x, d: d * np.cos(x), "any", "any"),
    "cos": (np.cos, "any", ""),
    "cos_back": (lambda x, d: -d * np.sin(x), "any", "any"),
    "pow": (np.power, "positive", "any"),
    "pow_base_grad": (lambda x, y: _where(y == 0, 0.0, y * np.power(x, y - 1)), "positive", "any"),
    "pow_exponent_grad": (lambda x, y: np.power(x, y) * np.log(x), "positive", "any"),
}


def values(domain: str, shape: tuple[int, ...], seed: int) -> Array:
    rng = np.random.default_rng(seed)
    if domain == "positive":
        return rng.uniform(0.2, 3.0, shape)
    if domain == "grid":
        return rng.integers(-2, 3, shape).astype(float)
    return rng.uniform(-2.0, 2.0, shape)


def operands(name: str, shape: tuple[int, ...] = (3, 4)) -> list[Array]:
    _, first, second = ORACLES[name]
    domains = [first] + ([second] if ops.primitive(name).arity == 2 else [])
    return [values(domain, shape, seed) for seed, domain in enumerate(domains)]


def run(name: str, tensors: list[minitorch.Tensor]) -> minitorch.Tensor:
    return run_map(name, tensors[0]) if len(tensors) == 1 else run_zip(name, tensors[0], tensors[1])


def test_every_primitive_has_an_oracle() -> None:
    assert set(ops.PRIMITIVES) == set(ORACLES)


@pytest.mark.parametrize("backend", ["simple", "fast", "cuda"])
@pytest.mark.parametrize("name", sorted(ORACLES))
def test_primitive_matches_numpy_on_every_backend(name: str, backend: str) -> None:
    arrays = operands(name)
    tensors = [minitorch.tensor(a, backend=backend) for a in arrays]
    expected = ORACLES[name][0](*arrays)
    np.testing.assert_allclose(run(name, tensors).numpy(), expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name", sorted(ORACLES))
def test_primitive_broadcasts_and_keeps_float32_on_fast(name: str, dtype: str) -> None:
    arrays = [a.astype(dtype) for a in operands(name, (2, 3))]
    if len(arrays) == 2:
        arrays[1] = arrays[1][:1]  # (1, 3): broadcast along the first dim
    tensors = [minitorch.tensor(a, backend="fast", dtype=dtype) for a in arrays]
    out = run(name, tensors)
    assert out.dtype == np.dtype(dtype) and out.shape == (2, 3)
    tol = 1e-5 if dtype == "float32" else 1e-12
    np.testing.assert_allclose(out.numpy(), ORACLES[name][0](*arrays), rtol=tol, atol=tol)


# The primitives with a derivative rule in the table (run through `primitive_function`).
DIFFERENTIABLE = ["tanh", "sqrt", "abs", "sin", "cos", "pow"]


def central_difference_grads(name: str, arrays: list[Array], eps: float = 1e-6) -> list[Array]:
    """d sum(f(inputs)) / d input, by central differences on the numpy oracle."""
    oracle = ORACLES[name][0]
    grads = []
    for k, array in enumerate(arrays):
        grad = np.zeros_like(array)
        for index in np.ndindex(array.shape):
            up, down = [a.copy() for a in arrays], [a.copy() for a in arrays]
            up[k][index] += eps
            down[k][index] -= eps
            grad[index] = (oracle(*up).sum() - oracle(*down).sum()) / (2 * eps)
        grads.append(grad)
    return grads


@pytest.mark.parametrize("backend", ["simple", "fast"])
@pytest.mark.parametrize("name", DIFFERENTIABLE)
def test_primitive_gradient_matches_central_differences(name: str, backend: str) -> None:
    arrays = operands(name)
    if name == "abs":  # keep away from the kink at 0
        arrays[0] = np.where(np.abs(arrays[0]) < 0.1, 0.5, arrays[0])
    tensors = [minitorch.tensor(a, backend=backend, requires_grad=True) for a in arrays]
    primitive_function(name).apply(*tensors).sum().backward()
    for tensor, expected in zip(tensors, central_difference_grads(name, arrays)):
        np.testing.assert_allclose(tensor.grad.numpy(), expected, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("name", DIFFERENTIABLE)
def test_primitive_compiles_fused_and_matches_eager(name: str) -> None:
    arrays = operands(name)

    def f(*xs: minitorch.Tensor) -> minitorch.Tensor:
        return (primitive_function(name).apply(*[x * 1.0 for x in xs]) + 1.0).sigmoid()

    eager_inputs = [minitorch.tensor(a, backend="fast", requires_grad=True) for a in arrays]
    graph_inputs = [minitorch.tensor(a, backend="fast", requires_grad=True) for a in arrays]
    compiled = minitorch.compile(f)
    eager, graph = f(*eager_inputs), compiled(*graph_inputs)
    np.testing.assert_allclose(graph.numpy(), eager.numpy(), rtol=1e-12)
    eager.sum().backward()
    graph.sum().backward()
    for e, g in zip(eager_inputs, graph_inputs):
        np.testing.assert_allclose(g.grad.numpy(), e.grad.numpy(), rtol=1e-10, atol=1e-12)
    fused = [n for n in compiled.graph(*graph_inputs).nodes if n.op == "fused"]
    assert any(name in [op for op, _ in n.attrs["program"]] for n in fused)


@pytest.mark.parametrize("name", sorted(ORACLES))
def test_primitive_exports_to_onnx(name: str) -> None:
    arrays = operands(name)

    def f(*xs: minitorch.Tensor) -> minitorch.Tensor:
        return run(name, list(xs))

    tensors = [minitorch.tensor(a) for a in arrays]
    model = export(minitorch.compile(f), *tensors)
    assert any(node.op_type != "Identity" or name == "id" for node in model.graph.node)
    (result,) = run_onnxruntime(model, *arrays)
    np.testing.assert_allclose(result, ORACLES[name][0](*arrays), rtol=1e-12, atol=1e-12)


# ## PyTorch's answers at the edges (values as torch 2.x gives them)


def test_tanh_is_exact_for_tiny_float32() -> None:
    x = minitorch.tensor([1e-8, -3e-9], dtype="float32", backend="fast")
    np.testing.assert_array_equal(x.tanh().numpy(), np.array([1e-8, -3e-9], dtype=np.float32))


def test_sqrt_abs_pow_edges_match_pytorch() -> None:
    x = minitorch.tensor([0.0, 4.0, -1.0], requires_grad=True)
    y = x.sqrt()
    assert y.numpy()[1] == 2.0 and math.isnan(y.numpy()[2])
    y.sum().backward()
    assert x.grad.numpy()[0] == math.inf and x.grad.numpy()[1] == 0.25  # torch: inf at 0
    a = minitorch.tensor([0.0, -2.0, 3.0], requires_grad=True)
    a.abs().sum().backward()
    assert a.grad.tolist() == [0.0, -1.0, 1.0]  # torch: sign(0) = 0
    base = minitorch.tensor([0.0, -2.0, -8.0, 0.0], requires_grad=True)
    exponent = minitorch.tensor([0.0, 2.0, 1.0 / 3.0, 2.0], requires_grad=True)
    out = base**exponent
    assert out.numpy()[:2].tolist() == [1.0, 4.0] and math.isnan(out.numpy()[2])
    out.sum().backward()
    assert base.grad.numpy()[0] == 0.0 and base.grad.numpy()[1] == -4.0  # torch masks y == 0
    assert exponent.grad.numpy()[3] == 0.0  # torch: 0 where x == 0 and y >= 0
    assert (minitorch.tensor([0.0]) ** -1.0).tolist() == [math.inf]


def test_scalar_exponents_and_rpow() -> None:
    x = minitorch.tensor([1.0, 2.0, 3.0], requires_grad=True)
    (x**2 + 2.0**x).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 2 * x.numpy() + np.log(2) * 2.0 ** x.numpy())


# ## One entry adds a primitive everywhere

ADD_A_PRIMITIVE = textwrap.dedent(
    """
    import numpy as np
    import minitorch
    from minitorch import ops


    def cube(x: float) -> float:
        return x * x * x


    def cube_back(x: float, d: float) -> float:
        return 3.0 * x * x * d


    def onnx_cube_back(b, inputs, output, dtype):
        x, d = inputs
        three = b.constant(np.array(3.0, dtype=dtype), output + "_three")
        b.node("Mul", [b.node("Mul", [three, b.node("Mul", [x, x])]), d], output)


    def onnx_cube(b, inputs, output, dtype):
        (x,) = inputs
        b.node("Mul", [b.node("Mul", [x, x]), x], output)


    # The one entry:
    ops.register("cube", cube, onnx_cube, back=cube_back, onnx_back=onnx_cube_back)

    from minitorch.graph.onnx import export, run_onnxruntime
    from minitorch.tensor_functions import primitive_function

    Cube = primitive_function("cube")
    data = np.array([[-1.5, 0.5, 2.0], [1.0, -0.25, 3.0]])
    for backend in ["simple", "fast", "cuda"]:
        x = minitorch.tensor(data, backend=backend, requires_grad=True)
        y = Cube.apply(x)
        np.testing.assert_allclose(y.numpy(), data**3)
        y.sum().backward()
        np.testing.assert_allclose(x.grad.numpy(), 3 * data**2)
        print("ok", backend)

    f = minitorch.compile(lambda x: Cube.apply(x * 2.0).sigmoid())
    x = minitorch.tensor(data, backend="fast", requires_grad=True)
    y = f(x)
    np.testing.assert_allclose(y.numpy(), 1 / (1 + np.exp(-((2 * data) ** 3))))
    y.sum().backward()
    s = 1 / (1 + np.exp(-((2 * data) ** 3)))
    np.testing.assert_allclose(x.grad.numpy(), s * (1 - s) * 3 * (2 * data) ** 2 * 2, rtol=1e-10)
    programs = [n.attrs["program"] for n in f.graph(x).nodes if n.op == "fused"]
    assert any("cube" in [op for op, _ in program] for program in programs), programs
    print("ok compiled")

    (result,) = run_onnxruntime(export(minitorch.compile(lambda x: Cube.apply(x)), minitorch.tensor(data)), data)
    np.testing.assert_allclose(result, data**3)
    print("ok onnx")

    try:
        ops.register("square_again", lambda x: x * x, "Mul")
    except ops.OpTableError as error:
        print("closed:", error)
    """
)


def test_a_new_primitive_is_one_entry(tmp_path: Path) -> None:
    script = tmp_path / "add_cube.py"
    script.write_text(ADD_A_PRIMITIVE)
    env = dict(os.environ, NUMBA_ENABLE_CUDASIM="1", PYTHONPATH=str(ROOT))
    result = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, env=env, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    lines = result.stdout.splitlines()
    assert lines[:5] == ["ok simple", "ok fast", "ok cuda", "ok compiled", "ok onnx"]
    assert "register primitives before the fast or cuda backend first loads" in lines[5]


def test_internal_ops_are_named_in_at_most_three_files() -> None:
    for op in ["log_back", "relu_back", "inv_back"]:
        found = subprocess.run(["git", "grep", "-lw", op, "--", "minitorch"], cwd=ROOT, capture_output=True, text=True)
        files = sorted(f for f in found.stdout.split() if f.endswith(".py"))
        assert len(files) <= 3, (op, files)


def test_kernels_reject_a_function_outside_the_table() -> None:
    fast = minitorch.get_backend("fast")
    with pytest.raises(ops.OpTableError, match="no compiled kernel for 'cube'"):

        def cube(x: float) -> float:
            return x * x * x

        fast.make_map(cube)
    with pytest.raises(ops.OpTableError, match="no elementwise primitive 'erf'"):
        fast.map("erf", minitorch.tensor([1.0])._tensor)
