"""Command line: ``archcalc MODEL [options]``, ``archcalc list``, and subcommands.

Thin by design: parse arguments, call the analysis or a subcommand, print. Every expected failure
prints one line ``archcalc: error: ...`` and exits 2; nothing half-written is left on disk.
"""

from __future__ import annotations

import argparse
import gc
import importlib
import sys

from .errors import ArchcalcError

#: Subcommands: name -> "module:function" taking argv (list) and returning an exit code. Modules
#: are imported only when their command runs, so heavy dependencies stay lazy.
COMMANDS = {
    "list": "archcalc.cli:cmd_list",
    "verify": "archcalc.torch_bridge.verify:main",
    "compare": "archcalc.report.cli:cmd_compare",
    "report-examples": "archcalc.report.examples:main",
    "spec": "archcalc.spec:cmd_spec",
    "fit": "archcalc.memory_cli:cmd_fit",
}


class UsageError(ArchcalcError):
    pass


class Parser(argparse.ArgumentParser):
    """argparse that raises a one-line UsageError instead of printing usage and exiting."""

    def _get_formatter(self):
        # argparse's default width comes from shutil, whose import (bz2, lzma, zlib...) is a
        # measurable share of `archcalc vgg16`; the same rule without it: COLUMNS, else the terminal
        return self.formatter_class(prog=self.prog, width=_terminal_columns() - 2)

    def error(self, message):
        raise UsageError(f"{message} (see 'archcalc {self.prog.split()[-1]} --help')"
                         if " " in self.prog else f"{message} (see 'archcalc --help')")


def _terminal_columns() -> int:
    """shutil.get_terminal_size().columns without importing shutil."""
    import os

    try:
        columns = int(os.environ.get("COLUMNS", "0"))
    except ValueError:
        columns = 0
    if columns <= 0:
        try:
            columns = os.get_terminal_size(sys.__stdout__.fileno()).columns
        except (AttributeError, ValueError, OSError):
            columns = 0
    return columns or 80


def _model_parser() -> Parser:
    p = Parser(prog="archcalc", description="Exact static costs of a CNN: shapes, params, MACs/FLOPs, "
               "activation memory, receptive field. Subcommands: " + ", ".join(COMMANDS) + ".")
    p.add_argument("model", help="a zoo name (see 'archcalc list') or a network spec file (.yaml/.json)")
    p.add_argument("--input", help="per-sample input shape, e.g. 3x224x224 or 3xHxW (default: the model's)")
    p.add_argument("--batch", default="1", help="batch size, an integer or a name such as N (default 1)")
    p.add_argument("--dtype", default=None,
                   help="fp32, fp16, bf16, int8 or fp64 (default fp32; int8 for the quantized_* models)")
    p.add_argument("--format", default="table", choices=["table", "json", "csv", "md"])
    p.add_argument("--tally", action="store_true", help="also print the cs231n-style per-layer tally")
    p.add_argument("--freeze", action="append", default=[], metavar="PREFIX",
                   help="mark parameters of layers whose names start with PREFIX as non-trainable")
    p.add_argument("--convention", action="append", default=[], metavar="TOOL",
                   help="also print the count under a tool's convention: archcalc, fvcore, torchinfo, "
                        "flop_counter, ptflops, thop (repeatable; see 'archcalc verify')")
    p.add_argument("--num-classes", type=int, metavar="K",
                   help="replace the final classifier with one for K classes (transfer learning)")
    p.add_argument("--report", choices=["html", "md"],
                   help="a full report (HTML with charts, or Markdown) instead of --format")
    p.add_argument("-o", "--output", metavar="PATH", help="write the report to PATH (default: stdout)")
    p.add_argument("--force", action="store_true", help="overwrite PATH if it exists")
    p.add_argument("--memory", action="store_true",
                   help="print peak memory (liveness over the graph) instead of the cost table")
    p.add_argument("--train", action="store_true", help="with --memory: a training step's peak")
    p.add_argument("--optimizer", help="with --memory --train: sgd, sgd-momentum, adam or adamw (default sgd)")
    return p


def run_model(argv) -> int:
    from . import dims
    from .analysis import analyze
    from .format import RENDERERS

    args = _model_parser().parse_args(argv)
    shape = dims.parse_shape(args.input) if args.input else None
    batch = dims.coerce_dim(args.batch)
    if args.output and not args.report:
        raise UsageError("-o/--output needs --report html|md (see 'archcalc --help')")
    kwargs = {}
    if args.num_classes is not None:
        if args.num_classes < 1:
            raise UsageError(f"--num-classes must be >= 1, got {args.num_classes}")
        kwargs["num_classes"] = args.num_classes
    if _is_spec_arg(args.model):
        from .spec import analyze_file

        if kwargs:
            raise UsageError("--num-classes applies to zoo models; edit the spec file instead")
        result = analyze_file(args.model, input=shape, batch=batch, dtype=args.dtype, freeze=args.freeze)
    else:
        result = analyze(args.model, input=shape, batch=batch, dtype=args.dtype, freeze=args.freeze, **kwargs)
    if args.report:
        from .report.cli import emit_report

        return emit_report(result, args)
    if args.memory or args.train or args.optimizer:
        from .memory_cli import run_memory

        sys.stdout.write(run_memory(args, result))
        return 0
    text = RENDERERS[args.format](result)
    if args.tally:
        from .tally import cs231n_tally

        text += "\n" + "\n".join(cs231n_tally(result).lines()) + "\n"
    if args.convention:
        from .conventions import convention_lines

        text += "\n" + "\n".join(convention_lines(result, args.convention)) + "\n"
    sys.stdout.write(text if text.endswith("\n") else text + "\n")
    return 0


def _is_spec_arg(model: str) -> bool:
    """A spec file: a .yaml/.yml/.json name, a path, or an existing file that is not a zoo name."""
    import os

    if model.lower().endswith((".yaml", ".yml", ".json")) or "/" in model or os.sep in model:
        return True
    if os.path.isfile(model):
        from .zoo import names

        return model.strip().lower() not in names()
    return False


def cmd_list(argv) -> int:
    from .zoo_report import cmd_list as list_zoo  # formats symbolic counts; md/json/-o

    return list_zoo(argv)


def dispatch(argv) -> int:
    if argv and argv[0] in COMMANDS:
        mod, fn = COMMANDS[argv[0]].split(":")
        return getattr(importlib.import_module(mod), fn)(argv[1:])
    if argv and argv[0] in ("--version", "-V"):
        from . import __version__

        print(f"archcalc {__version__}")
        return 0
    return run_model(argv)


def _one_line(text: str) -> str:
    """Escape line breaks and control characters that user text may carry into a message."""
    return text if text.isprintable() else "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    try:
        return dispatch(argv)
    except ArchcalcError as e:
        print(f"archcalc: error: {_one_line(str(e))}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("archcalc: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0


def entry() -> None:
    """The ``archcalc`` command (console script and ``python -m archcalc``): :func:`main`, then exit.

    The process ends right after, and the interpreter's shutdown would first run a full garbage
    collection over every object still alive: once a symbolic count has been printed that includes
    sympy's ~45,000 objects, about 0.07 s, more than a whole ``archcalc vgg16``. Nothing is left
    for it to find (files are closed, atexit handlers still run), so the survivors are frozen out
    of that last sweep. :func:`main` itself stays free of process-wide effects for in-process callers.
    """
    code = main()
    gc.freeze()
    sys.exit(code)


if __name__ == "__main__":
    entry()
