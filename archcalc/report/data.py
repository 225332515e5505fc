"""What a report shows, as plain data (strings and numbers): header, totals, per-layer rows, the
breakdown by layer kind, the cs231n tally. Templates only lay this out; nothing here renders.
"""

from __future__ import annotations

import functools

from .. import __version__, dims
from ..dtypes import DTYPE_BYTES
from ..text import binary_bytes, count_formula, fmt_int, human_bytes, percent, rf, shape, short
from ..text import mib as _mib

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
        "input": shape(result.input),
        "batch": dims.format_dim(result.batch),
        "dtype": result.dtype,
        "dtype_bytes": DTYPE_BYTES[result.dtype],
        "convention": CONVENTION,
        "published": [{"source": p.source, "params": p.params, "macs": p.macs,
                       "extra": ", ".join(f"{k}={v}" for k, v in p.extra.items())}
                      for p in (e.published if e else ())],
        "version": __version__,
    }


def notes(rec) -> str:
    """What a layer's row says besides its numbers: in-place/view, frozen, fixed weights, warnings."""
    out = []
    if rec.layer.reuses_input and rec.kind != "Input":
        out.append("in-place" if getattr(rec.layer, "inplace", False) else "view")
    if rec.frozen:
        out.append("frozen")
    if rec.params and rec.params != rec.trainable_params and not rec.frozen:
        out.append("fixed weights")
    if rec.warnings:
        out.append("WARN: " + "; ".join(rec.warnings))
    return ", ".join(out)


def layers(result) -> list:
    """One dict per layer: display text by field name and sort keys (``sort``)."""
    nbytes = DTYPE_BYTES[result.dtype]
    out = []
    for i, rec in enumerate(result.layers):
        act_bytes = dims.normalize(rec.activations * nbytes)
        out.append({
            "index": i, "name": rec.name, "kind": rec.kind, "config": rec.layer.describe(),
            "input": "; ".join(shape(s) for s in rec.input_shapes) if rec.kind != "Input" else "",
            "output": shape(rec.output_shape), "params": count(rec.params), "macs": count(rec.macs),
            "flops": count(rec.flops), "activations": count(rec.activations), "bytes": count(act_bytes),
            "rf": rf(rec.receptive_field), "notes": notes(rec), "warn": bool(rec.warnings),
            "sort": {"index": i, "params": sort_key(rec.params), "macs": sort_key(rec.macs),
                     "flops": sort_key(rec.flops), "activations": sort_key(rec.activations),
                     "bytes": sort_key(act_bytes), "rf": sort_key(rec.receptive_field.size[0])
                                                                         if rec.receptive_field.defined else -1},
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
                     "params": count(params), "macs": count(macs),
                     "params_share": _share(params, t["params"]), "macs_share": _share(macs, t["macs"])})
    concrete = all(isinstance(r["params_value"], int) and isinstance(r["macs_value"], int) for r in rows)
    if concrete:
        rows.sort(key=lambda r: (-r["params_value"], -r["macs_value"], r["kind"]))
    return rows


def _share(part, whole) -> str:
    """``89.4%``; empty where the share is a ratio of formulas (no number to print)."""
    text = percent(part, whole)
    return "" if text == "-" else text


@functools.lru_cache(maxsize=4096)  # tables repeat a few dozen expressions over many rows
def _formula(x) -> str:
    return count_formula(x) if x.is_polynomial() else fmt_int(x)


def count(x) -> str:
    """Exact count text: ``15,470,264,320``; a polynomial formula with grouped coefficients, constant
    last (``119,967,744*R + 188,637,124,608``); any other formula as :mod:`archcalc.dims` prints it."""
    if type(x) is int or dims.is_concrete(x):
        return fmt_int(x)
    return _formula(x)


def totals(result) -> list:
    """The totals table: name, value (exact), and what the figure counts."""
    t = result.totals
    field = t["receptive_field"]
    b = t["activation_bytes"]
    mem = human_bytes(b) if dims.is_concrete(b) else count(b) + " B"
    pmem = t["param_bytes"]
    return [
        {"name": "params", "value": count(t["params"]),
         "what": f"trainable {count(t['trainable_params'])}, non-trainable {count(t['non_trainable_params'])}"},
        {"name": "buffers", "value": count(t["buffers"]), "what": "BN running statistics; not params"},
        {"name": "MACs", "value": count(t["macs"]), "what": "conv/linear multiply-accumulates, bias excluded"},
        {"name": "FLOPs", "value": count(t["flops"]), "what": "2 x MACs + bias, norm, activation, pooling and add ops"},
        {"name": "activations", "value": count(t["activations"]) + " elements = " + mem,
         "what": f"in {result.dtype}; sum of materialised outputs incl. the input"},
        {"name": "param memory", "value": human_bytes(pmem) if dims.is_concrete(pmem) else count(pmem) + " B",
         "what": f"in {result.dtype}"},
        {"name": "receptive field", "value": "n/a", "what": field.why} if not field.defined else
        {"name": "receptive field", "value": rf(field) + " px",
         "what": f"at {t['receptive_field_layer']}, jump {dims.format_dim(field.jump[0])}"
                 + (": the whole input (every output reads every position)" if field.mode == "whole" else "")},
    ]


def headline(result) -> list:
    """The few numbers a reader wants first, with short human units. A figure that is a formula is
    named by its symbols here (``f(H, W)``) and written out once, in the totals table."""
    t = result.totals

    def card(name, value, short_text, exact):
        if dims.is_concrete(value):
            return {"name": name, "value": short_text, "exact": exact, "formula": False}
        return {"name": name, "value": "f(" + ", ".join(sorted(dims.free_symbols(value))) + ")",
                "exact": "formula under Totals", "formula": True}

    field = t["receptive_field"].size[0]
    return [
        card("params", t["params"], short(t["params"]), fmt_int(t["params"])),
        card("MACs", t["macs"], short(t["macs"]), fmt_int(t["macs"])),
        card("FLOPs", t["flops"], short(t["flops"]), fmt_int(t["flops"])),
        card("activation memory", t["activation_bytes"],
             binary_bytes(t["activation_bytes"]),
             fmt_int(t["activation_bytes"]) + " bytes"),
        card("receptive field", field, rf(t["receptive_field"]) + " px", "at " + t["receptive_field_layer"])
        if field is not None else {"name": "receptive field", "value": "n/a", "formula": False,
                                   "exact": "undefined from " + t["receptive_field_layer"]},
    ]


def tally(result):
    """The cs231n tally's rows and text lines, or None when the tally does not apply."""
    from ..tally import cs231n_tally

    t = cs231n_tally(result)
    return {"rows": [{"label": r.label, "name": r.name, "shape": r.shape, "memory": fmt_int(r.memory),
                      "params": fmt_int(r.params)} for r in t.rows],
            "lines": t.lines(), "memory": fmt_int(t.memory)}


def symbols(result) -> list:
    """Names of the free symbols anywhere in the result: the input and batch, a secondary input's
    length (``T``), a layer field (RoI count ``R``). Empty when every figure is a number."""
    names = set()
    for d in (*result.input, result.batch):
        names |= dims.free_symbols(d)
    t = result.totals
    for key in ("params", "macs", "flops", "activation_bytes", "param_bytes"):
        names |= dims.free_symbols(t[key])
    for rec in result.layers:
        if not (type(rec.activations) is int and type(rec.macs) is int):
            names |= dims.free_symbols(rec.activations) | dims.free_symbols(rec.macs)
        for d in rec.output_shape:
            names |= dims.free_symbols(d)
    return sorted(names)


def needs_numbers(result, names) -> str:
    """What a reader does to get the figures that need numbers, naming the symbols to set: the
    command line can set the input's and the batch's; a layer's (``R``) or a second input's (``T``)
    only ``Result.substitute`` can."""
    cli = set()
    for d in result.input:
        cli |= dims.free_symbols(d)
    cli |= dims.free_symbols(result.batch)
    setting = ", ".join(f"{n}=..." for n in names)
    text = f"set {', '.join(names)} with Result.substitute({setting}) in Python"
    if set(names) <= cli:
        text += " or give --input/--batch as numbers on the command line"
    return text


def memory_figures(result, names=()):
    """The three different "memory" figures of one forward pass at the report's batch and dtype:
    sum of outputs, inference peak (liveness), training peak (SGD and Adam). With free symbols
    (``names``) there is no peak to find: a dict saying which symbols to set instead;
    a training figure is replaced by its reason when the model has a layer training cannot model."""
    if names:
        return {"needs": needs_numbers(result, names), "rows": []}
    from ..errors import ArchcalcError
    from ..memory import inference_memory, sum_of_outputs_bytes, training_memory

    def mib(n):
        return _mib(n) + " MiB"

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
    return {"needs": "", "rows": rows}


def context(result, with_tally=None) -> dict:
    """Everything the single-model templates need. ``with_tally``: None = only for VGG-16 (the
    notes' worked example), True/False to force."""
    if with_tally is None:
        with_tally = result.model in ("vgg16", "vgg16_bn")
    names = symbols(result)
    return {
        "header": header(result),
        "headline": headline(result),
        "totals": totals(result),
        "layers": layers(result),
        "by_kind": by_kind(result),
        "tally": tally(result) if with_tally else None,
        "memory": memory_figures(result, names),
        "warnings": result.warnings,
        "symbolic": bool(names),
        "symbols": names,
        "needs": needs_numbers(result, names) if names else "",
    }


TOP = 8  # layers listed as top contributors in the notebook view
TREE_DEPTH = 2  # name components the notebook's collapsed module tree shows


def top_contributors(result, key: str = "macs", n: int = TOP) -> tuple:
    """The ``n`` layers with the largest ``key`` (MACs by default) among those where it is a
    number, with their share of a numeric total; and the names of the layers left out because
    theirs is a formula (a detection head's ``R``): there is no order to speak of for those."""
    recs = [r for r in result.layers if getattr(r, key)]
    unranked = [r.name for r in recs if type(getattr(r, key)) is not int]
    ranked = sorted((r for r in recs if type(getattr(r, key)) is int), key=lambda r: -getattr(r, key))[:n]
    whole = result.totals[key]
    return [{"name": r.name, "kind": r.kind, "config": r.layer.describe(), "output": shape(r.output_shape),
             "macs": short(r.macs), "macs_exact": fmt_int(r.macs), "share": percent(getattr(r, key), whole),
             "params": short(r.params), "params_exact": fmt_int(r.params)} for r in ranked], unranked


def module_tree(result, depth: int = TREE_DEPTH) -> list:
    """Rows of the module tree (dotted names) to ``depth`` components, each with its subtotals."""
    from ..renderers.terminal import module_tree as tree

    whole = result.totals["macs"]
    rows = []

    def walk(node, level):
        for child in node.children.values():
            recs = child.records
            params, macs = dims.total([r.params for r in recs]), dims.total([r.macs for r in recs])
            acts = dims.total([r.activations for r in recs])
            kinds = {r.kind for r in recs}
            rows.append({"name": child.name, "level": level, "layers": len(recs),
                         "kind": next(iter(kinds)) if len(kinds) == 1 else "module",
                         "params": count(params), "macs": count(macs), "share": percent(macs, whole),
                         "activations": fmt_int(acts), "sort": {"params": sort_key(params), "macs": sort_key(macs),
                                                                "activations": sort_key(acts)}})
            if child.children and level + 1 < depth:
                walk(child, level + 1)

    walk(tree(result.layers), 0)
    return rows


def notebook_context(result) -> dict:
    """What the compact notebook view shows: header, headline, totals, warnings, top contributors,
    the module tree (collapsed) and every layer (collapsed). No charts, no training peaks: it must
    display in a fraction of a second."""
    names = symbols(result)
    top, unranked = top_contributors(result)
    return {
        "header": header(result),
        "headline": headline(result),
        "totals": totals(result),
        "top": top,
        "unranked": unranked,
        "tree": module_tree(result),
        "layers": layers(result),
        "warnings": result.warnings,
        "symbolic": bool(names),
        "symbols": names,
        "needs": needs_numbers(result, names) if names else "",
    }
