"""Module 5 — graph mode: IR, tracing, passes, codegen, execution, ONNX export."""

from .compile import Compiled, CompiledTrainStep, Program, compile
from .executor import Plan, interpret
from .ir import Graph, IRError, Node
from .trace import SymbolicBackend, SymbolicData, TracingError

__all__ = [
    "Compiled",
    "CompiledTrainStep",
    "Graph",
    "IRError",
    "Node",
    "Plan",
    "Program",
    "SymbolicBackend",
    "SymbolicData",
    "TracingError",
    "compile",
    "interpret",
]
