"""The from_torch corpus: every torchvision builder and the first timm model of each family, each
imported with ``from_torch`` and checked against torch.

For each model: params equal the unique ``parameters()`` count; MACs equal torch's
``FlopCounterMode`` total / 2; the fvcore convention equals fvcore run live (when the model is
small enough to run on the CPU here). A model is *exact* when every check that ran agrees,
*accepted* when it imported, *refused* when ``from_torch`` named the ops it has no rule for.

``python -m archcalc.torch_bridge.corpus [--source torchvision|timm] [--limit N] [--out FILE]``
prints one JSON line per model and, with ``--out``, writes the table as Markdown.
"""

from __future__ import annotations

import json
import re
import sys
import time
import warnings

#: Per-sample input shapes for torchvision builders that do not take (3, 224, 224).
TV_INPUTS = {
    "inception_v3": (3, 299, 299), "raft_large": [(3, 224, 224), (3, 224, 224)],
    "raft_small": [(3, 224, 224), (3, 224, 224)], "s3d": (3, 16, 224, 224),
    # MViT's position embeddings are sized for 16 x 224 x 224 clips (torchvision's transforms)
    "mvit_v1_b": (3, 16, 224, 224), "mvit_v2_s": (3, 16, 224, 224),
}
TV_VIDEO = (3, 16, 112, 112)
#: Models with more parameters than this are not run through fvcore on the CPU (time on a shared host).
FVCORE_MAX_PARAMS = 30_000_000
#: timm families whose first model is skipped: the prefix is a wrapper, not an architecture.
TIMM_SKIP_PREFIXES = ()


def torchvision_names() -> list:
    import torchvision

    return sorted(torchvision.models.list_models())


def timm_names(limit=None) -> list:
    """The first model (alphabetically) of each timm family prefix (the leading letters)."""
    import timm

    seen, out = set(), []
    for n in timm.list_models():
        prefix = re.match(r"[a-z]+", n).group(0)
        if prefix in seen or prefix in TIMM_SKIP_PREFIXES:
            continue
        seen.add(prefix)
        out.append(n)
    return out[:limit] if limit else out


def _tv_input(name, builder):
    if name in TV_INPUTS:
        return TV_INPUTS[name]
    mod = builder.__module__
    if ".video." in mod:
        return TV_VIDEO
    return (3, 224, 224)


def build(source: str, name: str, device: str):
    import torch

    with torch.device(device):
        if source == "torchvision":
            import torchvision

            builder = torchvision.models.get_model_builder(name)
            kwargs = {"weights": None}
            import inspect

            sig = inspect.signature(builder).parameters
            if "weights_backbone" in sig:
                kwargs["weights_backbone"] = None
            if name in ("googlenet", "inception_v3"):
                kwargs.update(aux_logits=True, init_weights=False)
            m = builder(**kwargs)
            shape = _tv_input(name, builder)
        else:
            import timm

            m = timm.create_model(name, pretrained=False)
            shape = tuple(m.pretrained_cfg.get("input_size", (3, 224, 224)))
    return m.eval(), shape


def _example(shape, device):
    import torch

    shapes = shape if isinstance(shape, list) else [shape]
    return [torch.zeros((1, *s), device=device) for s in shapes]


def _flop_counter_total(model, shape, device) -> int:
    """FlopCounterMode's total for one forward pass, under no_grad; on the meta device, where
    autograd costs no memory, again with grad enabled when no_grad fails. FlopCounterMode's module
    tracker hooks the gradient of every module input that requires grad, and under no_grad a
    parameter passed to a submodule as an input (PiT's and CaiT's class tokens) has no gradient
    function to hook ("Expected gradient function to be set"). The forward's ops are the same with
    grad enabled, and no backward runs, so the count is the same quantity."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    from .dispatch_import import meta_autocast_off  # EfficientViT turns autocast off for its device

    try:
        with FlopCounterMode(display=False) as fc, torch.no_grad(), meta_autocast_off():
            model(*_example(shape, device))
        return fc.get_total_flops()
    except (AssertionError, AttributeError):
        if device != "meta":
            raise
    with FlopCounterMode(display=False) as fc, torch.enable_grad(), meta_autocast_off():
        model(*_example(shape, device))
    return fc.get_total_flops()


def check(source: str, name: str, fvcore: bool = True) -> dict:
    """One corpus row (a dict, JSON-ready)."""
    import archcalc
    from archcalc import conventions as C
    from archcalc.errors import ArchcalcError

    row = {"source": source, "model": name}
    try:
        model, shape = build(source, name, "meta")
        device = "meta"
    except Exception:
        try:
            model, shape = build(source, name, "cpu")
            device = "cpu"
        except Exception as e:
            row.update(status="not built", why=f"{type(e).__name__}: {str(e)[:200]}")
            return row
    row["input"] = shape
    torch_params = sum(p.numel() for p in model.parameters())
    row["torch_params"] = torch_params
    t = time.perf_counter()
    try:
        graph = archcalc.from_torch(model, shape, name=name)
        result = archcalc.analyze(graph)
    except ArchcalcError as e:
        row.update(status="refused", why=str(e)[:300], seconds=round(time.perf_counter() - t, 2))
        return row
    row["seconds"] = round(time.perf_counter() - t, 2)
    row["tracer"] = getattr(graph, "tracer", "")
    row["params"] = result.totals["params"]
    row["macs"] = result.totals["macs"]
    row["params_ok"] = result.totals["params"] == torch_params
    from .detect_import import is_detector

    if is_detector(model):  # a plain run stops at the first data-dependent op: the forced path
        _detector_checks(row, model, shape, result)
    else:
        try:
            row["flop_counter_macs"] = _flop_counter_total(model, shape, device) // 2
            row["macs_ok"] = row["flop_counter_macs"] == result.totals["macs"]
        except Exception as e:
            row["macs_ok"] = None
            row["flop_counter_error"] = f"{type(e).__name__}: {str(e)[:120]}"
    if fvcore and torch_params <= FVCORE_MAX_PARAMS:
        try:
            ours = C.count(result, "fvcore").total
        except ArchcalcError as e:
            row["fvcore_ok"] = None
            row["fvcore_refused"] = str(e)[:200]
        else:
            try:
                from fvcore.nn import FlopCountAnalysis

                cpu_model, _ = build(source, name, "cpu") if device == "meta" else (model, shape)
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    fa = FlopCountAnalysis(cpu_model.eval(), tuple(_example(shape, "cpu")))
                    fa.unsupported_ops_warnings(False)
                    fa.uncalled_modules_warnings(False)
                    live = fa.total()
                row["fvcore_live"] = int(live)
                row["fvcore_ours"] = ours
                row["fvcore_ok"] = int(live) == ours
            except Exception as e:
                row["fvcore_ok"] = None
                row["fvcore_error"] = f"{type(e).__name__}: {str(e)[:120]}"
    checks = [row.get(k) for k in ("params_ok", "macs_ok", "fvcore_ok", "twin_ok")]
    if any(c is False for c in checks):
        row["status"] = "WRONG"
    else:  # exact: params and MACs both checked against torch (fvcore too where it ran)
        row["status"] = "exact" if row["params_ok"] and row["macs_ok"] else "unchecked"
    return row


def _detector_checks(row, model, shape, result):
    """A torchvision detector: MACs against FlopCounterMode on the same forced path (the capacity
    convention of :mod:`.detect_import`: every candidate kept, sizes from the model's caps), and
    against the zoo twin (an independent construction reproducing torchvision's published figures)
    at the size the transform produced, with R and D the model's caps."""
    import archcalc

    from .detect_import import flop_counter_macs

    shapes = shape if isinstance(shape, list) else [shape]
    row["forced_path"] = "capacity: data-dependent filters keep every candidate (detect_import)"
    try:
        row["flop_counter_macs"] = flop_counter_macs(model, shapes)
        row["macs_ok"] = row["flop_counter_macs"] == result.totals["macs"]
    except Exception as e:
        row["macs_ok"] = None
        row["flop_counter_error"] = f"{type(e).__name__}: {str(e)[:120]}"
    from ..zoo import get_entry

    try:
        get_entry(row["model"])
    except Exception:
        return  # no twin in the zoo
    size = tuple(result["transform.batch_images"].output_shape)  # the padded image the backbone reads
    twin = archcalc.analyze(row["model"], input=size)
    caps = {}
    if "R" in twin.symbols:
        caps["R"] = model.rpn.post_nms_top_n()
    if "D" in twin.symbols:
        caps["D"] = model.roi_heads.detections_per_img
    if caps:
        twin = twin.substitute(**caps)
    row["twin_input"], row["twin_caps"] = size, caps
    row["twin_macs"] = twin.totals["macs"]
    row["twin_ok"] = twin.totals["macs"] == result.totals["macs"]


def table(rows) -> str:
    """Markdown: per source, models / accepted / exact / refused / wrong, then the per-model rows."""
    out = ["| source | models | accepted | exact | accepted, MACs unchecked | refused | wrong | not built |",
           "|---|---|---|---|---|---|---|---|"]
    for src in sorted({r["source"] for r in rows}):
        rs = [r for r in rows if r["source"] == src]
        n = {s: sum(1 for r in rs if r["status"] == s)
             for s in ("exact", "unchecked", "refused", "WRONG", "not built")}
        out.append(f"| {src} | {len(rs)} | {n['exact'] + n['unchecked'] + n['WRONG']} | {n['exact']} | "
                   f"{n['unchecked']} | {n['refused']} | {n['WRONG']} | {n['not built']} |")
    out += ["", "| source | model | status | tracer | from_torch s | params | MACs | FlopCounterMode/2 | fvcore |",
            "|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        fv = {True: "=", False: "DIFFERS", None: "-"}[r.get("fvcore_ok")] if "fvcore_ok" in r else "not run"
        tracer = r.get("tracer", "").split(";")[0] + ("; capacity path" if r.get("forced_path") else "")
        out.append(f"| {r['source']} | {r['model']} | {r['status']} | {tracer} | {r.get('seconds', '')} "
                   f"| {r.get('params', '')} | {r.get('macs', '')} | {r.get('flop_counter_macs', '')} | {fv} |")
    return "\n".join(out) + "\n"


def refusals(rows) -> str:
    """The refused models grouped by their first reason (Markdown bullets)."""
    groups: dict = {}
    for r in rows:
        if r["status"] != "refused":
            continue
        why = r.get("why", "")
        m = re.search(r"\): ([^;]*)", why)
        key = (m.group(1) if m and m.group(1) else why.split(";")[0])[:110]
        groups.setdefault(key, []).append(r["model"])
    out = []
    for key, models in sorted(groups.items(), key=lambda kv: -len(kv[1])):
        out.append(f"- {key}: {', '.join(models)}")
    return "\n".join(out) + "\n"


def timing(rows) -> str:
    """from_torch seconds over accepted models: median, 90th percentile, max (model)."""
    ts = sorted((r["seconds"], r["model"]) for r in rows if r["status"] != "refused" and "seconds" in r)
    if not ts:
        return ""
    med = ts[len(ts) // 2][0]
    p90 = ts[int(len(ts) * 0.9)][0]
    return f"from_torch time per accepted model: median {med} s, 90th percentile {p90} s, max {ts[-1][0]} s ({ts[-1][1]})"


def main(argv=None) -> int:
    import argparse

    p = argparse.ArgumentParser(prog="python -m archcalc.torch_bridge.corpus")
    p.add_argument("--source", choices=("torchvision", "timm", "all"), default="all")
    p.add_argument("--limit", type=int, default=None)
    p.add_argument("--no-fvcore", action="store_true")
    p.add_argument("--out", default=None, help="write the Markdown table here")
    p.add_argument("--jsonl", default=None, help="append one JSON line per model here")
    a = p.parse_args(argv)
    import torch

    torch.set_num_threads(1)
    names = []
    if a.source in ("torchvision", "all"):
        names += [("torchvision", n) for n in torchvision_names()[:a.limit]]
    if a.source in ("timm", "all"):
        names += [("timm", n) for n in timm_names(a.limit)]
    rows = []
    for src, n in names:
        row = check(src, n, fvcore=not a.no_fvcore)
        rows.append(row)
        line = json.dumps(row, default=str)
        print(line, flush=True)
        if a.jsonl:
            with open(a.jsonl, "a", encoding="utf-8") as f:
                f.write(line + "\n")
    if a.out:
        with open(a.out, "w", encoding="utf-8") as f:
            f.write(table(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
