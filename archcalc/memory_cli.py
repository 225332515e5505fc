"""Command-line views of :mod:`archcalc.memory`: ``archcalc MODEL --memory [--train]`` and
``archcalc fit MODEL --device-memory 16GiB [--train]`` (archcalc.cli.fit). Standard library only."""

from __future__ import annotations

import io

from .text import fmt_int, human_bytes, mib, terminal_safe

NOT_COUNTED = ("not counted: the framework's own footprint (CUDA context, typically a few hundred MiB), "
               "allocator caching and fragmentation, cuDNN/oneDNN workspaces")


def render_memory(est, fmt: str = "table") -> str:
    if fmt == "json":
        import json

        return json.dumps(est.to_dict(), indent=2) + "\n"
    train = est.mode == "training"
    out = io.StringIO()
    how = (f"training step, optimizer {est.optimizer}{' (foreach)' if est.foreach else ''}" if train
           else "inference, no autograd")
    out.write(terminal_safe(f"{est.model}: batch {est.batch}, dtype {est.dtype}, {how}; sizes in MiB") + "\n\n")
    cols = ["layer", "kind", "output", "live fwd"]
    if train:
        cols += ["saved", "live bwd", "dgrad MACs", "wgrad MACs"]
    rows = []
    for r in est.layers:
        row = [terminal_safe(r.name), terminal_safe(r.kind), mib(r.output_bytes) if r.output_bytes else "-", mib(r.live_bytes)]
        if train:
            row += [(mib(r.saved_bytes) + " " + "+".join(r.saved)) if r.saved else "-",
                    mib(r.backward_live_bytes) if r.backward_live_bytes else "-",
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
