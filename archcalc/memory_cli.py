"""Command-line views of :mod:`archcalc.memory`: ``archcalc MODEL --memory [--train]`` and
``archcalc fit MODEL --device-memory 16GiB [--train]``. Standard library only."""

from __future__ import annotations

import io
import json

from .dims import fmt_int
from .format import human_bytes

NOT_COUNTED = ("not counted: the framework's own footprint (CUDA context, typically a few hundred MiB), "
               "allocator caching and fragmentation, cuDNN/oneDNN workspaces")


def _mb(n: int) -> str:
    return f"{n / 2 ** 20:,.1f}"


def render_memory(est, fmt: str = "table") -> str:
    if fmt == "json":
        return json.dumps(est.to_dict(), indent=2) + "\n"
    train = est.mode == "training"
    out = io.StringIO()
    how = (f"training step, optimizer {est.optimizer}{' (foreach)' if est.foreach else ''}" if train
           else "inference, no autograd")
    out.write(f"{est.model}: batch {est.batch}, dtype {est.dtype}, {how}; sizes in MiB\n\n")
    cols = ["layer", "kind", "output", "live fwd"]
    if train:
        cols += ["saved", "live bwd", "dgrad MACs", "wgrad MACs"]
    rows = []
    for r in est.layers:
        row = [r.name, r.kind, _mb(r.output_bytes) if r.output_bytes else "-", _mb(r.live_bytes)]
        if train:
            row += [(_mb(r.saved_bytes) + " " + "+".join(r.saved)) if r.saved else "-",
                    _mb(r.backward_live_bytes) if r.backward_live_bytes else "-",
                    fmt_int(r.dgrad_macs) if r.dgrad_macs else "-", fmt_int(r.wgrad_macs) if r.wgrad_macs else "-"]
        rows.append(row)
    widths = [max(len(c), *(len(r[i]) for r in rows)) for i, c in enumerate(cols)]
    fmt_line = lambda cells: "  ".join(c.ljust(w) if i < 2 else c.rjust(w)  # noqa: E731
                                       for i, (c, w) in enumerate(zip(cells, widths))).rstrip() + "\n"
    out.write(fmt_line(cols))
    out.write("  ".join("-" * w for w in widths) + "\n")
    for r in rows:
        out.write(fmt_line(r))
    out.write("\n")
    lines = [("sum of outputs", f"{human_bytes(est.sum_of_outputs_bytes)} (every materialised tensor added up; "
                                "not a peak)"),
             ("weights", human_bytes(est.weight_bytes)),
             ("buffers", human_bytes(est.buffer_bytes)),
             ("input batch", human_bytes(est.input_bytes))]
    if train:
        lines += [("gradients", human_bytes(est.gradient_bytes)),
                  ("optimizer state", human_bytes(est.optimizer_state_bytes)),
                  ("targets", human_bytes(est.target_bytes)),
                  ("saved for bwd", f"{human_bytes(est.saved_bytes)} (activations alive at the end of forward)"),
                  ("step temporaries", human_bytes(est.step_temporary_bytes))]
        for phase, b in est.phase_peaks.items():
            lines.append((f"peak {phase}", human_bytes(b)))
        lines.append(("backward FLOPs", f"{fmt_int(est.backward_flops)} (forward {fmt_int(est.forward_flops)})"))
    lines.append(("PEAK", f"{human_bytes(est.peak_bytes)} in {est.peak_phase} at {est.peak_layer} "
                          f"(activations {human_bytes(est.peak_activation_bytes)} above resident "
                          f"{human_bytes(est.peak_bytes - est.peak_activation_bytes)})"))
    lines.append(("", NOT_COUNTED))
    width = max(len(k) for k, _ in lines)
    for k, v in lines:
        out.write(f"{k.rjust(width)}{':' if k else ' '} {v}\n")
    return out.getvalue()


def run_memory(args, result) -> str:
    from .memory import estimate

    est = estimate(result, train=args.train, optimizer=args.optimizer or "sgd")
    return render_memory(est, "json" if args.format == "json" else "table")


def cmd_fit(argv) -> int:
    from . import dims
    from .analysis import analyze
    from .cli import Parser
    from .memory import fit_batch, parse_size

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
