"""What a report shows, as plain data (strings and numbers): header, totals, per-layer rows, the
breakdown by layer kind, the cs231n tally. Templates only lay this out; nothing here renders.
"""

from __future__ import annotations

from .. import __version__, dims
from ..dtypes import DTYPE_BYTES
from ..format import _rf, _shape, human_bytes, layer_rows, totals_lines

#: Conventions printed in every report's header, so a number never travels without its meaning.
CONVENTION = ("MACs: multiply-accumulates of conv/linear/matmul weights, bias not counted "
              "(fvcore's and torchvision's _ops convention); FLOPs: 2 x MACs + bias, norm, activation, "
              "pooling and add ops; params: trainable + non-trainable, buffers (BN running statistics) "
              "separate; activations: elements of every tensor the forward pass materialises, input "
              "included, in-place ops and views excluded; per-layer MACs/FLOPs/activations include the "
              "batch, params do not.")


def sort_key(x):
    """A ``data-sort`` value: plain numbers for ints, the expression's text for symbolic values."""
    return x if isinstance(x, int) else dims.format_dim(x)


def header(result) -> dict:
    e = result.entry
    return {
        "model": result.model,
        "family": e.family if e else "",
        "variant": e.variant if e else "",
        "source": e.source if e else "user-built graph (no zoo citation)",
        "input": _shape(result.input),
        "batch": dims.format_dim(result.batch),
        "dtype": result.dtype,
        "dtype_bytes": DTYPE_BYTES[result.dtype],
        "convention": CONVENTION,
        "published": [{"source": p.source, "params": p.params, "macs": p.macs,
                       "extra": ", ".join(f"{k}={v}" for k, v in p.extra.items())}
                      for p in (e.published if e else ())],
        "version": __version__,
    }


def layers(result) -> list:
    """One dict per layer: display text (``cells``) and sort keys (``sort``)."""
    nbytes = DTYPE_BYTES[result.dtype]
    out = []
    for i, (rec, row) in enumerate(zip(result.layers, layer_rows(result))):
        name, kind, config, output, params, macs, flops, acts, rf, notes = row
        act_bytes = dims.normalize(rec.activations * nbytes)
        inputs = "; ".join(_shape(s) for s in rec.input_shapes) if rec.kind != "Input" else ""
        out.append({
            "index": i, "name": name, "kind": kind, "config": config, "input": inputs, "output": output,
            "params": params, "macs": macs, "flops": flops, "activations": acts,
            "bytes": dims.fmt_int(act_bytes), "rf": rf, "notes": notes, "warn": bool(rec.warnings),
            "sort": {"index": i, "params": sort_key(rec.params), "macs": sort_key(rec.macs),
                     "flops": sort_key(rec.flops), "activations": sort_key(rec.activations),
                     "bytes": sort_key(act_bytes), "rf": sort_key(rec.receptive_field.size[0])},
        })
    return out


def by_kind(result) -> list:
    """Params and MACs summed per layer kind, largest share of params first (ties: MACs, name)."""
    groups: dict = {}
    for rec in result.layers:
        g = groups.setdefault(rec.kind, {"kind": rec.kind, "count": 0, "params": [], "macs": []})
        g["count"] += 1
        g["params"].append(rec.params)
        g["macs"].append(rec.macs)
    t = result.totals
    rows = []
    for g in groups.values():
        params, macs = dims.total(g["params"]), dims.total(g["macs"])
        if params == 0 and macs == 0:
            continue
        rows.append({"kind": g["kind"], "count": g["count"], "params_value": params, "macs_value": macs,
                     "params": dims.fmt_int(params), "macs": dims.fmt_int(macs),
                     "params_share": _share(params, t["params"]), "macs_share": _share(macs, t["macs"])})
    concrete = all(isinstance(r["params_value"], int) and isinstance(r["macs_value"], int) for r in rows)
    if concrete:
        rows.sort(key=lambda r: (-r["params_value"], -r["macs_value"], r["kind"]))
    return rows


def _share(part, whole) -> str:
    if isinstance(part, int) and isinstance(whole, int) and whole:
        return f"{100 * part / whole:.1f}%"
    return ""


def totals(result) -> list:
    return [{"name": k, "value": v} for k, v in totals_lines(result)]


def headline(result) -> list:
    """The few numbers a reader wants first, with short human units."""
    t = result.totals
    return [
        {"name": "params", "value": short(t["params"]), "exact": dims.fmt_int(t["params"])},
        {"name": "MACs", "value": short(t["macs"]), "exact": dims.fmt_int(t["macs"])},
        {"name": "FLOPs", "value": short(t["flops"]), "exact": dims.fmt_int(t["flops"])},
        {"name": "activation memory", "value": human_bytes(t["activation_bytes"]).split(" (")[0],
         "exact": dims.fmt_int(t["activation_bytes"]) + " bytes"},
        {"name": "receptive field", "value": _rf(t["receptive_field"]) + " px",
         "exact": "at " + t["receptive_field_layer"]},
    ]


def short(n) -> str:
    """138,357,544 -> '138.4M' (decimal units, as the papers write them)."""
    if not isinstance(n, int):
        return dims.format_dim(n)
    for suffix, scale in (("T", 10 ** 12), ("G", 10 ** 9), ("M", 10 ** 6), ("K", 10 ** 3)):
        if abs(n) >= scale:
            return f"{n / scale:.1f}{suffix}"
    return str(n)


def tally(result):
    """The cs231n tally's rows and text lines, or None when the tally does not apply."""
    from ..tally import cs231n_tally

    t = cs231n_tally(result)
    return {"rows": [{"label": r.label, "name": r.name, "shape": r.shape, "memory": dims.fmt_int(r.memory),
                      "params": dims.fmt_int(r.params)} for r in t.rows],
            "lines": t.lines(), "memory": dims.fmt_int(t.memory)}


def memory_figures(result):
    """The three different "memory" figures of one forward pass at the report's batch and dtype:
    sum of outputs, inference peak (liveness), training peak (SGD and Adam). None when symbolic;
    a training figure is replaced by its reason when the model has a layer training cannot model."""
    if result.is_symbolic:
        return None
    from ..errors import ArchcalcError
    from ..memory import inference_memory, sum_of_outputs_bytes, training_memory

    def mib(n):
        return f"{n / 2**20:,.1f} MiB"

    rows = [{"name": "sum of outputs", "value": mib(sum_of_outputs_bytes(result)),
             "what": "every activation tensor the forward pass creates, input included, added up (what most tools print; no weights); never all alive at once"}]
    inf = inference_memory(result)
    rows.append({"name": "inference peak", "value": mib(inf.peak_bytes),
                 "what": f"weights, buffers and input plus the activations alive together, largest at {inf.peak_layer}"})
    for opt in ("sgd", "adam"):
        try:
            tr = training_memory(result, optimizer=opt)
        except ArchcalcError as e:
            rows.append({"name": f"training peak ({opt})", "value": "n/a", "what": str(e)})
            continue
        rows.append({"name": f"training peak ({opt})", "value": mib(tr.peak_bytes),
                     "what": f"+ gradients, optimizer state and {mib(tr.saved_bytes)} of activations saved for "
                             f"backward; peak in the {tr.peak_phase} pass at {tr.peak_layer}"})
    return rows


def context(result, with_tally=None) -> dict:
    """Everything the single-model templates need. ``with_tally``: None = only for VGG-16 (the
    notes' worked example), True/False to force."""
    if with_tally is None:
        with_tally = result.model in ("vgg16", "vgg16_bn")
    return {
        "header": header(result),
        "headline": headline(result),
        "totals": totals(result),
        "layers": layers(result),
        "by_kind": by_kind(result),
        "tally": tally(result) if with_tally else None,
        "memory": memory_figures(result),
        "warnings": result.warnings,
        "symbolic": result.is_symbolic,
    }
