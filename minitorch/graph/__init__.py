"""Module 5 — graph mode: IR, tracing, passes, codegen, execution, ONNX export."""

from .compile import Compiled, compile
from .executor import Plan, interpret
from .ir import Graph, IRError, Node
from .program import Program
from .trace import SymbolicBackend, SymbolicData, TracingError
from .train_step import CompiledTrainStep

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
