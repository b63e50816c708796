"""The main demo: train a small classifier on a toy dataset and report.

    python -m minitorch.demo --dataset xor --epochs 150
"""

from __future__ import annotations

import argparse
import time

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from .datasets import DATASETS
from .scalar_nn import EpochStats, ScalarTrainer


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m minitorch.demo", description=__doc__)
    parser.add_argument("--dataset", choices=sorted(DATASETS), default="xor")
    parser.add_argument("--points", type=int, default=40)
    parser.add_argument("--epochs", type=int, default=150)
    parser.add_argument("--hidden", type=int, default=6)
    parser.add_argument("--lr", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=1)
    return parser.parse_args(argv)


def train_with_progress(args: argparse.Namespace, console: Console) -> ScalarTrainer:
    data = DATASETS[args.dataset](args.points, seed=args.seed)
    trainer = ScalarTrainer(hidden=args.hidden, learning_rate=args.lr, seed=args.seed)
    columns = [
        TextColumn("[bold]epoch {task.completed}/{task.total}"),
        BarColumn(),
        TextColumn("loss {task.fields[loss]:.4f}  accuracy {task.fields[accuracy]:.1%}"),
        TimeElapsedColumn(),
    ]
    with Progress(*columns, console=console, transient=False) as progress:
        task = progress.add_task("train", total=args.epochs, loss=float("nan"), accuracy=0.0)

        def on_epoch(stats: EpochStats) -> None:
            progress.update(task, completed=stats.epoch, loss=stats.loss, accuracy=stats.accuracy)

        trainer.train(data, args.epochs, on_epoch=on_epoch)
    return trainer


def report(trainer: ScalarTrainer, args: argparse.Namespace, console: Console) -> None:
    final = trainer.history[-1]
    console.print(f"[bold green]final training accuracy: {final.accuracy:.1%}[/] "
                  f"({final.correct}/{final.total}), loss {final.loss:.4f}")
    data = DATASETS[args.dataset](args.points, seed=args.seed)
    table = Table(title="a few predictions")
    for column in ("x0", "x1", "label", "P(label=1)", "predicted"):
        table.add_column(column, justify="right")
    for point, label in list(zip(data.X, data.y))[:6]:
        prob = trainer.predict(point)
        table.add_row(f"{point[0]:.2f}", f"{point[1]:.2f}", str(label), f"{prob:.3f}",
                      "✓" if (prob > 0.5) == (label == 1) else "✗")
    console.print(table)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    console = Console()
    console.print(f"[bold]minitorch demo[/]: a scalar network ({args.hidden} hidden units) "
                  f"learns the '{args.dataset}' dataset ({args.points} points)")
    start = time.perf_counter()
    trainer = train_with_progress(args, console)
    report(trainer, args, console)
    console.print(f"trained in {time.perf_counter() - start:.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
