"""minitorch: a deep learning framework built from scratch to teach.

Layers, bottom up (each imports only those below it): operators -> autodiff (the one engine)
-> Scalar; tensor_data -> backends -> Tensor -> nn, optim, data; graph (graph mode).
"""

import numpy as np

from . import conv, data, datasets, nn, operators, optim, utils
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
from .creation import (
    arange,
    eye,
    full,
    full_like,
    linspace,
    manual_seed,
    ones,
    ones_like,
    rand,
    rand_like,
    randn,
    randn_like,
    zeros,
    zeros_like,
)
from .datasets import DATASETS
from .events import Recording, RecordingError, record
from .functions import (
    abs,
    argmax,
    cat,
    clamp,
    cos,
    exp,
    log,
    matmul,
    max,
    mean,
    pow,
    relu,
    sigmoid,
    sin,
    sqrt,
    stack,
    sum,
    tanh,
    where,
)
from .graph import compile  # minitorch.compile, as torch.compile
from .module import Module, Parameter
from .profiler import Profile, profile
from .scalar import Scalar, derivative_check
from .scalar_functions import ScalarFunction
from .serialization import CheckpointError, load, save
from .tensor import Tensor, from_numpy, tensor
from .tensor_data import IndexingError, ShapeError, TensorData, get_default_dtype, set_default_dtype
from .tensor_functions import Function

__version__ = "0.1.0"

float32, float64 = np.dtype("float32"), np.dtype("float64")  # dtype=minitorch.float32, as torch

__all__ = [
    "arange",
    "eye",
    "full",
    "full_like",
    "linspace",
    "manual_seed",
    "ones_like",
    "rand_like",
    "randn",
    "randn_like",
    "zeros_like",
    "abs",
    "argmax",
    "cat",
    "clamp",
    "cos",
    "exp",
    "log",
    "matmul",
    "max",
    "mean",
    "pow",
    "relu",
    "sigmoid",
    "sin",
    "sqrt",
    "stack",
    "sum",
    "tanh",
    "where",
    "float32",
    "float64",
    "get_default_dtype",
    "set_default_dtype",
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
    "utils",
    "topological_sort",
    "zeros",
]
