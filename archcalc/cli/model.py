"""``archcalc MODEL [options]``: the cost table of one model (or its report, memory, tally)."""

from __future__ import annotations

import sys

from .parser import COMMANDS, Parser, UsageError, is_spec_arg


def build_parser() -> Parser:
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
    p.add_argument("--valid", action="store_true",
                   help="with a symbolic --input (3xHxW): the input sizes the model is valid for (the "
                        "congruences its branch joins need, and the smallest valid sizes)")
    return p


def main(argv) -> int:
    from .. import dims
    from ..analysis import analyze
    from ..format import RENDERERS

    args = build_parser().parse_args(argv)
    shape = dims.parse_shape(args.input) if args.input else None
    batch = dims.coerce_dim(args.batch)
    if args.output and not args.report:
        raise UsageError("-o/--output needs --report html|md (see 'archcalc --help')")
    kwargs = {}
    if args.num_classes is not None:
        if args.num_classes < 1:
            raise UsageError(f"--num-classes must be >= 1, got {args.num_classes}")
        kwargs["num_classes"] = args.num_classes
    if is_spec_arg(args.model):
        from ..spec import analyze_file

        if kwargs:
            raise UsageError("--num-classes applies to zoo models; edit the spec file instead")
        result = analyze_file(args.model, input=shape, batch=batch, dtype=args.dtype, freeze=args.freeze)
    else:
        result = analyze(args.model, input=shape, batch=batch, dtype=args.dtype, freeze=args.freeze, **kwargs)
    if args.valid:
        from ..formula import validity

        sys.stdout.write("\n".join(validity(result).lines()) + "\n")
        return 0
    if args.report:
        from ..report.cli import emit_report

        return emit_report(result, args)
    if args.memory or args.train or args.optimizer:
        from ..memory_cli import run_memory

        sys.stdout.write(run_memory(args, result))
        return 0
    text = RENDERERS[args.format](result)
    if args.tally:
        from ..tally import cs231n_tally

        text += "\n" + "\n".join(cs231n_tally(result).lines()) + "\n"
    if args.convention:
        from ..conventions import convention_lines

        text += "\n" + "\n".join(convention_lines(result, args.convention)) + "\n"
    sys.stdout.write(text if text.endswith("\n") else text + "\n")
    return 0
