"""``archcalc fit MODEL --device-memory 16GiB [--train]``: the largest batch that fits a budget."""

from __future__ import annotations

from .parser import Parser


def main(argv) -> int:
    from .. import dims
    from ..analysis import analyze
    from ..memory import fit_batch, parse_size
    from ..memory_cli import NOT_COUNTED
    from ..text import human_bytes

    p = Parser(prog="archcalc fit", description="The largest batch whose estimated peak memory fits a budget.")
    p.add_argument("model", help="a zoo name (see 'archcalc list')")
    p.add_argument("--device-memory", required=True, metavar="SIZE", help="budget, e.g. 16GiB, 16GB, 512MiB")
    p.add_argument("--train", action="store_true", help="a training step instead of inference")
    p.add_argument("--optimizer", default="sgd", help="sgd, sgd-momentum, adam or adamw (with --train)")
    p.add_argument("--foreach", action="store_true",
                   help="the optimizer's multi-tensor implementation (torch's CUDA default)")
    p.add_argument("--input", help="per-sample input shape, e.g. 3x224x224 (default: the model's)")
    p.add_argument("--dtype", default="fp32")
    p.add_argument("--format", default="table", choices=["table", "json"])
    args = p.parse_args(argv)
    budget = parse_size(args.device_memory)
    shape = dims.parse_shape(args.input) if args.input else None
    result = analyze(args.model, input=shape, dtype=args.dtype)
    fit = fit_batch(result, budget, train=args.train, optimizer=args.optimizer, foreach=args.foreach)
    what = (f"training step ({fit.over.optimizer}{', foreach' if args.foreach else ''})" if args.train
            else "inference")
    if args.format == "json":
        import json

        print(json.dumps({"model": result.model, "mode": "training" if args.train else "inference",
                          "dtype": result.dtype, "budget_bytes": budget, "max_batch": fit.max_batch,
                          "peak_bytes_at_max": fit.at_max.peak_bytes if fit.at_max else None,
                          "peak_bytes_next": fit.over.peak_bytes}, indent=2))
        return 0
    print(f"{result.model}, {what}, {result.dtype}, budget {human_bytes(budget)}: "
          f"max batch {fit.max_batch}")
    if fit.at_max:
        e = fit.at_max
        print(f"  batch {e.batch}: peak {human_bytes(e.peak_bytes)} ({e.peak_phase} at {e.peak_layer})")
    e = fit.over
    print(f"  batch {e.batch}: peak {human_bytes(e.peak_bytes)} > budget")
    counted = "weights, buffers, the input batch and the activations live at the peak"
    if args.train:
        counted = ("weights, buffers, gradients, optimizer state, input batch and targets, activations saved "
                   "for backward, activation gradients and the optimizer step's temporaries")
    print(f"  counted: {counted}")
    print(f"  {NOT_COUNTED}; leave headroom for them")
    return 0
