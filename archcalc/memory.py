"""Memory that matches what a framework actually holds: inference peak, training footprint, max batch.

Pure python, no torch. Everything here is derived from an analysed graph (:func:`archcalc.analyze`)
and a few documented facts about how an eager framework (torch) runs it.

Three different "memory" figures (docs/memory.md explains them on VGG-16):

1. **sum of outputs** (``Result.totals["activation_bytes"]``): every tensor the forward pass
   materialises, added up as if all were alive at once. The cs231n tally's "memory". Neither a
   peak nor a training figure.
2. **inference peak** (:func:`inference_memory`): liveness over the graph in its execution
   (topological) order. A tensor is allocated when its layer runs and dies after its last consumer
   has run; in-place layers (``ReLU(inplace=True)``, in-place residual add) and views (flatten,
   slice, dropout at inference) share their input's storage; branches stay alive until the concat
   or add that merges them; the graph input (held by the caller) and the outputs live throughout.
   The order is the graph's, except that shortcut projections (``downsample``) run right before the
   residual add, as torchvision's blocks do (:func:`execution_order`). Eager execution adds one
   rule: a module's caller holds the module's argument until the module
   returns (``x = self.layer1(x)``), so a tensor entering a module scope (node names are torch
   module paths, ``layer1.0.conv1``) lives until that scope's last node; and a zoo family may list
   Python locals of its torchvision ``forward`` that outlive their last consumer
   (:data:`EAGER_LOCALS`, DenseNet's).
   Peak = weights + buffers + max over layers of the bytes live while that layer runs, including
   its scratch (:data:`FORWARD_SCRATCH`: max-pool's int64 indices).
3. **training peak** (:func:`training_memory`): one steady-state step: weights + buffers +
   optimizer state + input batch and targets, then the maximum over forward (activations saved for
   backward accumulate, :data:`SAVED_FOR_BACKWARD`), backward (simulated node by node in reverse
   order: saved tensors are released after their node's backward, gradients of activations are
   allocated and freed, weight gradients accumulate) and the optimizer step (weights + gradients +
   state + the step's temporaries, :data:`STEP_TEMPORARIES`). A cross-entropy loss on each graph
   output is included.

All tensors are in one dtype (``fp32``, ``bf16`` ... the result's), except max-pool indices
(int64), batch-norm's saved per-channel statistics (fp32), ``num_batches_tracked`` and the
targets (int64). Mixed precision (fp32 master weights with bf16 activations) is not modelled.

Two named figures per estimate: ``peak_bytes`` counts live tensors (what the liveness above holds);
``allocator_peak_bytes`` adds, for a named backend (``cpu``: oneDNN, measured; ``cuda``: cuDNN/cuBLAS,
documented, not measured), the scratch a kernel allocates and frees inside its layer
(:mod:`archcalc.scratch`): a spike on top of what is live at that layer, forward and backward, plus
any library workspace the backend keeps resident. Each figure names its layer and phase. Allocator
caching, fragmentation and the CUDA context stay out and are named (``not_counted``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

from . import dims
from .dtypes import DTYPE_BYTES, dtype_name
from .errors import UnsupportedLayerError
from . import scratch  # noqa: I001 (its own line: the allocator figure's backend scratch)
from .errors import InvalidValueError

INDEX_BYTES = 8  # torch's max-pool indices are int64 whatever the activation dtype
STAT_BYTES = 4  # batch norm's saved mean / inverse std are fp32
TARGET_BYTES = 8  # class-index targets are int64

# ---------------------------------------------------------------------------------------------
# Data: what each layer kind keeps for backward, and what its backward allocates.
# ---------------------------------------------------------------------------------------------

#: What a layer kind saves for backward when autograd records it (torch's derivatives.yaml):
#: ``input`` / ``output`` = its input / output tensor (a reference to an existing storage, counted
#: once however many layers save it); ``indices`` = an int64 tensor of the output's size (max
#: pooling's argmax); ``input_copy`` = a copy of the input an in-place layer overwrites
#: (:data:`SAVED_FOR_BACKWARD_INPLACE`); ``mask`` = a tensor of the output's size in the activation dtype (dropout's
#: scaled keep-mask: torch's CPU path ``input * bernoulli_(1-p).div_(1-p)``; torch's fused CUDA
#: kernel keeps a 1-byte bool mask instead, so the estimate is conservative there); ``stats`` =
#: two fp32 per-channel vectors (batch norm's batch mean and inverse std). Kinds with an empty
#: tuple save nothing that costs memory (shapes only). A kind missing here cannot be trained.
SAVED_FOR_BACKWARD = {
    "Input": (),
    "Conv2d": ("input",),  # wgrad needs the input (dgrad needs the weight, already resident)
    "ConvTranspose2d": ("input",),
    "Linear": ("input",),  # addmm saves mat1 (the input) and mat2 (a view of the weight)
    "RBF": ("input",),
    "Subsample2d": ("input",),
    "BatchNorm2d": ("input", "stats"),  # native_batch_norm saves its input and the batch stats
    "BatchNorm1d": ("input", "stats"),
    "LocalResponseNorm": ("input", "lrn"),  # + intermediates of torch's composite, see _lrn_elements
    # activations: relu/sigmoid/tanh differentiate from their output, the others from their input
    # (hardtanh_backward(grad, self) for ReLU6, silu_backward(grad, self), ...)
    "ReLU": ("output",),
    "ReLU6": ("input",),
    "Sigmoid": ("output",),
    "Tanh": ("output",),
    "ELU": ("input",),
    "LeakyReLU": ("input",),
    "Hardsigmoid": ("input",),
    "Hardswish": ("input",),
    "SiLU": ("input",),
    "GELU": ("input",),
    "Softplus": ("input",),
    "Softmax": ("output",),
    "MaxPool2d": ("input", "indices"),  # max_pool2d_with_indices saves self and the indices
    "AdaptiveMaxPool2d": ("input", "indices"),
    "GlobalMaxPool2d": ("input", "indices"),
    "AvgPool2d": ("input",),
    "AdaptiveAvgPool2d": ("input",),  # _adaptive_avg_pool2d saves self (a 1x1 output is a mean: none)
    "GlobalAvgPool2d": (),  # a mean: backward needs only the shape
    "Dropout": ("mask",),
    "Add": (),
    "Mul": ("input",),  # each factor is needed for the other's gradient
    "Concat": (),
    "Flatten": (),
    "Identity": (),
    "Slice": (),
    "Upsample": (),
    "ZeroPad2d": (),
    "ChannelShuffle": (),
    "Scale": (),  # times a constant: nothing to keep
    "Crop": (),  # a view (its backward writes a zero-padded input-sized gradient)
    "Reshape": (),  # a view
    # torchvision FrozenBatchNorm2d: x * scale + bias with scale/bias from buffers, so the product's
    # gradient needs only the (per-channel) scale
    "FrozenBatchNorm2d": (),
}

# Kinds for modern networks (archcalc.layers, appended kinds), same sources as above.
SAVED_FOR_BACKWARD.update({
    "Conv1d": ("input",),
    "Conv3d": ("input",),
    "BatchNorm3d": ("input", "stats"),
    "Mish": ("input",),
    "MaxPool1d": ("input", "indices"),
    "MaxPool3d": ("input", "indices"),
    "AdaptiveMaxPool1d": ("input", "indices"),
    "AdaptiveMaxPool3d": ("input", "indices"),
    "AvgPool1d": ("input",),
    "AvgPool3d": ("input",),
    "AdaptiveAvgPool1d": ("input",),
    "AdaptiveAvgPool3d": ("input",),
    "ReflectionPad2d": (),  # backward needs only the padding sizes
    "ReplicationPad2d": (),
    "Interpolate": (),  # nearest/linear/cubic upsample backward needs only sizes ('area' imports as a pool)
    "Permute": (),  # views
    "Transpose": (),
    "Unsqueeze": (),
    "Squeeze": (),
    "Expand": (),  # backward sums the gradient over the stretched axes: shapes only
    # LearnedTensor (zoo, issue 15): mul saves the input for the parameter's gradient. The table is
    # keyed by kind, so add, prepend and value (which need only shapes or an index) are charged the
    # same: an upper bound
    "LearnedTensor": ("input",),
    "Mean": (),  # backward spreads grad / n: shapes only
    "Sum": (),
    "Amax": ("input", "output"),  # amax_backward compares the input with the result
    "Sub": (),
    "Div": ("input",),  # d/da = 1/b, d/db = -a/b^2: both operands
    "MatMul": ("input",),  # each operand is needed for the other's gradient
    "Einsum": ("input",),
    "Parameter": (),  # a parameter read by forward: a weight, not an activation
    "Constant": (),  # torch.arange/zeros in forward: no gradient
    "Index": (),  # index_put of the gradient needs the index (a buffer, resident) and shapes only
    "Unreached": (),
    "Roll": (),  # backward rolls the gradient back: shapes only
    "Select": (),  # a view (its backward writes a zero input-sized gradient)
    # native_layer_norm / native_group_norm save their input and a mean and an inverse std per
    # normalised row (``row_stats``, rows per sample in :data:`STAT_ROWS`); the backward reads the
    # affine weight, resident anyway. LayerNorm2d (ConvNeXt's: permute, layer_norm, permute back)
    # saves the permuted view of its input, the same storage
    "LayerNorm": ("input", "row_stats"),
    "LayerNorm2d": ("input", "row_stats"),
    "GroupNorm": ("input", "row_stats"),
})

# Issue 14's copies and views: their backward scatters or sums the gradient back by shape (pad
# slices it, unfold/im2col fold it, col2im unfolds it, repeat sums the copies, slice_scatter splits it). The vector norm's backward
# (linalg_vector_norm_backward) reads its input and its result.
SAVED_FOR_BACKWARD.update({"ConstantPad": (), "UnfoldAxis": (), "Unfold": (), "Fold": (), "Repeat": (), "RepeatInterleave": (),
                           "SliceScatter": (),
                           "VectorNorm": ("input", "output")})

#: Rows a normalisation layer keeps a (mean, inverse std) pair for, per sample, from the layer and
#: its output shape. Kept as fp32 (:data:`STAT_BYTES`), as torch's CUDA kernels do; its CPU kernels
#: keep them in the parameters' dtype, so a bf16 model's figure is 4 bytes per row high there.
STAT_ROWS = {
    "LayerNorm": lambda layer, shape: dims.exact_div(dims.prod(shape), dims.prod(layer.normalized_shape)),
    "LayerNorm2d": lambda layer, shape: dims.prod(shape[1:]),  # one row per position of a (C, H, W) map
    "GroupNorm": lambda layer, shape: layer.num_groups,
}

#: Kinds archcalc cannot yet say what torch keeps for backward (composites and detection ops whose
#: saved tensors were not measured): training estimates raise for them instead of guessing.
TRAINING_UNSUPPORTED = {"L2Norm", "LSTM", "Embedding", "RoIAlign", "RoIPool", "PSRoIPool"}
#: layer/group norm keep per-row statistics (not per channel); attention keeps composite internals;
#: max-unpool keeps int64 indices that are a graph input: not measured yet, refused for training.
TRAINING_UNSUPPORTED |= {"ScaledDotProductAttention", "MultiheadAttention", "MaxUnpool2d", "Uncounted",
                         "Pointwise"}  # pow/exp/sqrt save different tensors: not modelled per op

#: In-place variants that differentiate from their result instead (torch's ``elu_``, ``leaky_relu_``).
#: Any other in-place layer whose rule saves its input cannot keep it (the op overwrites it): torch
#: saves a copy of the original input (``input_copy``, a new input-sized tensor), so in training an
#: in-place ReLU6/SiLU/Hardswish costs as much as an out-of-place one.
SAVED_FOR_BACKWARD_INPLACE = {"ELU": ("output",), "LeakyReLU": ("output",)}

#: Kinds whose backward hands the incoming gradient to its inputs without allocating: the same
#: tensor (add) or views of it (flatten, identity, concat's per-input slices). Every other kind
#: allocates a new input-sized gradient per input that needs one.
GRAD_PASSTHROUGH = {"Add", "Concat", "Flatten", "Identity", "Reshape", "Permute", "Transpose", "Unsqueeze", "Squeeze"}

#: How backward sums the gradients of a tensor with several consumers. torch's engine
#: (``InputBuffer::accumulate``) adds in place into the buffer when it holds the only reference, else
#: out of place (``old + new``). The model assumes in place; the CPU measurement sees some out-of-place
#: adds (an extra map at that moment: the <=0.5% under-estimates in reports/memory.md). ``False``
#: models every sum out of place (an upper bound).
ACCUMULATE_IN_PLACE = True

#: Scratch a layer's forward allocates next to its output and frees when it returns, in bytes per
#: output element: torch's max pooling computes int64 indices even under ``no_grad`` on CPU.
FORWARD_SCRATCH = {"MaxPool2d": INDEX_BYTES, "AdaptiveMaxPool2d": INDEX_BYTES, "GlobalMaxPool2d": INDEX_BYTES}


def _traits(layer):
    """The traits registered with the layer's rule (:class:`archcalc.rules.Traits`)."""
    from .rules import traits_of

    return traits_of(layer)


def _lrn_elements(layer, shape, training: bool):
    """Elements a torch composite (``F.local_response_norm``) holds besides its input and output:
    the ``composite_elements`` trait registered with the layer's rule (archcalc/rules/norm.py)."""
    return _traits(layer).composite_elements(layer, shape, training)

#: Kinds that are views at inference but materialise a new output when training (dropout).
TRAINING_MATERIALISES = {"Dropout"}

#: Python locals in a torchvision ``forward`` that keep a tensor alive past its last consumer in the
#: graph, per zoo family: (node, sibling it lives until), both named by their last path component
#: within the same module. torchvision ``densenet.py``, ``_DenseLayer``: ``concated_features`` (the
#: cat) is a local of ``bn_function`` until ``conv1`` returns, and ``bottleneck_output`` (conv1's
#: output) a local of ``forward`` until ``conv2`` returns. Graphs outside the zoo get none.
EAGER_LOCALS = {"DenseNet": (("cat", "conv1"), ("conv1", "conv2"))}

#: Optimizer state per trainable parameter (in the parameter dtype), steady state.
OPTIMIZER_STATE = {"sgd": 0, "sgd-momentum": 1, "adam": 2, "adamw": 2}
_OPTIMIZER_ALIASES = {"momentum": "sgd-momentum", "sgd_momentum": "sgd-momentum", "sgdm": "sgd-momentum"}

#: Bytes of per-parameter-tensor scalars in the optimizer state (torch's Adam keeps ``step`` as an
#: fp32 tensor for each parameter tensor).
STEP_COUNTERS = {"adam": 4, "adamw": 4}

#: Temporaries of ``optimizer.step()`` (torch 2.x, no weight decay), as (multiple of the largest
#: parameter tensor for the for-loop implementation, torch's CPU default; multiple of all
#: parameters for the foreach implementation, torch's CUDA default). Adam computes
#: ``(exp_avg_sq.sqrt() / bias_correction2_sqrt)``: two tensors briefly per parameter in the loop,
#: one list of them with foreach. SGD (with or without momentum) updates in place.
STEP_TEMPORARIES = {"sgd": (0, 0), "sgd-momentum": (0, 0), "adam": (2, 1), "adamw": (2, 1)}


def optimizer_name(name: str) -> str:
    key = str(name).lower().replace("_", "-")
    key = _OPTIMIZER_ALIASES.get(key, key)
    if key not in OPTIMIZER_STATE:
        raise InvalidValueError(f"unknown optimizer {name!r}; choose one of {', '.join(OPTIMIZER_STATE)}")
    return key


# ---------------------------------------------------------------------------------------------
# Results
# ---------------------------------------------------------------------------------------------


@dataclass
class LayerMemory:
    """One layer's share. Bytes are for the whole batch."""

    name: str
    kind: str
    output_bytes: int  # the layer's output tensor (0 when it reuses its input's storage)
    live_bytes: int  # activations live while the layer runs forward (weights excluded)
    saved: tuple = ()  # what the layer keeps for backward (training)
    saved_bytes: int = 0  # bytes first kept alive by this layer for backward (shared storages once)
    backward_live_bytes: int = 0  # activations + activation gradients live during its backward
    dgrad_macs: int = 0  # gradient w.r.t. the input (0 when the input needs no gradient)
    wgrad_macs: int = 0  # gradient w.r.t. the weights
    backward_flops: int = 0
    scratch_bytes: int = 0  # backend scratch live only inside the layer's forward (allocator figure)
    backward_scratch_bytes: int = 0  # the same inside its backward


@dataclass
class MemoryEstimate:
    """Peak memory of one pass. ``peak_bytes`` includes everything resident (weights, buffers, input
    batch, and when training gradients, optimizer state and targets); ``peak_activation_bytes`` is
    the part above that resident baseline."""

    model: str
    mode: str  # "inference" | "training"
    batch: int
    dtype: str
    weight_bytes: int
    buffer_bytes: int
    input_bytes: int
    sum_of_outputs_bytes: int
    peak_bytes: int
    peak_activation_bytes: int
    peak_layer: str
    peak_phase: str  # "forward" | "backward" | "step"
    layers: list = field(default_factory=list)
    optimizer: Optional[str] = None
    foreach: bool = False
    gradient_bytes: int = 0
    optimizer_state_bytes: int = 0
    target_bytes: int = 0
    saved_bytes: int = 0  # activations saved for backward at the end of forward
    step_temporary_bytes: int = 0
    phase_peaks: dict = field(default_factory=dict)
    forward_flops: int = 0
    backward_flops: int = 0
    # the allocator figure: live tensors + backend scratch (archcalc.scratch) + resident workspaces
    backend: str = "cpu"
    threads: int = 1
    allocator_peak_bytes: int = 0
    allocator_peak_layer: str = ""
    allocator_peak_phase: str = ""
    allocator_phase_peaks: dict = field(default_factory=dict)
    workspace_bytes: int = 0  # library workspace the backend keeps resident (cuBLAS's on cuda)
    scratch_note: Optional[str] = None  # why the allocator figure is not a measured one, if it is not
    not_counted: tuple = ()
    scratch_unmodelled: tuple = ()  # kinds in the graph with no scratch formula and none measured

    @property
    def resident_bytes(self) -> int:
        return (self.weight_bytes + self.buffer_bytes + self.input_bytes + self.optimizer_state_bytes
                + self.target_bytes)

    def to_dict(self) -> dict:
        d = {k: getattr(self, k) for k in (
            "model", "mode", "batch", "dtype", "weight_bytes", "buffer_bytes", "input_bytes",
            "sum_of_outputs_bytes", "peak_bytes", "peak_activation_bytes", "peak_layer", "peak_phase",
            "backend", "threads", "allocator_peak_bytes", "allocator_peak_layer", "allocator_peak_phase",
            "workspace_bytes", "scratch_note")}
        d["not_counted"] = list(self.not_counted)
        d["scratch_unmodelled"] = list(self.scratch_unmodelled)
        if self.mode == "training":
            d.update({k: getattr(self, k) for k in (
                "optimizer", "foreach", "gradient_bytes", "optimizer_state_bytes", "target_bytes", "saved_bytes",
                "step_temporary_bytes", "phase_peaks", "allocator_phase_peaks", "forward_flops", "backward_flops")})
        d["layers"] = [vars(r).copy() for r in self.layers]
        for r in d["layers"]:
            r["saved"] = list(r["saved"])
        return d


# ---------------------------------------------------------------------------------------------
# The model
# ---------------------------------------------------------------------------------------------


def _concrete(x, what: str) -> int:
    if not dims.is_concrete(x):
        raise InvalidValueError(f"memory needs concrete sizes, but {what} is {dims.format_dim(x)}; "
                            "substitute concrete values first (Result.substitute, e.g. H=224, R=300)")
    return int(x)


def _scopes(name: str) -> list:
    """Enclosing module paths of a node: ``layer1.0.conv1`` -> ``layer1``, ``layer1.0``."""
    parts = name.split(".")
    return [".".join(parts[:k]) for k in range(1, len(parts))]


#: Module names whose nodes run just before their first consumer rather than where the graph lists
#: them: torchvision's and timm's residual blocks compute ``self.downsample(x)`` after the main path
#: (``if self.downsample is not None: identity = self.downsample(x)`` right before ``out += identity``).
DEFERRED_MODULES = ("downsample",)


def execution_order(records) -> list:
    """The records in the order an eager framework runs them: the graph's order, except that nodes
    inside a :data:`DEFERRED_MODULES` scope move to just before the first node that reads them."""
    def deferred(name):
        return any(part in DEFERRED_MODULES for part in name.split(".")[:-1])

    held = {}  # name -> record, waiting for a consumer
    order = []
    for r in records:
        if deferred(r.name):
            held[r.name] = r
            continue
        ready = [h for h in held.values() if h.name in r.inputs]
        if ready:  # place the waiting chain (in graph order) ahead of its consumer
            chain, stack = [], list(ready)
            while stack:
                h = stack.pop()
                if h.name in held:
                    chain.append(held.pop(h.name))
                    stack.extend(held[i] for i in h.inputs if i in held)
            order.extend(sorted(chain, key=lambda c: records.index(c)))
        order.append(r)
    return order + sorted(held.values(), key=lambda c: records.index(c))


class _Plan:
    """Per-sample element counts and storage sharing of an analysed graph."""

    def __init__(self, result, training: bool):
        self.records = execution_order(result.layers)
        self.index = {r.name: i for i, r in enumerate(self.records)}
        self.per_sample = []  # output elements per sample
        # outputs that do not depend on the input (analysis: per_forward) are one tensor, not one per sample
        self.once = {i for i, r in enumerate(self.records) if getattr(r, "per_forward", False)}
        self.storage = []  # storage id per record
        self.owner = {}  # storage id -> record index that allocated it
        for i, r in enumerate(self.records):
            n = _concrete(dims.prod(r.output_shape), f"the output of {r.name}")
            self.per_sample.append(n)
            reuses = r.layer.reuses_input and r.kind != "Input"
            if training and r.kind in TRAINING_MATERIALISES:
                reuses = False
            if reuses:
                self.storage.append(self.storage[self.index[r.inputs[0]]])
            else:
                self.storage.append(i)
                self.owner[i] = i
        self.outputs = [self.index[o] for o in result.graph.output_names()]
        self.held = {self.storage[i] for i, r in enumerate(self.records) if r.kind == "Input"}
        self.held |= {self.storage[i] for i in self.outputs}
        # last forward step at which each storage is read or written
        self.last_use = {s: s for s in self.owner}
        for i, r in enumerate(self.records):
            for name in r.inputs:
                s = self.storage[self.index[name]]
                self.last_use[s] = max(self.last_use[s], i)
            s = self.storage[i]
            self.last_use[s] = max(self.last_use[s], i)
        # eager execution: the caller of a module holds the module's argument until the module
        # returns (``x = self.layer1(x)``), so a tensor that enters a module scope (a dotted name
        # prefix, which mirrors the torch module path) lives until the scope's last node
        scope_end: dict = {}
        for i, r in enumerate(self.records):
            for p in _scopes(r.name):
                scope_end[p] = i
        for i, r in enumerate(self.records):
            for name in r.inputs:
                s = self.storage[self.index[name]]
                for p in _scopes(r.name):
                    if not name.startswith(p + "."):
                        self.last_use[s] = max(self.last_use[s], scope_end[p])
        family = getattr(getattr(result, "entry", None), "family", None)
        for held, until in EAGER_LOCALS.get(family, ()):
            for i, r in enumerate(self.records):
                head, _, leaf = r.name.rpartition(".")
                j = self.index.get(f"{head}.{until}" if head else until)
                if leaf == held and j is not None:
                    s = self.storage[i]
                    self.last_use[s] = max(self.last_use[s], j)

    def elements(self, i: int, batch: int) -> int:
        """Elements of record ``i``'s output for the whole batch (once for a per-forward output)."""
        return self.per_sample[i] if i in self.once else self.per_sample[i] * batch


def _bytes_per(dtype: str) -> int:
    return DTYPE_BYTES[dtype]


def _buffer_bytes(records, bpe: int) -> int:
    total = 0
    for r in records:
        b = _concrete(r.buffers, f"the buffers of {r.name}")
        if _traits(r.layer).counts_batches and getattr(r.layer, "track_running_stats", False) and b:
            total += (b - 1) * bpe + 8  # num_batches_tracked is an int64 scalar
        else:
            total += b * bpe
    return total


def _setup(result, batch, dtype):
    batch = result.batch if batch is None else batch
    batch = _concrete(batch, "the batch")
    if batch < 1:
        raise InvalidValueError(f"batch must be >= 1, got {batch}")
    dtype = dtype_name(result.dtype if dtype is None else dtype)
    return batch, dtype, _bytes_per(dtype)


def _forward_live(plan: _Plan, batch: int, bpe: int, keep_until_end: set, scratch: bool = True) -> list:
    """Activation bytes live while each layer runs forward (its scratch included)."""
    n = len(plan.records)
    size = {s: plan.elements(s, batch) * bpe for s in plan.owner}
    delta = [0] * (n + 1)
    for s in plan.owner:
        start = -1 if s in plan.held and plan.records[s].kind == "Input" else s
        end = n - 1 if (s in plan.held or s in keep_until_end) else plan.last_use[s]
        delta[max(start, 0)] += size[s]
        delta[end + 1] -= size[s]
    live, running = [], 0
    for i, r in enumerate(plan.records):
        running += delta[i]
        extra = FORWARD_SCRATCH.get(_kind(r), 0) * plan.elements(i, batch) if scratch else 0
        if scratch and _traits(r.layer).composite_elements is not None:
            extra = _lrn_elements(r.layer, r.output_shape, training=False) * batch * bpe
        live.append(running + extra)
    return live


def _largest_tensor(r) -> int:
    """The largest single parameter tensor of a layer (the weight; bias and BN's gamma/beta are
    separate tensors)."""
    p = _concrete(r.trainable_params, f"the params of {r.name}")
    if not p:
        return 0
    split = _traits(r.layer).param_tensors
    return max(split(r.layer, p)) if split else p


def _param_tensors(r) -> int:
    """How many trainable parameter tensors a layer has (weight, bias, gamma, beta)."""
    p = _concrete(r.trainable_params, r.name)
    if not p:
        return 0
    split = _traits(r.layer).param_tensors
    return len(split(r.layer, p)) if split else 1


def _inner_layer(r):
    """The layer whose rules apply (see :func:`_kind`)."""
    layer = r.layer
    while type(layer).__name__ in ("PerItem", "Shared") and hasattr(layer, "layer"):
        layer = layer.layer
    return layer


def _backend_setup(backend, threads, dtype):
    name = scratch.backend_name(backend)
    if isinstance(threads, bool) or not isinstance(threads, int) or threads < 1:
        raise InvalidValueError(f"threads must be a positive integer, got {threads!r}")
    not_counted = scratch.CUDA_NOT_COUNTED if name == "cuda" else scratch.CPU_NOT_COUNTED
    return name, scratch.unmeasured_reason(name, dtype), not_counted


def _unmodelled(records, backend: str) -> tuple:
    return tuple(sorted({r.kind for r in records if scratch.unmodelled(backend, _inner_layer(r), _kind(r))}))


def _scratch(r, backend: str, batch: int, bpe: int, threads: int, input_requires_grad: bool,
             dtype: str = "fp32") -> tuple:
    """(forward, backward) backend scratch of record ``r`` (:mod:`archcalc.scratch`), whole batch."""
    layer = _inner_layer(r)
    if not scratch.has_rule(backend, layer) or not r.input_shapes:
        return 0, 0
    ctx = scratch.Context(tuple(r.input_shapes[0]), tuple(r.output_shape), batch, bpe, threads,
                          input_requires_grad, scratch.BACKENDS[backend], dtype)
    fwd, bwd = scratch.layer_scratch(layer, ctx)
    return _concrete(fwd, f"the scratch of {r.name}"), _concrete(bwd, f"the scratch of {r.name}")


def sum_of_outputs_bytes(result, batch=None, dtype=None) -> int:
    batch, dtype, bpe = _setup(result, batch, dtype)
    plan = _Plan(result, training=False)
    return sum(plan.elements(s, batch) for s in plan.owner) * bpe


def inference_memory(result, batch=None, dtype=None, backend: str = "cpu", threads: int = 1) -> MemoryEstimate:
    """Peak memory of a forward pass without autograd (``torch.no_grad()``), weights included.

    ``batch`` / ``dtype`` default to the result's; passing them re-evaluates without re-analysing.
    ``backend`` / ``threads`` pick the scratch model of the allocator figure (:mod:`archcalc.scratch`).
    """
    batch, dtype, bpe = _setup(result, batch, dtype)
    backend, note, not_counted = _backend_setup(backend, threads, dtype)
    plan = _Plan(result, training=False)
    live = _forward_live(plan, batch, bpe, keep_until_end=set())
    weights = sum(_concrete(r.params, r.name) for r in plan.records) * bpe
    buffers = _buffer_bytes(plan.records, bpe)
    input_bytes = sum(plan.elements(s, batch) for s in plan.held if plan.records[s].kind == "Input") * bpe
    workspace = scratch.resident_bytes(backend, plan.records)
    layers = []
    for i, r in enumerate(plan.records):
        out_b = plan.elements(i, batch) * bpe if plan.storage[i] == i else 0
        spike = _scratch(r, backend, batch, bpe, threads, False, dtype)[0]
        layers.append(LayerMemory(r.name, r.kind, out_b, live[i] - input_bytes, scratch_bytes=spike))
    at = max(range(len(live)), key=lambda i: live[i])
    alloc_at = max(range(len(live)), key=lambda i: live[i] + layers[i].scratch_bytes)
    peak_act = live[at] - input_bytes
    resident = weights + buffers + input_bytes
    alloc_peak = weights + buffers + workspace + live[alloc_at] + layers[alloc_at].scratch_bytes
    return MemoryEstimate(
        model=result.model, mode="inference", batch=batch, dtype=dtype, weight_bytes=weights,
        buffer_bytes=buffers, input_bytes=input_bytes,
        sum_of_outputs_bytes=sum(plan.elements(s, batch) for s in plan.owner) * bpe,
        peak_bytes=resident + peak_act, peak_activation_bytes=peak_act,
        peak_layer=plan.records[at].name, peak_phase="forward", layers=layers,
        backend=backend, threads=threads, allocator_peak_bytes=alloc_peak,
        allocator_peak_layer=plan.records[alloc_at].name, allocator_peak_phase="forward",
        allocator_phase_peaks={"forward": alloc_peak}, workspace_bytes=workspace, scratch_note=note,
        not_counted=not_counted, scratch_unmodelled=_unmodelled(plan.records, backend),
    )


def _kind(r) -> str:
    """The kind whose rules apply: a layer applied per item (``PerItem``) or with shared weights
    (``Shared``) keeps what its inner layer keeps."""
    layer = r.layer
    while type(layer).__name__ in ("PerItem", "Shared") and hasattr(layer, "layer"):
        layer = layer.layer
    return layer.kind


def _requires_grad(plan: _Plan) -> list:
    req = []
    for i, r in enumerate(plan.records):
        own = dims.is_concrete(r.trainable_params) and r.trainable_params > 0
        req.append(r.kind != "Input" and (own or any(req[plan.index[n]] for n in r.inputs)))
    return req


def backward_macs(record, input_requires_grad: bool = True) -> tuple:
    """(dgrad, wgrad) MACs of a weight layer's backward, whole batch. Each (weight, output
    position) pair of the forward contributes one MAC to the input gradient (a transposed
    convolution) and one to the weight gradient, so both equal the forward MACs; the input
    gradient is skipped where the input needs none (the first layer)."""
    macs = record.macs
    trainable = dims.is_concrete(record.trainable_params) and record.trainable_params > 0
    return (macs if input_requires_grad else 0), (macs if trainable else 0)


def _backward_flops(record, dgrad: int, wgrad: int, batch: int) -> int:
    """Weight layers: ``2*(dgrad + wgrad)`` plus one add per output element for the bias gradient.
    Other layers: archcalc's convention counts their backward like their forward elementwise work
    (a ReLU mask, a pooling scatter, batch norm's reductions), i.e. equal to forward flops."""
    if record.macs:
        bias = getattr(record.layer, "bias", False)
        return 2 * (dgrad + wgrad) + (record.output_elements if bias and wgrad else 0)
    return record.flops


def training_memory(result, optimizer: str = "sgd", batch=None, dtype=None, foreach: bool = False,
                    backend: str = "cpu", threads: int = 1) -> MemoryEstimate:
    """Peak memory of one steady-state training step (forward, cross-entropy loss, backward,
    ``optimizer.step()``), weights, gradients and optimizer state included.

    ``foreach`` picks torch's multi-tensor optimizer implementation (its CUDA default) for the step's
    temporaries; the default is the per-parameter loop (torch's CPU default). ``backend`` /
    ``threads`` pick the scratch model of the allocator figure (:mod:`archcalc.scratch`).
    """
    batch, dtype, bpe = _setup(result, batch, dtype)
    backend, note, not_counted = _backend_setup(backend, threads, dtype)
    opt = optimizer_name(optimizer)
    plan = _Plan(result, training=True)
    recs = plan.records
    n = len(recs)
    req = _requires_grad(plan)
    for r in recs:
        if _kind(r) not in SAVED_FOR_BACKWARD:
            raise UnsupportedLayerError(f"layer {r.name!r}: no rule for what {_kind(r)} saves for backward; "
                                        "training memory is not modelled for it")

    def full(i):  # bytes of record i's output tensor (whether or not it owns its storage)
        return plan.elements(i, batch) * bpe

    # --- what each recorded layer saves ------------------------------------------------------
    savers: dict = {}  # storage -> indices of layers saving it
    extras: dict = {}  # layer index -> bytes of its own saved tensors (indices, masks, stats)
    saved_items = []
    for i, r in enumerate(recs):
        kind = _kind(r)
        items = SAVED_FOR_BACKWARD[kind] if req[i] else ()
        if items and getattr(r.layer, "inplace", False):
            items = SAVED_FOR_BACKWARD_INPLACE.get(kind, items)
            items = tuple("input_copy" if it == "input" else it for it in items)
        saved_items.append(items)
        x = 0
        for item in items:
            if item == "input":
                for name in r.inputs:
                    savers.setdefault(plan.storage[plan.index[name]], []).append(i)
            elif item == "output":
                savers.setdefault(plan.storage[i], []).append(i)
            elif item == "indices":
                x += plan.elements(i, batch) * INDEX_BYTES
            elif item == "lrn":
                x += _lrn_elements(r.layer, r.output_shape, training=True) * batch * bpe
            elif item == "input_copy":
                x += full(plan.index[r.inputs[0]])
            elif item == "mask":
                x += full(i)
            elif item == "stats":
                x += 2 * _concrete(r.output_shape[0], r.name) * STAT_BYTES  # batch norms: per channel (axis 0)
            elif item == "row_stats":
                rows = _concrete(STAT_ROWS[kind](_inner_layer(r), r.output_shape), r.name)
                x += 2 * rows * batch * STAT_BYTES
        extras[i] = x

    size = {s: plan.elements(s, batch) * bpe for s in plan.owner}
    weights = sum(_concrete(r.params, r.name) for r in recs) * bpe
    trainable = sum(_concrete(r.trainable_params, r.name) for r in recs)
    buffers = _buffer_bytes(recs, bpe)
    input_bytes = sum(size[s] for s in plan.held if recs[s].kind == "Input")
    target_bytes = batch * TARGET_BYTES * len(plan.outputs)
    opt_state = OPTIMIZER_STATE[opt] * trainable * bpe
    if opt in STEP_COUNTERS:  # Adam's per-tensor fp32 step count
        opt_state += STEP_COUNTERS[opt] * sum(_param_tensors(r) for r in recs)
    resident = weights + buffers + opt_state + input_bytes + target_bytes
    loss_bytes = sum(full(o) for o in plan.outputs)  # log_softmax output, saved

    # --- forward: liveness, with saved storages kept to the end and extras accumulating -------
    # (max-pool indices are saved, so counted in the extras, not as scratch)
    live = _forward_live(plan, batch, bpe, keep_until_end=set(savers), scratch=False)
    phase_peak = {"forward": (0, "")}
    alloc_peak = {"forward": (0, "")}  # the same with backend scratch
    spikes = [_scratch(r, backend, batch, bpe, threads, any(req[plan.index[n]] for n in r.inputs), dtype)
              for r in recs]
    extra_running = 0
    layers = []
    first_saver: dict = {}
    for s, who in savers.items():
        first_saver.setdefault(min(who), []).append(s)
    for i, r in enumerate(recs):
        extra_running += extras[i]
        total = live[i] + extra_running - input_bytes
        if total > phase_peak["forward"][0]:
            phase_peak["forward"] = (total, r.name)
        if total + spikes[i][0] > alloc_peak["forward"][0]:
            alloc_peak["forward"] = (total + spikes[i][0], r.name)
        own_saved = sum(size[s] for s in first_saver.get(i, ()) if s not in plan.held) + extras[i]
        out_b = full(i) if plan.storage[i] == i else 0
        layers.append(LayerMemory(r.name, r.kind, out_b, total, saved=saved_items[i],
                                  saved_bytes=own_saved, scratch_bytes=spikes[i][0],
                                  backward_scratch_bytes=spikes[i][1] if req[i] else 0))
    saved_total = sum(size[s] for s in savers if s not in plan.held) + sum(extras.values())
    # after the last layer: the loss (log_softmax output saved) while everything saved is alive;
    # outputs are held by the graph until the loss has read them
    end_forward = saved_total + loss_bytes + sum(size[s] for s in {plan.storage[o] for o in plan.outputs}
                                                  if s not in savers)
    if end_forward > phase_peak["forward"][0]:
        phase_peak["forward"] = (end_forward, "loss")
    if end_forward > alloc_peak["forward"][0]:
        alloc_peak["forward"] = (end_forward, "loss")

    # --- backward: node by node in reverse order ----------------------------------------------
    # live bytes are kept as running totals (not re-summed per node) so the walk is linear in depth
    alive = {s: size[s] for s in savers if s not in plan.held}  # saved activation storages
    pending = {s: len(set(who)) for s, who in savers.items()}  # savers not yet run backward
    saves_at: dict = {}  # layer index -> storages it saves
    for s, who in savers.items():
        for i in set(who):
            saves_at.setdefault(i, []).append(s)
    extra_alive = dict(extras)
    grads: dict = {}  # gradient id -> bytes
    refs: dict = {}  # gradient id -> number of layers whose output gradient it is (pending)
    grad_of: dict = {}  # layer index -> gradient id
    counter = [0]
    wgrads = 0
    held_bytes = [sum(alive.values()) + sum(extra_alive.values())]  # saved storages + extras
    grad_bytes = [0]  # live activation gradients

    def new_grad(nbytes):
        counter[0] += 1
        grads[counter[0]] = nbytes
        grad_bytes[0] += nbytes
        refs[counter[0]] = 0
        return counter[0]

    def free_grad(g):
        grad_bytes[0] -= grads.pop(g, 0)
        refs.pop(g, None)

    def current():
        return held_bytes[0] + grad_bytes[0] + wgrads

    # loss backward: grad of log_softmax output, then of the logits
    peak_b = (current() + loss_bytes + 2 * loss_bytes, "loss")
    alloc_b = peak_b
    for o in plan.outputs:
        g = new_grad(full(o))
        grad_of[o] = g
        refs[g] += 1

    def drop(g):
        refs[g] -= 1
        if refs[g] <= 0:
            free_grad(g)

    total_bwd_flops = 0
    for i in range(n - 1, -1, -1):
        r = recs[i]
        if not req[i]:
            continue
        g = grad_of.get(i)
        in_req = [plan.index[name] for name in r.inputs if req[plan.index[name]]]
        dg, wg = backward_macs(r, input_requires_grad=bool(in_req)) if r.macs else (0, 0)
        bflops = _backward_flops(r, dg, wg, batch)
        total_bwd_flops += bflops
        contributions = []
        new_bytes = 0
        for j in in_req:
            if _kind(r) in GRAD_PASSTHROUGH and g is not None:
                contributions.append((j, g, False))
            else:
                contributions.append((j, None, True))
                new_bytes += full(j)
        wgrad_bytes = _concrete(r.trainable_params, r.name) * bpe
        # a composite backward (LRN's: division, pow, avg_pool3d, mul) holds several map-sized
        # temporaries at once: the ``backward_maps`` trait registered with the rule, measured
        new_bytes += _traits(r.layer).backward_maps * full(i)
        at_node = current() + new_bytes + wgrad_bytes
        if at_node > peak_b[0]:
            peak_b = (at_node, r.name)
        if at_node + spikes[i][1] > alloc_b[0]:
            alloc_b = (at_node + spikes[i][1], r.name)
        layers[i].backward_live_bytes = at_node - wgrads - wgrad_bytes
        layers[i].dgrad_macs, layers[i].wgrad_macs, layers[i].backward_flops = dg, wg, bflops
        wgrads += wgrad_bytes
        for j, cg, is_new in contributions:
            if is_new:
                cg = new_grad(full(j))
            old = grad_of.get(j)
            if old is None:
                grad_of[j] = cg
                refs[cg] += 1
            elif old == cg:
                pass
            elif ACCUMULATE_IN_PLACE and refs[old] == 1:  # in place into the exclusively owned buffer
                if is_new:
                    free_grad(cg)
            elif ACCUMULATE_IN_PLACE and is_new:  # the fresh contribution takes the sum in place
                grad_of[j] = cg
                refs[cg] += 1
                drop(old)
            else:  # out of place (policy, or both shared): old + new into a third tensor
                s = new_grad(full(j))
                at = current()
                if at > peak_b[0]:
                    peak_b = (at, r.name)
                if at > alloc_b[0]:
                    alloc_b = (at, r.name)
                grad_of[j] = s
                refs[s] += 1
                drop(old)
                if is_new:
                    free_grad(cg)
        # release this node's output gradient, its saved tensors and its own extras
        if g is not None:
            drop(g)
        held_bytes[0] -= extra_alive.pop(i, 0)
        for s in saves_at.get(i, ()):
            pending[s] -= 1
            if not pending[s]:
                held_bytes[0] -= alive.pop(s, 0)
    phase_peak["backward"] = peak_b
    alloc_peak["backward"] = alloc_b

    # --- optimizer step -----------------------------------------------------------------------
    loop_mult, foreach_mult = STEP_TEMPORARIES[opt]
    if foreach:
        step_tmp = foreach_mult * trainable * bpe
    else:
        step_tmp = loop_mult * max((_largest_tensor(r) for r in recs), default=0) * bpe
    grads_total = trainable * bpe
    phase_peak["step"] = (grads_total + step_tmp, "optimizer.step")
    alloc_peak["step"] = phase_peak["step"]  # the optimizer's kernels allocate only their results

    phase, (peak_act, where) = max(phase_peak.items(), key=lambda kv: kv[1][0])
    alloc_phase, (alloc_act, alloc_where) = max(alloc_peak.items(), key=lambda kv: kv[1][0])
    workspace = scratch.resident_bytes(backend, recs)
    fwd_flops = sum(_concrete(r.flops, r.name) for r in recs)
    return MemoryEstimate(
        model=result.model, mode="training", batch=batch, dtype=dtype, weight_bytes=weights,
        buffer_bytes=buffers, input_bytes=input_bytes,
        sum_of_outputs_bytes=sum(plan.elements(s, batch) for s in plan.owner) * bpe,
        peak_bytes=resident + peak_act, peak_activation_bytes=peak_act, peak_layer=where, peak_phase=phase,
        layers=layers, optimizer=opt, foreach=foreach, gradient_bytes=grads_total,
        optimizer_state_bytes=opt_state, target_bytes=target_bytes, saved_bytes=saved_total,
        step_temporary_bytes=step_tmp, phase_peaks={k: resident + v[0] for k, v in phase_peak.items()},
        forward_flops=fwd_flops, backward_flops=total_bwd_flops,
        backend=backend, threads=threads, allocator_peak_bytes=resident + workspace + alloc_act,
        allocator_peak_layer=alloc_where, allocator_peak_phase=alloc_phase,
        allocator_phase_peaks={k: resident + workspace + v[0] for k, v in alloc_peak.items()},
        workspace_bytes=workspace, scratch_note=note, not_counted=not_counted,
        scratch_unmodelled=_unmodelled(recs, backend),
    )


# ---------------------------------------------------------------------------------------------
# Sizes and max batch
# ---------------------------------------------------------------------------------------------

_UNITS = {"": 1, "b": 1, "k": 10 ** 3, "kb": 10 ** 3, "m": 10 ** 6, "mb": 10 ** 6, "g": 10 ** 9, "gb": 10 ** 9,
          "t": 10 ** 12, "tb": 10 ** 12, "kib": 1 << 10, "mib": 1 << 20, "gib": 1 << 30, "tib": 1 << 40}


def parse_size(text) -> int:
    """``16GiB`` (binary, 2**30), ``16GB`` / ``16G`` (decimal, 10**9), ``512MiB``, ``1.5GiB``, ``1000``."""
    import re

    m = re.fullmatch(r"\s*([0-9]*\.?[0-9]+)\s*([a-zA-Z]*)\s*", str(text))
    unit = m.group(2).lower() if m else None
    if not m or unit not in _UNITS:
        raise InvalidValueError(f"cannot read memory size {text!r}; write e.g. 16GiB, 16GB or 512MiB")
    value = float(m.group(1)) * _UNITS[unit]
    if value <= 0:
        raise InvalidValueError(f"memory size must be positive, got {text!r}")
    return int(value)


def estimate(result, train: bool = False, optimizer: str = "sgd", batch=None, dtype=None,
             foreach: bool = False, backend: str = "cpu", threads: int = 1) -> MemoryEstimate:
    if train:
        return training_memory(result, optimizer=optimizer, batch=batch, dtype=dtype, foreach=foreach,
                               backend=backend, threads=threads)
    return inference_memory(result, batch=batch, dtype=dtype, backend=backend, threads=threads)


#: ``fit``'s default headroom: the share of the budget kept free for what the allocator figure does
#: not count (allocator caching and fragmentation; on CUDA the context and cuDNN workspaces). A
#: stated choice, not a measurement.
DEFAULT_HEADROOM = 0.10


@dataclass
class Fit:
    max_batch: int  # 0 when not even batch 1 fits
    budget: int
    at_max: Optional[MemoryEstimate]  # the estimate at max_batch (None when 0)
    over: MemoryEstimate  # the estimate at max_batch + 1 (the first batch that does not fit)
    headroom: float = 0.0  # share of the budget kept free
    usable: int = 0  # budget - headroom: what allocator_peak_bytes must not exceed


def fit_batch(result, budget: int, train: bool = False, optimizer: str = "sgd", dtype=None,
              foreach: bool = False, limit: int = 1 << 20, backend: str = "cpu", threads: int = 1,
              headroom: float = DEFAULT_HEADROOM) -> Fit:
    """The largest batch whose allocator peak (``allocator_peak_bytes`` of :func:`inference_memory`
    or :func:`training_memory`: live tensors + ``backend`` scratch) is at most ``budget`` less
    ``headroom`` (a share of the budget, 0 <= headroom < 1). Peak grows with the batch, so a
    doubling then bisection search on concrete batches finds it."""
    if isinstance(headroom, bool) or not isinstance(headroom, (int, float)) or not 0 <= headroom < 1:
        raise InvalidValueError(f"headroom must be a share of the budget in [0, 1), got {headroom!r}")
    usable = int(budget * (1 - headroom))

    def peak(b):
        return estimate(result, train, optimizer, b, dtype, foreach, backend, threads)

    one = peak(1)
    if one.allocator_peak_bytes > usable:
        return Fit(0, budget, None, one, headroom, usable)
    lo, hi = 1, 2
    while hi <= limit and peak(hi).allocator_peak_bytes <= usable:
        lo, hi = hi, hi * 2
    if hi > limit:
        raise InvalidValueError(f"more than {limit} samples fit in {budget} bytes; is the budget right?")
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if peak(mid).allocator_peak_bytes <= usable:
            lo = mid
        else:
            hi = mid
    return Fit(lo, budget, peak(lo), peak(hi), headroom, usable)


# Kinds registered with Traits (archcalc.rules.register) write their entries into the tables above,
# whichever module is imported first.
_TABLES_READY = True
from . import rules as _rules  # noqa: E402,I001

_rules.fill_memory_tables()
