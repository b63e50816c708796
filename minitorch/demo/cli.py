"""The main demo: train a classifier and report accuracy, predictions and kernel timings.

python -m minitorch.demo                           # tensor MLP on 'xor', fast backend
python -m minitorch.demo --dataset digits --epochs 15
python -m minitorch.demo --backend simple --points 100
python -m minitorch.demo --scalar                  # the module-1 network of Scalars
python -m minitorch.demo --model cnn               # a LeNet-style CNN on 8x8 digits (--mnist FOLDER: MNIST)
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from .. import data, nn, optim
from ..autodiff import no_grad
from ..datasets import DATASETS
from ..events import Recording, record
from ..graph import CompiledTrainStep
from ..nn import MLP
from ..profiler import profile
from ..tensor import Tensor, tensor
from .scalar_train import EpochStats as ScalarEpochStats
from .scalar_train import ScalarTrainer
from .tensor_train import EpochStats, evaluate, predicted_classes, train

DEFAULTS = {"epochs": 150, "points": 100, "hidden": 16, "lr": 0.05, "batch": 0}
DIGITS_DEFAULTS = {"epochs": 15, "hidden": 64, "lr": 0.01, "batch": 64}
CNN_DEFAULTS = {"epochs": 6, "lr": 0.01, "batch": 32}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m minitorch.demo", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--dataset", choices=sorted(DATASETS) + ["digits"], default="xor")
    parser.add_argument("--backend", choices=["simple", "fast", "cuda"], default="fast")
    parser.add_argument("--points", type=int, help="toy datasets: number of points")
    parser.add_argument("--epochs", type=int)
    parser.add_argument("--hidden", type=int, help="hidden units per layer")
    parser.add_argument("--lr", type=float, help="learning rate (Adam)")
    parser.add_argument("--batch", type=int, help="batch size (0: the whole dataset)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--scalar", action="store_true", help="train the network of Scalars instead")
    parser.add_argument("--model", choices=["mlp", "cnn"], default="mlp", help="cnn: LeNet-style CNN on digits")
    parser.add_argument("--mnist", help="--model cnn: folder with MNIST's IDX files (else 8x8 digits)")
    parser.add_argument(
        "--mode",
        choices=["eager", "graph"],
        default="eager",
        help="graph: compile forward, backward and the SGD update into one graph",
    )
    parser.add_argument("--out", default="demo-output", help="folder for the graph SVG and the recording")
    parser.add_argument(
        "--step-through", action="store_true", help="end by stepping through the last training step in the terminal UI"
    )
    args = parser.parse_args(argv)
    defaults = DIGITS_DEFAULTS if args.dataset == "digits" and not args.scalar else DEFAULTS
    defaults = CNN_DEFAULTS if args.model == "cnn" and not args.scalar else defaults
    for key, value in {**DEFAULTS, **defaults}.items():
        if getattr(args, key, None) is None:
            setattr(args, key, value)
    return args


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
    return data.toy_dataset(args.dataset, args.points, seed=args.seed), None


def training_loader(train_set: data.TensorDataset, args: argparse.Namespace) -> data.DataLoader:
    """Shuffled batches (the whole set when --batch is 0); graph mode wants every batch full."""
    batch = args.batch or len(train_set)
    drop_last = args.mode == "graph" and batch < len(train_set)
    return data.DataLoader(
        train_set, batch_size=batch, shuffle=True, seed=args.seed, backend=args.backend, drop_last=drop_last
    )


def run_tensor_demo(args: argparse.Namespace, console: Console) -> None:
    train_set, test_set = datasets_for(args)
    classes = int(train_set.y.max()) + 1
    model = MLP([train_set.X.shape[1], args.hidden, args.hidden, classes], backend=args.backend, seed=args.seed)
    loader = training_loader(train_set, args)
    console.print(
        f"[bold]minitorch demo[/]: MLP {[train_set.X.shape[1], args.hidden, args.hidden, classes]} "
        f"learns '{args.dataset}' ({len(train_set)} examples) on the [bold]{args.backend}[/] backend, "
        f"[bold]{args.mode}[/] mode"
    )
    with progress_bar(console) as progress, profile() as prof:
        task = progress.add_task("train", total=args.epochs, loss=float("nan"), accuracy=0.0, per_epoch="-")

        def on_epoch(stats: EpochStats) -> None:
            progress.update(
                task,
                completed=stats.epoch,
                loss=stats.loss,
                accuracy=stats.accuracy,
                per_epoch=f"{stats.seconds * 1e3:.0f} ms",
            )

        if args.mode == "graph":
            history = train_compiled(model, loader, classes, args, on_epoch)
        else:
            optimizer = optim.Adam(model.parameters(), lr=args.lr)
            history = train(model, loader, nn.cross_entropy, optimizer, args.epochs, on_epoch=on_epoch)
    final = history[-1]
    train_accuracy = evaluate(model, train_set.X, train_set.y)
    console.print(f"[bold green]final training accuracy: {train_accuracy:.1%}[/] (last epoch loss {final.loss:.4f})")
    if test_set is not None:
        console.print(f"[bold green]test accuracy: {evaluate(model, test_set.X, test_set.y):.1%}[/]")
    show_predictions(model, test_set or train_set, args, console)
    console.print(prof.table(limit=10))
    recording = record_last_step(model, loader, args, console)
    if args.step_through:
        open_step_through(recording, console)


def one_hot_loss(logits: Tensor, targets: Tensor) -> Tensor:
    """Cross-entropy against one-hot targets: no reading of values, so it compiles into a graph."""
    return -(targets * nn.logsoftmax(logits, dim=1)).sum(1).mean()


def train_compiled(
    model: MLP, loader: data.DataLoader, classes: int, args: argparse.Namespace, on_epoch: Callable[[EpochStats], None]
) -> list[EpochStats]:
    """SGD where each step (forward, backward, update) is one compiled graph; reports the speed-up."""
    step = CompiledTrainStep(model, one_hot_loss, lr=args.lr * 10)  # SGD wants a larger step than Adam
    history = []
    for epoch in range(1, args.epochs + 1):
        start, losses = time.perf_counter(), []
        for X, y in loader:
            targets = tensor(np.eye(classes)[y.numpy().astype(int)], backend=args.backend)
            losses.append(step(X, targets))
        accuracy = evaluate(model, loader.dataset.X, loader.dataset.y)
        history.append(EpochStats(epoch, float(np.mean(losses)), accuracy, time.perf_counter() - start))
        on_epoch(history[-1])
    compare_modes(model, step, loader, classes, args)
    return history


def compare_modes(
    model: MLP, step: CompiledTrainStep, loader: data.DataLoader, classes: int, args: argparse.Namespace
) -> None:
    """Time the same training step eagerly and compiled, and print the ratio."""
    X, y = next(iter(loader))
    targets = tensor(np.eye(classes)[y.numpy().astype(int)], backend=args.backend)
    optimizer = optim.SGD(model.parameters(), lr=0.0)  # lr 0: time the work, keep the model

    def eager_step() -> None:
        loss = one_hot_loss(model(X), targets)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()

    def timed(fn: Callable[[], object], repeats: int = 10) -> float:
        fn()
        start = time.perf_counter()
        for _ in range(repeats):
            fn()
        return (time.perf_counter() - start) / repeats

    saved_lr, step.lr = step.lr, 0.0
    step.cache.clear()  # lr is baked into the graph: recompile with lr 0 for the timing
    eager, graph = timed(eager_step), timed(lambda: step(X, targets))
    step.lr = saved_lr
    Console().print(
        f"one training step: eager {eager * 1e3:.2f} ms, graph {graph * 1e3:.2f} ms "
        f"([bold]{eager / graph:.1f}×[/]); compiled {step.compile_count}×"
    )


def record_last_step(model: MLP, loader: data.DataLoader, args: argparse.Namespace, console: Console) -> Recording:
    """Record one more training step (forward + backward, no update); save it and its graph."""
    X, y = next(iter(loader))
    with record() as recording:
        loss = nn.cross_entropy(model(X), y)
        model.zero_grad()
        loss.backward()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
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
    graph = visualizer.render(recording, max_depth=2, title=f"last training step ({args.dataset})")
    try:
        path = visualizer.save(graph, out / "graph.svg")
        console.print(f"graph of the last step: {path}")
    except visualizer.GraphvizNotInstalled as err:
        console.print(f"[yellow]{err}[/]")
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
    console = Console()
    start = time.perf_counter()
    if args.scalar:
        run_scalar_demo(args, console)
    elif args.model == "cnn":
        run_cnn_demo(args, console)
    else:
        np.seterr(all="ignore")
        run_tensor_demo(args, console)
    console.print(f"done in {time.perf_counter() - start:.1f} s")
    return 0
