"""``archcalc layer KIND --input CxHxW [options]``: one layer, worked out like the course notes do.

    archcalc layer conv --input 3x227x227 --out 96 --kernel 11 --stride 4

prints the output size with the formula filled in (``floor((227 + 2*0 - 11)/4) + 1 = 55``), the
params and MACs as products, FLOPs and the receptive field. The numbers come from the same rules
as a whole network (a one-layer graph through :func:`archcalc.analyze`); the formulas are only
their written-out form.
"""

from __future__ import annotations

import argparse
import re

from .parser import Parser, UsageError, add_output_args, check_output_args, emit, examples, output_format

#: kind -> (layer class name, flags it takes beyond --input/--batch)
KINDS = {
    "conv": ("Conv2d", {"out", "kernel", "stride", "padding", "dilation", "groups", "no_bias"}),
    "convT": ("ConvTranspose2d", {"out", "kernel", "stride", "padding", "output_padding", "dilation", "groups",
                                  "no_bias"}),
    "maxpool": ("MaxPool2d", {"kernel", "stride", "padding", "dilation", "ceil"}),
    "avgpool": ("AvgPool2d", {"kernel", "stride", "padding", "ceil"}),
    "linear": ("Linear", {"out", "no_bias"}),
    "bn": ("BatchNorm2d", set()),
    "relu": ("ReLU", set()),
}
ALIASES = {"pool": "maxpool", "fc": "linear", "convtranspose": "convT", "deconv": "convT", "batchnorm": "bn"}
_FLAGS = {"out": "--out", "kernel": "--kernel", "stride": "--stride", "padding": "--padding",
          "dilation": "--dilation", "groups": "--groups", "output_padding": "--output-padding", "no_bias": "--no-bias",
          "ceil": "--ceil"}
_INT = re.compile(r"[0-9]{1,7}", re.ASCII)


def _count(flag: str, minimum: int):
    def parse(text: str) -> int:
        if not _INT.fullmatch(text.strip()):
            raise argparse.ArgumentTypeError(f"{flag} must be a whole number (at most 7 digits), got {text!r}")
        value = int(text.strip())
        if value < minimum:
            raise argparse.ArgumentTypeError(f"{flag} must be >= {minimum}, got {value}")
        return value

    parse.__name__ = flag.lstrip("-")
    return parse


def _pair(flag: str, minimum: int):
    """``11`` or ``11x7`` (height x width)."""
    one = _count(flag, minimum)

    def parse(text: str):
        parts = re.split(r"[x,]", text.strip())
        if len(parts) > 2:
            raise argparse.ArgumentTypeError(f"{flag} takes N or HxW, got {text!r}")
        values = tuple(one(p) for p in parts)
        return values[0] if len(values) == 1 else values

    parse.__name__ = flag.lstrip("-")
    return parse


def _padding(text: str):
    if text.strip() in ("same", "valid"):
        return text.strip()
    return _pair("--padding", 0)(text)


def build_parser() -> Parser:
    p = Parser(prog="archcalc layer", description="One layer on one input: output size with the formula filled "
               "in, params, MACs, FLOPs and receptive field. Kinds: " + ", ".join(KINDS) + " (aliases: "
               + ", ".join(f"{a}={k}" for a, k in ALIASES.items()) + ").",
               epilog=examples("archcalc layer conv --input 3x227x227 --out 96 --kernel 11 --stride 4",
                               "archcalc layer conv --input 192x28x28 --out 32 --kernel 5 --padding same",
                               "archcalc layer maxpool --input 96x55x55 --kernel 3 --stride 2",
                               "archcalc layer convT --input 64x14x14 --out 32 --kernel 2 --stride 2",
                               "archcalc layer linear --input 4096 --out 1000"))
    p.add_argument("kind", help="conv, convT, maxpool, avgpool, linear, bn or relu")
    p.add_argument("--input", required=True, help="per-sample input: CxHxW (C for linear), e.g. 3x227x227")
    p.add_argument("--batch", type=_count("--batch", 1), default=1, help="batch size (default 1)")
    p.add_argument("--out", type=_count("--out", 1), metavar="N", help="output channels / features")
    p.add_argument("--kernel", type=_pair("--kernel", 1), metavar="K", help="kernel size, K or KHxKW")
    p.add_argument("--stride", type=_pair("--stride", 1), metavar="S",
                   help="stride (default 1; pools: the kernel size)")
    p.add_argument("--padding", type=_padding, metavar="P", help="padding P, PHxPW, 'same' or 'valid' (default 0)")
    p.add_argument("--dilation", type=_pair("--dilation", 1), metavar="D", help="dilation (default 1)")
    p.add_argument("--groups", type=_count("--groups", 1), metavar="G", help="groups (default 1)")
    p.add_argument("--output-padding", type=_pair("--output-padding", 0), metavar="OP",
                   help="convT output padding (default 0)")
    p.add_argument("--ceil", action="store_true", help="pools: ceil_mode (torch's rule for the last window)")
    p.add_argument("--no-bias", action="store_true", help="conv/convT/linear without bias")
    add_output_args(p, ("table", "json"), "table")
    return p


def make_layer(args):
    from .. import layers

    kind = ALIASES.get(args.kind, args.kind)
    if kind not in KINDS:
        raise UsageError(f"unknown layer kind {args.kind!r}; choose one of {', '.join(KINDS)}")
    cls_name, takes = KINDS[kind]
    given = {k for k in _FLAGS if getattr(args, k) not in (None, False)}
    extra = sorted(given - takes)
    if extra:
        raise UsageError(f"{', '.join(_FLAGS[k] for k in extra)} does not apply to {kind}")
    needs = {"conv": ("out", "kernel"), "convT": ("out", "kernel"), "linear": ("out",),
             "maxpool": ("kernel",), "avgpool": ("kernel",)}.get(kind, ())
    missing = [_FLAGS[k] for k in needs if getattr(args, k) is None]
    if missing:
        raise UsageError(f"{kind} needs {' and '.join(missing)}")
    if args.padding in ("same", "valid") and kind != "conv":
        raise UsageError(f"--padding {args.padding} applies to conv only")
    kw = {}
    if kind in ("conv", "convT"):
        kw = dict(out_channels=args.out, kernel_size=args.kernel, bias=not args.no_bias)
        for name in ("stride", "padding", "dilation", "groups"):
            if getattr(args, name) is not None:
                kw[name] = getattr(args, name)
        if kind == "convT" and args.output_padding is not None:
            kw["output_padding"] = args.output_padding
    elif kind in ("maxpool", "avgpool"):
        kw = dict(kernel_size=args.kernel, ceil_mode=args.ceil)
        for name in ("stride", "padding") + (("dilation",) if kind == "maxpool" else ()):
            if getattr(args, name) is not None:
                kw[name] = getattr(args, name)
    elif kind == "linear":
        kw = dict(out_features=args.out, bias=not args.no_bias)
    return kind, getattr(layers, cls_name)(**kw)


def analyse(kind, layer, shape, batch):
    from ..analysis import analyze
    from ..graph import Builder

    b = Builder(kind, shape)
    b.add(layer, b.input, name=kind)
    return analyze(b.build(), batch=batch)[kind]


def _pairs(layer, *names):
    return [getattr(layer, n) for n in names]


def size_formulas(kind, layer, in_shape, out_shape) -> list:
    """(axis, written-out formula) for each spatial axis; the right-hand side is the engine's size."""
    if kind not in ("conv", "convT", "maxpool", "avgpool") or len(in_shape) != 3:
        return []
    out = []
    for axis, i in (("height", 0), ("width", 1)):
        n, o = in_shape[1 + i], out_shape[1 + i]
        k, s = layer.kernel_size[i], layer.stride[i]
        d = getattr(layer, "dilation", (1, 1))[i]
        if kind == "convT":
            p, op = layer.padding[i], layer.output_padding[i]
            text = f"({n} - 1)*{s} - 2*{p} + {d}*({k} - 1) + {op} + 1 = {o}"
        elif isinstance(layer.padding, str):
            text = (f"padding '{layer.padding}': " + (f"ceil({n}/{s}) = {o}" if layer.padding == "same"
                                                       else f"floor(({n} - {k})/{s}) + 1 = {o}"))
        else:
            p = layer.padding[i]
            ceil = getattr(layer, "ceil_mode", False)
            k_txt = f"{k}" if d == 1 else f"{d}*({k} - 1) - 1"
            text = f"{'ceil' if ceil else 'floor'}(({n} + 2*{p} - {k_txt})/{s}) + 1 = "
            span = n + 2 * p - d * (k - 1) - 1
            by_formula = (-(-span // s) if ceil else span // s) + 1
            if by_formula != o:  # torch's ceil_mode rule: a last window starting in the padding is dropped
                text += f"{by_formula}, less the last window, which would start in the padding: {o}"
            else:
                text += f"{o}"
        out.append((axis, text))
    if out and out[0][1] == out[1][1]:
        return [("height, width", out[0][1])]
    return out


def explain(kind, layer, rec) -> dict:
    """The worked example as named lines (also the JSON's ``formulas``)."""
    from ..text import fmt_int, shape

    in_shape = rec.input_shapes[0]
    lines = {}
    for axis, text in size_formulas(kind, layer, in_shape, rec.output_shape):
        lines[axis] = text
    lines["output"] = f"{shape(rec.output_shape)} = {fmt_int(_prod(rec.output_shape))} elements per sample"
    if kind in ("conv", "convT"):
        cin, g = in_shape[0], layer.groups
        kh, kw = layer.kernel_size
        per_filter = f"{cin}/{g} x {kh} x {kw}" if g != 1 else f"{cin} x {kh} x {kw}"
        bias = f" + {layer.out_channels} biases" if layer.bias else ""
        lines["params"] = f"{layer.out_channels} x ({per_filter}){bias} = {fmt_int(rec.params)}"
        if kind == "conv":
            lines["MACs"] = (f"{shape(rec.output_shape)} outputs x ({per_filter}) per output = {fmt_int(rec.macs)}"
                             + (f" for batch {rec_batch(rec)}" if rec_batch(rec) != 1 else ""))
        else:
            lines["MACs"] = (f"{shape(in_shape)} inputs x ({layer.out_channels}/{g} x {kh} x {kw}) per input = "
                             f"{fmt_int(rec.macs)}" if g != 1 else
                             f"{shape(in_shape)} inputs x ({layer.out_channels} x {kh} x {kw}) per input = "
                             f"{fmt_int(rec.macs)}")
    elif kind == "linear":
        bias = f" + {layer.out_features} biases" if layer.bias else ""
        lines["params"] = f"{layer.out_features} x {in_shape[-1]}{bias} = {fmt_int(rec.params)}"
        lines["MACs"] = f"{layer.out_features} outputs x {in_shape[-1]} inputs = {fmt_int(rec.macs)}"
    else:
        lines["params"] = fmt_int(rec.params)
        lines["MACs"] = fmt_int(rec.macs)
    lines["FLOPs"] = f"{fmt_int(rec.flops)} (2 x MACs + bias, norm, activation and pooling ops)"
    rf = rec.receptive_field
    lines["receptive field"] = (f"n/a: {rf.why}" if not rf.defined else
                                f"{_pair_text(rf.size)} px, jump {_pair_text(rf.jump)} "
                                f"(one layer: the kernel's extent and the stride)")
    return lines


def rec_batch(rec) -> int:
    per = _prod(rec.output_shape)
    return rec.output_elements // per if per else 1


def _prod(shape) -> int:
    n = 1
    for d in shape:
        n *= d
    return n


def _pair_text(pair) -> str:
    h, w = pair
    return str(h) if h == w else f"{h}x{w}"


def main(argv) -> int:
    from .. import dims
    from ..text import shape

    args = build_parser().parse_args(argv)
    check_output_args(args)
    in_shape = dims.parse_shape(args.input)
    if not all(dims.is_concrete(d) for d in in_shape):
        raise UsageError("archcalc layer works on numbers; give --input as e.g. 3x227x227 (a whole network "
                         "takes symbols: archcalc my_net.yaml --input 3xHxW)")
    kind, layer = make_layer(args)
    rec = analyse(kind, layer, in_shape, args.batch)
    lines = explain(kind, layer, rec)
    if output_format(args) == "json":
        import json

        from ..dims import to_json

        return emit(args, json.dumps({
            "kind": kind, "layer": type(layer).__name__, "config": layer.describe(),
            "input": [to_json(d) for d in in_shape], "batch": args.batch,
            "output": [to_json(d) for d in rec.output_shape], "params": to_json(rec.params),
            "macs": to_json(rec.macs), "flops": to_json(rec.flops),
            "receptive_field": rec.receptive_field.to_dict(), "formulas": lines, "warnings": list(rec.warnings),
        }, indent=2))
    title = f"{kind} {layer.describe()}".rstrip()
    what = ""
    if kind in ("conv", "convT"):
        what = f", {layer.out_channels} filters"
    out = [f"{title}{what}, on {shape(in_shape)}" + (f" (batch {args.batch})" if args.batch != 1 else "")]
    width = max(len(k) for k in lines)
    out += [f"  {k + ':':<{width + 1}} {v}" for k, v in lines.items()]
    for w in rec.warnings:
        out.append(f"  warning: {w}")
    return emit(args, "\n".join(out))
