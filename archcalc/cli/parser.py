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
    "sweep": "sweep",
}


class UsageError(ArchcalcError):
    pass


class Parser(argparse.ArgumentParser):
    """argparse that raises a one-line UsageError instead of printing usage and exiting."""

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

    if model.lower().endswith((".yaml", ".yml", ".json")) or "/" in model or os.sep in model:
        return True
    if os.path.isfile(model):
        from ..zoo import names

        return model.strip().lower() not in names()
    return False
