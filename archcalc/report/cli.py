"""The report side of the command line: ``archcalc MODEL --report html|md [-o PATH] [--force]`` and
the output of ``archcalc compare`` (parsed in archcalc.cli.compare)."""

from __future__ import annotations

import sys

from . import render_report, save


def emit(text: str, output, force: bool) -> int:
    if output:
        path = save(text, output, force=force)
        print(f"archcalc: wrote {path}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 0


def emit_report(result, args) -> int:
    tally = True if getattr(args, "tally", False) else None
    return emit(render_report(result, args.report, tally=tally), args.output, args.force)
