"""Backend scratch: bytes a kernel allocates and frees inside one layer, beside the tensors it returns.

The liveness model (:mod:`archcalc.memory`) counts tensors: what an op returns and what autograd keeps.
The allocator hands out more. oneDNN's convolution in torch reorders its input and weight into
blocked layouts and computes into a blocked output before copying it into the returned tensor; those
buffers never become tensors, so a live-tensor peak misses them, and a process that sized its memory
by that peak runs out. This module says, per layer class and backend, how many bytes above the
layer's tensors the allocator holds at the layer's worst moment (a *spike*: scratch is live only
inside its layer, so :mod:`archcalc.memory` adds it on top of what is live at that layer).

A formula is registered once per (backend, layer class) by :func:`scratch_rule` and is written once
for ints and sympy symbols with the dims helpers (no ``if`` on a size). Each returns two spikes, in
bytes for the whole batch:

- ``forward``: above (tensors live before the op) + (its output);
- ``backward``: above (tensors live at the node) + (its input gradient and weight gradient), the
  figure :func:`archcalc.memory.training_memory` already counts at that node.

A kind with no formula for a backend counts no scratch there: either it was measured to allocate
exactly its tensors (:data:`MEASURED_WITHOUT_SCRATCH`: pooling, activations, add, concat ... on
CPU), or it is named in the estimate's ``scratch_unmodelled``.

Backends
--------
``cpu``: torch 2.14's oneDNN (mkldnn) convolution, fp32, on an AVX-512 machine (oneDNN's channel
block is 16; on an AVX2-only machine it is 8: ``Backend.block``). Measured with the allocator's own
events (``torch.profiler(profile_memory=True)``, allocate/free paired by pointer:
``archcalc.torch_bridge.memory_measure.AllocatorEvents``) per layer kind, shape, dtype and thread
count; tests/test_memory_scratch.py replays the measurements. The convolution also follows torch's
choice between oneDNN and its native ``slow_conv2d`` (:func:`_conv_path`). bf16 takes other oneDNN
kernels: their convolution forward is measured (less a per-thread scratchpad), the rest is not, and
the figure says so; other dtypes apply the fp32 formulas in elements, flagged
(:func:`unmeasured_reason`).

``cuda``: cuDNN with ``torch.backends.cudnn.benchmark=False`` and cuBLAS, from NVIDIA's and torch's
documentation, *not measured here* (no GPU was available). cuDNN chooses a convolution algorithm by
heuristics at run time and its workspace is the algorithm's; neither is a documented function of
the shape, so the per-layer convolution workspace is not modelled (named in :data:`CUDA_NOT_COUNTED`).
What is documented and modelled is cuBLAS's workspace: torch allocates it through its caching
allocator the first time a handle/stream pair runs a matmul and keeps it
(``CUBLAS_WORKSPACE_CONFIG``, default ``:4096:2:16:8`` = 2 x 4096 KiB + 8 x 16 KiB before Hopper;
torch's CUDA semantics notes), so it is a resident cost from the first Linear on.
"""

from __future__ import annotations

from dataclasses import dataclass

from . import dims
from .errors import ArchcalcError, InvalidValueError


@dataclass(frozen=True)
class Backend:
    name: str
    measured: bool  # False: formulas from documentation only
    source: str
    block: int = 16  # oneDNN's channel block (AVX-512); 8 on AVX2-only machines
    measured_dtypes: tuple = ()


BACKENDS = {
    "cpu": Backend("cpu", True, "oneDNN via torch 2.14 (mkldnn_convolution), measured with the CPU "
                                "allocator's events (torch.profiler, profile_memory=True)",
                   block=16, measured_dtypes=("fp32",)),
    "cuda": Backend("cuda", False, "cuDNN/cuBLAS with cudnn.benchmark=False, from NVIDIA's and torch's "
                                   "documentation; not measured here"),
}

#: cuBLAS workspace torch allocates per (handle, stream) through the caching allocator, default
#: ``CUBLAS_WORKSPACE_CONFIG=:4096:2:16:8``: 2 x 4096 KiB + 8 x 16 KiB (torch's CUDA semantics
#: notes, "cuBLAS workspaces"). Not measured here.
CUBLAS_WORKSPACE_BYTES = 2 * 4096 * 1024 + 8 * 16 * 1024

#: What the ``cuda`` figure leaves out, by name.
CUDA_NOT_COUNTED = (
    "the CUDA context (driver, kernels, cuDNN/cuBLAS handles: outside torch's allocator; torch "
    "publishes no size for it: 'some context needs to be created on GPU', torch.cuda.memory_allocated)",
    "caching-allocator rounding and reserve (blocks rounded up to 512 bytes, segments of 2 MiB or "
    "more: memory_reserved exceeds memory_allocated)",
    "cuDNN convolution workspaces (the algorithm, and so the workspace, is chosen at run time by "
    "cuDNN's heuristics; not a documented function of the shape)",
)

STAT_BYTES = 4  # batch norm's per-channel vectors are fp32

#: What the ``cpu`` figure leaves out, by name.
CPU_NOT_COUNTED = (
    "oneDNN's per-thread partial sums of a convolution's weight gradient, when it splits that reduction "
    "across threads (measured up to (threads - 1) x the weight + 8.5 KiB, inside the layer's backward)",
    "scalars (the loss, a composite's constants)",
    "the allocator's and the OS's own overhead (glibc malloc arenas, page rounding)",
)

#: Layer kinds measured to allocate exactly the tensors the liveness model counts (no scratch), per
#: backend: torch 2.14 on CPU, fp32, forward and backward (single layers, and the five models of
#: reports/memory.md whose allocator peaks the estimate matches). A kind with neither a formula nor
#: an entry here is named in an estimate's ``scratch_unmodelled``.
MEASURED_WITHOUT_SCRATCH = {
    "cpu": frozenset({"Input", "ReLU", "ReLU6", "ELU", "GELU", "Hardsigmoid", "Hardswish", "LeakyReLU", "Sigmoid",
                      "SiLU", "Softplus", "Tanh", "Softmax", "MaxPool2d", "AvgPool2d", "AdaptiveAvgPool2d",
                      "GlobalAvgPool2d", "Upsample", "ZeroPad2d", "ChannelShuffle", "Identity", "Linear", "Flatten",
                      "Add", "Concat", "Dropout",
                      # torch's composite: its intermediates are tensors, already in the liveness model
                      "LocalResponseNorm"}),
    "cuda": frozenset(),
}

#: (backend, class name) -> formula(layer, ctx) -> (forward spike, backward spike)
_RULES: dict = {}


def scratch_rule(backend: str, *classes):
    """Register ``fn(layer, ctx) -> (forward, backward)`` for ``backend`` and each layer class; a
    (backend, class) registered twice raises."""
    if backend not in BACKENDS:
        raise InvalidValueError(f"unknown backend {backend!r}; choose one of {', '.join(BACKENDS)}")

    def register(fn):
        for cls in classes:
            key = (backend, cls.__name__)
            if key in _RULES:
                raise ArchcalcError(f"scratch for {cls.__name__} on {backend} registered twice")
            _RULES[key] = fn
        return fn

    return register


def backend_name(name) -> str:
    key = str(name).lower()
    if key not in BACKENDS:
        raise InvalidValueError(f"unknown backend {name!r}; choose one of {', '.join(BACKENDS)}")
    return key


@dataclass(frozen=True)
class Context:
    """What a formula may use besides the layer: per-sample input and output shapes, the batch,
    bytes per element, the thread count, whether the input needs a gradient, and the backend."""

    input_shape: tuple
    output_shape: tuple
    batch: int
    bpe: int
    threads: int
    input_requires_grad: bool
    backend: Backend
    dtype: str = "fp32"


def layer_scratch(layer, ctx: Context) -> tuple:
    """(forward, backward) spike of ``layer``, in bytes for the batch; (0, 0) without a formula."""
    fn = _RULES.get((ctx.backend.name, type(layer).__name__))
    return fn(layer, ctx) if fn else (0, 0)


def has_rule(backend: str, layer) -> bool:
    return (backend, type(layer).__name__) in _RULES


def unmodelled(backend: str, layer, kind: str) -> bool:
    """True when ``backend`` has no formula for the layer and its kind was not measured to need none."""
    return not has_rule(backend, layer) and kind not in MEASURED_WITHOUT_SCRATCH[backend]


def unmeasured_reason(backend: str, dtype: str):
    """Why the ``backend`` figure for ``dtype`` is not a measured one (None when it is)."""
    b = BACKENDS[backend]
    if not b.measured:
        return f"{backend} scratch is from documentation, not measured here"
    if dtype == "bf16" and backend == "cpu":
        return ("cpu bf16: convolution forward measured (less oneDNN's per-thread scratchpad); its backward and "
                "every other kind take the fp32 formulas in elements, not measured for bf16 (a bf16 Linear "
                "allocates scratch the fp32 one does not)")
    if dtype not in b.measured_dtypes:
        return (f"{backend} scratch was measured for {', '.join(b.measured_dtypes)} only; {dtype} takes other "
                "oneDNN kernels (the fp32 formulas are applied in elements)")
    return None


# ---------------------------------------------------------------------------------------------
# cpu: oneDNN through torch's mkldnn_convolution
# ---------------------------------------------------------------------------------------------


def _padded(c, block):
    """Channels rounded up to oneDNN's block (its blocked layouts pad the channel dimension)."""
    return dims.ceildiv(c, block) * block


def _step(x):
    """1 when x >= 1, 0 when x <= 0, for integer x: a branch-free indicator for ints and symbols."""
    return dims.smax(0, dims.smin(x, 1))


def _conv_buffers(layer, ctx: Context) -> dict:
    """The buffers torch's ``mkldnn_convolution`` (and its backward) allocate, in bytes, whole batch.

    Measured on torch 2.14.1 (fp32, AVX-512, block B = 16), for a convolution with C_in input and
    C_out output channels, k x k kernel, stride s, groups g, input H x W, output OH x OW, batch N,
    T threads:

    - ``src``: the input reordered into a channel-blocked layout, ``N*pad(C_in)*H*W``; none for a
      dense convolution with C_in < B, which oneDNN runs on the plain input (the RGB stem);
      grouped and depthwise convolutions always reorder;
    - ``weight``: the weight reordered, ``pad(C_out) * C_in' * k*k`` with ``C_in' = pad(C_in)`` for a
      dense convolution on a blocked input, ``C_in`` on a plain one and ``C_in/g`` for a grouped one;
    - ``dst``: the blocked output oneDNN computes into, ``N*pad(C_out)*OH*OW``, copied into the
      returned tensor (allocated after ``src`` and ``weight`` are freed) and then freed;
    - ``rtus``: a 1x1 convolution with stride > 1 on a blocked input first gathers the strided
      input, ``T*pad(C_in)*OH*OW`` (per thread, not per sample) + 128 bytes;
    - ``bias``: the bias padded to the block when C_out is not a multiple of it: ``pad(C_out)+32``
      values.

    Backward, input gradient (dgrad): always blocked, ``grad_out = N*pad(C_out)*OH*OW``, the weight
    ``pad(C_out)*pad(C_in)*k*k`` (``C_in/g`` grouped), a blocked input-gradient buffer
    ``N*pad(C_in)*H*W``. Weight gradient (wgrad): like the forward for C_in >= B or grouped
    (grad_out, ``src`` and a weight-gradient buffer the size of the reordered weight, and the bias
    gradient's ``pad(C_out)`` values); for a dense convolution with 4 <= C_in < B oneDNN blocks by 8
    instead: grad_out ``N*pad8(C_out)*OH*OW``, input ``N*pad8(C_in)*H*W``, buffer
    ``pad8(C_out)*pad8(C_in)*k*k``; with C_in < 4 (the RGB stem) no input copy, grad_out
    ``N*pad(C_out)*OH*OW`` and a buffer ``pad(C_out)*C_in*k*k``.

    ``pad(c) = ceil(c/B)*B``, ``pad8(c) = ceil(c/8)*8``."""
    B = ctx.backend.block
    cin, h, w = ctx.input_shape[0], ctx.input_shape[1], ctx.input_shape[2]
    cout, oh, ow = ctx.output_shape[0], ctx.output_shape[1], ctx.output_shape[2]
    g = layer.groups
    kh, kw = layer.kernel_size
    sh, sw = layer.stride
    n, bpe = ctx.batch, ctx.bpe
    # blocked input: C_in >= B, or a grouped convolution
    grouped = _step(g - 1)
    blocked = _step(dims.floordiv(cin, B) + grouped)
    cin_layout = blocked * _padded(cin, B) + (1 - blocked) * cin
    pout = _padded(cout, B)
    # 1x1 with a stride: kh*kw == 1 and sh*sw > 1
    strided_1x1 = _step(2 - kh * kw) * _step(sh * sw - 1) * blocked
    bias = 1 if layer.bias else 0
    # weight gradient of a dense convolution on 4 <= C_in < B: blocks of 8 (``mid``); C_in < 4: ``tiny``
    tiny = (1 - grouped) * _step(4 - cin)
    mid = (1 - blocked) * (1 - tiny)
    pin = _padded(cin, B)
    wgrad_out = mid * _padded(cout, 8) + (1 - mid) * pout
    wgrad_in = mid * _padded(cin, 8) + blocked * pin
    wgrad_buffer_in = mid * _padded(cin, 8) + (1 - mid) * (grouped * dims.floordiv(cin, g) + (1 - grouped) * cin_layout)
    return {
        "src": blocked * n * cin_layout * h * w * bpe,
        "weight": pout * (grouped * dims.floordiv(cin, g) + (1 - grouped) * cin_layout) * kh * kw * bpe,
        "dst": n * pout * oh * ow * bpe,
        "out": n * cout * oh * ow * bpe,
        "in": n * cin * h * w * bpe,
        "grad_weight": cout * dims.floordiv(cin, g) * kh * kw * bpe,
        "strided_1x1": strided_1x1,
        "rtus": strided_1x1 * (ctx.threads * _padded(cin, B) * oh * ow * bpe + 128),
        "bias": bias * _step(pout - cout) * (pout + 32) * bpe,
        "dgrad_out": n * pout * oh * ow * bpe,
        "dgrad_weight": pout * (grouped * dims.floordiv(cin, g) + (1 - grouped) * pin) * kh * kw * bpe,
        "dgrad_in": n * pin * h * w * bpe,
        "wgrad_out": n * wgrad_out * oh * ow * bpe,
        "wgrad_src": n * wgrad_in * h * w * bpe,
        "wgrad_buffer": wgrad_out * wgrad_buffer_in * kh * kw * bpe,
        "grad_bias": bias * wgrad_out * bpe,
    }


def _conv2d_cpu(layer, ctx: Context) -> tuple:
    """Forward: ``src``, ``weight``, ``rtus``, ``bias`` and ``dst`` are live together; then the
    returned output is allocated while ``dst`` is still held. Above (live before + output):
    ``max(src + weight + rtus + bias + dst - out, dst)``.

    Backward (``mkldnn_convolution_backward``): first the input gradient (grad_output and weight
    reordered next to a blocked input-gradient buffer; then the returned gradient is allocated while
    the buffer is held), then the weight gradient (grad_output and input reordered next to a blocked
    weight-gradient buffer and the bias gradient's; then the returned ones). Above (live at the node
    + grad_input + grad_weight, what the liveness model counts there), the largest of::

        dgrad_out + dgrad_weight + dgrad_in - in - grad_weight   (dgrad, reorders; 0 without an input gradient)
        dgrad_in + [1x1 strided] in - grad_weight              (dgrad, copy out; a strided 1x1
                                                               convolution holds one more input-sized buffer)
        wgrad_out + wgrad_src + rtus + wgrad_buffer + grad_bias - grad_weight   (wgrad, reorders)
        wgrad_buffer + grad_bias                               (wgrad, copy out)
    """
    b = _conv_buffers(layer, ctx)
    fwd = dims.smax(b["src"] + b["weight"] + b["rtus"] + b["bias"] + b["dst"] - b["out"], b["dst"])
    needs = 1 if ctx.input_requires_grad else 0
    dgrad = needs * dims.smax(b["dgrad_out"] + b["dgrad_weight"] + b["dgrad_in"] - b["in"] - b["grad_weight"],
                              b["dgrad_in"] + b["strided_1x1"] * b["in"] - b["grad_weight"])
    wgrad = dims.smax(b["wgrad_out"] + b["wgrad_src"] + b["rtus"] + b["wgrad_buffer"] + b["grad_bias"]
                      - b["grad_weight"], b["wgrad_buffer"] + b["grad_bias"])
    onednn, columns = _conv_path(layer, ctx)
    if ctx.dtype == "bf16":  # oneDNN's bf16 kernels: measured forward; backward takes the fp32 terms
        return _conv2d_cpu_bf16_forward(layer, ctx), dims.smax(0, dgrad, wgrad)
    return (onednn * fwd + (1 - onednn) * columns,
            onednn * dims.smax(0, dgrad, wgrad) + (1 - onednn) * columns)


def _conv2d_cpu_bf16_forward(layer, ctx: Context) -> int:
    """bf16 forward (torch always sends bf16 to oneDNN), measured on an AVX-512/AMX CPU: the input is
    always reordered (``N*C_in*H*W``, unpadded), the weight padded to 32 output channels
    (``pad32(C_out)*C_in/g*k*k``), the output computed unpadded (``dst = out``); after ``src`` and the
    weight are freed, the returned output and, for a dense convolution, one more output-sized buffer
    are allocated while ``dst`` is held. Above (live before + output):
    ``max(src + weight + dst - out, dst + [dense] out)``. Not counted: oneDNN's per-thread scratchpad
    held with ``src`` (tens of KiB to about 1 MiB on the shapes measured; its size follows the
    kernel's blocking, no formula found)."""
    cin, h, w = ctx.input_shape[0], ctx.input_shape[1], ctx.input_shape[2]
    cout, oh, ow = ctx.output_shape[0], ctx.output_shape[1], ctx.output_shape[2]
    g = layer.groups
    kh, kw = layer.kernel_size
    n, bpe = ctx.batch, ctx.bpe
    dense = 1 - _step(g - 1)
    src = n * cin * h * w * bpe
    weight = _padded(cout, 32) * dims.floordiv(cin, g) * kh * kw * bpe
    out = n * cout * oh * ow * bpe
    return dims.smax(src + weight, out + dense * out)


def _conv_path(layer, ctx: Context) -> tuple:
    """(1 when torch sends the convolution to oneDNN else 0, the native path's column buffer).

    torch 2.14's ``use_mkldnn`` test (aten ConvUtils) for fp32 on CPU: oneDNN when (strided or dilated
    or N >= 16 or the kernel is not 1x1 or more than one thread) and (grouped or a kernel larger than
    3x3 in both axes or N > 1 or the input has more than 20480 values); otherwise the native
    ``slow_conv2d``, which allocates im2col columns ``N*C_in*k*k*OH*OW`` (none for an unstrided,
    undilated 1x1) in its forward and again in its backward, and frees them before it returns."""
    cin, h, w = ctx.input_shape[0], ctx.input_shape[1], ctx.input_shape[2]
    oh, ow = ctx.output_shape[1], ctx.output_shape[2]
    kh, kw = layer.kernel_size
    sh, sw = layer.stride
    dh, dw = layer.dilation
    n = ctx.batch
    strided, dilated = _step(sh * sw - 1), _step(dh * dw - 1)
    unit = _step(2 - kh * kw)  # a 1x1 kernel
    first = _step(strided + dilated + _step(n - 15) + (1 - unit) + _step(ctx.threads - 1))
    second = _step(_step(layer.groups - 1) + _step(kh - 3) * _step(kw - 3) + _step(n - 1)
                   + _step(n * cin * h * w - 20480))
    onednn = first * second
    needs_columns = 1 - unit * (1 - strided) * (1 - dilated)
    return onednn, needs_columns * n * cin * kh * kw * oh * ow * ctx.bpe


def _batchnorm2d_cpu(layer, ctx: Context) -> tuple:
    """Forward (``native_batch_norm``, eval and train): two fp32 per-channel vectors (the folded
    scale and shift) freed before it returns. Backward (``native_batch_norm_backward``): one
    input-sized temporary besides the input gradient, freed before it returns."""
    c = ctx.input_shape[0]
    return 2 * c * STAT_BYTES, ctx.batch * dims.prod(ctx.input_shape) * ctx.bpe


def _register_cpu():
    from .layers import BatchNorm1d, BatchNorm2d, Conv2d

    scratch_rule("cpu", Conv2d)(_conv2d_cpu)
    scratch_rule("cpu", BatchNorm2d, BatchNorm1d)(_batchnorm2d_cpu)


def _linear_cuda(layer, ctx: Context) -> tuple:
    """cuBLAS's workspace is allocated once and kept (see :data:`CUBLAS_WORKSPACE_BYTES`); it is
    resident, not a per-layer spike, so :mod:`archcalc.memory` adds it once to the resident bytes
    when the graph has a matmul. Per layer: nothing more."""
    return (0, 0)


def _register_cuda():
    from .layers import Linear

    scratch_rule("cuda", Linear)(_linear_cuda)


_register_cpu()
_register_cuda()


def resident_bytes(backend: str, records) -> int:
    """Library workspaces a backend keeps for the whole run (cuBLAS's, once a matmul has run)."""
    if backend == "cuda" and any(_RULES.get(("cuda", type(r.layer).__name__)) is _linear_cuda for r in records):
        return CUBLAS_WORKSPACE_BYTES
    return 0
