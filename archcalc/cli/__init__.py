"""Command line: ``archcalc MODEL [options]``, ``archcalc list``, and subcommands.

Thin by design: parse arguments, call the analysis or a subcommand, print. Every expected failure
prints one line ``archcalc: error: ...`` and exits 2; nothing half-written is left on disk.

One module per subcommand (``archcalc.cli.zoo_list``, ``.verify``, ``.compare``, ``.fit``, ``.spec``,
``.report_examples``; the model command is ``.model``), each exposing ``main(argv) -> int`` and
importing only :mod:`archcalc.cli.parser` from this package, never another subcommand's module.
"""

from __future__ import annotations

import gc
import importlib
import sys

from ..errors import ArchcalcError
from .parser import COMMANDS


def dispatch(argv) -> int:
    if argv and argv[0] in COMMANDS:
        module = importlib.import_module(f"{__name__}.{COMMANDS[argv[0]]}")
        return module.main(argv[1:])
    if argv and argv[0] in ("--version", "-V"):
        from .. import __version__

        print(f"archcalc {__version__}")
        return 0
    from .model import main as run_model

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
