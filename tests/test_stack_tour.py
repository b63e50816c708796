"""The stack-tour chapter: its roofline is measured, not typed in, and every layer has its box."""

from __future__ import annotations

import re
import types
from pathlib import Path

import pytest

from .test_course import fences

CHAPTER = Path(__file__).resolve().parent.parent / "chapters" / "06-stack-tour.md"


@pytest.fixture(scope="module")
def namespace() -> dict:
    """The chapter's namespace after its python blocks ran (they continue one another)."""
    ns = types.ModuleType("tour").__dict__
    for fence in fences(CHAPTER):
        if fence.runs:
            code = "\n" * (fence.line - 1) + fence.code  # tracebacks name the chapter line
            exec(compile(code, str(CHAPTER), "exec"), ns)  # the chapter's code is the test
    return ns


def test_roofline_is_measured_here(namespace: dict) -> None:
    bandwidth, peak, ridge = namespace["bandwidth"], namespace["peak_flops"], namespace["ridge"]
    assert bandwidth > 1e8 and peak > 1e8  # measured values of a working machine (> 0.1 GB/s, GFLOP/s)
    assert ridge == pytest.approx(peak / bandwidth)
    typed = re.findall(r"\d\s*(?:GB/s|GFLOP/s|TFLOP/s)", CHAPTER.read_text("utf8"))
    assert not typed, f"the chapter states machine figures instead of measuring them: {typed}"


def test_roofline_classifies_kernels(namespace: dict) -> None:
    roofline, ridge = namespace["roofline"], namespace["ridge"]
    intensity, attainable, bound = roofline(ridge * 4, 4)  # 4x the ridge's intensity
    assert bound == "compute" and attainable == pytest.approx(namespace["peak_flops"])
    intensity, attainable, bound = roofline(1, 16)  # one flop per 16 bytes: an elementwise add
    assert intensity == 1 / 16 and attainable == pytest.approx(namespace["bandwidth"] / 16)
    assert bound == ("memory" if 1 / 16 < ridge else "compute")
    kernels = {kernel: bound for kernel, _, _, bound in namespace["rows"]}
    assert {"matmul", "add_zip", "relu_map"} <= set(kernels)


def test_the_tour_fuses_and_generates(namespace: dict) -> None:
    graph = namespace["graph"]
    assert graph.count("fused") == 1 and graph.count("matmul") == 1
    assert "prange" in namespace["generate_source"](namespace["fused"], "fast")


def test_every_layer_has_its_industry_box() -> None:
    text = CHAPTER.read_text("utf8")
    assert text.count("> **In industry.**") >= 6
    for name in [
        "PyTorch",
        "TensorFlow",
        "JAX",
        "TorchDynamo",
        "FX",
        "ONNX",
        "TVM",
        "Triton",
        "XLA",
        "Inductor",
        "ONNX Runtime",
        "cuBLAS",
        "cuDNN",
        "CUTLASS",
        "oneDNN",
        "TPU",
        "systolic",
        "Theano",
        "Caffe",
        "Chainer",
        "define-by-run",
        "session",
        "tf.function",
        "PyTorch 2",
    ]:
        assert name in text, name
