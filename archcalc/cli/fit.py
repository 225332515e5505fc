"""``archcalc fit MODEL --device-memory 16GiB [--train]``: the largest batch that fits a budget.

Exit 0 when at least batch 1 fits, 1 when nothing fits (the answer is "no", not an error), 2 on bad input.
"""

from __future__ import annotations

import re

from .parser import (MODEL_HELP, Parser, UsageError, add_output_args, check_output_args, emit, examples, load_model,
                     nonempty, output_format)

#: a budget as a person writes one: a number of at most 12 digits (and 6 decimals) and a unit
_SIZE = re.compile(r"\s*(\d{1,12}(?:\.\d{1,6})?)\s*([A-Za-z]+)\s*", re.ASCII)


def _budget(text: str) -> int:
    from ..memory import parse_size

    m = _SIZE.fullmatch(text)
    if not m:
        if re.fullmatch(r"\s*\d+(\.\d+)?\s*", text, re.ASCII) and len(text.strip()) <= 13:
            raise UsageError(f"--device-memory {text.strip()} has no unit; write e.g. {text.strip()}GiB, "
                             f"{text.strip()}GB or {text.strip()}MiB")
        shown = text if len(text) <= 40 else text[:37] + "..."
        raise UsageError(f"cannot read --device-memory {shown!r}; write a number (at most 12 digits) and a unit, "
                         f"e.g. 16GiB, 16GB or 512MiB")
    return parse_size(text)


def main(argv) -> int:
    from .. import dims
    from ..memory import fit_batch
    from ..memory_cli import NOT_COUNTED
    from ..text import human_bytes

    p = Parser(prog="archcalc fit", description="The largest batch whose estimated peak memory fits a budget. "
               "Exit 1 when not even batch 1 fits.",
               epilog=examples("archcalc fit resnet50 --device-memory 16GiB",
                               "archcalc fit vgg16 --device-memory 24GB --train --optimizer adam",
                               "archcalc fit my_net.yaml --device-memory 8GiB --format json -o fit.json"))
    p.add_argument("model", help=MODEL_HELP)
    p.add_argument("--device-memory", required=True, metavar="SIZE", type=nonempty("--device-memory"),
                   help="budget with a unit: 16GiB (binary), 16GB (decimal), 512MiB")
    p.add_argument("--train", action="store_true", help="a training step instead of inference")
    p.add_argument("--optimizer", help="sgd, sgd-momentum, adam or adamw (with --train; default sgd)")
    p.add_argument("--foreach", action="store_true",
                   help="the optimizer's multi-tensor implementation (torch's CUDA default; with --train)")
    p.add_argument("--input", type=nonempty("--input"),
                   help="per-sample input shape, e.g. 3x224x224 (default: the model's)")
    p.add_argument("--dtype", default="fp32", help="fp32, fp16, bf16, int8 or fp64 (default fp32)")
    add_output_args(p, ("table", "json"), "table")
    from .. import memory_cli

    if hasattr(memory_cli, "add_fit_flags"):  # the allocator figure's flags (--backend, --threads, --headroom)
        memory_cli.add_fit_flags(p)
    args = p.parse_args(argv)
    check_output_args(args)
    if (args.optimizer or args.foreach) and not args.train:
        raise UsageError("--optimizer/--foreach need --train (an optimizer only matters for a training step)")
    budget = _budget(args.device_memory)
    shape = dims.parse_shape(args.input) if args.input else None
    result = load_model(args.model, input=shape, dtype=args.dtype)
    if result.is_symbolic:
        raise UsageError(f"{result.model} has symbolic sizes; give --input with numbers to fit a batch")
    if hasattr(memory_cli, "run_fit"):  # the memory module's own fit view (allocator peak, headroom)
        fit, data, lines = memory_cli.run_fit(args, result, budget)
        if output_format(args) == "json":
            import json

            emit(args, json.dumps(data, indent=2))
        else:
            emit(args, "\n".join(lines))
        return 0 if fit.max_batch >= 1 else 1
    optimizer = args.optimizer or "sgd"
    fit = fit_batch(result, budget, train=args.train, optimizer=optimizer, foreach=args.foreach)
    code = 0 if fit.max_batch >= 1 else 1
    if output_format(args) == "json":
        import json

        emit(args, json.dumps({"model": result.model, "mode": "training" if args.train else "inference",
                               "dtype": result.dtype, "budget_bytes": budget, "max_batch": fit.max_batch,
                               "peak_bytes_at_max": fit.at_max.peak_bytes if fit.at_max else None,
                               "peak_bytes_next": fit.over.peak_bytes}, indent=2))
        return code
    what = (f"training step ({fit.over.optimizer}{', foreach' if args.foreach else ''})" if args.train
            else "inference")
    lines = [f"{result.model}, {what}, {result.dtype}, budget {human_bytes(budget)}: "
             + (f"max batch {fit.max_batch}" if fit.max_batch else "nothing fits, not even batch 1")]
    if fit.at_max:
        e = fit.at_max
        lines.append(f"  batch {e.batch}: peak {human_bytes(e.peak_bytes)} ({e.peak_phase} at {e.peak_layer})")
    e = fit.over
    lines.append(f"  batch {e.batch}: peak {human_bytes(e.peak_bytes)} > budget")
    counted = "weights, buffers, the input batch and the activations live at the peak"
    if args.train:
        counted = ("weights, buffers, gradients, optimizer state, input batch and targets, activations saved "
                   "for backward, activation gradients and the optimizer step's temporaries")
    lines.append(f"  counted: {counted}")
    lines.append(f"  {NOT_COUNTED}; leave headroom for them")
    emit(args, "\n".join(lines))
    return code
