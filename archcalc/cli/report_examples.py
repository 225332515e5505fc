"""``archcalc report-examples [--out DIR] [--check] [--force]``: regenerate (or check) the example reports."""

from __future__ import annotations

import sys

from .parser import Parser, UsageError, examples


def main(argv) -> int:
    from pathlib import Path

    from ..report import save
    from ..report.examples import default_dir, generate, stale

    p = Parser(prog="archcalc report-examples", description="Regenerate (or --check) the example reports. "
               "A file that exists and differs is replaced only with --force.",
               epilog=examples("archcalc report-examples --check", "archcalc report-examples --force",
                               "archcalc report-examples --out /tmp/reports"))
    p.add_argument("--out", "-o", "--output", dest="out", metavar="DIR",
                   help="directory (default: reports/ of this source checkout)")
    p.add_argument("--check", action="store_true", help="report stale files and exit 1; write nothing")
    p.add_argument("--force", action="store_true", help="replace example files that exist and differ")
    args = p.parse_args(argv)
    if args.out is not None and not args.out.strip():
        raise UsageError("--out is empty; give a directory")
    if args.out == "-":
        raise UsageError("--out is a directory of several files; '-' (standard output) cannot hold them")
    if args.check and args.force:
        raise UsageError("--check writes nothing; --force does not apply")
    directory = Path(args.out) if args.out else default_dir()
    if not args.check and directory.exists() and not directory.is_dir():
        raise UsageError(f"--out {str(directory)!r} is not a directory")
    reports = generate()
    if args.check:
        bad = stale(directory, reports)
        for name in bad:
            print(f"stale: {directory / name} (run: archcalc report-examples --force)", file=sys.stderr)
        return 1 if bad else 0
    directory.mkdir(parents=True, exist_ok=True)
    for name, text in reports.items():
        path = directory / name
        if path.is_file() and not path.is_symlink() and path.read_text(encoding="utf-8") == text:
            continue
        save(text, path, force=args.force)
        print(f"wrote {path}", file=sys.stderr)
    return 0
