"""Collect: build the torch twin of a zoo model (meta device, no weights), align its modules
with archcalc's layer names, and time each module's forward. Everything here imports torch lazily."""

from __future__ import annotations

import contextlib
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
    if entry.torchvision:
        with _regnet_widths_on_cpu():
            return _tv_build(entry, kwargs)
    return _other_build(entry, kwargs)


@contextlib.contextmanager
def _regnet_widths_on_cpu():
    """torchvision computes RegNet's stage widths with tensors and reads them back (``.tolist()``),
    which a meta default device cannot do: that one step runs on the CPU while the modules are
    built on meta as usual. Restored on exit."""
    import torch
    from torchvision.models.regnet import BlockParams

    orig = BlockParams.__dict__["from_init_params"]

    def on_cpu(cls, *args, **kw):
        with torch.device("cpu"):
            return orig.__func__(cls, *args, **kw)

    BlockParams.from_init_params = classmethod(on_cpu)
    try:
        yield
    finally:
        BlockParams.from_init_params = orig


def _tv_build(entry, kwargs):
    import torchvision

    if "." not in entry.torchvision:
        return torchvision.models.get_model(entry.torchvision, weights=None, **kwargs)
    # a namespaced builder (quantization.resnet18, segmentation.fcn_resnet50, video.r3d_18):
    # get_model knows only the bare names, which collide across namespaces (resnet18)
    fn = torchvision.models
    for part in entry.torchvision.split("."):
        fn = getattr(fn, part, None)
        if fn is None:
            raise VerifyError(f"model {entry.name!r}: torchvision has no builder {entry.torchvision!r}")
    if "weights_backbone" in inspect.signature(fn).parameters:  # never a backbone's weight file
        kwargs = {"weights_backbone": None, **kwargs}
    return fn(weights=None, **kwargs)


def _other_build(entry, kwargs):
    if entry.timm:
        import timm

        return timm.create_model(entry.timm, pretrained=False, **kwargs)
    raise VerifyError(f"model {entry.name!r} has no torchvision or timm twin to verify against")


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
