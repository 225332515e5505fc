"""Measured truth for :mod:`archcalc.memory`: the real peak memory of a torch model.

Two measurements, both counting the *same* things the static model counts:

- **CPU** (always available): a ``TorchDispatchMode`` sees every aten op; each tensor an op returns
  is registered by its storage (``untyped_storage()``), with a weak reference to the storage and its
  ``nbytes``. Before and after every op, storages whose last reference died are dropped, so the
  running sum is the bytes held by live tensor storages; its maximum is the peak. Views and
  in-place results share a storage and are counted once. Scratch buffers an op allocates and frees
  inside its own kernel (oneDNN weight reorders, im2col columns) are *not* tensors returned by an op
  and are not counted; the static model does not count them either.
- **CUDA** (when a GPU is present): ``torch.cuda.max_memory_allocated`` after
  ``reset_peak_memory_stats``; this one *does* include library workspaces (cuDNN, cuBLAS).

**Weights are included in both**: the peak is the bytes of parameters + buffers + the input batch
(+ the targets, gradients and optimizer state when training) + activations, i.e. everything that
must fit on the device. The activation-only part (peak minus what is live before the pass starts)
is reported alongside.

Training is measured on a steady-state step: the optimizer's state is created first by one step on
a one-sample batch, then ``zero_grad(set_to_none=True)``, forward, cross-entropy loss, backward and
``optimizer.step()`` are measured. Regenerate the report with::

    python -m archcalc.torch_bridge.memory_measure --out reports/memory.md
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time

#: Models of the acceptance table. Names missing from the zoo are reported and left out (they come
#: from other zoo branches); a present model that fails to build or measure is an error.
TABLE_MODELS = ("vgg16", "resnet50", "googlenet", "densenet121", "mobilenet_v2")
TABLE_BATCHES = (1, 32)
INFERENCE_TOLERANCE = 0.10
TRAINING_TOLERANCE = 0.15


class LiveStorages:
    """Bytes of live tensor storages, tracked through weak references (no tensor is kept alive)."""

    def __init__(self):
        from torch.multiprocessing.reductions import StorageWeakRef

        self._ref = StorageWeakRef
        self._live: dict = {}  # storage impl address -> [weak ref, nbytes]
        self.current = 0
        self.peak = 0
        self.peak_op = ""
        self.phase = ""
        self.phase_peaks: dict = {}

    def add(self, tensor) -> None:
        import torch

        if not isinstance(tensor, torch.Tensor) or tensor.device.type == "meta":
            return
        st = tensor.untyped_storage()
        ref = self._ref(st)
        key = ref.cdata
        n = st.nbytes()
        got = self._live.get(key)
        if got is None:
            self._live[key] = [ref, n]
            self.current += n
        elif got[1] != n:  # an out= op resized it
            self.current += n - got[1]
            got[1] = n

    def sweep(self) -> None:
        dead = [k for k, (ref, _) in self._live.items() if ref.expired()]
        for k in dead:
            self.current -= self._live.pop(k)[1]

    def note(self, where: str) -> None:
        if self.current > self.peak:
            self.peak = self.current
            self.peak_op = f"{self.phase}: {where}"
        if self.current > self.phase_peaks.get(self.phase, -1):
            self.phase_peaks[self.phase] = self.current

    def set_phase(self, phase: str) -> None:
        self.sweep()
        self.phase = phase
        self.note("start")


def _tracking_mode(live: LiveStorages):
    import torch
    from torch.utils._python_dispatch import TorchDispatchMode
    from torch.utils._pytree import tree_leaves

    class Track(TorchDispatchMode):
        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            live.sweep()  # frees since the previous op happened before this op allocates
            out = func(*args, **(kwargs or {}))
            for t in tree_leaves(out):
                if isinstance(t, torch.Tensor):
                    live.add(t)
            live.note(str(func.overloadpacket.__name__))
            return out

    return Track()


def build_torch_model(name: str):
    """The real torchvision model mirrored by zoo entry ``name`` (random weights, CPU, no download)."""
    import torch
    import torchvision

    from ..zoo import get_entry

    entry = get_entry(name)
    if not entry.torchvision:
        raise ValueError(f"{name} has no torchvision counterpart")
    kwargs = {}
    if entry.torchvision == "googlenet":
        # the zoo's googlenet is the deployed net; googlenet_aux keeps the auxiliary heads
        kwargs = {"aux_logits": bool(entry.kwargs.get("aux_logits", False)), "init_weights": False}
    torch.manual_seed(0)
    return getattr(torchvision.models, entry.torchvision)(weights=None, **kwargs), entry


def _tensor_bytes(tensors) -> int:
    seen, total = set(), 0
    for t in tensors:
        st = t.untyped_storage()
        if st.data_ptr() not in seen:
            seen.add(st.data_ptr())
            total += st.nbytes()
    return total


def make_optimizer(name: str, params, foreach=None):
    import torch

    name = name.lower()
    if name == "sgd":
        return torch.optim.SGD(params, lr=0.01, foreach=foreach)
    if name in ("sgd-momentum", "momentum"):
        return torch.optim.SGD(params, lr=0.01, momentum=0.9, foreach=foreach)
    if name == "adam":
        return torch.optim.Adam(params, lr=1e-3, foreach=foreach)
    if name == "adamw":
        return torch.optim.AdamW(params, lr=1e-3, foreach=foreach)
    raise ValueError(f"unknown optimizer {name!r}")


def _optimizer_state_tensors(opt) -> list:
    import torch

    return [v for st in opt.state.values() for v in st.values() if isinstance(v, torch.Tensor)]


def measure_inference_cpu(model, batch: int, input_shape=(3, 224, 224)) -> dict:
    """Peak live bytes of ``model(x)`` under ``torch.no_grad()`` in eval mode, weights included."""
    import torch

    model.eval()
    x = torch.randn(batch, *input_shape)
    live = LiveStorages()
    for t in list(model.parameters()) + list(model.buffers()) + [x]:
        live.add(t)
    base = live.current
    live.set_phase("forward")
    with torch.no_grad(), _tracking_mode(live):
        out = model(x)
        live.set_phase("end")
    del out
    return {"peak": live.peak, "baseline": base, "weights": _tensor_bytes(list(model.parameters()) +
            list(model.buffers())), "peak_op": live.peak_op}


def measure_training_cpu(model, batch: int, optimizer: str = "sgd", input_shape=(3, 224, 224),
                         num_classes: int = 1000, foreach=None) -> dict:
    """Peak live bytes of one steady-state training step (forward, cross-entropy, backward,
    ``optimizer.step()``), weights, gradients and optimizer state included."""
    import torch
    import torch.nn.functional as F

    model.train()
    opt = make_optimizer(optimizer, model.parameters(), foreach=foreach)
    warm = torch.randn(2, *input_shape)  # 2 samples: train-mode BN needs more than one value
    F.cross_entropy(model(warm), torch.zeros(2, dtype=torch.long)).backward()
    opt.step()
    opt.zero_grad(set_to_none=True)
    del warm
    x = torch.randn(batch, *input_shape)
    target = torch.randint(0, num_classes, (batch,))
    live = LiveStorages()
    persistent = list(model.parameters()) + list(model.buffers()) + _optimizer_state_tensors(opt) + [x, target]
    for t in persistent:
        live.add(t)
    base = live.current
    live.set_phase("forward")
    with _tracking_mode(live):
        loss = F.cross_entropy(model(x), target)
        live.set_phase("backward")
        loss.backward()
        live.set_phase("step")
        opt.step()
        live.set_phase("end")
    del loss
    opt.zero_grad(set_to_none=True)
    return {"peak": live.peak, "baseline": base, "peak_op": live.peak_op, "phases": dict(live.phase_peaks)}


def cuda_available() -> bool:
    import torch

    return torch.cuda.is_available()


def measure_inference_cuda(model, batch: int, input_shape=(3, 224, 224)) -> dict:
    """``torch.cuda.max_memory_allocated`` over ``model(x)`` (no_grad, eval), weights included."""
    import torch

    dev = torch.device("cuda")
    model = model.to(dev).eval()
    x = torch.randn(batch, *input_shape, device=dev)
    torch.cuda.synchronize()
    torch.cuda.empty_cache()
    torch.cuda.reset_peak_memory_stats()
    base = torch.cuda.memory_allocated()
    with torch.no_grad():
        out = model(x)
    torch.cuda.synchronize()
    peak = torch.cuda.max_memory_allocated()
    del out
    return {"peak": peak, "baseline": base}


def measure_training_cuda(model, batch: int, optimizer: str = "sgd", input_shape=(3, 224, 224),
                          num_classes: int = 1000, foreach=None) -> dict:
    """``torch.cuda.max_memory_allocated`` over one steady-state training step (torch's CUDA
    default optimizer implementation is foreach)."""
    import torch
    import torch.nn.functional as F

    dev = torch.device("cuda")
    model = model.to(dev).train()
    opt = make_optimizer(optimizer, model.parameters(), foreach=foreach)
    warm = torch.randn(2, *input_shape, device=dev)
    F.cross_entropy(model(warm), torch.zeros(2, dtype=torch.long, device=dev)).backward()
    opt.step()
    opt.zero_grad(set_to_none=True)
    del warm
    x = torch.randn(batch, *input_shape, device=dev)
    target = torch.randint(0, num_classes, (batch,), device=dev)
    torch.cuda.synchronize()
    torch.cuda.empty_cache()
    torch.cuda.reset_peak_memory_stats()
    base = torch.cuda.memory_allocated()
    loss = F.cross_entropy(model(x), target)
    loss.backward()
    opt.step()
    torch.cuda.synchronize()
    peak = torch.cuda.max_memory_allocated()
    del loss
    opt.zero_grad(set_to_none=True)
    return {"peak": peak, "baseline": base}
