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
import sys
import time

#: Models of the acceptance table. Names missing from the zoo are reported and left out (they come
#: from other zoo branches); a present model that fails to build or measure is an error.
TABLE_MODELS = ("vgg16", "resnet50", "googlenet", "densenet121", "mobilenet_v2")
TABLE_BATCHES = (1, 32)
TABLE_MODES = ("inference", "sgd", "adam")  # inference, and one step of each optimizer
INFERENCE_TOLERANCE = 0.10  # live-tensor peak vs the live-storage measurement
TRAINING_TOLERANCE = 0.15
ALLOCATOR_TOLERANCE = 0.05  # allocator_peak_bytes vs the allocator's peak (issue 18's target)
#: Threads torch runs with while the report is measured (oneDNN keeps some scratch per thread).
MEASURE_THREADS = 2
#: The thread-count check of the report: these models, batch 1, inference, at these thread counts
#: (the strided 1x1 gather is per thread, and one thread sends unstrided 1x1 convolutions at batch < 16
#: to torch's native path).
THREAD_CHECK_MODELS = ("resnet50", "mobilenet_v2")
THREAD_CHECK_THREADS = (1, 4)


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


class AllocatorEvents:
    """The CPU allocator's own view: every allocate/free event that ``torch.profiler`` records with
    ``profile_memory=True``, paired by pointer.

    Inside :meth:`record`, a running sum adds each allocation's size under its pointer and removes
    that size when the same pointer is freed; the maximum of the sum is the allocator peak above what
    was allocated before recording started. The events also carry the allocator's own counter
    (``total_allocated``, which starts at 0 when profiling starts); :attr:`counter_peak` is its
    maximum, and :meth:`record` checks that the paired peak equals it. This sees everything the
    allocator hands out, including the scratch a kernel frees before it returns (oneDNN's reorder
    buffers), which the live-storage tracker (:class:`LiveStorages`) cannot see.

    Phases are ``torch.profiler.record_function`` ranges named ``archcalc:PHASE``; the peak's place is
    given as ``phase: op`` with ``op`` the outermost torch op (or autograd node) below the phase.
    """

    PREFIX = "archcalc:"

    def __init__(self):
        self.peak = 0
        self.counter_peak = 0
        self.peak_op = ""
        self.phase_peaks: dict = {}
        self.unpaired_frees = 0
        self._prof = None

    def record(self):
        import torch
        from torch.profiler import ProfilerActivity, profile

        self._prof = profile(activities=[ProfilerActivity.CPU], profile_memory=True)
        self._torch = torch
        return self._prof

    def phase(self, name: str):
        import torch

        return torch.profiler.record_function(self.PREFIX + name)

    def finish(self) -> "AllocatorEvents":
        from torch._C._profiler import _EventType

        events = []  # (time, size, ptr, counter, phase, op)

        def walk(ev, phase, op):
            if ev.tag == _EventType.Allocation:
                f = ev.extra_fields
                if f.device.type == "cpu":
                    events.append((ev.start_time_ns, f.alloc_size, f.ptr, f.total_allocated, phase, op))
                return
            name = ev.name
            if name.startswith(self.PREFIX):
                phase, op = name[len(self.PREFIX):], ""
            elif not op:
                op = name
            for c in ev.children:
                walk(c, phase, op)

        for root in self._prof.profiler.kineto_results.experimental_event_tree():
            walk(root, "", "")
        events.sort(key=lambda e: e[0])
        held: dict = {}
        running = 0
        # the counter is the bytes of blocks allocated while profiling was on and not yet freed,
        # process-wide: its value before the first event is the base this recording adds to
        base = events[0][3] - events[0][1] if events else 0
        for _, size, ptr, counter, phase, op in events:
            if size > 0:
                held[ptr] = held.get(ptr, 0) + size
                running += size
            else:
                got = held.pop(ptr, None)
                if got is None:  # allocated before recording started: not in the running sum
                    self.unpaired_frees += 1
                    continue
                running -= got
            self.counter_peak = max(self.counter_peak, counter - base)
            if running > self.peak:
                self.peak, self.peak_op = running, f"{phase}: {op}" if phase else op
            if running > self.phase_peaks.get(phase, -1):
                self.phase_peaks[phase] = running
        self._prof = None
        return self


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


def _recording(allocator: "AllocatorEvents | None"):
    import contextlib

    return allocator.record() if allocator is not None else contextlib.nullcontext()


def _phase(allocator, name: str):
    import contextlib

    return allocator.phase(name) if allocator is not None else contextlib.nullcontext()


def _allocator_figures(allocator, base: int) -> dict:
    if allocator is None:
        return {}
    allocator.finish()
    return {"allocator_peak": base + allocator.peak, "allocator_peak_op": allocator.peak_op,
            "allocator_counter_peak": base + allocator.counter_peak,
            "allocator_phases": {k: base + v for k, v in allocator.phase_peaks.items() if k}}


def measure_inference_cpu(model, batch: int, input_shape=(3, 224, 224), allocator: bool = False,
                          dtype=None) -> dict:
    """Peak live bytes of ``model(x)`` under ``torch.no_grad()`` in eval mode, weights included.

    ``allocator=True`` also records the allocator's events (:class:`AllocatorEvents`) over the same
    pass: ``allocator_peak`` (same baseline: weights, buffers, input) counts kernel scratch too.
    ``dtype`` (a torch dtype) converts the model and the input first."""
    import torch

    model.eval()
    if dtype is not None:
        model = model.to(dtype)
    x = torch.randn(batch, *input_shape, dtype=dtype)
    live = LiveStorages()
    for t in list(model.parameters()) + list(model.buffers()) + [x]:
        live.add(t)
    base = live.current
    events = AllocatorEvents() if allocator else None
    live.set_phase("forward")
    with torch.no_grad(), _recording(events), _phase(events, "forward"), _tracking_mode(live):
        out = model(x)
        live.set_phase("end")
    del out
    return {"peak": live.peak, "baseline": base, "weights": _tensor_bytes(list(model.parameters()) +
            list(model.buffers())), "peak_op": live.peak_op, **_allocator_figures(events, base)}


def _loss(F, out, target):
    """Cross-entropy on the output, or the sum over outputs (GoogLeNet's auxiliary heads in training),
    as the static model puts one loss on each graph output."""
    outs = tuple(out) if isinstance(out, tuple) else (out,)
    loss = F.cross_entropy(outs[0], target)
    for o in outs[1:]:
        loss = loss + F.cross_entropy(o, target)
    return loss


def measure_training_cpu(model, batch: int, optimizer: str = "sgd", input_shape=(3, 224, 224),
                         num_classes: int = 1000, foreach=None, allocator: bool = False) -> dict:
    """Peak live bytes of one steady-state training step (forward, cross-entropy, backward,
    ``optimizer.step()``), weights, gradients and optimizer state included; ``allocator=True`` as in
    :func:`measure_inference_cpu`."""
    import torch
    import torch.nn.functional as F

    model.train()
    opt = make_optimizer(optimizer, model.parameters(), foreach=foreach)
    warm = torch.randn(2, *input_shape)  # 2 samples: train-mode BN needs more than one value
    _loss(F, model(warm), torch.zeros(2, dtype=torch.long)).backward()
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
    events = AllocatorEvents() if allocator else None
    live.set_phase("forward")
    with _recording(events):  # phase ranges outside the dispatch mode, which would hide them
        with _phase(events, "forward"), _tracking_mode(live):
            loss = _loss(F, model(x), target)
        live.set_phase("backward")
        with _phase(events, "backward"), _tracking_mode(live):
            loss.backward()
        live.set_phase("step")
        with _phase(events, "step"), _tracking_mode(live):
            opt.step()
        live.set_phase("end")
        del loss
    opt.zero_grad(set_to_none=True)
    return {"peak": live.peak, "baseline": base, "peak_op": live.peak_op, "phases": dict(live.phase_peaks),
            **_allocator_figures(events, base)}


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
    _loss(F, model(warm), torch.zeros(2, dtype=torch.long, device=dev)).backward()
    opt.step()
    opt.zero_grad(set_to_none=True)
    del warm
    x = torch.randn(batch, *input_shape, device=dev)
    target = torch.randint(0, num_classes, (batch,), device=dev)
    torch.cuda.synchronize()
    torch.cuda.empty_cache()
    torch.cuda.reset_peak_memory_stats()
    base = torch.cuda.memory_allocated()
    loss = _loss(F, model(x), target)
    loss.backward()
    opt.step()
    torch.cuda.synchronize()
    peak = torch.cuda.max_memory_allocated()
    del loss
    opt.zero_grad(set_to_none=True)
    return {"peak": peak, "baseline": base}


# ---------------------------------------------------------------------------------------------
# The estimate-vs-measured table (reports/memory.md)
# ---------------------------------------------------------------------------------------------


def present_models(names=TABLE_MODELS, note=print) -> list:
    """The names among ``names`` that this zoo registers; each missing one is reported via ``note``."""
    from ..zoo import names as zoo_names

    have = set(zoo_names())
    for n in names:
        if n not in have:
            note(f"note: {n} is not in this zoo; left out of the memory table")
    return [n for n in names if n in have]


def _input_shape(name: str):
    from ..analysis import analyze

    return analyze(name, batch=1).input


def measure_one(model, name: str, batch: int, mode: str, threads: int = MEASURE_THREADS,
                dtype: str = "fp32") -> dict:
    """Both CPU measurements of one configuration (``mode``: ``inference`` or an optimizer name), in
    one pass: the live-storage peak and the allocator's peak (:class:`AllocatorEvents`). ``dtype``
    other than fp32: inference only (the model is converted; ``model`` is left as it was)."""
    import copy

    import torch

    old = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        t0 = time.perf_counter()
        if dtype != "fp32":
            if mode != "inference":
                raise ValueError(f"{dtype}: only inference is measured")
            tdtype = {"bf16": torch.bfloat16, "fp16": torch.float16, "fp64": torch.float64}[dtype]
            got = measure_inference_cpu(copy.deepcopy(model), batch, _input_shape(name), allocator=True,
                                        dtype=tdtype)
        elif mode == "inference":
            got = measure_inference_cpu(model, batch, _input_shape(name), allocator=True)
        else:
            got = measure_training_cpu(model, batch, mode, _input_shape(name), allocator=True)
    finally:
        torch.set_num_threads(old)
    got.update(model=name, batch=batch, mode=mode, threads=threads, dtype=dtype, torch=torch.__version__,
               seconds=time.perf_counter() - t0)
    return got


def measure_all(models, batches, modes=TABLE_MODES, threads: int = MEASURE_THREADS, path=None,
                note=print, dtype: str = "fp32") -> list:
    """:func:`measure_one` for every model, batch and mode. With ``path``, the measurements are
    written there as JSON after each one, and those already there are reused (a long run resumes)."""
    import json
    import os

    done = {}
    if path and os.path.exists(path):
        with open(path) as f:
            for got in json.load(f):
                done[(got["model"], got["batch"], got["mode"], got.get("threads"), got.get("dtype", "fp32"))] = got
    out = []
    for name in models:
        model = None
        for b in batches:
            for mode in modes:
                key = (name, b, mode, threads, dtype)
                if key not in done:
                    if model is None:
                        model, _ = build_torch_model(name)
                    done[key] = measure_one(model, name, b, mode, threads, dtype)
                    got = done[key]
                    note(f"{name} b{b} {mode} {dtype}: live {_mib(got['peak'])} MiB, allocator "
                         f"{_mib(got['allocator_peak'])} MiB, {got['seconds']:.0f}s")
                    if path:
                        from .._io import write_atomic

                        write_atomic(path, json.dumps(list(done.values()), indent=1) + "\n", force=True,
                                     make_dirs=True)
                out.append(done[key])
        del model
    return out


def estimate_for(got: dict, foreach: bool = False, backend: str = "cpu"):
    """archcalc's estimate of the configuration a measurement ran."""
    from ..analysis import analyze
    from ..memory import inference_memory, training_memory

    result = analyze(got["model"], batch=got["batch"], dtype=got.get("dtype", "fp32"))
    threads = got.get("threads", 1)
    if got["mode"] == "inference":
        return inference_memory(result, backend=backend, threads=threads)
    return training_memory(result, optimizer=got["mode"], foreach=foreach, backend=backend, threads=threads)


def row_for(got: dict) -> dict:
    """One report row: both figures of the estimate against both measurements."""
    est = estimate_for(got)
    train = got["mode"] != "inference"
    tol = TRAINING_TOLERANCE if train else INFERENCE_TOLERANCE
    alloc_error = est.allocator_peak_bytes / got["allocator_peak"] - 1
    return {
        "model": got["model"], "batch": got["batch"], "mode": f"training ({est.optimizer})" if train else "inference",
        "threads": got.get("threads"), "dtype": est.dtype,
        "estimate": est.peak_bytes, "measured": got["peak"], "error": est.peak_bytes / got["peak"] - 1,
        "allocator_estimate": est.allocator_peak_bytes, "allocator_measured": got["allocator_peak"],
        "allocator_error": alloc_error,
        "allocator_counter_agrees": got["allocator_counter_peak"] == got["allocator_peak"],
        "live_vs_allocator": est.peak_bytes / got["allocator_peak"] - 1,
        "where_estimate": f"{est.allocator_peak_phase}: {est.allocator_peak_layer}",
        "where_measured": got.get("allocator_peak_op", "").replace("autograd::engine::evaluate_function: ", ""),
        "tolerance": tol, "allocator_tolerance": ALLOCATOR_TOLERANCE,
        "ok": abs(est.peak_bytes / got["peak"] - 1) <= tol and abs(alloc_error) <= ALLOCATOR_TOLERANCE,
        "seconds": got.get("seconds", 0.0),
    }


def compare(name: str, batch: int, optimizer: str = "adam", train: bool = True, model=None,
            threads: int = MEASURE_THREADS) -> list:
    """Rows (:func:`row_for`) of estimate vs CPU measurement for one model and batch: inference, and a
    training step with ``optimizer`` when ``train``. Raises on any failure of a present model."""
    if model is None:
        model, _ = build_torch_model(name)
    modes = ("inference", optimizer) if train else ("inference",)
    return [row_for(measure_one(model, name, batch, mode, threads)) for mode in modes]


def _mib(n) -> str:
    return f"{n / 2 ** 20:,.1f}"


def vgg16_figures(batch: int = 32) -> list:
    """The three "memory" figures of VGG-16 (static), as report lines."""
    from ..analysis import analyze
    from ..memory import inference_memory, training_memory

    r = analyze("vgg16", batch=batch)
    inf = inference_memory(r)
    sgd = training_memory(r, "sgd")
    adam = training_memory(r, "adam")
    first = inf.layers[1]
    per_image = r.totals["activations"] / batch
    fc6 = max(r.layers, key=lambda x: x.params)
    at_one = training_memory(analyze("vgg16", batch=1), "adam")
    inf_alloc = inference_memory(r, threads=MEASURE_THREADS)
    inf_idx = [x.name for x in inf_alloc.layers].index(inf_alloc.allocator_peak_layer)
    return [
        f"VGG-16 at batch {batch}, fp32 (static estimates; the table above measures them):",
        "",
        f"1. **Sum of outputs: {_mib(inf.sum_of_outputs_bytes)} MiB** (`archcalc vgg16 --batch {batch}`, "
        f"\"activations\": {per_image / 1e6:.1f}M values per image, the cs231n tally's \"memory\" column). "
        "Every tensor the forward pass materialises, added up. No moment of the forward pass holds all of "
        "them: it is neither the inference peak nor what training keeps.",
        f"2. **Inference peak: {_mib(inf.peak_bytes)} MiB** = weights {_mib(inf.weight_bytes)} + input "
        f"{_mib(inf.input_bytes)} + {_mib(inf.peak_activation_bytes)} of activations live at `{inf.peak_layer}` "
        f"(conv1_2 reads conv1_1's {_mib(first.output_bytes)} MiB output while writing its own). "
        "Under `no_grad` a tensor dies after its last consumer and the in-place ReLUs add nothing, so "
        "at most two big feature maps are alive at once.",
        f"3. **Training peak: {_mib(sgd.peak_bytes)} MiB with SGD, {_mib(adam.peak_bytes)} MiB with Adam** "
        f"(SGD: {sgd.peak_phase} at `{sgd.peak_layer}`; Adam: {adam.peak_phase} at `{adam.peak_layer}`). "
        f"Autograd keeps every conv's input, every ReLU's output and every max-pool's int64 indices until "
        f"backward: {_mib(sgd.saved_bytes)} MiB saved at the end of forward, on top of weights, gradients "
        f"({_mib(sgd.gradient_bytes)} MiB) and Adam's two moments ({_mib(adam.optimizer_state_bytes)} MiB); "
        f"Adam's step also allocates {_mib(adam.step_temporary_bytes)} MiB of temporaries for `{fc6.name}`'s "
        f"{fc6.params - fc6.layer.out_features:,}-value weight alone (at batch 1 the peak is in the "
        f"{at_one.peak_phase}).",
        f"4. **Allocator peak: {_mib(inf_alloc.allocator_peak_bytes)} MiB** for the same inference (`--memory`'s "
        f"ALLOCATOR PEAK, `cpu` backend) at `{inf_alloc.allocator_peak_layer}`: oneDNN reorders conv1_2's "
        f"input into a blocked layout and computes into a blocked output before copying it into the returned tensor "
        f"({_mib(inf_alloc.layers[inf_idx].scratch_bytes)} MiB of scratch freed inside the layer, which no tensor "
        "holds). What a process must be able to allocate is this figure, not the live-tensor one.",
    ]


def _err(est: int, measured: int) -> str:
    """The relative error, and the difference in bytes, so that an exact match (0) is not confused
    with a rounded one."""
    if est == measured:
        return "0"
    return f"{est / measured - 1:+.3%} ({est - measured:+,} B)"


def render_report(rows: list, missing: list, cuda_rows: list, cuda_note: str, thread_rows=(),
                  dtype_rows=()) -> str:
    import platform

    import torch

    threads = sorted({r["threads"] for r in rows if r.get("threads")})
    out = ["# Memory: estimate vs measured", "",
           "Generated by `python -m archcalc.torch_bridge.memory_measure --out reports/memory.md` "
           f"(torch {torch.__version__}, {platform.machine()} CPU, {', '.join(map(str, threads))} thread(s) "
           "fixed with `torch.set_num_threads`). Estimates: `archcalc.memory` (static, no torch). The real "
           "torchvision model runs on CPU with random weights: inference = `model.eval()` under `torch.no_grad()`; "
           "training = one steady-state step (forward, cross-entropy, backward, the optimizer's step; optimizer "
           "state created beforehand, `zero_grad(set_to_none=True)`).", "",
           "Two figures, each against its own measurement, in one pass:", "",
           "- **live**: archcalc's `peak_bytes` (live tensors) against the peak bytes of live tensor storages "
           "seen by a `TorchDispatchMode` (every storage an aten op returns, weak references).",
           "- **allocator**: archcalc's `allocator_peak_bytes` (live tensors + `cpu` backend scratch, "
           "`--threads` as measured) against the allocator's peak: every allocate/free event of "
           "`torch.profiler(profile_memory=True)` paired by pointer; its peak equals the allocator's own "
           "counter (`total_allocated`) on every row" + ("" if all(r["allocator_counter_agrees"] for r in rows)
                                                         else " **except where marked**") + ".",
           "",
           "**Weights are included on both sides**: a peak is weights + buffers + input batch (+ targets, "
           "gradients and optimizer state when training) + activations (+ scratch). fp32. Targets: "
           f"allocator within {ALLOCATOR_TOLERANCE:.0%} on every row; live within {INFERENCE_TOLERANCE:.0%} "
           f"(inference) / {TRAINING_TOLERANCE:.0%} (training). *live vs alloc.* is what a user sizing a "
           "process by the live-tensor figure would be off by.", "",
           "| model | batch | mode | live est. MiB | live meas. MiB | error | alloc. est. MiB | alloc. meas. MiB | "
           "error | live vs alloc. | estimated allocator peak at | measured allocator peak at |",
           "|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---|---|"]
    for r in rows:
        mark = "" if r["allocator_counter_agrees"] else " (counter differs)"
        out.append(f"| {r['model']} | {r['batch']} | {r['mode']} | {_mib(r['estimate'])} | {_mib(r['measured'])} | "
                   f"{_err(r['estimate'], r['measured'])} | {_mib(r['allocator_estimate'])} | "
                   f"{_mib(r['allocator_measured'])}{mark} | "
                   f"{_err(r['allocator_estimate'], r['allocator_measured'])} | "
                   f"{r['live_vs_allocator']:+.1%} | {r['where_estimate']} | "
                   f"{r['where_measured']} |")
    bad = [r for r in rows if not r["ok"]]
    worst = max((abs(r["allocator_error"]) for r in rows), default=0.0)
    worst_live = max((abs(r["error"]) for r in rows), default=0.0)
    out += ["", (f"All {len(rows)} rows within target. Largest allocator error {worst:.3%}; largest live error "
                 f"{worst_live:.3%}.") if not bad else
            f"**{len(bad)} rows outside target**: " + ", ".join(f"{r['model']} b{r['batch']} {r['mode']}" for r in bad)]
    if missing:
        out += ["", "Not in this zoo when generated (left out): " + ", ".join(missing) + "."]
    if thread_rows:
        out += ["", "## Thread count", "",
                "oneDNN's strided 1x1 convolutions gather their input per thread, and on one thread torch sends "
                "unstrided 1x1 convolutions at batch < 16 to its native path (no reorders). The estimate takes "
                "the thread count (`--threads`); the same configurations at other counts:", "",
                "| model | batch | mode | threads | alloc. est. MiB | alloc. meas. MiB | error | estimated peak at | "
                "measured peak at |", "|---|---:|---|---:|---:|---:|---:|---|---|"]
        for r in thread_rows:
            out.append(f"| {r['model']} | {r['batch']} | {r['mode']} | {r['threads']} | "
                       f"{_mib(r['allocator_estimate'])} | "
                       f"{_mib(r['allocator_measured'])} | {_err(r['allocator_estimate'], r['allocator_measured'])} | "
                       f"{r['where_estimate']} | {r['where_measured']} |")
        bad = [r for r in thread_rows if abs(r["allocator_error"]) > ALLOCATOR_TOLERANCE]
        if bad:
            out += ["", f"**{len(bad)} rows outside the {ALLOCATOR_TOLERANCE:.0%} target.**"]
    if dtype_rows:
        out += ["", "## bf16 (inference)", "",
                "torch always sends bf16 convolutions to oneDNN, whose bf16 kernels (AMX on this CPU) allocate "
                "differently: an unpadded output computed next to one more output-sized buffer, and a per-thread "
                "scratchpad. The convolution forward is modelled from the measured pattern, the scratchpad is not "
                "(the figure carries `scratch_note`); training in bf16 is not measured.", "",
                "| model | batch | threads | live est. MiB | live meas. MiB | error | alloc. est. MiB | "
                "alloc. meas. MiB | error | live vs alloc. |", "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
        for r in dtype_rows:
            out.append(f"| {r['model']} | {r['batch']} | {r['threads']} | {_mib(r['estimate'])} | "
                       f"{_mib(r['measured'])} | {_err(r['estimate'], r['measured'])} | "
                       f"{_mib(r['allocator_estimate'])} | {_mib(r['allocator_measured'])} | "
                       f"{_err(r['allocator_estimate'], r['allocator_measured'])} | {r['live_vs_allocator']:+.1%} |")
        worst = max(abs(r["allocator_error"]) for r in dtype_rows)
        out += ["", f"Largest allocator error {worst:.2%} (the scratchpad, which matters most at batch 1)."]
    out += ["", "## CUDA", ""]
    if cuda_rows:
        out += ["`torch.cuda.max_memory_allocated` after `reset_peak_memory_stats` (cudnn.benchmark=False); the "
                "training estimate uses the foreach optimizer (torch's CUDA default).", "",
                "| model | batch | mode | live est. MiB | alloc. est. MiB (cuda) | max_memory_allocated MiB | error |",
                "|---|---:|---|---:|---:|---:|---:|"]
        for r in cuda_rows:
            out.append(f"| {r['model']} | {r['batch']} | {r['mode']} | {_mib(r['estimate'])} | "
                       f"{_mib(r['allocator_estimate'])} | {_mib(r['measured'])} | {r['allocator_error']:+.2%} |")
    else:
        out.append(cuda_note)
    out += ["", "## Three different \"memory\" figures", ""] + vgg16_figures() + [
        "", "Not counted by either figure: the allocator's caching and fragmentation (glibc arenas on CPU, the "
        "caching allocator's rounding and reserve on CUDA) and the CUDA context. See docs/memory.md.", ""]
    return "\n".join(out)


def compare_cuda(name: str, batch: int, optimizer: str = "adam") -> list:
    """Rows of the ``cuda`` estimates against ``max_memory_allocated`` (needs a GPU)."""
    import torch

    from ..analysis import analyze
    from ..memory import inference_memory, training_memory

    torch.backends.cudnn.benchmark = False
    result = analyze(name, batch=batch)
    model, _ = build_torch_model(name)
    rows = []
    for mode in ("inference", optimizer):
        if mode == "inference":
            est = inference_memory(result, backend="cuda")
            got = measure_inference_cuda(model, batch, result.input)
        else:
            est = training_memory(result, optimizer=optimizer, foreach=True, backend="cuda")
            got = measure_training_cuda(model, batch, optimizer, result.input)
        rows.append({"model": name, "batch": batch,
                     "mode": "inference" if mode == "inference" else f"training ({est.optimizer}, foreach)",
                     "estimate": est.peak_bytes, "allocator_estimate": est.allocator_peak_bytes,
                     "measured": got["peak"], "error": est.peak_bytes / got["peak"] - 1,
                     "allocator_error": est.allocator_peak_bytes / got["peak"] - 1})
    del model
    torch.cuda.empty_cache()
    return rows


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m archcalc.torch_bridge.memory_measure",
                                description="Measure real peak memory and compare with archcalc's estimate.")
    p.add_argument("--out", help="write the Markdown report here (default: print it)")
    p.add_argument("--models", default=",".join(TABLE_MODELS))
    p.add_argument("--batches", default=",".join(map(str, TABLE_BATCHES)))
    p.add_argument("--modes", default=",".join(TABLE_MODES), help="inference and/or optimizer names")
    p.add_argument("--threads", type=int, default=MEASURE_THREADS)
    p.add_argument("--measured", metavar="JSON",
                   help="keep the measurements here and reuse those already there (a long run resumes)")
    p.add_argument("--no-bf16", dest="bf16", action="store_false", help="leave out the bf16 inference rows")
    p.add_argument("--no-thread-check", dest="thread_check", action="store_false",
                   help="leave out the thread-count rows (resnet50, mobilenet_v2, batch 1, 1 and 4 threads)")
    args = p.parse_args(argv)
    wanted = [m.strip() for m in args.models.split(",") if m.strip()]
    missing: list = []
    models = present_models(wanted, note=lambda s: (missing.append(s.split()[1]), print(s, file=sys.stderr)))
    batches = [int(x) for x in args.batches.split(",")]
    modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    measured = measure_all(models, batches, modes, args.threads, args.measured,
                           note=lambda s: print(s, file=sys.stderr, flush=True))
    rows = [row_for(got) for got in measured]
    thread_rows = []
    for t in THREAD_CHECK_THREADS if args.thread_check else ():
        checked = [m for m in THREAD_CHECK_MODELS if m in models]
        thread_rows += [row_for(got) for got in measure_all(checked, (1,), ("inference",), t, args.measured,
                                                             note=lambda s: print(s, file=sys.stderr, flush=True))]
    dtype_rows = []
    if args.bf16:
        dtype_rows = [row_for(got) for got in measure_all(models, batches, ("inference",), args.threads,
                                                          args.measured, note=lambda s: print(s, file=sys.stderr,
                                                                                              flush=True),
                                                          dtype="bf16")]
    cuda_rows: list = []
    note = ("No CUDA device on the machine that generated this report: the `cuda` figures are documented, **not "
            "measured** (`archcalc.scratch`). The measurement path is ready: `compare_cuda` "
            "(`measure_inference_cuda`, `measure_training_cuda`: `max_memory_allocated`, cudnn.benchmark=False), run "
            "by this command where a GPU is present; its tests are marked `gpu` and skip without one.")
    if cuda_available():
        for name in models:
            for b in batches:
                cuda_rows += compare_cuda(name, b, "adam")
    text = render_report(rows, missing, cuda_rows, note, thread_rows, dtype_rows)
    if args.out:
        from .._io import write_atomic

        write_atomic(args.out, text, force=True, make_dirs=True)
    else:
        sys.stdout.write(text)
    return 0 if all(r["ok"] for r in rows) and all(abs(r["allocator_error"]) <= ALLOCATOR_TOLERANCE
                                                   for r in thread_rows) else 1


if __name__ == "__main__":
    sys.exit(main())
