"""Run the third-party profilers on a real torch module and return their counts as plain ints.

Every function takes a built ``nn.Module`` (eval mode) and a per-sample input shape, and returns a
:class:`ToolCount`: the tool's own total plus per-module counts keyed by the module's dotted path
(``features.0``, ``layer1.0.conv1``), which is how archcalc names its layers. Nothing is rescaled:
each number is what the tool itself reports, under its own convention.
"""

from __future__ import annotations

import contextlib
import io
import warnings
from dataclasses import dataclass, field


@dataclass
class ToolCount:
    tool: str
    total: int
    by_module: dict = field(default_factory=dict)  # leaf module path -> count
    by_operator: dict = field(default_factory=dict)  # operator name -> count (where the tool has it)
    unsupported: dict = field(default_factory=dict)  # operator -> occurrences the tool skipped
    params: int | None = None
    extra: dict = field(default_factory=dict)


def _example(model, input_shape, batch=1, device=None):
    import torch

    p = next(iter(model.parameters()), None)
    dev = device or (p.device if p is not None else "cpu")
    return torch.zeros((batch, *input_shape), device=dev)


def fvcore_counts(model, input_shape, batch=1) -> ToolCount:
    """fvcore's FlopCountAnalysis (jit trace; counts one per multiply-accumulate), plus its
    ActivationCountAnalysis and parameter_count."""
    from fvcore.nn import ActivationCountAnalysis, FlopCountAnalysis, parameter_count

    x = _example(model, input_shape, batch)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fca = FlopCountAnalysis(model, x).unsupported_ops_warnings(False).uncalled_modules_warnings(False)
        by_mod = fca.by_module()
        leaves = {n for n, m in model.named_modules() if not list(m.children()) and n}
        total = int(fca.total())
        by_op = {k: int(v) for k, v in fca.by_operator().items()}
        unsupported = dict(fca.unsupported_ops())
        aca = ActivationCountAnalysis(model, x).unsupported_ops_warnings(False).uncalled_modules_warnings(False)
        act_by_mod = aca.by_module()
        acts = int(aca.total())
    return ToolCount(
        "fvcore", total,
        by_module={n: int(by_mod.get(n, 0)) for n in leaves},
        by_operator=by_op,
        unsupported=unsupported,
        params=int(parameter_count(model)[""]),
        extra={"activations": acts, "activations_by_module": {n: int(act_by_mod.get(n, 0)) for n in leaves}},
    )


def torchinfo_counts(model, input_shape, batch=1) -> ToolCount:
    """torchinfo's summary: total mult-adds (its docs' name for MACs), with per-leaf output shapes
    and parameter counts."""
    from torchinfo import summary

    p = next(iter(model.parameters()), None)
    stats = summary(model, input_size=(batch, *input_shape), verbose=0, device=p.device if p is not None else None,
                    col_names=("output_size", "num_params", "mult_adds"))
    names = {id(m): n for n, m in model.named_modules()}
    by_mod, shapes, params = {}, {}, {}
    for info in stats.summary_list:
        if info.is_leaf_layer:
            n = names.get(id(info.module))
            if n is None:
                continue
            by_mod[n] = by_mod.get(n, 0) + int(info.macs)
            shapes[n] = tuple(info.output_size)
            params[n] = int(info.num_params) if info.num_params > 0 else 0
    return ToolCount("torchinfo", int(stats.total_mult_adds), by_module=by_mod, params=int(stats.total_params),
                     extra={"output_shapes": shapes, "params_by_module": params})


def flop_counter_counts(model, input_shape, batch=1) -> ToolCount:
    """torch.utils.flop_counter.FlopCounterMode: FLOPs = 2 per multiply-accumulate of
    conv/mm/addmm/bmm, nothing else. Runs on the meta device."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    x = _example(model, input_shape, batch)
    mode = FlopCounterMode(display=False)
    with torch.no_grad(), mode:
        model(x)
    counts = mode.get_flop_counts()
    leaves = {n for n, m in model.named_modules() if not list(m.children()) and n}
    prefix = type(model).__name__ + "."  # FlopCounterMode names modules "<RootClass>.<path>"
    by_mod = {n: int(sum(counts[prefix + n].values())) for n in leaves if prefix + n in counts}
    by_op = {str(k): int(v) for k, v in counts.get("Global", {}).items()}
    return ToolCount("flop_counter", int(mode.get_total_flops()), by_module=by_mod, by_operator=by_op)


def ptflops_counts(model, input_shape, batch=1) -> ToolCount:
    """ptflops' pytorch backend (module hooks plus patched torch.nn.functional / tensor ops), per
    sample. ``batch`` is ignored: ptflops always profiles one sample."""
    from ptflops import get_model_complexity_info

    with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        macs, params = get_model_complexity_info(model, tuple(input_shape), as_strings=False,
                                                 print_per_layer_stat=False, verbose=False, backend="pytorch")
    if macs is None:
        raise RuntimeError("ptflops failed on this model")
    return ToolCount("ptflops", int(macs), params=int(params))


def thop_counts(model, input_shape, batch=1) -> ToolCount:
    """thop.profile: per-leaf-module hooks (no functional ops), one per multiply-accumulate."""
    import copy

    from thop import profile

    m = copy.deepcopy(model)
    x = _example(m, input_shape, batch)
    with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ops, params, layer_info = profile(m, inputs=(x,), verbose=False, ret_layer_info=True)

    by_mod = {}

    def walk(prefix, d):
        for k, (o, _p, sub) in d.items():
            name = f"{prefix}.{k}" if prefix else k
            if sub:
                walk(name, sub)
            else:
                by_mod[name] = int(o)

    walk("", layer_info)
    return ToolCount("thop", int(round(ops)), by_module=by_mod, params=int(params))


TOOLS = {
    "fvcore": fvcore_counts,
    "torchinfo": torchinfo_counts,
    "flop_counter": flop_counter_counts,
    "ptflops": ptflops_counts,
    "thop": thop_counts,
}


def hooked_types(tool: str):
    """For module-hook tools, a predicate ``(module, is_leaf) -> bool``: does the tool's hook see
    this module's own work? (torchinfo: leaf modules; thop and ptflops: exact registered types,
    so a subclass such as timm's BatchNormAct2d is invisible to them.) None for op-level tools."""
    if tool == "torchinfo":
        return lambda module, is_leaf: is_leaf
    if tool == "thop":
        from thop.profile import register_hooks

        return lambda module, is_leaf: type(module) in register_hooks
    if tool == "ptflops":
        from ptflops.pytorch_ops import MODULES_MAPPING

        return lambda module, is_leaf: type(module) in MODULES_MAPPING
    return None
