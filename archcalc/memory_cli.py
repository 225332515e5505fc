"""Command-line views of :mod:`archcalc.memory`: ``archcalc MODEL --memory [--train]`` and
``archcalc fit MODEL --device-memory 16GiB [--train]`` (archcalc.cli.fit). Standard library only."""

from __future__ import annotations

from .text import fmt_int, human_bytes, mib, terminal_safe

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


def _not_counted(est) -> str:
    return "not counted: " + "; ".join(est.not_counted)


def _memory_columns(train: bool) -> list:
    """The ``--memory`` table's columns for :mod:`archcalc.renderers.terminal` (priority 0 is
    never dropped; higher numbers go first when the width is short)."""
    from .renderers.terminal import Column

    cols = [Column("layer", "layer", False, 0), Column("kind", "kind", False, 4),
            Column("output", "output", True, 3), Column("live", "live fwd", True, 0),
            Column("scratch", "scratch", True, 2)]
    if train:
        cols += [Column("saved", "saved", True, 5), Column("live_bwd", "live bwd", True, 1),
                 Column("scratch_bwd", "scratch bwd", True, 6, "scr bwd"),
                 Column("dgrad", "dgrad MACs", True, 7), Column("wgrad", "wgrad MACs", True, 7)]
    return cols


def render_memory(est, fmt: str = "table", width: int = 0) -> str:
    """The ``--memory`` view: JSON, or a table fitted to ``width`` columns by the cost table's
    renderer (low-priority columns dropped and named; 0: every column at its natural width)."""
    if fmt == "json":
        import json

        return json.dumps(est.to_dict(), indent=2) + "\n"
    from .renderers.terminal import Row, View, render

    train = est.mode == "training"
    how = (f"training step, optimizer {est.optimizer}{' (foreach)' if est.foreach else ''}" if train
           else "inference, no autograd")
    header = [terminal_safe(f"{est.model}: batch {est.batch}, dtype {est.dtype}, {how}; sizes in MiB")]
    rows = []
    for r in est.layers:
        cells = {"layer": terminal_safe(r.name), "kind": terminal_safe(r.kind),
                 "output": mib(r.output_bytes) if r.output_bytes else "-", "live": mib(r.live_bytes),
                 "scratch": mib(r.scratch_bytes) if r.scratch_bytes else "-"}
        if train:
            cells.update(saved=(mib(r.saved_bytes) + " " + "+".join(r.saved)) if r.saved else "-",
                         live_bwd=mib(r.backward_live_bytes) if r.backward_live_bytes else "-",
                         scratch_bwd=mib(r.backward_scratch_bytes) if r.backward_scratch_bytes else "-",
                         dgrad=fmt_int(r.dgrad_macs) if r.dgrad_macs else "-",
                         wgrad=fmt_int(r.wgrad_macs) if r.wgrad_macs else "-")
        rows.append(Row(cells))
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
    view = View(header, _memory_columns(train), rows, [(k, terminal_safe(v)) for k, v in lines], [],
                full_format="--format json")
    return render(view, width or 1 << 30)


def run_memory(args, result, width: int = 0) -> str:
    """``archcalc MODEL --memory``: JSON, or the table fitted to ``width`` columns."""
    from .memory import estimate

    est = estimate(result, train=args.train, optimizer=args.optimizer or "sgd",
                   backend=getattr(args, "backend", "cpu"), threads=getattr(args, "threads", 1))
    return render_memory(est, "json" if args.format == "json" else "table", width)


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
