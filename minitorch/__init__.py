"""minitorch: a deep learning framework built from scratch to teach."""

from . import operators
from .autodiff import (
    Context,
    GraphFreedError,
    backpropagate,
    central_difference,
    is_grad_enabled,
    no_grad,
    topological_sort,
)
from .datasets import DATASETS, Graph
from .events import Recording, RecordingError, record
from .module import Module, Parameter
from .scalar import Scalar, derivative_check
from .scalar_functions import ScalarFunction

__version__ = "0.1.0"
from .backends import available_backends, get_backend, set_default_backend
from .tensor import Tensor, from_numpy, ones, rand, tensor, zeros
from .tensor_data import IndexingError, ShapeError, TensorData
from .tensor_functions import Function
from . import data, nn, optim
from .serialization import CheckpointError, load, save
from .profiler import Profile, profile
from .graph import compile
