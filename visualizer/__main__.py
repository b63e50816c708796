"""Command line of the visual debugger.

python -m visualizer demo                 # one training step of a tiny tensor MLP
python -m visualizer open run.json        # a recording saved with rec.save(...)
python -m visualizer run script.py [ARGS] # record a script, then step through it
python -m visualizer open run.json --print   # the steps as text, no terminal UI
"""

from __future__ import annotations

import argparse
import os
import runpy
import sys
from pathlib import Path
from typing import TextIO

import numpy as np

import minitorch
from minitorch import RecordingError
from visualizer.model import GraphModel
from visualizer.tui import run_app, texts


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--print",
        "--no-tui",
        dest="print_steps",
        action="store_true",
        help="write every step as text to stdout instead of opening the app",
    )
    parser = argparse.ArgumentParser(
        prog="python -m visualizer", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    commands = parser.add_subparsers(dest="command", required=True)
    demo = commands.add_parser("demo", parents=[common], help="one training step of a tiny tensor MLP")
    demo.add_argument("--backend", choices=["simple", "fast", "cuda"], default="simple")
    demo.add_argument("--seed", type=int, default=0)
    opened = commands.add_parser("open", parents=[common], help="a recording saved with Recording.save")
    opened.add_argument("file", type=Path)
    run = commands.add_parser("run", parents=[common], help="run a script under minitorch.record()")
    run.add_argument("script", type=Path)
    run.add_argument("script_args", nargs=argparse.REMAINDER, help="arguments passed to the script")
    return parser.parse_args(argv)


def demo_recording(backend: str = "simple", seed: int = 0) -> minitorch.Recording:
    """One training step (forward, loss, backward) of an MLP [2, 4, 2] on 8 'xor' points."""
    from minitorch import nn, optim
    from minitorch.nn import MLP

    train_set = minitorch.data.toy_dataset("xor", 8, seed=seed)
    model = MLP([2, 4, 2], backend=backend, seed=seed)
    optimizer = optim.SGD(model.parameters(), lr=0.1)
    X = minitorch.tensor(train_set.X, backend=backend)
    y = minitorch.tensor(train_set.y, backend=backend)
    with minitorch.record() as rec:  # kernel launches are recorded too, with their seconds
        loss = nn.cross_entropy(model(X), y)
        optimizer.zero_grad()
        loss.backward()
    optimizer.step()  # outside the recording: the update is not part of the graph
    return rec


def script_recording(script: Path, script_args: list[str]) -> minitorch.Recording:
    """Run `script` as __main__ (its argv set to `script_args`) and record everything it does."""
    saved_argv = sys.argv
    sys.argv = [str(script), *script_args]
    try:
        with minitorch.record() as rec:
            try:
                runpy.run_path(str(script), run_name="__main__")
            except SystemExit as stop:
                if stop.code not in (None, 0):
                    raise
    finally:
        sys.argv = saved_argv
    return rec


def model_for(args: argparse.Namespace) -> GraphModel:
    """The GraphModel a command asks for (RecordingError / FileNotFoundError on bad input)."""
    if args.command == "demo":
        np.seterr(all="ignore")
        return GraphModel.from_recording(demo_recording(args.backend, args.seed))
    if args.command == "open":
        return GraphModel.from_recording(minitorch.Recording.load(args.file))
    if not args.script.is_file():
        raise FileNotFoundError(f"{args.script}: no such script")
    return GraphModel.from_recording(script_recording(args.script, args.script_args))


def print_steps(model: GraphModel, out: TextIO) -> None:
    """Every step as the app would show it, then the kernel timings of the run."""
    for step in model.steps:
        print("\n".join(texts.step_report(model, step)), file=out)
    rows = texts.run_kernel_rows(texts.profile_of(model))
    if rows:
        print("── kernels, whole run", file=out)
        print("  " + " | ".join(texts.RUN_KERNEL_COLUMNS), file=out)
        for row in rows:
            print("  " + " | ".join(row), file=out)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        model = model_for(args)
    except RecordingError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except (FileNotFoundError, IsADirectoryError) as err:
        print(f"error: {err.filename or err}: no such file" if err.filename else f"error: {err}", file=sys.stderr)
        return 2
    if args.print_steps:
        try:
            print_steps(model, sys.stdout)
        except BrokenPipeError:  # piped into `head`, which stopped reading: end quietly
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    else:
        run_app(model)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
