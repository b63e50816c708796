"""minitorch: a deep learning framework built from scratch to teach.

Layers, bottom up (each imports only those below it): operators -> autodiff (the one engine)
-> Scalar; tensor_data -> backends -> Tensor -> nn, optim, data; graph (graph mode).
"""

from . import conv, data, datasets, nn, operators, optim
from .autodiff import (
    Context,
    GraphFreedError,
    backpropagate,
    central_difference,
    is_grad_enabled,
    no_grad,
    topological_sort,
)
from .backends import available_backends, get_backend, set_default_backend
from .datasets import DATASETS
from .events import Recording, RecordingError, record
from .graph import compile  # minitorch.compile, as torch.compile
from .module import Module, Parameter
from .profiler import Profile, profile
from .scalar import Scalar, derivative_check
from .scalar_functions import ScalarFunction
from .serialization import CheckpointError, load, save
from .tensor import Tensor, from_numpy, ones, rand, tensor, zeros
from .tensor_data import IndexingError, ShapeError, TensorData
from .tensor_functions import Function

__version__ = "0.1.0"

__all__ = [
    "DATASETS",
    "CheckpointError",
    "Context",
    "Function",
    "GraphFreedError",
    "IndexingError",
    "Module",
    "Parameter",
    "Profile",
    "Recording",
    "RecordingError",
    "Scalar",
    "ScalarFunction",
    "ShapeError",
    "Tensor",
    "TensorData",
    "available_backends",
    "backpropagate",
    "central_difference",
    "compile",
    "conv",
    "data",
    "datasets",
    "derivative_check",
    "from_numpy",
    "get_backend",
    "is_grad_enabled",
    "load",
    "nn",
    "no_grad",
    "ones",
    "operators",
    "optim",
    "profile",
    "rand",
    "record",
    "save",
    "set_default_backend",
    "tensor",
    "topological_sort",
    "zeros",
]
