"""Command-line views of :mod:`archcalc.memory`: ``archcalc MODEL --memory [--train]`` and
``archcalc fit MODEL --device-memory 16GiB [--train]``. Standard library only."""

from __future__ import annotations

import io
import json
import sys

from .dims import fmt_int
from .format import human_bytes

def add_memory_flags(p) -> None:
    """The allocator figure's flags, shared by ``--memory`` and ``fit``."""
    p.add_argument("--backend", default="cpu", choices=["cpu", "cuda"],
                   help="scratch model of the allocator figure: cpu (oneDNN, measured) or cuda (cuDNN/cuBLAS, "
                        "documented, not measured); default cpu")
    p.add_argument("--threads", type=int, default=1, metavar="T",
                   help="CPU threads torch runs with (oneDNN keeps some scratch per thread); default 1")


def _scratch_what(est) -> str:
    if est.backend == "cpu":
        return f"cpu scratch, {est.threads} thread{'s' if est.threads != 1 else ''}"
    return f"{est.backend} scratch"


#: The generic line (kept for callers that print one sentence); estimates name their own items.
NOT_COUNTED = ("not counted: allocator caching and fragmentation, the CUDA context, and on CUDA the cuDNN "
               "convolution workspaces (see docs/memory.md)")


def _not_counted(est) -> str:
    return "not counted: " + "; ".join(est.not_counted)


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
    cols = ["layer", "kind", "output", "live fwd", "scratch"]
    if train:
        cols += ["saved", "live bwd", "scratch bwd", "dgrad MACs", "wgrad MACs"]
    rows = []
    for r in est.layers:
        row = [r.name, r.kind, _mb(r.output_bytes) if r.output_bytes else "-", _mb(r.live_bytes),
               _mb(r.scratch_bytes) if r.scratch_bytes else "-"]
        if train:
            row += [(_mb(r.saved_bytes) + " " + "+".join(r.saved)) if r.saved else "-",
                    _mb(r.backward_live_bytes) if r.backward_live_bytes else "-",
                    _mb(r.backward_scratch_bytes) if r.backward_scratch_bytes else "-",
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
                          f"(live tensors: activations {human_bytes(est.peak_activation_bytes)} above resident "
                          f"{human_bytes(est.peak_bytes - est.peak_activation_bytes)})"))
    workspace = f", + {human_bytes(est.workspace_bytes)} resident library workspace" if est.workspace_bytes else ""
    lines.append(("ALLOCATOR PEAK", f"{human_bytes(est.allocator_peak_bytes)} in {est.allocator_peak_phase} at "
                                    f"{est.allocator_peak_layer} (live tensors + {_scratch_what(est)}{workspace})"))
    if est.scratch_note:
        lines.append(("", f"unmeasured: {est.scratch_note}"))
    if est.scratch_unmodelled:
        lines.append(("", f"no {est.backend} scratch formula (counted as none, not measured): "
                          f"{', '.join(est.scratch_unmodelled)}"))
    lines.append(("", _not_counted(est)))
    width = max(len(k) for k, _ in lines)
    for k, v in lines:
        out.write(f"{k.rjust(width)}{':' if k else ' '} {v}\n")
    return out.getvalue()


def run_memory(args, result) -> str:
    from .memory import estimate

    est = estimate(result, train=args.train, optimizer=args.optimizer or "sgd",
                   backend=getattr(args, "backend", "cpu"), threads=getattr(args, "threads", 1))
    return render_memory(est, "json" if args.format == "json" else "table")


def add_fit_flags(p) -> None:
    """``fit``'s allocator flags: :func:`add_memory_flags` and ``--headroom``."""
    from .memory import DEFAULT_HEADROOM

    add_memory_flags(p)
    p.add_argument("--headroom", default=f"{DEFAULT_HEADROOM:.0%}", metavar="SHARE",
                   help=f"share of the budget kept free for what is not counted, e.g. 10%% or 0.1 "
                        f"(default {DEFAULT_HEADROOM:.0%})")


def run_fit(args, result, budget: int):
    """``fit`` on the allocator figure: (fit, json dict, text lines); exit 1 is the caller's when
    ``fit.max_batch`` is 0. ``args`` carries train, optimizer, foreach and the :func:`add_fit_flags`."""
    from .memory import fit_batch

    headroom = _share(args.headroom)
    fit = fit_batch(result, budget, train=args.train, optimizer=args.optimizer or "sgd", foreach=args.foreach,
                    backend=args.backend, threads=args.threads, headroom=headroom)
    at, e = fit.at_max, fit.over
    data = {"model": result.model, "mode": "training" if args.train else "inference",
            "dtype": result.dtype, "backend": args.backend, "threads": args.threads,
            "budget_bytes": budget, "headroom": headroom, "usable_bytes": fit.usable,
            "max_batch": fit.max_batch,
            "allocator_peak_bytes_at_max": at.allocator_peak_bytes if at else None,
            "peak_bytes_at_max": at.peak_bytes if at else None,
            "allocator_peak_bytes_next": e.allocator_peak_bytes, "peak_bytes_next": e.peak_bytes,
            "scratch_note": e.scratch_note, "scratch_unmodelled": list(e.scratch_unmodelled),
            "not_counted": list(e.not_counted)}
    what = (f"training step ({e.optimizer}{', foreach' if args.foreach else ''})" if args.train else "inference")
    lines = [f"{result.model}, {what}, {result.dtype}, budget {human_bytes(budget)}, headroom {headroom:.0%} "
             f"(usable {human_bytes(fit.usable)}), backend {args.backend}: "
             + (f"max batch {fit.max_batch}" if fit.max_batch else "nothing fits, not even batch 1")]
    if at:
        lines.append(f"  batch {at.batch}: allocator peak {human_bytes(at.allocator_peak_bytes)} "
                     f"({at.allocator_peak_phase} at {at.allocator_peak_layer}); "
                     f"live tensors {human_bytes(at.peak_bytes)}")
    lines.append(f"  batch {e.batch}: allocator peak {human_bytes(e.allocator_peak_bytes)} > usable")
    counted = "weights, buffers, the input batch, the activations live at the peak"
    if args.train:
        counted = ("weights, buffers, gradients, optimizer state, input batch and targets, activations saved "
                   "for backward, activation gradients, the optimizer step's temporaries")
    threads = f" ({e.threads} thread{'s' if e.threads != 1 else ''})" if e.backend == "cpu" else ""
    lines.append(f"  counted: {counted}, and the {e.backend} scratch inside each layer{threads}")
    if e.scratch_note:
        lines.append(f"  unmeasured: {e.scratch_note}")
    if e.scratch_unmodelled:
        lines.append(f"  no {e.backend} scratch formula (counted as none, not measured): "
                     f"{', '.join(e.scratch_unmodelled)}")
    lines.append(f"  {_not_counted(e)}")
    return fit, data, lines


def cmd_fit(argv) -> int:
    from . import dims
    from .analysis import analyze
    from .cli import Parser
    from .memory import parse_size

    p = Parser(prog="archcalc fit", description="The largest batch whose estimated allocator peak (live tensors + "
                                                "backend scratch) fits a budget less a headroom. Exit 1 when "
                                                "not even batch 1 fits.")
    p.add_argument("model", help="a zoo name (see 'archcalc list')")
    p.add_argument("--device-memory", required=True, metavar="SIZE", help="budget, e.g. 16GiB, 16GB, 512MiB")
    p.add_argument("--train", action="store_true", help="a training step instead of inference")
    p.add_argument("--optimizer", default="sgd", help="sgd, sgd-momentum, adam or adamw (with --train)")
    p.add_argument("--foreach", action="store_true",
                   help="the optimizer's multi-tensor implementation (torch's CUDA default)")
    p.add_argument("--input", help="per-sample input shape, e.g. 3x224x224 (default: the model's)")
    p.add_argument("--dtype", default="fp32")
    p.add_argument("--format", default="table", choices=["table", "json"])
    add_fit_flags(p)
    args = p.parse_args(argv)
    budget = parse_size(args.device_memory)
    shape = dims.parse_shape(args.input) if args.input else None
    result = analyze(args.model, input=shape, dtype=args.dtype)
    fit, data, lines = run_fit(args, result, budget)
    if args.format == "json":
        print(json.dumps(data, indent=2))
    else:
        print("\n".join(lines))
    if not fit.max_batch:
        print(f"archcalc: nothing fits: batch 1 needs {human_bytes(fit.over.allocator_peak_bytes)}, more than the "
              f"usable {human_bytes(fit.usable)}", file=sys.stderr)
        return 1
    return 0


def _share(text) -> float:
    """``10%`` or ``0.1`` -> 0.1."""
    from .errors import InvalidValueError

    t = str(text).strip()
    try:
        value = float(t[:-1]) / 100 if t.endswith("%") else float(t)
    except ValueError:
        value = -1.0
    if not 0 <= value < 1:
        raise InvalidValueError(f"cannot read headroom {text!r}; write a share of the budget, e.g. 10% or 0.1")
    return value
