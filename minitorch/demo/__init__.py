"""Applications built on minitorch, apart from the library: the training loops and the demo.

`python -m minitorch.demo` trains a classifier and reports accuracy, predictions and kernel
timings (see `cli`); `tensor_train` and `scalar_train` are the training loops it runs.
`import minitorch` does not import this package.
"""

from .cli import main

__all__ = ["main"]
