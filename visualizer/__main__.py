"""Command line of the visual debugger.

python -m visualizer demo                 # one training step of a tiny tensor MLP
python -m visualizer open run.json        # a recording saved with rec.save(...)
python -m visualizer run [FLAGS] script.py [ARGS]  # record a script, then step through it
python -m visualizer open run.json --print   # the steps as text, no terminal UI
python -m visualizer open run.json --print --expand cross_entropy   # that group's own steps too
python -m visualizer compiled [SCRIPT] --print   # the compiler pass by pass

Visualizer flags go before the script; everything after the script is the script's.
"""

from __future__ import annotations

import argparse
import os
import runpy
import sys
import traceback
from pathlib import Path
from typing import Any, TextIO

import numpy as np

import minitorch
from minitorch import RecordingError
from visualizer.groups import collapse
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
    common.add_argument(
        "--expand",
        action="append",
        metavar="NAME",
        help="open this scope (module or composite op, e.g. cross_entropy or layers.0; 'all' opens every "
        "one): its own steps instead of one step (repeatable)",
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
    run.add_argument("--max-bytes", type=int, default=None, help="memory bound of the recording")
    run.add_argument("script", type=Path)
    run.add_argument("script_args", nargs=argparse.REMAINDER, help="arguments passed to the script")
    compiled = commands.add_parser("compiled", parents=[common], help="the compiler, pass by pass")
    compiled.add_argument("script", type=Path, nargs="?", help="a script that compiles (default: the demo)")
    compiled.add_argument("script_args", nargs=argparse.REMAINDER, help="arguments passed to the script")
    compiled.add_argument("--backend", choices=["simple", "fast", "cuda"], default="simple")
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


def script_recording(script: Path, script_args: list[str], max_bytes: int | None = None) -> minitorch.Recording:
    """Run `script` as __main__ (its argv set to `script_args`) and record everything it does.

    A script that raises keeps what was recorded up to then; `rec.error` holds the traceback.
    """
    saved_argv = sys.argv
    sys.argv = [str(script), *script_args]
    try:
        with minitorch.record(max_bytes=max_bytes) as rec:
            try:
                runpy.run_path(str(script), run_name="__main__")
            except SystemExit as stop:
                if stop.code not in (None, 0):
                    rec.error = f"SystemExit: {stop.code}"
            except Exception as err:  # the script's own error: shown, not raised
                rec.error = script_traceback(err, script)
    finally:
        sys.argv = saved_argv
    return rec


def script_traceback(err: BaseException, script: Path) -> str:
    """The traceback of `err` from the script's first frame on (not the visualizer's or runpy's)."""
    tb = err.__traceback__
    while tb is not None and Path(tb.tb_frame.f_code.co_filename) != script:
        tb = tb.tb_next
    return "".join(traceback.format_exception(type(err), err, tb or err.__traceback__))


def recording_for(args: argparse.Namespace) -> minitorch.Recording:
    """The recording a command asks for (RecordingError / FileNotFoundError on bad input)."""
    if args.command == "demo":
        np.seterr(all="ignore")
        return demo_recording(args.backend, args.seed)
    if args.command == "open":
        return minitorch.Recording.load(args.file)
    if not args.script.is_file():
        raise FileNotFoundError(f"{args.script}: no such script")
    return script_recording(args.script, args.script_args, args.max_bytes)


def model_for(args: argparse.Namespace) -> GraphModel:
    """The GraphModel of the recording a command asks for (its last iteration, if it has several)."""
    rec = recording_for(args)
    return GraphModel.from_recording(rec.iteration_recording(-1) if rec.iterations else rec)


def print_steps(model: GraphModel, out: TextIO, rec: minitorch.Recording | None = None) -> None:
    """Every step as the app would show it, then the kernel timings of the run (and the
    iterations, gradient health and the script's error, if any)."""
    for step in model.steps:
        print("\n".join(texts.step_report(model, step)), file=out)
    rows = texts.run_kernel_rows(texts.profile_of(model))
    if rows:
        print("── kernels, whole run", file=out)
        print("  " + " | ".join(texts.RUN_KERNEL_COLUMNS), file=out)
        for row in rows:
            print("  " + " | ".join(row), file=out)
    if rec is not None:
        for line in texts.recording_lines(rec):
            print(line, file=out)


def print_compiled(args: argparse.Namespace, out: TextIO) -> list[Any]:
    """The steps of the compiler for the demo's training step or each graph a script compiles."""
    from visualizer import compiler

    if args.script is None:
        graphs = [compiler.demo_train_step_graph()]
    else:
        if not args.script.is_file():
            raise FileNotFoundError(f"{args.script}: no such script")
        with compiler.capture_compiles() as graphs:
            script_recording(args.script, args.script_args)
    all_steps = [compiler.pass_steps(graph) for graph in graphs]
    if args.print_steps:
        for number, steps in enumerate(all_steps, 1):
            print(f"── compiled graph {number}/{len(all_steps)}", file=out)
            for line in compiler.pass_lines(steps):
                print(line, file=out)
    return all_steps


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        return run_command(args)
    except RecordingError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except ValueError as err:
        if not str(err).startswith("expand:"):
            raise
        print(f"error: --{err}", file=sys.stderr)  # a scope name that is not in the recording
        return 2
    except (FileNotFoundError, IsADirectoryError) as err:
        print(f"error: {err.filename or err}: no such file" if err.filename else f"error: {err}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # `... --print | head`: the reader left; end quietly
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())  # so the interpreter's final flush does not fail again
        return 0


def run_command(args: argparse.Namespace) -> int:
    """Run the command; 1 if a recorded script raised, else 0."""
    if args.command == "compiled":
        all_steps = print_compiled(args, sys.stdout)
        if not args.print_steps:
            from visualizer.tui.compiler_app import run_compiler_app

            run_compiler_app(all_steps, args.backend)
        return 0
    rec = recording_for(args)
    model = GraphModel.from_recording(rec.iteration_recording(-1) if rec.iterations else rec)
    expand = True if args.expand and "all" in args.expand else args.expand
    if args.print_steps:
        print_steps(collapse(model, expand), sys.stdout, rec)
        sys.stdout.flush()
    elif rec.iterations or rec.error:
        run_app(model, recording=rec, expand=expand)
    else:
        run_app(model, expand=expand)
    return 1 if rec.error else 0


if __name__ == "__main__":
    raise SystemExit(main())
