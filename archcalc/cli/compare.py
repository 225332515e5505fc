"""``archcalc compare A B C [--format table|md|html|json] [-o PATH [--force]]``: totals side by side."""

from __future__ import annotations

from .parser import (MODEL_HELP, Parser, UsageError, add_output_args, check_output_args, emit, examples, nonempty,
                     output_format, terminal_columns)


def main(argv) -> int:
    from .. import dims

    p = Parser(prog="archcalc compare", description="Totals of several models side by side, with a "
               "MACs-vs-params scatter (html) and torchvision's published top-1 where available.",
               epilog=examples("archcalc compare vgg16 resnet50 mobilenet_v2",
                               "archcalc compare alexnet my_net.yaml --format md -o compare.md",
                               "archcalc compare vgg16 resnet50 --format html -o compare.html --force"))
    p.add_argument("models", nargs="+", metavar="MODEL", help=MODEL_HELP)
    p.add_argument("--input", type=nonempty("--input"),
                   help="one per-sample input shape for all (default: each model's own)")
    p.add_argument("--batch", default="1", help="batch size (default 1)")
    p.add_argument("--dtype", default="fp32", help="fp32, fp16, bf16, int8 or fp64 (default fp32)")
    add_output_args(p, ("table", "md", "html", "json"), "table")
    p.add_argument("--report", choices=["html", "md"], help="the same as --format html|md (kept for old scripts)")
    p.add_argument("--no-accuracy", action="store_true", help="do not look up torchvision's top-1")
    args = p.parse_args(argv)
    check_output_args(args)
    if args.report and args.format and args.report != args.format:
        raise UsageError("--report and --format disagree; give one")
    fmt = args.report or output_format(args)
    shape = dims.parse_shape(args.input) if args.input else None
    from ..report.comparison import compare
    from .parser import load_model

    batch = dims.coerce_dim(args.batch)
    results = [load_model(m, input=shape, batch=batch, dtype=args.dtype) for m in args.models]
    comparison = compare(results, accuracy=not args.no_accuracy)
    if fmt in ("md", "html"):
        from ..report import render_compare

        return emit(args, render_compare(comparison, fmt))
    if fmt == "json":
        return emit(args, _json(comparison))
    return emit(args, render_table(comparison, terminal_columns()))


_TABLE = (("model", "model"), ("params", "params"), ("macs", "MACs"), ("flops", "FLOPs"),
          ("activations", "activation memory"), ("rf", "RF"), ("layers", "layers"), ("top1_text", "top-1 %"))
_NUMBERS = {"params_value": "params", "macs_value": "macs", "flops_value": "flops",
            "activation_bytes_value": "activation_bytes"}


def render_table(comparison, width: int) -> str:
    """A plain aligned table in the fitted-terminal style: compact counts, exact ones in the JSON."""
    from ..renderers.terminal import Column, Row, View, render
    from ..text import compact, terminal_safe

    columns = [Column(key, head, key not in ("model",), 0 if key in ("model", "params", "macs") else i)
               for i, (key, head) in enumerate(_TABLE)]
    rows = []
    for r in comparison.rows:
        cells = {key: terminal_safe(str(r[key])) for key, _ in _TABLE}
        cells.update(params=compact(r["params_value"]), macs=compact(r["macs_value"]), flops=compact(r["flops_value"]))
        rows.append(Row(cells))
    notes = [terminal_safe(f"{r['model']}: {r['top1_note']}") for r in comparison.rows
             if r["top1_note"] and not r["top1_text"] and r["top1_note"] != "accuracy lookup off"]
    view = View([f"compare: {len(rows)} models"], columns, rows,
                [("counts", "compact units; exact integers with --format json or md")], notes,
                warnings_title="top-1 not shown")
    return render(view, width)


def _json(comparison) -> str:
    import json

    from ..dims import to_json

    out = []
    for r in comparison.rows:
        d = {k: v for k, v in r.items() if not k.endswith(("_value", "_short", "_text"))}
        for src, dst in _NUMBERS.items():
            d[dst] = to_json(r[src])
        out.append(d)
    return json.dumps(out, indent=2)
