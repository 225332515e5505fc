"""Command line: ``archcalc MODEL [options]``, ``archcalc list``, and subcommands.

Thin by design: parse arguments, call the analysis or a subcommand, print. Every expected failure
prints one line ``archcalc: error: ...`` and exits 2; nothing half-written is left on disk.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from .errors import ArchcalcError

#: Subcommands: name -> "module:function" taking argv (list) and returning an exit code. Modules
#: are imported only when their command runs, so heavy dependencies stay lazy.
COMMANDS = {
    "list": "archcalc.cli:cmd_list",
    "spec": "archcalc.spec:cmd_spec",
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
    p.add_argument("--dtype", default="fp32", help="fp32, fp16, bf16, int8 or fp64 (default fp32)")
    p.add_argument("--format", default="table", choices=["table", "json", "csv", "md"])
    p.add_argument("--tally", action="store_true", help="also print the cs231n-style per-layer tally")
    p.add_argument("--freeze", action="append", default=[], metavar="PREFIX",
                   help="mark parameters of layers whose names start with PREFIX as non-trainable")
    return p


def run_model(argv) -> int:
    from . import dims
    from .analysis import analyze
    from .format import RENDERERS

    args = _model_parser().parse_args(argv)
    shape = dims.parse_shape(args.input) if args.input else None
    batch = dims.coerce_dim(args.batch)
    if _is_spec_arg(args.model):
        from .spec import analyze_file

        result = analyze_file(args.model, input=shape, batch=batch, dtype=args.dtype, freeze=args.freeze)
    else:
        result = analyze(args.model, input=shape, batch=batch, dtype=args.dtype, freeze=args.freeze)
    text = RENDERERS[args.format](result)
    if args.tally:
        from .tally import cs231n_tally

        text += "\n" + "\n".join(cs231n_tally(result).lines()) + "\n"
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
    from .zoo import entries

    p = Parser(prog="archcalc list", description="List the zoo.")
    p.add_argument("--format", default="table", choices=["table", "json"])
    p.add_argument("--no-costs", action="store_true", help="skip computing params/MACs for each entry")
    args = p.parse_args(argv)
    rows = []
    for e in entries():
        params = macs = None
        if not args.no_costs:
            from .analysis import analyze

            t = analyze(e.name).totals
            params, macs = t["params"], t["macs"]
        rows.append({"name": e.name, "family": e.family, "variant": e.variant, "input": list(e.input_shape),
                     "params": params, "macs": macs, "source": e.source})
    if args.format == "json":
        import json

        print(json.dumps(rows, indent=2))
        return 0
    cols = ["name", "family", "params", "macs", "variant", "source"]

    def cell(r, c):
        v = r[c]
        return f"{v:,}" if isinstance(v, int) else ("" if v is None else str(v))

    widths = {c: max(len(c), *(len(cell(r, c)) for r in rows)) for c in cols[:-1]}
    print("  ".join(c.ljust(widths[c]) if c in widths else c for c in cols))
    for r in rows:
        print("  ".join(cell(r, c).rjust(widths[c]) if c in ("params", "macs") else
                        cell(r, c).ljust(widths[c]) if c in widths else cell(r, c) for c in cols))
    return 0


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


if __name__ == "__main__":
    sys.exit(main())
