"""``archcalc report-examples [--out DIR] [--check]``: regenerate (or check) the example reports."""

from __future__ import annotations

import sys

from .parser import Parser


def main(argv) -> int:
    from pathlib import Path

    from ..report import save
    from ..report.examples import default_dir, generate, stale

    p = Parser(prog="archcalc report-examples", description="Regenerate (or --check) the example reports.")
    p.add_argument("--out", help="directory (default: reports/ of this source checkout)")
    p.add_argument("--check", action="store_true", help="report stale files and exit 1; write nothing")
    args = p.parse_args(argv)
    directory = Path(args.out) if args.out else default_dir()
    reports = generate()
    if args.check:
        bad = stale(directory, reports)
        for name in bad:
            print(f"stale: {directory / name} (run: python -m archcalc.report.examples)", file=sys.stderr)
        return 1 if bad else 0
    directory.mkdir(parents=True, exist_ok=True)
    for name, text in reports.items():
        path = directory / name
        if path.is_file() and path.read_text(encoding="utf-8") == text:
            continue
        save(text, path, force=True)
        print(f"wrote {path}", file=sys.stderr)
    return 0
