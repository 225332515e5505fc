"""Collect: build the torch twin of a zoo model (meta device, no weights), align its modules
with archcalc's layer names, and time each module's forward. Everything here imports torch lazily."""

from __future__ import annotations

import inspect
import re
from typing import TYPE_CHECKING, Optional

from ...errors import ArchcalcError

if TYPE_CHECKING:  # collect fills what compare defines; compare imports collect, not the reverse
    from .compare import Verification

#: Tools in report order; each maps to the convention that reproduces it.
TOOL_CONVENTION = {
    "fvcore": "fvcore",
    "torchinfo": "torchinfo",
    "flop_counter": "flop_counter",
    "ptflops": "ptflops",
    "thop": "thop",
}
#: Tools that can profile a model on the meta device (no weights, no real forward). fvcore traces
#: with torch.jit and ptflops' patched functionals misbehave on meta (F.linear decomposes into a
#: patched matmul and linear layers count twice), so those two run a real forward on the CPU.
META_TOOLS = ("torchinfo", "flop_counter", "thop")


#: Builder keyword arguments that mean the same in archcalc's zoo and in torchvision/timm classes.
#: (Not e.g. ``block``: archcalc's is a name, torchvision's a class.)
SHARED_KWARGS = ("num_classes", "aux_logits", "dropout", "width_mult")


class VerifyError(ArchcalcError):
    pass


# ------------------------------------------------------------------------------- building models

def _builder_defaults(entry) -> dict:
    sig = inspect.signature(entry.builder)
    kw = {k: p.default for k, p in sig.parameters.items()
          if p.default is not inspect.Parameter.empty and k not in ("name", "input_shape")}
    kw.update(entry.kwargs)
    return kw


def torch_model(entry, device="meta"):
    """The torchvision (else timm) model an entry mirrors, ``weights=None``, eval mode, built on
    ``device``. Builder keyword arguments that the torch class also takes (``num_classes``,
    ``aux_logits``, ``dropout``...) are passed through so both describe the same network."""
    import torch

    with torch.device("meta"):
        base = _raw_build(entry, {})
    accepted = set(inspect.signature(type(base).__init__).parameters) & set(SHARED_KWARGS)
    shared = {k: v for k, v in _builder_defaults(entry).items() if k in accepted}
    if entry.torchvision:
        shared.update(getattr(entry, "torchvision_kwargs", None) or {})  # the zoo entry's own say wins
    if "init_weights" in set(inspect.signature(type(base).__init__).parameters):
        shared["init_weights"] = False  # counts do not depend on values; skip slow initialisers
    with torch.device("meta"):
        model = _raw_build(entry, shared)
    model.eval()
    if str(device) != "meta":
        model = materialize(model, device)
    return model


def _raw_build(entry, kwargs):
    """Build under ``torch.device("meta")``; a builder that computes its layout with tensors
    (torchvision's RegNet: ``torch.arange(...).tolist()``) cannot read meta data, so it is built with
    ordinary tensors whose parameters and buffers are moved to meta as each module registers them."""
    try:
        return _raw_build_once(entry, kwargs)
    except NotImplementedError as e:
        if "meta tensor" not in str(e):
            raise
    import torch

    with torch.device("cpu"), _params_to_meta():
        return _raw_build_once(entry, kwargs)


def _params_to_meta():
    import contextlib

    import torch

    reg_p, reg_b = torch.nn.Module.register_parameter, torch.nn.Module.register_buffer

    def param(self, name, p):
        if p is not None:
            p = torch.nn.Parameter(p.to("meta"), requires_grad=p.requires_grad)
        reg_p(self, name, p)

    def buffer(self, name, b, *a, **k):
        reg_b(self, name, None if b is None else b.to("meta"), *a, **k)

    @contextlib.contextmanager
    def cm():
        torch.nn.Module.register_parameter, torch.nn.Module.register_buffer = param, buffer
        try:
            yield
        finally:
            torch.nn.Module.register_parameter, torch.nn.Module.register_buffer = reg_p, reg_b

    return cm()


def _raw_build_once(entry, kwargs):
    if entry.torchvision:
        import torchvision

        name = _registry_name(entry.torchvision)
        if "weights_backbone" in inspect.signature(torchvision.models.get_model_builder(name)).parameters:
            kwargs = {**kwargs, "weights_backbone": None}  # never download a pretrained backbone
        return torchvision.models.get_model(name, weights=None, **kwargs)
    if entry.timm:
        import timm

        return timm.create_model(entry.timm, pretrained=False, **kwargs)
    raise VerifyError(f"model {entry.name!r} has no torchvision or timm twin to verify against")


def _registry_name(name: str) -> str:
    """torchvision's registry name for a zoo entry's ``torchvision`` field: the sub-package prefix
    (``video.``, ``segmentation.``, ``optical_flow.``) is dropped; ``quantization.X`` is ``quantized_X``."""
    pkg, _, model = name.rpartition(".")
    return f"quantized_{model}" if pkg == "quantization" else model


def materialize(model, device):
    """Allocate a meta-built model on ``device`` with harmless values (no weight files)."""
    import torch

    model = model.to_empty(device=device)
    with torch.no_grad():
        for p in model.parameters():
            p.normal_(0.0, 0.02)
        for n, b in model.named_buffers():
            if n.endswith("running_var"):
                b.fill_(1.0)
            else:
                b.zero_()
    return model


def _not_verifiable(entry) -> Optional[str]:
    if not (entry.torchvision or entry.timm):
        return f"model {entry.name!r} has no torchvision or timm twin to verify against"
    if (entry.torchvision or "").startswith("optical_flow."):
        return (f"model {entry.name!r}: torchvision's RAFT takes two images (forward(image1, image2)) and "
                "iterates its update block a run-time number of times; the profilers run a one-input forward")
    if (entry.torchvision or "").startswith("detection."):
        return (f"model {entry.name!r}: torchvision's detection builders take lists of images and post-process "
                "their outputs; the profilers cannot run them as a plain forward")
    return None


def verifiable_entries() -> list:
    from ...zoo import entries

    return [e for e in entries() if _not_verifiable(e) is None]


# ------------------------------------------------------------------------------- alignment

def module_for(name: str, modules: set) -> Optional[str]:
    """The torch module path an archcalc layer name stands for: itself, or for ``path_k`` (the k-th
    extra call of a reused module) ``path``; None for functional ops."""
    if name in modules:
        return name
    m = re.fullmatch(r"(.+)_(\d+)", name)
    if m and m.group(1) in modules:
        return m.group(1)
    return None


def _called_modules(model, input_shape, batch):
    """Per module name, the output shapes of its calls in one eval forward of the meta-device
    ``model`` (modules never called are training-only branches), and the set of modules never
    called whose own parameters forward reads anyway (torchvision's Swin runs ``F.linear(x,
    self.qkv.weight, ...)``): those run as function calls, which module hooks do not see."""
    import torch
    from torch.overrides import TorchFunctionMode

    called: dict = {}
    owner = {id(p): n for n, m in model.named_modules() for p in m.parameters(recurse=False)}
    read: set = set()

    class Reads(TorchFunctionMode):
        def __torch_function__(self, func, types, args=(), kwargs=None):
            for a in (*args, *(kwargs or {}).values()):
                if id(a) in owner:
                    read.add(owner[id(a)])
            return func(*args, **(kwargs or {}))

    handles = [m.register_forward_hook(lambda mod, i, o, n=n: called.setdefault(n, []).append(
        tuple(o.shape) if isinstance(o, torch.Tensor) else None)) for n, m in model.named_modules()]
    try:
        with torch.no_grad(), Reads():
            model(torch.zeros((batch, *input_shape), device="meta"))
    finally:
        for h in handles:
            h.remove()
    return called, read - set(called)


def _device_of(model) -> str:
    p = next(iter(model.parameters()), None)
    return str(p.device) if p is not None else "cpu"


# ------------------------------------------------------------------------------- timing

def time_layers(v: Verification, entry, device: str, repeats: int = 3) -> None:
    """Time each module's forward with torch.profiler (record_function ranges opened and closed by
    forward hooks); store per-layer milliseconds (mean over ``repeats``) on ``v.layers``."""
    import os

    os.environ.setdefault("KINETO_LOG_LEVEL", "5")  # keep kineto's start/stop chatter off stderr
    import torch
    from torch.autograd.profiler import record_function
    from torch.profiler import ProfilerActivity, profile

    model = materialize(torch_model(entry, "meta"), device)
    x = torch.randn((v.batch, *v.input_shape), device=device)
    calls: dict = {}
    open_ranges: list = []
    handles = []

    def pre(mod, inp, n):
        k = calls.get(n, 0)
        calls[n] = k + 1
        rf = record_function(f"archcalc::{n if k == 0 else f'{n}_{k}'}")
        rf.__enter__()
        open_ranges.append(rf)

    def post(mod, inp, out):
        open_ranges.pop().__exit__(None, None, None)

    for n, m in model.named_modules():
        if n and not list(m.children()):
            handles.append(m.register_forward_pre_hook(lambda mod, inp, n=n: pre(mod, inp, n)))
            handles.append(m.register_forward_hook(post))
    acts = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if device == "cuda" else [])
    try:
        with torch.no_grad():
            model(x)  # warm-up
            if device == "cuda":
                torch.cuda.synchronize()
            with profile(activities=acts) as prof:
                for _ in range(repeats):
                    calls.clear()
                    model(x)
                if device == "cuda":
                    torch.cuda.synchronize()
    finally:
        for h in handles:
            h.remove()
    times = {}
    for ev in prof.key_averages():
        if ev.key.startswith("archcalc::"):
            us = ev.device_time_total if device == "cuda" else ev.cpu_time_total
            times[ev.key[len("archcalc::"):]] = us / 1000.0 / repeats
    for lc in v.layers:
        if lc.name in times:
            lc.time_ms = times[lc.name]
    v.device = device
