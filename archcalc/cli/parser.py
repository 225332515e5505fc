"""The argument parser every subcommand builds on, and the argument helpers they share.

Imports nothing from the subcommand modules (they import this), so the package has no cycle.
"""

from __future__ import annotations

import argparse
import sys

from ..errors import ArchcalcError

#: Subcommands: name -> module under archcalc.cli whose ``main(argv)`` returns an exit code. Modules
#: are imported only when their command runs, so heavy dependencies stay lazy.
COMMANDS = {
    "list": "zoo_list",  # not "list": a submodule becomes a package attribute and would shadow the builtin
    "verify": "verify",
    "compare": "compare",
    "report-examples": "report_examples",
    "spec": "spec",
    "fit": "fit",
    "layer": "layer",
    "sweep": "sweep",
}


class UsageError(ArchcalcError):
    pass


class ExamplesFormatter(argparse.HelpFormatter):
    """argparse's help, except that an ``examples:`` epilog keeps its lines as written."""

    def _fill_text(self, text, width, indent):
        if text.startswith("examples:"):
            return "".join(indent + line for line in text.splitlines(keepends=True))
        return super()._fill_text(text, width, indent)


class Parser(argparse.ArgumentParser):
    """argparse that raises a one-line UsageError instead of printing usage and exiting."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("formatter_class", ExamplesFormatter)
        super().__init__(*args, **kwargs)

    def _get_formatter(self):
        # argparse's default width comes from shutil, whose import (bz2, lzma, zlib...) is a
        # measurable share of `archcalc vgg16`; the same rule without it: COLUMNS, else the terminal
        return self.formatter_class(prog=self.prog, width=terminal_columns() - 2)

    def error(self, message):
        raise UsageError(f"{message} (see 'archcalc {self.prog.split()[-1]} --help')"
                         if " " in self.prog else f"{message} (see 'archcalc --help')")


def terminal_columns() -> int:
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


def is_spec_arg(model: str) -> bool:
    """A spec file: a .yaml/.yml/.json name, a path, or an existing file that is not a zoo name."""
    import os

    if model == "-":  # a spec on standard input (read bounded by archcalc.spec)
        return True
    if model.lower().endswith((".yaml", ".yml", ".json")) or "/" in model or os.sep in model:
        return True
    if os.path.isfile(model):
        from ..zoo import names

        return model.strip().lower() not in names()
    return False


# ------------------------------------------------------------------------------ shared grammar

DTYPE_HELP = "fp32, fp16, bf16, int8 or fp64 (default: the model's own, fp32 except int8 for the quantized_* aliases)"
MODEL_HELP = ("a zoo name (see 'archcalc list'), a network spec file (.yaml/.json), or, with the torch "
              "extra, module.path:factory (a function returning an nn.Module; needs --input)")
_FACTORY = None  # compiled lazily: module.path:factory


def examples(*lines: str) -> str:
    """An ``--help`` epilog listing example command lines."""
    return "examples:\n" + "\n".join(f"  {line}" for line in lines)


def add_output_args(p: Parser, formats, default: str) -> None:
    """``--format``, ``-o/--output`` and ``--force``, the same on every command that writes."""
    p.add_argument("--format", choices=list(formats), default=None,
                   help=f"output format: {', '.join(formats)} (default {default})")
    p.add_argument("-o", "--output", metavar="PATH",
                   help="write to PATH atomically ('-' = standard output, the default); an existing file "
                        "only with --force")
    p.add_argument("--force", action="store_true", help="overwrite PATH if it exists (through a symlink too)")
    p.set_defaults(_default_format=default)


def output_format(args) -> str:
    return args.format or args._default_format


def check_output_args(args) -> None:
    if args.output is not None and args.output == "":
        raise UsageError("-o/--output is empty; give a file name, or '-' for standard output")
    if args.force and args.output in (None, "-"):
        raise UsageError("--force needs -o/--output PATH (there is no file to overwrite)")


def emit(args, text, make_dirs: bool = False) -> int:
    """Print ``text`` or write it to ``-o PATH`` (atomically, refusing to clobber without --force).
    ``text`` may be an iterable of strings (a streamed document); it then ends with a newline too."""
    from .._io import write_output

    if not isinstance(text, str):
        import itertools

        text = itertools.chain(text, ("\n",))
    elif text and not text.endswith("\n"):
        text += "\n"
    path = write_output(args.output or "-", text, force=args.force, make_dirs=make_dirs)
    if path is not None:
        print(f"archcalc: wrote {path}", file=sys.stderr)
    return 0


def nonempty(flag: str):
    """An argparse type that refuses an empty or blank value (``--input ''``)."""
    def check(text: str) -> str:
        if not text.strip():
            raise argparse.ArgumentTypeError(f"{flag} must not be empty")
        return text

    check.__name__ = flag.lstrip("-")
    return check


def load_model(arg: str, input=None, batch=1, dtype="fp32", freeze=(), allow_partial=False, **build_kwargs):
    """A Result for a zoo name, a spec file or ``module.path:factory``: one rule for every command."""
    import re

    from ..analysis import analyze

    global _FACTORY
    if not arg or not arg.strip():
        raise UsageError("the model name is empty; see 'archcalc list'")
    if is_spec_arg(arg):
        from ..spec import analyze_file

        if build_kwargs:
            raise UsageError(f"{', '.join('--' + k.replace('_', '-') for k in build_kwargs)} applies to zoo "
                             f"models; edit the spec file instead")
        return analyze_file(arg, input=input, batch=batch, dtype=dtype, freeze=freeze)
    if _FACTORY is None:
        _FACTORY = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*:[A-Za-z_][A-Za-z0-9_]*", re.ASCII)
    if ":" in arg:
        if not _FACTORY.fullmatch(arg):
            raise UsageError(f"{arg!r} is not a zoo name, a spec file or module.path:factory")
        if build_kwargs:
            raise UsageError("--num-classes applies to zoo models; pass it to your factory instead")
        if input is None:
            raise UsageError(f"{arg}: a torch module needs --input (per-sample shape, e.g. 3x224x224)")
        return analyze(_from_factory(arg, input, allow_partial), batch=batch, dtype=dtype, freeze=freeze,
                       model_name=arg)
    if allow_partial:
        raise UsageError("--allow-partial applies to module.path:factory (a torch module) only")
    return analyze(arg, input=input, batch=batch, dtype=dtype, freeze=freeze, **build_kwargs)


def _from_factory(arg: str, input_shape, allow_partial=False):
    """Import ``module.path``, call ``factory()`` and trace the module statically (meta device, no weights)."""
    import importlib

    module_name, factory_name = arg.split(":")
    try:
        import torch
    except ImportError:
        raise UsageError(f"{arg}: module.path:factory needs the torch extra (pip install 'archcalc[torch]')") from None
    try:
        module = importlib.import_module(module_name)
    except ImportError as e:
        raise UsageError(f"{arg}: cannot import {module_name!r}: {e}") from None
    factory = getattr(module, factory_name, None)
    if not callable(factory):
        raise UsageError(f"{arg}: {module_name} has no callable {factory_name!r}")
    try:
        module = factory()
    except Exception as e:  # the user's own code: say where it failed, in one line
        raise UsageError(f"{arg}: calling {factory_name}() raised {type(e).__name__}: {e}") from None
    if not isinstance(module, torch.nn.Module):
        raise UsageError(f"{arg}: {factory_name}() returned {type(module).__name__}, not a torch.nn.Module")
    from ..torch_bridge import from_torch

    return from_torch(module, input_shape, name=arg, allow_partial=allow_partial)
