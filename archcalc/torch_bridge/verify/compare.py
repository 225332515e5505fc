"""Compare: archcalc's count of each layer under each tool's convention against what the tool
measured on the torch twin; every difference that no rule explains is a problem naming the layer."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Optional

from ... import conventions as conv
from ... import dims
from .collect import (META_TOOLS, TOOL_CONVENTION, VerifyError, _called_modules, _not_verifiable, materialize,
                      module_for, time_layers, torch_model)

@dataclass
class LayerCheck:
    name: str
    kind: str
    module: Optional[str]
    shape: tuple  # archcalc, batch included
    torch_shape: Optional[tuple] = None
    params: object = 0
    torch_params: Optional[int] = None
    counts: dict = field(default_factory=dict)  # tool -> archcalc count under its convention
    tool_counts: dict = field(default_factory=dict)  # tool -> the tool's count for the module (first call)
    flops: object = 0  # archcalc flops (own convention)
    time_ms: Optional[float] = None
    problems: list = field(default_factory=list)
    skipped: str = ""

    @property
    def gflops_per_s(self):
        if not self.time_ms or not self.flops:
            return None
        return self.flops / (self.time_ms * 1e-3) / 1e9


@dataclass
class Verification:
    model: str
    torch_name: str
    input_shape: tuple
    batch: int
    layers: list
    totals: dict  # tool -> (archcalc under its convention, tool)
    params: tuple  # (archcalc, torch)
    buffers: tuple
    activations: Optional[tuple] = None  # fvcore ActivationCountAnalysis (archcalc, tool)
    problems: list = field(default_factory=list)
    notes: list = field(default_factory=list)
    gaps: dict = field(default_factory=dict)  # tool -> one-line explanations
    device: Optional[str] = None
    macs: object = None  # archcalc's own MACs (whole batch)
    #: tool -> why archcalc does not reproduce that tool on this model (a Refused rule, named layer);
    #: such a tool is not run and has no total: reported, never counted as agreeing
    not_verified: dict = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.problems and not any(l.problems for l in self.layers)

    def all_problems(self) -> list:
        return [f"{l.name}: {p}" for l in self.layers for p in l.problems] + list(self.problems)

    def to_dict(self) -> dict:
        j = dims.to_json
        return {
            "model": self.model, "torch_model": self.torch_name, "input": list(self.input_shape),
            "batch": self.batch, "ok": self.ok, "device": self.device, "macs": j(self.macs),
            "totals": {t: {"archcalc": j(a), "tool": b, "gaps": list(self.gaps.get(t, ()))}
                       for t, (a, b) in self.totals.items()},
            "params": {"archcalc": j(self.params[0]), "torch": self.params[1]},
            "buffers": {"archcalc": j(self.buffers[0]), "torch": self.buffers[1]},
            "activations": None if self.activations is None else
            {"archcalc": j(self.activations[0]), "fvcore": self.activations[1]},
            "problems": self.all_problems(), "notes": list(self.notes),
            "not_verified": dict(self.not_verified),
            "layers": [{
                "name": l.name, "kind": l.kind, "module": l.module,
                "shape": [j(d) for d in l.shape], "torch_shape": list(l.torch_shape) if l.torch_shape else None,
                "params": j(l.params), "torch_params": l.torch_params,
                "counts": {t: {"archcalc": j(v), "tool": l.tool_counts.get(t)} for t, v in l.counts.items()},
                "flops": j(l.flops), "time_ms": l.time_ms, "gflops_per_s": l.gflops_per_s,
                "skipped": l.skipped or None, "problems": list(l.problems),
            } for l in self.layers],
        }


def verify(model_name: str, device: Optional[str] = None, tools=None, batch: int = 1,
           repeats: int = 3, input_shape=None) -> Verification:
    """Cross-check ``model_name`` against its torch twin. ``device`` ('cpu' or 'cuda') also times
    each layer's forward with torch.profiler. ``input_shape`` (per sample, default the model's)
    must be concrete."""
    import torch

    from ...analysis import analyze
    from ...zoo import get_entry
    from .. import tools as T

    entry = get_entry(model_name)
    why_not = _not_verifiable(entry)
    if why_not:
        raise VerifyError(why_not)
    if device not in (None, "cpu", "cuda"):
        raise VerifyError(f"--device must be cpu or cuda, got {device!r}")
    if device == "cuda" and not torch.cuda.is_available():
        raise VerifyError("--device cuda: no CUDA device is available here (torch.cuda.is_available() is False)")
    tools = list(tools or TOOL_CONVENTION)
    for t in tools:
        if t not in TOOL_CONVENTION:
            raise VerifyError(f"unknown tool {t!r}; choose from {', '.join(TOOL_CONVENTION)}")
    shape = tuple(input_shape or entry.input_shape)
    if not all(isinstance(d, int) for d in shape):
        raise VerifyError(f"verify needs a concrete input shape, got {shape}")
    result = analyze(entry.name, input=shape, batch=batch)
    meta_model = torch_model(entry, "meta")
    cpu_model = None

    modules = {n for n, _ in meta_model.named_modules() if n}
    leaves = {n for n, m in meta_model.named_modules() if n and not list(m.children())}
    called, params_only = _called_modules(meta_model, shape, batch)
    # a container never called itself (a ModuleDict/ModuleList iterated in forward) runs when a
    # module inside it does
    ran = set(called) | params_only
    ran |= {".".join(n.split(".")[:i]) for n in list(ran) for i in range(1, n.count(".") + 1)}
    not_run = {n for n in modules if n not in ran}

    def excluded(name):
        parts = name.split(".")
        return next((".".join(parts[:i]) for i in range(1, len(parts) + 1) if ".".join(parts[:i]) in not_run), None)

    # a tool whose convention refuses some layer of this model (conventions.NotReproduced) is not
    # compared: the reason is kept per tool and reported
    # function calls of the torch twin: layers with no module, or whose module is never called but
    # whose parameters forward reads (F.linear(x, self.qkv.weight)); module hooks do not see them
    functional = {r.name for r in result.layers if r.kind != "Input"
                  and (module_for(r.name, modules) is None or module_for(r.name, modules) in params_only)}
    unseen, counted, not_verified = {}, {}, {}
    for t in list(tools):
        unseen[t] = unseen_by_hooks(t, result, meta_model, functional)
        try:
            counted[t] = conv.count(result, TOOL_CONVENTION[t], functional=unseen[t]).by_layer
        except conv.NotReproduced as e:
            not_verified[t] = str(e)
            tools.remove(t)

    measured = {}
    for t in tools:
        if t in META_TOOLS:
            measured[t] = T.TOOLS[t](meta_model, shape, batch)
        else:
            if cpu_model is None:
                cpu_model = materialize(torch_model(entry, "meta"), "cpu")
            measured[t] = T.TOOLS[t](cpu_model, shape, 1 if t == "ptflops" else batch)


    checks = []
    per_module: dict = {t: {} for t in tools}
    direct_params = {n: sum(p.numel() for p in m.parameters(recurse=False)) for n, m in meta_model.named_modules()}
    for rec in result.layers:
        if rec.kind == "Input":
            continue
        mod = module_for(rec.name, modules)
        shown = (batch,) + tuple(rec.output_shape)
        if conv.folds_items(rec.layer):  # torch runs it on (batch * items, C, ...)
            shown = (dims.normalize(batch * rec.output_shape[0]),) + tuple(rec.output_shape[1:])
        lc = LayerCheck(rec.name, rec.kind, mod, shown, params=rec.params, flops=rec.flops)
        skip = excluded(rec.name)
        if skip:
            lc.skipped = f"torch's {skip} does not run in eval mode"
        for t in tools:
            lc.counts[t] = counted[t][rec.name]
            if mod is not None and not skip:
                per_module[t][mod] = dims.normalize(per_module[t].get(mod, 0) + counted[t][rec.name])
        if mod is not None:
            k = 0
            m = re.fullmatch(r"(.+)_(\d+)", rec.name)
            if mod != rec.name and m:
                k = int(m.group(2))
            calls = called.get(mod) or []
            # a LearnedTensor named after a module with children is that module's own parameter
            # (Swin's relative_position_bias_table, ViT's pos_embedding), not the module's output
            own_tensor = rec.kind == "LearnedTensor" and mod not in leaves
            if k < len(calls) and calls[k] is not None and not own_tensor:
                lc.torch_shape = calls[k]
                if tuple(lc.torch_shape) != tuple(lc.shape) and not skip:
                    lc.problems.append(f"output shape {lc.shape} but torch's {mod} gives {lc.torch_shape}")
            if mod == rec.name:
                lc.torch_params = direct_params.get(mod, 0) if mod in leaves else None
        checks.append(lc)

    # parameters, module by module (a layer owns the direct parameters of its module)
    # A layer standing for a module with children owns the module's direct parameters and those of
    # its leaf submodules that no archcalc layer stands for (nn.MultiheadAttention: in_proj_* and its
    # out_proj Linear; ViT's encoder: pos_embedding): those leaves are checked through it.
    mapped = {lc.module for lc in checks if lc.module is not None}
    whole = {m for m in mapped if m not in leaves and m in {lc.name for lc in checks}}
    owner = {}  # covered leaf -> the nearest such module above it
    for n in leaves - mapped:
        above = [w for w in whole if n.startswith(w + ".")]
        if above:
            owner[n] = max(above, key=len)
    covered = set(owner)
    ours_params: dict = {}
    for lc in checks:
        if lc.module in leaves or lc.module in whole:
            ours_params[lc.module] = dims.normalize(ours_params.get(lc.module, 0) + lc.params)
    by_name = {lc.name: lc for lc in checks}
    problems, notes = [], []
    for n in sorted(whole):
        theirs = direct_params.get(n, 0) + sum(direct_params.get(c, 0) for c, w in owner.items() if w == n)
        if ours_params[n] != theirs:
            by_name[n].problems.append(f"params {dims.fmt_int(ours_params[n])} but torch's {n} and its "
                                       f"submodules have {theirs:,}")
    for n in sorted(leaves - covered):
        theirs = direct_params.get(n, 0)
        if n not in ours_params:
            if theirs:
                problems.append(f"torch module {n} has {theirs:,} parameters and no archcalc layer")
            continue
        if ours_params[n] != theirs:
            by_name[n].problems.append(f"params {dims.fmt_int(ours_params[n])} but torch's {n} has {theirs:,}")
    tensors = dict(meta_model.named_parameters())
    for lc in checks:
        if lc.module is None and lc.params:
            if lc.name in tensors:  # a parameter used in forward (ViT's class_token): its own tensor
                if lc.params != tensors[lc.name].numel():
                    lc.problems.append(f"params {dims.fmt_int(lc.params)} but torch's parameter {lc.name} has "
                                       f"{tensors[lc.name].numel():,}")
                continue
            problems.append(f"layer {lc.name} has {dims.fmt_int(lc.params)} params but no torch module")

    # per-module tool counts
    for t in tools:
        tc = measured[t]
        if not tc.by_module:
            continue
        for n in sorted(leaves):
            theirs = tc.by_module.get(n, 0)
            if n in not_run or n in params_only:  # a tool attributes a function call to the caller
                continue
            ours = per_module[t].get(n)
            if ours is None:
                if theirs:
                    problems.append(f"{t}: torch module {n} counts {theirs:,} and has no archcalc layer")
                continue
            first = by_name.get(n) or next(lc for lc in checks if lc.module == n)
            first.tool_counts[t] = theirs
            if ours != theirs:
                first.problems.append(f"{t} counts {theirs:,} for module {n}; archcalc's {t} convention gives "
                                      f"{dims.fmt_int(ours)} ({conv.get(TOOL_CONVENTION[t]).rule(conv._unshared(result[first.name])[0]).why})")

    totals = {}
    for t in tools:
        ours = dims.total(v for name, v in counted[t].items() if not excluded(name))
        theirs = measured[t].total
        if t == "ptflops":  # ptflops profiles one sample
            ours = dims.exact_div(ours, batch)
        totals[t] = (ours, theirs)
        if ours != theirs:
            functional = [lc.name for lc in checks if lc.module is None and lc.counts.get(t)]
            problems.append(f"{t} total {theirs:,} but archcalc's {t} convention gives {dims.fmt_int(ours)}"
                            + (f" (functional layers counted: {', '.join(functional[:5])})" if functional else
                               " (outside the per-module counts: functional ops)"))

    torch_params = sum(p.numel() for p in meta_model.parameters())
    torch_buffers = sum(b.numel() for b in meta_model.buffers())
    ours_p, ours_b = result.totals["params"], result.totals["buffers"]
    if ours_p != torch_params:
        problems.append(f"total params {dims.fmt_int(ours_p)} but torch has {torch_params:,}")
    if ours_b != torch_buffers:
        problems.append(f"total buffers {dims.fmt_int(ours_b)} but torch has {torch_buffers:,}")
    activations = None
    if "fvcore" in measured:
        ours_a = dims.total(v for name, v in conv.count(result, "fvcore_activations").by_layer.items()
                            if not excluded(name))
        activations = (ours_a, measured["fvcore"].extra["activations"])
        if ours_a != activations[1]:
            problems.append(f"fvcore activations {activations[1]:,} but archcalc's fvcore_activations "
                            f"convention gives {dims.fmt_int(ours_a)}")
    if "fvcore" in measured:
        notes.append("fvcore by operator: " + ", ".join(f"{k} {v:,}" for k, v in
                                                       sorted(measured["fvcore"].by_operator.items())))
    if not_run:
        top = sorted(n for n in not_run if "." not in n or n.rsplit(".", 1)[0] not in not_run)
        notes.append("not run by torch in eval mode (training-only branches), excluded from operation counts: "
                     + ", ".join(top))
    if "fvcore" in measured:
        problems += _check_fvcore_operators(measured["fvcore"].by_operator,
                                            conv.count(SimpleNamespace(layers=[r for r in result.layers
                                                                               if not excluded(r.name)]),
                                                       "fvcore", functional=functional).by_kind)
    unsupported = measured.get("fvcore").unsupported if "fvcore" in measured else {}
    if unsupported:
        notes.append("fvcore skipped (counts 0): " + ", ".join(f"{k} x{v}" for k, v in sorted(unsupported.items())))

    executed = SimpleNamespace(layers=[r for r in result.layers if not excluded(r.name)])
    v = Verification(entry.name, entry.torchvision or entry.timm, shape, batch, checks, totals,
                     (ours_p, torch_params), (ours_b, torch_buffers), activations, problems, notes,
                     gaps={t: _gap_lines(executed, TOOL_CONVENTION[t], unseen[t]) for t in tools}, device=device,
                     macs=result.totals["macs"], not_verified=not_verified)
    if device:
        time_layers(v, entry, device, repeats=repeats)
    return v


FVCORE_OPERATORS = conv.FVCORE_OPERATORS  # the table lives beside the fvcore convention


def _check_fvcore_operators(by_operator: dict, by_kind: dict) -> list:
    """fvcore's count per operator must equal archcalc's fvcore-convention count of the layer
    kinds that lower to that operator."""
    problems = []
    theirs: dict = {}
    for op, n in by_operator.items():
        kinds = FVCORE_OPERATORS.get(op)
        if kinds is None:
            if n:
                problems.append(f"fvcore counts {n:,} for operator {op}, which no archcalc layer kind maps to")
            continue
        theirs[kinds] = theirs.get(kinds, 0) + n
    for kinds in set(FVCORE_OPERATORS.values()):
        ours = dims.total(by_kind.get(k, 0) for k in kinds)
        if ours != theirs.get(kinds, 0):
            problems.append(f"fvcore by operator: {'/'.join(kinds)} {theirs.get(kinds, 0):,} but archcalc's fvcore "
                            f"convention gives {dims.fmt_int(ours)}")
    return problems


def unseen_by_hooks(tool: str, result, model, functional: set) -> set:
    """Layers a tool's module hooks do not see: function calls, plus (for module-hook tools) layers
    whose module is not a leaf (torchinfo) or not of a type the tool registered (thop, ptflops)."""
    from .. import tools as T

    sees = T.hooked_types(tool)
    if sees is None:
        return set(functional)
    named = dict(model.named_modules())
    paths = set(named) - {""}
    out = set(functional)
    for r in result.layers:
        if r.kind == "Input" or r.name in functional:
            continue
        m = module_for(r.name, paths)
        if not sees(named[m], not list(named[m].children())):
            out.add(r.name)
    return out


def _gap_lines(result, convention, functional) -> list:
    """One line per layer kind where the convention departs from archcalc's MACs."""
    return [f"{'+' if not dims.is_concrete(d) or d >= 0 else ''}{dims.fmt_int(d)} {key}: {why}"
            for key, d, why in conv.explain(result, convention, functional)]



def compare_module(module, input_shape, tools=None, batch: int = 1) -> dict:
    """Cross-check any ``nn.Module`` (e.g. a user model): import it with ``from_torch``, count it
    under each tool's convention and run the tool. Returns ``{tool: (archcalc, tool)}``. The
    module must hold real tensors (CPU) for fvcore and ptflops."""
    from ...analysis import analyze
    from .. import tools as T
    from ..fx_import import from_torch

    shape = tuple(input_shape)
    graph = from_torch(module, shape)
    results = {b: analyze(graph, batch=b) for b in {1, batch}}  # ptflops always profiles one sample
    modules = {n for n, _ in module.named_modules() if n}
    functional = {r.name for r in results[1].layers if r.kind != "Input" and module_for(r.name, modules) is None}
    out = {}
    for t in tools or TOOL_CONVENTION:
        result = results[1 if t == "ptflops" else batch]
        ours = conv.count(result, TOOL_CONVENTION[t], functional=unseen_by_hooks(t, result, module, functional)).total
        theirs = T.TOOLS[t](module, shape, 1 if t == "ptflops" else batch).total
        out[t] = (ours, theirs)
    return out
