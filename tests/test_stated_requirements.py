"""Hidden requirements are stated ones: what a task's tests demand is in the stub's docstring.

A student sees only the signature and docstring of each function they write (the student
version replaces the marked regions; docstrings sit outside them). So every behaviour a test
checks that the math alone does not fix (IEEE edge cases, tie-breaking, error types and
messages, in-place writes, dtypes, the no-shortcuts rule) is written there. This test keeps a
curated list of those statements, so an edit cannot silently drop one. Docstrings are
identical in the reference and the student version; the last test checks that on a build.
"""

from __future__ import annotations

import importlib
import inspect
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent

# (module, qualified name, phrase that must appear in its docstring)
STATED = [
    ("minitorch.operators", "inv", "`inv(-0.0) == -inf`"),
    ("minitorch.operators", "inv", "ZeroDivisionError"),
    ("minitorch.operators", "log_back", "ZeroDivisionError"),
    ("minitorch.operators", "inv_back", "underflows"),
    ("minitorch.operators", "max", "NaN wins"),
    ("minitorch.operators", "max", "Ties return `y`"),
    ("minitorch.operators", "sigmoid", "$\\sigma(-745) > 0$"),
    ("minitorch.operators", "sigmoid", "no OverflowError"),
    ("minitorch.operators", "relu_back", "0.0 at $x = 0$"),
    ("minitorch.operators", "is_close", "strict, absolute tolerance"),
    ("minitorch.operators", "log", "$\\ln(0) = -\\infty$"),
    ("minitorch.operators", "zipWith", "differ in length"),
    ("minitorch.operators", "reduce", "gives back `start`"),
    ("minitorch.operators", "sum", "the sum of no values is 0"),
    ("minitorch.operators", "prod", "the product of no values is 1"),
    ("minitorch.module", "Module.named_parameters", 'no prefix (`"w"`'),
    ("minitorch.module", "Module.named_parameters", "listed once"),
    ("minitorch.module", "Module.train", "return `self`"),
    ("minitorch.module", "Module.modules", "in the order they were assigned"),
    ("minitorch.autodiff", "central_difference", "IndexError"),
    ("minitorch.autodiff", "topological_sort", "exactly once"),
    ("minitorch.autodiff", "topological_sort", "constants"),
    ("minitorch.autodiff", "backpropagate", "adds to it"),
    ("minitorch.autodiff", "GraphValue.chain_rule", "RuntimeError"),
    ("minitorch.scalar_functions", "ScalarFunction.backward", "a tuple `(d_x, d_y)` in argument order"),
    ("minitorch.scalar_functions", "ScalarFunction.forward", "ctx.save_for_backward"),
    ("minitorch.scalar_nn", "ScalarLinear.forward", "`self.weights[i][j]` joins input `i` to output `j`"),
    ("minitorch.scalar_nn", "binary_log_loss", "$1/(1 - p)$"),
    ("minitorch.tensor_data", "index_to_position", "Python `int`"),
    ("minitorch.tensor_data", "to_index", "returns None"),
    ("minitorch.tensor_data", "broadcast_index", "returns None"),
    ("minitorch.tensor_data", "shape_broadcast", "add: shapes (2, 3) and (4,) cannot broadcast"),
    ("minitorch.tensor_data", "shape_broadcast", "a size 0 against a size 1 gives 0"),
    ("minitorch.tensor_data", "TensorData.permute", "Shares the storage"),
    ("minitorch.backends.simple", "tensor_map", "No shortcuts"),
    ("minitorch.backends.simple", "tensor_zip", "No shortcuts"),
    ("minitorch.backends.simple", "tensor_reduce", "No shortcuts"),
    ("minitorch.backends.simple", "tensor_reduce", "from the start value `out` holds"),
    ("minitorch.backends.simple", "tensor_matmul", "No shortcuts"),
    ("minitorch.backends.simple", "tensor_matmul", "transposed views"),
    ("minitorch.backends.simple", "tensor_fold", "*added*"),
    ("minitorch.backends.simple", "tensor_unfold", "arrives uninitialised"),
    ("minitorch.tensor_functions", "Function.backward", "None for an input that"),
    ("minitorch.tensor_functions", "Function.backward", "float32 `.grad`"),
    ("minitorch.tensor_functions", "Max", "Ties split it equally"),
    ("minitorch.tensor_functions", "Permute", "no copy"),
    ("minitorch.tensor_functions", "MatMul", "None for a constant input"),
    ("minitorch.backends.fast", "map_kernel", "No shortcuts"),
    ("minitorch.backends.fast", "zip_kernel", "No shortcuts"),
    ("minitorch.backends.fast", "reduce_kernel", "No shortcuts"),
    ("minitorch.backends.fast", "reduce_kernel", "exactly"),
    ("minitorch.backends.fast", "matmul_kernel", "No shortcuts"),
    ("minitorch.conv", "Conv", "None for a constant input"),
    ("minitorch.conv", "MaxPool", "Padding is $-\\infty$"),
    ("minitorch.conv", "AvgPool", "count_include_pad=True"),
    ("minitorch.conv", "_ConvNd", "the weight is drawn first, then the bias"),
    ("minitorch.graph.passes.memory_plan", "plan_memory", "lowest buffer number"),
    ("minitorch.graph.passes.cse", "common_subexpression_elimination", "Inputs and params are never merged"),
    ("minitorch.graph.executor", "interpret", "raises IRError"),
    ("minitorch.graph.onnx", "emit", "has no ONNX counterpart"),
    ("minitorch.graph.codegen", "loop_body", "without indentation"),
]

# Read from the source, not by import: the CUDA kernels are compiled objects, and importing
# minitorch.backends.cuda needs numba.cuda; the source is what a student reads anyway.
SOURCE_STATED = [
    ("minitorch/backends/cuda.py", "map_kernel", "No shortcuts"),
    ("minitorch/backends/cuda.py", "zip_kernel", "No shortcuts"),
    ("minitorch/backends/cuda.py", "reduce_kernel", "No shortcuts"),
    ("minitorch/backends/cuda.py", "matmul_kernel", "No shortcuts"),
    ("minitorch/backends/cuda.py", "matmul_kernel", "multiples of TILE"),
    ("minitorch/backends/cuda.py", "conv_kernel", "No shortcuts"),
    ("minitorch/backends/cuda.py", "conv_kernel", "stop mid-tile"),
]


def docstring(module: str, qualname: str) -> str:
    target: object = importlib.import_module(module)
    for part in qualname.split("."):
        target = getattr(target, part)
    return inspect.getdoc(target) or ""


def source_docstrings(path: Path) -> dict[str, str]:
    import ast

    found: dict[str, str] = {}
    for node in ast.walk(ast.parse(path.read_text("utf8"))):
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            found[node.name] = ast.get_docstring(node) or ""
    return found


@pytest.mark.parametrize(("module", "name", "phrase"), STATED, ids=[f"{m}.{n}:{p[:30]}" for m, n, p in STATED])
def test_requirement_is_stated(module: str, name: str, phrase: str) -> None:
    assert phrase in docstring(module, name), f"{module}.{name}: its docstring no longer states {phrase!r}"


@pytest.mark.parametrize(("path", "name", "phrase"), SOURCE_STATED, ids=[f"{n}:{p[:30]}" for _, n, p in SOURCE_STATED])
def test_requirement_is_stated_in_source(path: str, name: str, phrase: str) -> None:
    assert phrase in source_docstrings(REPO / path)[name], f"{path}:{name}: its docstring no longer states {phrase!r}"


def test_student_version_keeps_the_statements(tmp_path: Path) -> None:
    """The student version carries the same docstrings: the statements reach the student."""
    from assignments.student import build_student_version

    student = tmp_path / "s"
    build_student_version(REPO, student)
    entries = [(module.replace(".", "/") + ".py", name, phrase) for module, name, phrase in STATED]
    missing = []
    for path, name, phrase in entries + SOURCE_STATED:
        text = (student / path).read_text("utf8")
        if phrase not in source_docstrings(student / path).get(name.split(".")[-1], "") and phrase not in text:
            missing.append(f"{path}:{name}: {phrase!r}")
    assert not missing, "the student version lost stated requirements:\n" + "\n".join(missing)
