"""``archcalc fit MODEL --device-memory 16GiB [--train]``: the largest batch that fits a budget.

Exit 0 when at least batch 1 fits, 1 when nothing fits (the answer is "no", not an error), 2 on bad input.
"""

from __future__ import annotations

import re

from .parser import (DTYPE_HELP, MODEL_HELP, Parser, UsageError, add_output_args, check_output_args, emit, examples,
                     load_model, nonempty, output_format, terminal_columns)

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
    from ..memory_cli import add_fit_flags, run_fit

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
    p.add_argument("--dtype", default=None, help=DTYPE_HELP)
    add_output_args(p, ("table", "json"), "table")
    add_fit_flags(p)  # --backend, --threads, --headroom: the allocator figure's flags
    args = p.parse_args(argv)
    check_output_args(args)
    if (args.optimizer or args.foreach) and not args.train:
        raise UsageError("--optimizer/--foreach need --train (an optimizer only matters for a training step)")
    budget = _budget(args.device_memory)
    shape = dims.parse_shape(args.input) if args.input else None
    result = load_model(args.model, input=shape, dtype=args.dtype)
    if result.is_symbolic:
        raise UsageError(f"{result.model} has symbolic sizes; give --input with numbers to fit a batch")
    fit, data, lines = run_fit(args, result, budget)
    if output_format(args) == "json":
        import json

        emit(args, json.dumps(data, indent=2))
    else:  # fitted to COLUMNS like every table: continuation lines indented under their line
        from ..renderers.terminal import _wrap

        width = terminal_columns()
        emit(args, "\n".join(piece for line in lines for piece in _wrap(line, width, indent=4)))
    if fit.max_batch < 1:  # the answer is "no": say it on stderr too, where a piped JSON reader still sees it
        import sys

        from ..text import human_bytes

        print(f"archcalc: nothing fits: batch 1 needs {human_bytes(fit.over.allocator_peak_bytes)}, more than the "
              f"usable {human_bytes(fit.usable)}", file=sys.stderr)
        return 1
    return 0
