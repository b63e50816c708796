"""The main demo: train a classifier and report accuracy, predictions and kernel timings.

python -m minitorch.demo                           # tensor MLP on 'xor', fast backend
python -m minitorch.demo --dataset digits --epochs 15
python -m minitorch.demo --backend simple --points 100
python -m minitorch.demo --scalar                  # the module-1 network of Scalars
python -m minitorch.demo --model cnn               # a LeNet-style CNN on 8x8 digits (--mnist FOLDER: MNIST)
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from rich.console import Console, Group
from rich.live import Live
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from .. import data, nn, optim
from ..autodiff import no_grad
from ..backends import get_backend
from ..datasets import DATASETS
from ..events import Recording, record
from ..health import LiveHealth
from ..nn import MLP
from ..profiler import profile
from ..tensor import Tensor, tensor
from ..tensor_data import TensorData
from .compiled_adam import CompiledAdamStep
from .scalar_train import EpochStats as ScalarEpochStats
from .scalar_train import ScalarTrainer
from .tensor_train import EpochStats, evaluate, predicted_classes, train

# Defaults per dataset: each reaches (nearly) 100% training accuracy, or ~95% test accuracy
# on digits, in eager and graph mode alike. Flags given on the command line win.
DEFAULTS = {"epochs": 150, "points": 100, "hidden": 16, "lr": 0.05, "batch": 0}
DATASET_DEFAULTS = {
    "digits": {"epochs": 15, "hidden": 64, "lr": 0.01, "batch": 64},
    "spiral": {"epochs": 300, "hidden": 32, "lr": 0.02},
}
EPILOG = """
defaults per dataset (a flag given wins):
  toy datasets   --epochs 150 --hidden 16 --lr 0.05 --batch 0 --points 100
  spiral         --epochs 300 --hidden 32 --lr 0.02
  digits         --epochs 15 --hidden 64 --lr 0.01 --batch 64
  --model cnn    --epochs 10 --lr 0.01 --batch 32 (the rate annealed along a cosine)
toy inputs are standardised (zero mean, unit variance per feature) before training.
"""
CNN_DEFAULTS = {"epochs": 10, "lr": 0.01, "batch": 32}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line, with each unset flag filled from the defaults of the chosen dataset."""
    args = build_parser().parse_args(argv)
    defaults = {} if args.scalar else DATASET_DEFAULTS.get(args.dataset, {})
    if args.model == "cnn" and not args.scalar:
        defaults = CNN_DEFAULTS
    for key, value in {**DEFAULTS, **defaults}.items():
        if getattr(args, key, None) is None:
            setattr(args, key, value)
    return args


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m minitorch.demo",
        description=__doc__,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--dataset",
        choices=sorted(DATASETS) + ["digits"],
        default="xor",
        help="what to learn: a 2-D toy dataset, or 8x8 handwritten digits (default: xor)",
    )
    parser.add_argument(
        "--backend",
        choices=["simple", "fast", "cuda"],
        default="fast",
        help="kernels: simple (numpy loops), fast (Numba, parallel CPU), cuda (a GPU or the simulator)",
    )
    parser.add_argument("--points", type=int, help="toy datasets: number of points")
    parser.add_argument("--epochs", type=int, help="passes over the training set")
    parser.add_argument("--hidden", type=int, help="hidden units per layer (two hidden layers)")
    parser.add_argument("--lr", type=float, help="learning rate of Adam (the same in both modes)")
    parser.add_argument("--batch", type=int, help="batch size (0: the whole dataset)")
    parser.add_argument("--seed", type=int, default=1, help="seed of the data, the weights and the shuffling")
    parser.add_argument("--scalar", action="store_true", help="train the module-1 network of Scalars instead")
    parser.add_argument("--model", choices=["mlp", "cnn"], default="mlp", help="cnn: a LeNet-style CNN on digits")
    parser.add_argument("--mnist", help="with --model cnn: folder with MNIST's IDX files (else the 8x8 digits)")
    parser.add_argument(
        "--mode",
        choices=["eager", "graph"],
        default="eager",
        help="eager: op by op with autodiff; graph: compile forward, backward and the Adam update into one program",
    )
    parser.add_argument("--out", default="demo-output", help="folder for the graph SVG and the recording")
    parser.add_argument(
        "--step-through", action="store_true", help="end by stepping through the last training step in the terminal UI"
    )
    return parser


def progress_bar(console: Console) -> Progress:
    return Progress(
        TextColumn("[bold]epoch {task.completed}/{task.total}"),
        BarColumn(),
        TextColumn(
            "loss {task.fields[loss]:.4f}  accuracy {task.fields[accuracy]:.1%}  {task.fields[per_epoch]}/epoch"
        ),
        TimeElapsedColumn(),
        console=console,
    )


def datasets_for(args: argparse.Namespace) -> tuple[data.TensorDataset, data.TensorDataset | None]:
    """(training set, test set or None) for the chosen dataset."""
    if args.dataset == "digits":
        return data.load_digits("train", seed=args.seed), data.load_digits("test", seed=args.seed)
    return standardised(data.toy_dataset(args.dataset, args.points, seed=args.seed)), None


def standardised(dataset: data.TensorDataset) -> data.TensorDataset:
    """Each feature moved to mean 0 and scaled to standard deviation 1: x' = (x - mean) / std.

    The toy points sit in [0, 1]² (the spiral within 0.13 of the centre); a network trains
    much more easily on inputs of size ~1 around 0.
    """
    X = dataset.X - dataset.X.mean(axis=0)
    return data.TensorDataset(X / np.maximum(X.std(axis=0), 1e-12), dataset.y)


def training_loader(train_set: data.TensorDataset, args: argparse.Namespace) -> data.DataLoader:
    """Shuffled batches (the whole set when --batch is 0). A compiled step wants every batch
    full, so both modes drop a smaller last batch: they see the same batches."""
    batch = args.batch or len(train_set)
    drop_last = batch < len(train_set)
    return data.DataLoader(
        train_set, batch_size=batch, shuffle=True, seed=args.seed, backend=args.backend, drop_last=drop_last
    )


@dataclass
class DemoResult:
    """What a tensor demo run reached (for tests and scripts)."""

    history: list[EpochStats]
    train_accuracy: float
    test_accuracy: float | None
    recording: Recording


def run_tensor_demo(args: argparse.Namespace, console: Console) -> DemoResult:
    train_set, test_set = datasets_for(args)
    classes = int(train_set.y.max()) + 1
    model = MLP([train_set.X.shape[1], args.hidden, args.hidden, classes], backend=args.backend, seed=args.seed)
    loader = training_loader(train_set, args)
    console.print(
        f"[bold]minitorch demo[/]: MLP {[train_set.X.shape[1], args.hidden, args.hidden, classes]} "
        f"learns '{args.dataset}' ({len(train_set)} examples) on the [bold]{args.backend}[/] backend, "
        f"[bold]{args.mode}[/] mode"
    )
    with profile() as prof:
        history, step = train_with_progress(model, loader, classes, args, console)
    train_accuracy = evaluate(model, train_set.X, train_set.y)
    console.print(
        f"[bold green]final training accuracy: {train_accuracy:.1%}[/] (last epoch loss {history[-1].loss:.4f})"
    )
    test_accuracy = evaluate(model, test_set.X, test_set.y) if test_set is not None else None
    if test_accuracy is not None:
        console.print(f"[bold green]test accuracy: {test_accuracy:.1%}[/]")
    show_predictions(model, test_set or train_set, args, console)
    console.print(prof.table(limit=10))
    recording = record_last_step(model, loader, args, console, step)
    if args.step_through:
        open_step_through(recording, console)
    return DemoResult(history, train_accuracy, test_accuracy, recording)


class LiveView:
    """The progress bar with the latest gradient-health table under it (rich renders it live)."""

    def __init__(self, progress: Progress, health: LiveHealth) -> None:
        self.progress, self.health = progress, health

    def __rich__(self) -> Group:
        rows = self.health.health
        return Group(self.progress, rows.table()) if len(rows) else Group(self.progress)


def train_with_progress(
    model: MLP, loader: data.DataLoader, classes: int, args: argparse.Namespace, console: Console
) -> tuple[list[EpochStats], CompiledAdamStep | None]:
    """Train in the chosen mode under a progress bar and a live gradient-health table (one row
    per parameter, updated each epoch); (history, the compiled step or None)."""
    progress, health = progress_bar(console), LiveHealth(model)
    steps = max(1, len(loader))
    view = LiveView(progress, health)
    with Live(view, console=console, refresh_per_second=8):
        task = progress.add_task("train", total=args.epochs, loss=float("nan"), accuracy=0.0, per_epoch="-")

        def on_epoch(stats: EpochStats) -> None:
            progress.update(
                task,
                completed=stats.epoch,
                loss=stats.loss,
                accuracy=stats.accuracy,
                per_epoch=f"{stats.seconds * 1e3:.0f} ms",
            )
            health.update(stats.epoch, steps)

        result: tuple[list[EpochStats], CompiledAdamStep | None]
        if args.mode == "graph":
            result = train_compiled(model, loader, classes, args, on_epoch, console)
        else:
            optimizer = optim.Adam(model.parameters(), lr=args.lr)
            result = train(model, loader, nn.cross_entropy, optimizer, args.epochs, on_epoch=on_epoch), None
    if not console.is_terminal:
        console.line()  # a live display written to a file or pipe ends without a newline
    return result


def one_hot_loss(logits: Tensor, targets: Tensor) -> Tensor:
    """Cross-entropy against one-hot targets: no reading of values, so it compiles into a graph."""
    return -(targets * nn.logsoftmax(logits, dim=1)).sum(1).mean()


def train_compiled(
    model: MLP,
    loader: data.DataLoader,
    classes: int,
    args: argparse.Namespace,
    on_epoch: Callable[[EpochStats], None],
    console: Console,
) -> tuple[list[EpochStats], CompiledAdamStep]:
    """Adam (eager mode's optimizer and learning rate), each step one compiled program."""
    step = CompiledAdamStep(model, one_hot_loss, optim.Adam(model.parameters(), lr=args.lr))
    history = []
    for epoch in range(1, args.epochs + 1):
        start, losses = time.perf_counter(), []
        for X, y in loader:
            losses.append(step(X, one_hot(y, classes, args.backend)))
        accuracy = evaluate(model, loader.dataset.X, loader.dataset.y)
        history.append(EpochStats(epoch, float(np.mean(losses)), accuracy, time.perf_counter() - start))
        on_epoch(history[-1])
    compare_modes(model, step, loader, classes, args, console)
    return history, step


def one_hot(y: Tensor, classes: int, backend: str) -> Tensor:
    """Labels as rows of the identity: class 2 of 4 is [0, 0, 1, 0]."""
    return tensor(np.eye(classes)[y.numpy().astype(int)], backend=backend)


def compare_modes(
    model: MLP,
    step: CompiledAdamStep,
    loader: data.DataLoader,
    classes: int,
    args: argparse.Namespace,
    console: Console,
) -> None:
    """Say what was compiled and how long it took; time one training step both ways."""
    X, y = next(iter(loader))
    targets = one_hot(y, classes, args.backend)
    program = step.program(X, targets)
    saved = snapshot(model, step)
    optimizer = optim.Adam(model.parameters(), lr=args.lr)

    def eager_step() -> None:
        loss = one_hot_loss(model(X), targets)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()

    eager, graph = timed(eager_step), timed(lambda: step(X, targets))
    restore(model, step, saved)  # the timing steps leave no trace on the model
    fused = program.graph.count("fused")
    console.print(
        f"compiled: forward, loss, backward and the Adam update of {len(saved[0])} parameters into one program of "
        f"{len(program.graph.nodes)} nodes ({fused} fused kernels, {program.plan.kernel_launches} kernel launches "
        f"per step), compiled {step.compile_count}× in {step.compile_seconds * 1e3:.0f} ms\n"
        f"one training step: eager {eager * 1e3:.2f} ms, graph {graph * 1e3:.2f} ms ([bold]{eager / graph:.1f}×[/])"
    )


def timed(fn: Callable[[], object], repeats: int = 10) -> float:
    """Mean seconds per call of `fn`, after one warm-up call."""
    fn()
    start = time.perf_counter()
    for _ in range(repeats):
        fn()
    return (time.perf_counter() - start) / repeats


Snapshot = tuple[list[np.ndarray], list[tuple[TensorData, TensorData]] | None, int]


def snapshot(model: MLP, step: CompiledAdamStep) -> Snapshot:
    """Copies of the parameter values and the compiled step's Adam state."""
    return [p.value.numpy().copy() for p in model.parameters()], step.moments, step.steps


def restore(model: MLP, step: CompiledAdamStep, saved: Snapshot) -> None:
    values, step.moments, step.steps = saved
    for p, value in zip(model.parameters(), values):
        p.value.copy_(value)


def record_last_step(
    model: MLP, loader: data.DataLoader, args: argparse.Namespace, console: Console, step: CompiledAdamStep | None
) -> Recording:
    """Record one more training step (the model is left as it was); save it and its graph.

    Eager mode records forward and backward op by op; graph mode records the compiled
    program running (its kernels), and saves the program's IR next to it.
    """
    X, y = next(iter(loader))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    if step is not None:
        targets = one_hot(y, int(loader.dataset.y.max()) + 1, args.backend)
        return record_compiled_step(model, step, X, targets, out, console)
    with record() as recording:
        loss = nn.cross_entropy(model(X), y)
        model.zero_grad()
        loss.backward()
    recording.save(out / "last-step.json")
    console.print(
        f"recorded the last training step: {out / 'last-step.json'} "
        f"(open it with: python -m visualizer open {out / 'last-step.json'})"
    )
    try:
        import visualizer
    except ImportError:
        console.print("[yellow]graph not drawn: install the viz extra (pip install -e '.[viz]')[/]")
        return recording
    title = f"last training step ({args.dataset})"
    graph = visualizer.render(recording, expand=["layers"], title=title)  # layers as boxes, the loss as one
    try:
        path = visualizer.save(graph, out / "graph.svg")
        console.print(f"graph of the last step: {path}")
    except visualizer.GraphvizNotInstalled as err:
        console.print(f"[yellow]{err}[/]")
    return recording


def record_compiled_step(
    model: MLP, step: CompiledAdamStep, X: Tensor, targets: Tensor, out: Path, console: Console
) -> Recording:
    """Record the compiled program running one step (each kernel it launches), then undo the step."""
    saved = snapshot(model, step)
    with record() as recording:
        step(X, targets)
    restore(model, step, saved)
    recording.save(out / "last-step.json")
    program = step.program(X, targets)
    (out / "compiled-step.txt").write_text(str(program.graph) + "\n")
    kernels = len(recording.kernel_events)
    console.print(
        f"recorded the compiled training step ({kernels} kernel launches): {out / 'last-step.json'}; "
        f"its program (the IR after the passes): {out / 'compiled-step.txt'}"
    )
    return recording


def open_step_through(recording: Recording, console: Console) -> None:
    """Open the Textual step-through on the recording when a terminal is attached."""
    if not sys.stdout.isatty():
        console.print("--step-through needs a terminal; open the recording later with python -m visualizer open")
        return
    import visualizer

    visualizer.show(recording)


def show_predictions(model: MLP, dataset: data.TensorDataset, args: argparse.Namespace, console: Console) -> None:
    X, y = dataset.X[:6], dataset.y[:6]
    with no_grad():
        predicted = predicted_classes(model(tensor(X, backend=args.backend)))
    table = Table(title="a few predictions")
    table.add_column("input", justify="left")
    table.add_column("label", justify="right")
    table.add_column("predicted", justify="right")
    table.add_column("", justify="center")
    for row, label, guess in zip(X, y, predicted):
        shown = ", ".join(f"{v:.2f}" for v in row[:4]) + (", ..." if len(row) > 4 else "")
        table.add_row(f"[{shown}]", str(int(label)), str(int(guess)), "✓" if int(label) == int(guess) else "✗")
    console.print(table)


def run_scalar_demo(args: argparse.Namespace, console: Console) -> None:
    points = min(args.points, 40)
    dataset = DATASETS[args.dataset if args.dataset != "digits" else "xor"](points, seed=args.seed)
    trainer = ScalarTrainer(hidden=min(args.hidden, 6), learning_rate=1.0, seed=args.seed)
    console.print(f"[bold]minitorch demo[/]: a network of Scalars learns '{args.dataset}' ({points} points)")
    with progress_bar(console) as progress:
        task = progress.add_task("train", total=args.epochs, loss=float("nan"), accuracy=0.0, per_epoch="-")
        last = [time.perf_counter()]

        def on_epoch(stats: ScalarEpochStats) -> None:
            now = time.perf_counter()
            progress.update(
                task,
                completed=stats.epoch,
                loss=stats.loss,
                accuracy=stats.accuracy,
                per_epoch=f"{(now - last[0]) * 1e3:.0f} ms",
            )
            last[0] = now

        trainer.train(dataset, args.epochs, on_epoch=on_epoch)
    final = trainer.history[-1]
    console.print(f"[bold green]final training accuracy: {final.accuracy:.1%}[/] ({final.correct}/{final.total})")
    table = Table(title="a few predictions")
    for column in ("x0", "x1", "label", "P(label=1)"):
        table.add_column(column, justify="right")
    for point, label in list(zip(dataset.X, dataset.y))[:6]:
        table.add_row(f"{point[0]:.2f}", f"{point[1]:.2f}", str(label), f"{trainer.predict(point):.3f}")
    console.print(table)


def run_cnn_demo(args: argparse.Namespace, console: Console) -> None:
    """Train the CNN of demo/cnn.py with a progress bar; print test accuracy and the kernel table."""
    from .cnn import train_cnn

    epochs = args.epochs
    source = f"MNIST from {args.mnist}" if args.mnist else "8x8 digits"
    console.print(f"[bold]minitorch demo[/]: LeNet-style CNN learns {source} on the [bold]{args.backend}[/] backend")
    with progress_bar(console) as progress, profile() as prof:
        task = progress.add_task("train", total=epochs, loss=float("nan"), accuracy=0.0, per_epoch="-")

        def on_epoch(stats: EpochStats) -> None:
            per_epoch = f"{stats.seconds:.1f} s"
            progress.update(task, completed=stats.epoch, loss=stats.loss, accuracy=stats.accuracy, per_epoch=per_epoch)

        result = train_cnn(epochs, args.backend, args.seed, args.lr, args.batch, mnist=args.mnist, on_epoch=on_epoch)
    console.print(result.model)
    console.print(f"[bold green]test accuracy: {result.test_accuracy:.1%}[/]")
    console.print(prof.table(limit=10))


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    # Piped or captured output gets 120 columns (rich's default 80 would cut the kernel table's names).
    console = Console() if sys.stdout.isatty() else Console(width=120)
    if not args.scalar and (problem := backend_problem(args.backend)):
        print(f"error: {problem}", file=sys.stderr)
        return 2
    start = time.perf_counter()
    try:
        if args.scalar:
            run_scalar_demo(args, console)
        elif args.model == "cnn":
            run_cnn_demo(args, console)
        else:
            np.seterr(all="ignore")
            run_tensor_demo(args, console)
        console.print(f"done in {time.perf_counter() - start:.1f} s")
    except BrokenPipeError:  # piped into `head`, which has stopped reading: end quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no error when Python flushes at exit
    return 0


def backend_problem(name: str) -> str | None:
    """None when backend `name` loads; else one line saying why not and how to get it."""
    try:
        get_backend(name)
    except RuntimeError as err:
        if name == "cuda":
            return (
                "--backend cuda needs an NVIDIA GPU with its driver, or Numba's CUDA simulator on the CPU: "
                "NUMBA_ENABLE_CUDASIM=1 python -m minitorch.demo --backend cuda (slow; --backend fast runs now)"
            )
        return str(err).splitlines()[0]
    return None
