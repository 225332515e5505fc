"""``archcalc compare A B C [--report html|md] [-o PATH] [--force]``: totals side by side."""

from __future__ import annotations

from .parser import Parser


def main(argv) -> int:
    from .. import dims
    from ..report import render_compare
    from ..report.cli import emit
    from ..report.comparison import compare

    p = Parser(prog="archcalc compare", description="Totals of several models side by side, with a "
               "MACs-vs-params scatter and torchvision's published top-1 where available.")
    p.add_argument("models", nargs="+", metavar="MODEL", help="zoo names (see 'archcalc list')")
    p.add_argument("--input", help="one per-sample input shape for all (default: each model's own)")
    p.add_argument("--batch", default="1", help="batch size (default 1)")
    p.add_argument("--dtype", default="fp32", help="fp32, fp16, bf16, int8 or fp64 (default fp32)")
    p.add_argument("--report", choices=["html", "md"], default="md", help="output format (default md)")
    p.add_argument("--no-accuracy", action="store_true", help="do not look up torchvision's top-1")
    p.add_argument("-o", "--output", metavar="PATH", help="write to PATH (default: stdout)")
    p.add_argument("--force", action="store_true", help="overwrite PATH if it exists")
    args = p.parse_args(argv)
    shape = dims.parse_shape(args.input) if args.input else None
    comparison = compare(args.models, input=shape, batch=dims.coerce_dim(args.batch), dtype=args.dtype,
                         accuracy=not args.no_accuracy)
    return emit(render_compare(comparison, args.report), args.output, args.force)
