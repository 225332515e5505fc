"""``archcalc MODEL [options]``: the cost table of one model (or its tree, report, memory, tally)."""

from __future__ import annotations

import sys

from .parser import (COMMANDS, DTYPE_HELP, MODEL_HELP, Parser, UsageError, add_output_args, check_output_args, emit,
                     examples, load_model, nonempty, output_format, terminal_columns)

FORMATS = ("table", "json", "csv", "md")


def build_parser() -> Parser:
    p = Parser(prog="archcalc", description="Exact static costs of a CNN: shapes, params, MACs/FLOPs, "
               "activation memory, receptive field. Subcommands: " + ", ".join(COMMANDS) + ".",
               epilog=examples("archcalc vgg16", "archcalc resnet50 --depth 2", "archcalc resnet50 --exact",
                               "archcalc my_net.yaml --input 3xHxW", "archcalc vgg16 --format json -o vgg16.json",
                               "archcalc vgg16 --report html -o vgg16.html --force",
                               "archcalc resnet50 --memory --train --optimizer adam",
                               "archcalc layer conv --input 3x227x227 --out 96 --kernel 11 --stride 4"))
    p.add_argument("model", help=MODEL_HELP)
    p.add_argument("--input", type=nonempty("--input"),
                   help="per-sample input shape, e.g. 3x224x224 or 3xHxW (default: the model's)")
    p.add_argument("--batch", default="1", help="batch size, an integer or a name such as N (default 1)")
    p.add_argument("--dtype", default=None, help=DTYPE_HELP)
    add_output_args(p, FORMATS, "table")
    p.add_argument("--depth", type=_depth, metavar="N",
                   help="the module tree to N levels of dotted names, with subtotals (0: totals only)")
    p.add_argument("--exact", action="store_true", help="full integers instead of compact units (table)")
    p.add_argument("--color", choices=["auto", "always", "never"], default="auto",
                   help="colour the table: auto = only on a terminal, and never when NO_COLOR is set")
    p.add_argument("--tally", action="store_true", help="also give the cs231n-style per-layer tally")
    p.add_argument("--freeze", action="append", default=[], metavar="PREFIX", type=nonempty("--freeze"),
                   help="mark parameters of layers whose names start with PREFIX as non-trainable")
    p.add_argument("--convention", action="append", default=[], metavar="TOOL",
                   help="also give the count under a tool's convention: archcalc, fvcore, torchinfo, "
                        "flop_counter, ptflops, thop (repeatable; see 'archcalc verify')")
    p.add_argument("--allow-partial", action="store_true",
                   help="module.path:factory only: import ops archcalc has no rule for as uncounted (listed, "
                        "never counted as 0) instead of refusing the model")
    p.add_argument("--num-classes", type=int, metavar="K",
                   help="replace the final classifier with one for K classes (transfer learning)")
    p.add_argument("--report", choices=["html", "md"],
                   help="a full report (HTML with charts, or Markdown) instead of --format")
    p.add_argument("--memory", action="store_true",
                   help="print peak memory (liveness over the graph) instead of the cost table")
    p.add_argument("--train", action="store_true", help="with --memory: a training step's peak")
    p.add_argument("--optimizer", help="with --memory --train: sgd, sgd-momentum, adam or adamw (default sgd)")
    p.add_argument("--set", action="append", default=[], metavar="NAME=N", type=_assignment,
                   help="give a symbolic size a value after the analysis, e.g. --set R=1000 for a detector's "
                        "proposals (repeatable; 'archcalc MODEL' lists the symbols in its totals)")
    p.add_argument("--valid", action="store_true",
                   help="with a symbolic --input (3xHxW): the input sizes the model is valid for (the "
                        "congruences its branch joins need, and the smallest valid sizes)")
    from ..memory_cli import add_memory_flags

    add_memory_flags(p)  # the allocator figure's flags (--backend, --threads)
    return p


def _depth(text: str) -> int:
    import argparse

    if not text.isascii() or not text.isdigit() or len(text) > 3:
        raise argparse.ArgumentTypeError(f"--depth must be a whole number 0-999, got {text!r}")
    return int(text)


def _assignment(text: str) -> tuple:
    """``--set R=1000``: a name and a positive integer (never evaluated; the value must be digits)."""
    import argparse

    name, sep, value = text.partition("=")
    name, value = name.strip(), value.strip()
    if not sep or not name.isidentifier() or not name.isascii() or len(name) > 64:
        raise argparse.ArgumentTypeError(f"--set takes NAME=N such as R=1000, got {text[:40]!r}")
    if not (value.isascii() and value.isdigit()) or len(value) > 18 or int(value) < 1:
        raise argparse.ArgumentTypeError(f"--set {name}= needs a positive whole number, got {value[:40]!r}")
    return name, int(value)


def check_conflicts(args) -> None:
    """Flags that would be ignored are refused instead (issue 12 item 10)."""
    fmt = args.format
    if args.optimizer and not args.train:
        raise UsageError("--optimizer needs --train (an optimizer only matters for a training step)")
    memory = args.memory or args.train
    if memory:
        if fmt not in (None, "table", "json"):
            raise UsageError(f"--memory gives a table or JSON, not --format {fmt}")
        for flag, on in (("--report", args.report), ("--tally", args.tally), ("--convention", args.convention),
                         ("--depth", args.depth is not None), ("--exact", args.exact)):
            if on:
                raise UsageError(f"{flag} cannot be combined with --memory/--train")
    if args.report:
        if fmt is not None:
            raise UsageError("--report and --format are two ways to choose the output; give one")
        for flag, on in (("--convention", args.convention), ("--depth", args.depth is not None),
                         ("--exact", args.exact)):
            if on:
                raise UsageError(f"{flag} does not apply to --report {args.report}")
    elif fmt not in (None, "table"):
        for flag, on in (("--depth", args.depth is not None), ("--exact", args.exact)):
            if on:
                raise UsageError(f"{flag} applies to the table; --format {fmt} always gives every layer exactly")
        if fmt == "csv" and (args.tally or args.convention):
            raise UsageError("--format csv holds one table of layers; --tally/--convention do not fit in it "
                             "(use --format json, which carries them inside the document)")
    if args.color != "auto" and (fmt not in (None, "table") or args.report or memory):
        raise UsageError("--color applies to the table")
    if args.set and args.valid:
        raise UsageError("--valid asks which sizes are valid for symbols that --set would remove; give one")
    names = [n for n, _ in args.set]
    if len(set(names)) != len(names):
        raise UsageError(f"--set gives {sorted(n for n in set(names) if names.count(n) > 1)[0]} twice")


def main(argv) -> int:
    from .. import dims

    args = build_parser().parse_args(argv)
    check_output_args(args)
    check_conflicts(args)
    shape = dims.parse_shape(args.input) if args.input else None
    batch = dims.coerce_dim(args.batch)
    kwargs = {}
    if args.num_classes is not None:
        if args.num_classes < 1:
            raise UsageError(f"--num-classes must be >= 1, got {args.num_classes}")
        kwargs["num_classes"] = args.num_classes
    if args.allow_partial:
        kwargs["allow_partial"] = True
    result = load_model(args.model, input=shape, batch=batch, dtype=args.dtype, freeze=args.freeze, **kwargs)
    if args.set:
        result = result.substitute(**dict(args.set))  # refuses a name the result does not have
    if args.valid:
        from ..formula import validity

        v = validity(result)
        if output_format(args) == "json":
            import json

            return emit(args, json.dumps(v.to_dict(), indent=2))
        return emit(args, "\n".join(v.lines()))
    if args.report:
        from ..report import render_report

        return emit(args, render_report(result, args.report, tally=True if args.tally else None))
    if args.memory or args.train:
        from ..memory_cli import run_memory

        return emit(args, run_memory(args, result, terminal_columns()))
    fmt = output_format(args)
    if fmt == "table":
        text = _table(result, args) + _uncounted_text(result) + _tracer_text(result)
    elif fmt == "json":
        text = _json(result, args)
    elif fmt == "md":
        from ..format import render_markdown

        text = render_markdown(result) + _extras_text(result, args, fenced=True)
    else:
        from ..format import render_csv

        text = render_csv(result)
    return emit(args, text)


def _uncounted_text(result) -> str:
    """``--allow-partial``: the ops left out of every total, by name, count and place."""
    rows = result.totals.get("uncounted") or []
    if not rows:
        return ""
    from ..renderers.terminal import _wrap

    width = terminal_columns()
    lines = [""] + _wrap("NOT COUNTED (no archcalc rule; every total above is missing their cost):", width, indent=2)
    for u in rows:
        where = ", ".join(u["where"][:5]) + (", ..." if len(u["where"]) > 5 else "")
        lines += ["  " + piece for piece in _wrap(f"{u['op']} x{u['count']}: {where}", width - 2, indent=4)]
    return "\n".join(lines) + "\n"


def _tracer_text(result) -> str:
    """A module imported with ``from_torch``: which tracer read it (the fallback's concrete sizes,
    the detectors' capacity convention), wrapped to the terminal."""
    tracer = getattr(result.graph, "tracer", None)
    if not tracer:
        return ""
    from ..renderers.terminal import _wrap

    return "\n" + "\n".join(_wrap(f"traced by {tracer}", terminal_columns(), indent=4)) + "\n"


def _colour(args) -> bool:
    import os

    if args.color == "never" or (args.output not in (None, "-")):
        return False
    if args.color == "always":
        return True
    return sys.stdout.isatty() and not os.environ.get("NO_COLOR") and os.environ.get("TERM") != "dumb"


def _table(result, args) -> str:
    from ..renderers.terminal import render_terminal

    width = terminal_columns()
    text = render_terminal(result, width=width, depth=args.depth, exact=args.exact, colour=_colour(args))
    extra = _extras_text(result, args)
    if extra:
        from ..renderers.terminal import _wrap

        lines = [piece for line in extra.rstrip("\n").split("\n") for piece in _wrap(line, width, indent=4)]
        text += "\n".join(lines) + "\n"
    return text


def _extras_text(result, args, fenced: bool = False) -> str:
    out = []
    if args.tally:
        from ..tally import cs231n_tally

        out.append("\n".join(cs231n_tally(result).lines()))
    if args.convention:
        from ..conventions import convention_lines

        out.append("\n".join(convention_lines(result, args.convention)))
    if not out:
        return ""
    if fenced:
        return "".join(f"\n```text\n{block}\n```\n" for block in out)
    return "".join(f"\n{block}\n" for block in out)


def _json(result, args):
    if not args.tally and not args.convention:
        from ..jsonstream import iter_json

        return iter_json(result)  # streamed: the document is never whole in memory
    import json

    doc = result.to_dict()
    if args.tally:
        from ..tally import cs231n_tally

        doc["tally"] = cs231n_tally(result).to_dict()
    if args.convention:
        doc["conventions"] = _conventions(result, args.convention)
    return json.dumps(doc, indent=2)


def _conventions(result, names) -> dict:
    """``--convention`` inside the JSON document: each tool's total and where it departs from archcalc."""
    from .. import conventions as conv
    from ..dims import to_json

    out = {}
    for name in names:
        c = conv.get(name)
        out[c.name] = {"total": to_json(conv.count(result, c).total), "unit": c.unit, "tool": c.tool,
                       "departures": [{"kind": key, "difference": to_json(d), "why": why}
                                      for key, d, why in conv.explain(result, c)]}
    return out
