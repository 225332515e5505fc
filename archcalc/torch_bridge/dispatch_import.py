"""The fallback tracer: run the model once on fake tensors and record what torch dispatches.

Used when torch.fx cannot trace a module (control flow on shapes, iteration over proxies: detection
models, RAFT, timm's ``tf_`` models). Nothing is computed and no memory is allocated: the forward
runs under ``FakeTensorMode``. Leaf ``torch.nn`` modules whose class archcalc knows (Conv2d,
BatchNorm2d, Linear, MultiheadAttention...) are recorded whole from forward hooks, with their module
path as the layer name; everything else is recorded per aten op (``aten.add``, ``aten.bmm``...) and
named by the innermost module that ran it.

Limits, by construction:

- concrete shapes only (the run needs numbers), and the graph says so (``graph.tracer``);
- the run uses batch size :data:`BATCH` and takes a leading axis that is a multiple of it as the
  batch (folded batches such as Swin's windows, ``B * nW``, included); an activation with a multiple
  of the batch on another axis is refused, as is every op whose archcalc rule does not reproduce
  the shape torch produced;
- one path through ``forward``: the branches this input takes (``if x.shape[-1] > 224``) and no other.

torchvision's detectors run with one image and their data-dependent filters forced to keep every
candidate (:mod:`.detect_import`). Two inputs encoded in one batch (``torch.cat([a, b], dim=0)``,
RAFT's frames) are a new per-sample axis of 2, split back by ``chunk``.
"""

from __future__ import annotations

import contextlib
import re

from .. import layers as L
from ..errors import ArchcalcError, UnsupportedLayerError
from .fx_import import Importer, _Tensor
from .detect_import import batch_axis_cat, batch_axis_split
from .fx_map import batch_norm_layer, mha_layer, module_layer

#: The batch size of the recording run: a prime no layer size is a multiple of in practice, so a
#: leading axis divisible by it is the (possibly folded) batch.
BATCH = 509

_VIEW_OPS = {"view", "_unsafe_view", "reshape", "alias", "clone", "contiguous", "detach", "_to_copy", "lift_fresh",
             "expand", "unsqueeze", "squeeze", "flatten", "unflatten", "view_as", "_reshape_alias", "lift"}
_ACTS = {"relu": "relu", "relu_": "relu", "gelu": "gelu", "gelu_": "gelu", "silu": "silu", "silu_": "silu",
         "sigmoid": "sigmoid", "sigmoid_": "sigmoid", "tanh": "tanh", "tanh_": "tanh", "hardswish": "hardswish",
         "hardswish_": "hardswish", "hardsigmoid": "hardsigmoid", "hardsigmoid_": "hardsigmoid", "mish": "mish",
         "mish_": "mish", "leaky_relu": "leaky_relu", "leaky_relu_": "leaky_relu", "elu": "elu", "elu_": "elu",
         "softplus": "softplus"}
_BINARY = {"add": L.Add, "add_": L.Add, "sub": L.Sub, "sub_": L.Sub, "mul": L.Mul, "mul_": L.Mul, "div": L.Div,
           "div_": L.Div}
_POINTWISE = {"neg": "neg", "sqrt": "sqrt", "rsqrt": "rsqrt", "exp": "exp", "log": "log", "abs": "abs",
              "clamp": "clamp", "clamp_": "clamp", "erf": "erf", "reciprocal": "reciprocal", "pow": "pow",
              "clamp_min": "clamp_min", "clamp_max": "clamp_max", "sign": "sign", "floor": "floor", "ceil": "ceil",
              "round": "round", "rsub": "rsub", "hardtanh": "clamp", "hardtanh_": "clamp"}
_POINTWISE.update(sin="sin", cos="cos")  # Fourier position encodings built in forward (XCiT)


#: module classes that take a fixed rank with a leading batch axis (torch's (N, C, *spatial))
_FIXED_RANK = re.compile(r"(Conv|ConvTranspose|BatchNorm|InstanceNorm|MaxPool|AvgPool|AdaptiveAvgPool|"
                         r"AdaptiveMaxPool|LPPool|FractionalMaxPool)[123]d")

_MAC_OPS = ("mm", "bmm", "addmm", "baddbmm", "convolution", "_convolution")

_FACTORIES = {"new_zeros", "new_ones", "new_full", "new_empty", "zeros_like", "ones_like", "empty_like", "full_like",
              "rand_like", "randn_like", "new_empty_strided", "scalar_tensor", "arange", "zeros", "ones", "full",
              "empty", "empty_strided", "_local_scalar_dense", "linspace", "eye"}
_FACTORIES |= {"lift_fresh", "lift", "lift_fresh_copy"}  # torch.tensor([...]) data made in forward (CSATv2)


def _n(v, n):
    """An int or a 1-/n-sequence as an n-tuple (aten passes ``[2]`` or ``[2, 2]`` or ``2``)."""
    v = list(v) if isinstance(v, (list, tuple)) else [v]
    return tuple(int(x) for x in (v * n if len(v) == 1 else v))


class _Skip(Exception):
    pass


class DispatchImporter(Importer):
    """Builds the archcalc graph from the recorded run (shares naming, parameters and shape
    checks with the fx importer)."""

    def __init__(self, module, input_shapes, name, allow_partial):
        super().__init__(module, input_shapes, name, allow_partial, None)
        self.names: dict = {}  # id(fake tensor) -> _Tensor
        self.derived: dict = {}  # id(fake tensor) -> list of (parameter, path) it is computed from
        self.keep: list = []  # keep recorded tensors alive so ids stay unique
        self.param_path = {}
        self.computed: set = set()  # ids of tensors computed from parameters by arithmetic (not views)
        self.slice_of: dict = {}  # id(view) -> (the tensor sliced, the Slice layer): x[...] = y writes through
        self.modules_by_id = {}
        # batch-free work (ops on parameters, buffers and tensors created in forward alone, whose
        # output has no batch axis) is recorded as a recipe and built on first use as an operand,
        # with the tensor's whole torch shape; the analysis counts it once per forward
        self.recipes: dict = {}  # id(batch-free tensor) -> ("op"|"module"|"const", ...)
        self.full: dict = {}  # id(batch-free tensor) -> its node (whole torch shape)
        self.fitted: dict = {}  # id(batch-free tensor) -> its node as a batched op reads it
        self.replaying = 0  # > 0 while a recipe is being built
        self.replay = None  # set by import_dispatch: build one recipe's nodes

    # --- shapes ----------------------------------------------------------------------------

    def batch_pos(self, t):
        """The axis holding the batch (a multiple of BATCH), or None for a tensor without one."""
        pos = [i for i, d in enumerate(t.shape) if int(d) > 0 and int(d) % BATCH == 0]
        if len(pos) > 1:
            raise _Skip(f"two axes of {list(t.shape)} are multiples of the batch")
        return pos[0] if pos else None

    def per_sample(self, t):
        """The shape without the batch: a folded batch (``B * k``) keeps ``k`` in its place."""
        shape = tuple(int(d) for d in t.shape)
        p = self.batch_pos(t)
        if p is None:  # no batch axis: a parameter-derived tensor (built whole while replaying)
            return shape if self.replaying else None
        k = shape[p] // BATCH
        return shape[:p] + ((k,) if k > 1 else ()) + shape[p + 1:]

    def ps_axis(self, t, axis):
        """A torch axis of ``t`` as a per-sample axis; an op along the batch axis is refused."""
        rank = t.dim()
        axis = axis + rank if axis < 0 else axis
        p = self.batch_pos(t)
        if p is None:
            return axis
        if axis == p:
            raise _Skip("an op along the batch axis")
        if int(t.shape[p]) // BATCH > 1:
            return axis  # the folded axis stays in the per-sample shape
        return axis if axis < p else axis - 1

    def ps_permutation(self, t, order):
        """torch's permutation of ``t`` as a permutation of its per-sample axes."""
        p = self.batch_pos(t)
        order = [a + t.dim() if a < 0 else a for a in order]
        if p is None or int(t.shape[p]) // BATCH > 1:
            return tuple(order)
        return tuple(a if a < p else a - 1 for a in order if a != p)

    def value_of(self, t, path):
        """The graph node name for a recorded tensor used as an activation."""
        v = self.names.get(id(t))
        if v is not None:
            return v.name
        if self.replaying:  # an operand of batch-free work: the whole tensor
            return self.batch_free_node(t)
        if id(t) in self.recipes:  # batch-free work read by a batched op
            n = len(self.unsupported)
            try:
                return self.fit(t)
            except _Skip:
                if self.does_macs(t):
                    raise
                # no multiply-accumulate in it (Swin's shifted-window mask: zeros, slices filled,
                # masked_fill): read as a tensor computed from constants, as parameters are
                del self.unsupported[n:]
        if id(t) in self.param_path and id(t) not in self.derived:  # a parameter or buffer read directly
            self.derived[id(t)] = [(t, self.param_path[id(t)])]
            self.keep.append(t)
        if id(t) in self.derived:
            return self.param_from(t, path).name
        raise _Skip("a tensor created inside forward (torch.zeros, arange...) is used as an operand")

    def param_from(self, t, path):
        """A Parameter node for a parameter-derived tensor (counting its source tensors once)."""
        import torch

        key = id(t)
        if key not in self.attr_nodes:
            srcs = self.derived[key]
            shape = tuple(int(d) for d in t.shape)
            batched = len(shape) >= 2 and shape[0] == 1
            expanded = self.batch_pos(t) is not None
            if expanded:  # expanded over the batch (ViT's class token)
                shape, batched = (1,) + self.per_sample(t), True
            srcs = list({id(p): (p, pth) for p, pth in srcs}.values())  # a tensor read twice counts once
            real = [p for p, _ in srcs if isinstance(p, torch.nn.Parameter)]
            role = "buffer" if not real else ("trainable" if all(p.requires_grad for p in real) else "frozen")
            numel = sum(p.numel() for p in (real or [p for p, _ in srcs]) if id(p) not in self.param_owner)
            base = srcs[0][1] if srcs else "param"
            if real:
                # buffers it is computed from (Swin's relative-position index reading a bias table):
                # each its own buffer line, counted once, so the buffers reconcile
                for p, pth in srcs:
                    if not isinstance(p, torch.nn.Parameter) and id(p) not in self.param_owner:
                        self.buffer_node(p, pth)
            node = self.add(L.Parameter(shape[1:] if batched else shape, role, numel, base, expanded), ["input"],
                            self.unique(base))
            for p, _ in srcs:
                self.param_owner.setdefault(id(p), node)
            self.attr_nodes[key] = node
            if not batched:
                self.batchless.add(node)
        name = self.attr_nodes[key]
        return _Tensor(name, name not in self.batchless)

    def batch_free_node(self, t):
        """The node of a tensor without a batch axis, with its whole torch shape: a parameter or
        buffer read directly, a tensor created in forward (Constant), or batch-free work built
        from its recipe on first use (so work whose result nobody reads is not built)."""
        key = id(t)
        if key in self.full:
            return self.full[key]
        recipe = self.recipes.get(key)
        if recipe is None:
            if key not in self.param_path:
                raise _Skip("a tensor created inside forward by an op archcalc did not record is used as an operand")
            import torch

            role = "buffer"
            if isinstance(t, torch.nn.Parameter):
                role = "trainable" if t.requires_grad else "frozen"
            numel = 0 if key in self.param_owner else t.numel()
            path = self.param_path[key]
            name = self.add(L.Parameter(tuple(int(d) for d in t.shape), role, numel, path), ["input"],
                            self.unique(path))
            self.param_owner.setdefault(key, name)
            self.batchless.add(name)
            self.full[key] = name
            self.keep.append(t)
            return name
        self.replaying += 1
        try:
            self.replay(recipe)
        finally:
            self.replaying -= 1
        if key not in self.full:
            raise _Skip("batch-free work archcalc could not rebuild")
        return self.full[key]

    def does_macs(self, t, seen=None) -> bool:
        """Whether building batch-free ``t`` runs a module or a multiply-accumulate op."""
        seen = set() if seen is None else seen
        entry = self.recipes.get(id(t))
        if entry is None or id(t) in seen:
            return False
        seen.add(id(t))
        recipe = entry[0]
        if recipe[0] == "module" or recipe[0] == "op" and recipe[1].overloadpacket.__name__ in _MAC_OPS:
            return True
        if recipe[0] == "const":
            return False
        import torch
        from torch.utils._pytree import tree_flatten

        return any(self.does_macs(a, seen) for a in tree_flatten((recipe[2], recipe[3]))[0]
                   if isinstance(a, torch.Tensor))

    def fit(self, t):
        """A batch-free tensor read by a batched op: its node, with a leading 1 dropped (it
        broadcasts over the batch, which per-sample shapes leave out), as parameters are read."""
        key = id(t)
        if key not in self.fitted:
            self.replaying += 1
            try:
                name = self.batch_free_node(t)
            finally:
                self.replaying -= 1
            shape = self.shapes[name]
            if len(shape) >= 2 and shape[0] == 1:
                name = self.add(L.Squeeze((0,)), [name], self.unique(name + ".squeeze"))
                self.batchless.add(name)
            self.fitted[key] = name
        return self.fitted[key]

    def buffer_node(self, buf, path):
        """A buffer read to compute a parameter-derived tensor or as a fixed weight (a blur kernel):
        a ``Parameter`` node of role ``buffer`` (no work), which owns it and counts it once."""
        self.derived.setdefault(id(buf), [(buf, path)])
        self.keep.append(buf)
        return self.param_from(buf, path).name

    def shapes_for(self, names):
        return [self.shapes[n] for n in names]

    def rule_params(self, layer, shapes):
        from ..rules import rule_for

        if isinstance(layer, L.Linear):  # any rank: the importer folds the leading axes
            shapes = [(shapes[0][-1],)] + list(shapes[1:])
        cost = rule_for(layer)(layer, shapes)
        return cost.params + cost.frozen_params

    def emit(self, layer, ins, out_tensor, lname, check=True):
        name = self.add(layer, ins, lname)
        if check and out_tensor is not None:
            want = self.per_sample(out_tensor)
            if want is not None and tuple(self.shapes[name]) != tuple(want):
                raise _Skip(f"archcalc's {layer.kind} gives {self.shapes[name]}, torch gave {want}")
        if out_tensor is not None:
            self.names[id(out_tensor)] = _Tensor(name)
            self.keep.append(out_tensor)
        return name


def _per_item_if_folded(imp, layer, x):
    """A fixed-rank module (its kind's ``fixed_rank`` trait: conv, batch norm, pooling, a
    batch-first LSTM) run on a folded batch, ``(B * k, C, H, W)`` (TNT's pixel patches, Hiera's
    query pooling per window, Sequencer's rows as ``(B * k, T, F)``): its per-sample input is
    ``(k, C, H, W)``, so it is the layer applied to each of the ``k`` items (params once, work ``k``
    times)."""
    from ..conventions import folds_items

    if imp.batch_pos(x) == 0 and int(x.shape[0]) // BATCH > 1 and folds_items(L.PerItem(layer)):
        return L.PerItem(layer)
    return layer


class meta_autocast_off:
    """A context in which ``torch.autocast(device_type="meta", enabled=False)`` works: torch refuses
    autocast for the meta device ("unsupported scalarType") even to turn it off, and a model that
    turns it off around a block for the device of its tensors (EfficientViT's linear attention:
    ``autocast(device_type=v.device.type, enabled=False)``) could not run on meta tensors. Turning
    autocast off where it is not on changes no op, so the device is taken as the CPU there. An
    autocast that would turn on for meta is left to torch (and refused)."""

    def __enter__(self):
        from torch.amp import autocast_mode

        cls = autocast_mode.autocast
        self.cls, self.init = cls, cls.__init__
        init = self.init

        def patched(obj, device_type, *args, **kwargs):
            enabled = kwargs.get("enabled", args[1] if len(args) > 1 else True)
            if device_type == "meta" and enabled is False:
                device_type = "cpu"
            init(obj, device_type, *args, **kwargs)

        cls.__init__ = patched
        return self

    def __exit__(self, *exc):
        self.cls.__init__ = self.init
        return False


def _shape_only_lstms(module) -> list:
    """Give each batch-first ``nn.LSTM`` of ``module`` a forward that returns empty tensors of the
    shapes torch documents (output ``(N, T, D * hidden)``, ``h_n`` and ``c_n`` ``(D * layers, N,
    hidden)``), for the recording run only. The LSTM is recorded whole from its hooks, and its own
    forward on fake tensors dispatches some ten aten ops per time step (Sequencer2d: minutes);
    tests/test_torch_ops14.py checks the rule's shapes against a real LSTM. Returns the patched
    modules (their instance ``forward`` is deleted afterwards)."""
    import torch.nn as nn

    patched = []
    for m in module.modules():
        if type(m) is nn.LSTM and m.batch_first and not m.proj_size and "forward" not in vars(m):
            def forward(x, hx=None, _m=m):
                if x.dim() != 3:  # an unbatched sequence: torch's own forward
                    return type(_m).forward(_m, x, hx)
                d = 2 if _m.bidirectional else 1
                n, t = x.shape[0], x.shape[1]
                state = x.new_empty((d * _m.num_layers, n, _m.hidden_size))
                return x.new_empty((n, t, d * _m.hidden_size)), (state, state.clone())

            m.forward = forward
            patched.append(m)
    return patched


def _record_slice_write(imp, dst, src, name_of) -> bool:
    """``dst.copy_(src)`` where ``dst`` is a chain of slices of a tensor ``x`` (``x[:, :, 1:] = y``,
    ``x[:, :, 1:] += y``): ``x`` becomes x with ``src`` written in, one SliceScatter per slice, from
    the innermost out; later reads of ``x`` see the new node. A write of a whole tensor
    (``x[:, :, 0:] = y``, whose slices torch skips) makes ``x`` read ``y``. A write into any other
    view is refused."""
    chain, t = [], dst
    while id(t) in imp.slice_of:
        parent, layer = imp.slice_of[id(t)]
        chain.append((parent, layer))
        t = parent
    if not chain:
        if id(dst) in imp.names and tuple(dst.shape) == tuple(src.shape):
            imp.emit(L.Identity(), [name_of(src)], dst, imp.unique(imp.names[id(dst)].name + ".copy"))
            return True
        raise _Skip("an in-place write into a view that is not a slice (x[...] = y) is not modelled")
    node = name_of(src)
    for parent, sl in chain:
        base = name_of(parent)
        node = imp.add(L.SliceScatter(sl.start, sl.stop, sl.axis, sl.step), [base, node],
                       imp.unique(base + ".slice_scatter"))
    root = chain[-1][0]
    imp.names[id(root)] = _Tensor(node)
    return True


def _record_ops14(imp, op, args, kwargs, x, rank_full, emit, name_of, lname) -> bool:
    """Issue 14's aten ops: Tensor.unfold, im2col, col2im, repeat, repeat_interleave, the vector
    norm, a write into a slice (copy_) and addcmul. True when ``op`` was recorded."""
    if op == "unfold":
        emit(L.UnfoldAxis(imp.ps_axis(x, args[1]), int(args[2]), int(args[3])), [name_of(x)])
        return True
    if op == "im2col":
        if rank_full != 4 or imp.batch_pos(x) != 0:
            raise _Skip("im2col of an unbatched map")
        emit(L.Unfold(*(_n(a, 2) for a in args[1:5])), [name_of(x)])
        return True
    if op == "col2im":
        if rank_full != 3 or imp.batch_pos(x) != 0:
            raise _Skip("col2im of unbatched columns")
        emit(L.Fold(*(_n(a, 2) for a in args[1:6])), [name_of(x)])
        return True
    if op == "repeat":
        reps = [int(r) for r in args[1]]
        p = imp.batch_pos(x)
        lead = len(reps) - rank_full  # new leading axes
        folded = p is not None and int(x.shape[p]) // BATCH > 1
        if p == 0 and not lead and not folded and reps[0] > 1:
            # the batch copied k times (GCViT's global query, one per window: B -> B * k): the
            # result is a folded batch, k copies of each sample
            pass
        elif p is None and imp.replaying:
            # batch-free work being rebuilt with its whole shape (XCiT's position encoding copied
            # before it is expanded over the batch): every axis is its own
            emit(L.Repeat(tuple(reps)), [name_of(x)])
            return True
        elif p is None or lead or reps[p] != 1:
            raise _Skip(f"repeat {reps} of {list(x.shape)} copies along the batch axis")
        elif not folded:
            reps = reps[:p] + reps[p + 1:]  # the batch axis is not a per-sample axis
        emit(L.Repeat(tuple(reps)), [name_of(x)])
        return True
    if op == "repeat_interleave":
        reps = args[1] if len(args) > 1 else kwargs.get("repeats")
        dim = args[2] if len(args) > 2 else kwargs.get("dim")
        if not isinstance(reps, int) or dim is None:
            raise _Skip("repeat_interleave with a tensor of counts or without dim")
        emit(L.RepeatInterleave(reps, imp.ps_axis(x, dim)), [name_of(x)])
        return True
    if op == "linalg_vector_norm":
        ord_ = args[1] if len(args) > 1 else kwargs.get("ord", 2)
        dim = args[2] if len(args) > 2 else kwargs.get("dim")
        keep = bool(args[3] if len(args) > 3 else kwargs.get("keepdim", False))
        if dim is None or ord_ not in (1, 2) or kwargs.get("dtype") is not None:
            raise _Skip(f"vector norm ord={ord_} dim={dim}")
        axes = tuple(imp.ps_axis(x, d) for d in (dim if isinstance(dim, (list, tuple)) else (dim,)))
        emit(L.VectorNorm(axes, keep, float(ord_)), [name_of(x)])
        return True
    if op == "copy_":
        return _record_slice_write(imp, args[0], args[1], name_of)
    if op in ("addcmul", "addcmul_"):
        # input + value * t1 * t2: torch's one kernel, archcalc's multiply then add
        base, t1, t2 = args[0], args[1], args[2]
        value = kwargs.get("value", 1)
        prod = imp.add(L.Mul(), [name_of(t1), name_of(t2)], imp.unique(lname + ".mul"))
        if value != 1:
            prod = imp.add(L.Scale(float(value)), [prod], imp.unique(lname + ".scale"))
        emit(L.Add(inplace=op.endswith("_")), [name_of(base), prod])
        return True
    return False


def _pool_per_item(imp, layer, x, n):
    """A pooling op on a folded batch, ``(B * k, C, *spatial)`` (RAFT's correlation pyramid,
    ``(B * h * w, 1, h, w)``): per item. An unbatched ``(C, *spatial)`` call (``n + 1`` axes, torch
    allows it) keeps its leading axis as the channels."""
    return _per_item_if_folded(imp, layer, x) if x.dim() == n + 2 else layer


#: aten.grid_sampler_2d's integer codes (torch.nn.functional.grid_sample's GRID_SAMPLE_* tables)
_GRID_MODES = {0: "bilinear", 1: "nearest", 2: "bicubic"}
_GRID_PADDING = {0: "zeros", 1: "border", 2: "reflection"}


def _record_grid_sample(imp, op, args, x, emit, name_of) -> bool:
    """``F.grid_sample`` (aten.grid_sampler_2d: input, grid, mode, padding mode, align_corners): a
    GridSample of the map at the grid's points, per item on a folded batch (RAFT's correlation
    lookups: ``(B * h * w, 1, H, W)`` read at ``(B * h * w, 9, 9, 2)``). True when recorded."""
    if op != "grid_sampler_2d":
        return False
    grid, mode, padding, corners = args[1], int(args[2]), int(args[3]), bool(args[4])
    if mode not in _GRID_MODES or padding not in _GRID_PADDING:
        raise _Skip(f"grid_sampler_2d mode {mode} padding {padding}")
    if imp.batch_pos(x) != 0 or imp.batch_pos(grid) != 0 or int(x.shape[0]) != int(grid.shape[0]):
        raise _Skip(f"grid_sampler_2d of {list(x.shape)} at {list(grid.shape)}: map and grid not batched alike")
    layer = _per_item_if_folded(imp, L.GridSample(_GRID_MODES[mode], _GRID_PADDING[padding], corners), x)
    emit(layer, [name_of(x), name_of(grid)])
    return True


def _record_instance_norm(imp, args, x, o, running_mean, training, name_of, lname, weighted) -> bool:
    """F.instance_norm as torch runs it: batch norm in training mode on the batch viewed as one
    sample, ``(1, B * C, H, W)``, with the affine weight and bias repeated B times. Per sample that
    is an InstanceNorm2d of the (C, H, W) map (on a folded batch, ``(k * C, H, W)``: the same
    per-channel work, the weights still C each, counted on their Parameter nodes); True when
    recorded. (An ``nn.InstanceNorm2d`` module is recorded whole from its hooks instead.)"""
    if not training or running_mean is not None or int(x.shape[0]) != 1 or imp.batch_pos(x) != 1:
        return False
    if x.dim() != 4:
        raise _Skip(f"instance norm of a {x.dim() - 2}-d map (archcalc has InstanceNorm2d)")
    w, b = args[1], args[2]
    if (w is None) != (b is None):
        raise _Skip("instance norm with one affine tensor")
    chw = tuple(imp.shapes[name_of(x)])[1:]
    flat = imp.add(L.Reshape(chw), [name_of(x)], imp.unique(lname + ".view"))
    eps = float(args[-1])  # native_batch_norm(..., momentum, eps); its no_stats overload ends with eps too
    layer = weighted(L.InstanceNorm2d(eps, w is not None), [w, b], lname) if w is not None \
        else L.InstanceNorm2d(eps)
    normed = imp.add(layer, [flat], imp.unique(lname))
    imp.emit(L.Reshape((1,) + chw), [normed], o, imp.unique(lname + ".view"))
    return True


def import_dispatch(module, input_shapes, name, allow_partial=False):
    """(importer, outputs) from one fake run of ``module``."""
    import torch
    from torch._subclasses.fake_tensor import FakeTensorMode
    from torch.utils._python_dispatch import TorchDispatchMode
    from torch.utils._pytree import tree_flatten

    from .detect_import import plan

    detect = plan(module)  # torchvision detectors: batch 1, capacity convention (detect_import)
    imp = (detect.importer_class if detect else DispatchImporter)(module, input_shapes, name, allow_partial)
    stack: list = []  # module paths
    inside_leaf = [0]
    paths = {id(m): p for p, m in module.named_modules()}
    params = {id(p): n for n, p in module.named_parameters()}
    buffers = {id(b): n for n, b in module.named_buffers()}
    imp.param_path = {**buffers, **params}
    is_leaf = {}
    for p, m in module.named_modules():
        lay = module_layer(m) if type(m).__module__.startswith("torch.nn") and not list(m.children()) else None
        is_leaf[id(m)] = lay if (lay is not None and not isinstance(lay, str)) else None
        if detect and id(m) in detect.parts:
            is_leaf[id(m)] = detect.parts[id(m)]  # a detector part recorded whole (detect_import)
    unsupported = imp.unsupported
    calls: dict = {}

    def where():
        return stack[-1] if stack else ""

    def record_unsupported(what):
        unsupported.append(what)

    def pre(mod, args, kwargs=None):
        path = paths.get(id(mod), "")
        stack.append(path)
        if detect:
            detect.enter(path)
        if is_leaf.get(id(mod)) is not None:
            inside_leaf[0] += 1

    def post(mod, args, out):
        path = stack.pop() if stack else ""
        if detect:
            detect.exit(path)
        spec = is_leaf.get(id(mod))
        if spec is None:
            return
        inside_leaf[0] -= 1
        if inside_leaf[0]:
            return
        ins = [a for a in args if isinstance(a, torch.Tensor)]
        outs = [o for o in tree_flatten(out)[0] if isinstance(o, torch.Tensor)]
        srcs = [source(a) for a in ins]
        if ins and all(s is not None for s in srcs) and outs and all(imp.batch_pos(o) is None for o in outs):
            # a module on batch-free tensors alone (Swin V2's position-bias MLP on its coordinate
            # table): built when its output is read, counted once per forward
            merged = [x for s in srcs for x in s] + [(p, f"{path}.{n}") for n, p in mod.named_parameters()]
            for o in outs:
                imp.derived[id(o)] = merged
                imp.computed.add(id(o))
                add_recipe(o, ("module", mod, args, out, path), ins)
                imp.keep.append(o)
            return
        emit_module(mod, args, out, path)

    def emit_module(mod, args, out, path):
        spec = is_leaf.get(id(mod))
        try:
            if isinstance(spec, str):
                detect.record(spec, imp, mod, args, out, path, imp.unique(path))
                return
            ins = [a for a in args if isinstance(a, torch.Tensor)]
            if not ins:
                raise _Skip("no tensor input")
            x = ins[0]
            layer = spec
            in_names = [imp.value_of(x, path)]
            # a conv/norm/pool module on batch-free work (XCiT's projection of its Fourier features,
            # (1, C, H, W)): its leading 1 is the module's batch axis, not a per-sample axis
            lead_one = imp.replaying and x.dim() >= 2 and int(x.shape[0]) == 1 and _FIXED_RANK.fullmatch(
                type(mod).__name__) is not None
            if lead_one:
                in_names = [imp.add(L.Squeeze((0,)), in_names, imp.unique(in_names[0] + ".squeeze"))]
            if isinstance(spec, tuple):
                kind = spec[0]
                if kind == "flatten":
                    layer = L.Reshape(imp.per_sample(out))
                elif kind == "softmax":
                    layer = L.Softmax(spec[1] - 1 if spec[1] > 0 else spec[1])
                elif kind == "area":
                    layer = L.AdaptiveAvgPool2d(spec[1])
                elif kind == "mha":
                    layer = mha_layer(spec[1], True)
                    in_names = [imp.value_of(a, path) for a in ins[:3]]
                    if len(set(in_names)) == 1:
                        in_names = in_names[:1]
                else:
                    raise _Skip(kind)
            elif isinstance(spec, L.MaxUnpool2d):
                in_names = [imp.value_of(a, path) for a in ins[:2]]
            layer = _per_item_if_folded(imp, layer, x)
            k = calls.get(path, 0)
            calls[path] = k + 1
            lname = imp.unique(path if k == 0 else f"{path}_{k}")
            layer = imp.own_params(layer, mod, lname)
            o = out[0] if isinstance(out, tuple) else out
            if not isinstance(layer, L.Shared):
                # the rule reads channels from the per-sample layout; a module applied to a folded
                # batch (LeViT's BatchNorm1d on x.flatten(0, 1)) would be read wrongly: check first
                probe = imp.shapes_for(in_names[:1] if lead_one else
                                       [imp.value_of(i, path) if isinstance(i, torch.Tensor) else i
                                        for i in ins[:1]])
                want = sum(p.numel() for p in mod.parameters())
                got = imp.rule_params(layer, probe + [imp.shapes[n] for n in in_names[1:]])
                if got != want:
                    raise _Skip(f"archcalc's {layer.kind} rule gives {got} params on this layout, the module "
                                f"has {want}")
            if lead_one:  # back to the whole shape, checked against torch's
                inner = imp.add(layer, in_names, lname)
                imp.emit(L.Unsqueeze(0), [inner], o, imp.unique(lname + ".unsqueeze"))
                return
            imp.emit(layer, in_names, o, lname)
        except (_Skip, ArchcalcError) as e:
            record_unsupported(f"{path} ({type(mod).__name__}): {e}")

    class Recorder(TorchDispatchMode):
        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            kwargs = kwargs or {}
            imp.read.update(id(a) for a in tree_flatten((args, kwargs))[0] if isinstance(a, torch.Tensor))
            out = func(*args, **kwargs)
            if inside_leaf[0]:
                return out
            try:
                record(func, args, kwargs, out)
            except (_Skip, ArchcalcError) as e:
                record_unsupported(f"{where() + '.' if where() else ''}{func.overloadpacket.__name__} "
                                   f"(aten.{func.overloadpacket.__name__}): {e}")
            except Exception as e:  # a mapping bug must not pass as a count
                record_unsupported(f"{where()} aten.{func.overloadpacket.__name__}: {type(e).__name__}: {e}")
            return out

    def add_recipe(o, recipe, inputs):
        """Record how batch-free ``o`` is computed; an op writing in place (or a module returning
        its input) keeps the recipe of the value it read, to build that first."""
        prev = imp.recipes.get(id(o)) if any(i is o for i in inputs) else None
        imp.recipes[id(o)] = (recipe, prev)

    def replay(entry):
        """Build the nodes of one batch-free recipe (its inputs first, through value_of)."""
        recipe, prev = entry
        if prev is None:
            build(recipe)
            return
        outs = [o for o in tree_flatten(recipe[-2] if recipe[0] != "module" else recipe[3])[0]
                if isinstance(o, torch.Tensor)]
        for o in outs:  # in place: the value it reads is the one before it
            imp.recipes[id(o)] = prev
        try:
            build(recipe)
        finally:
            for o in outs:
                imp.recipes[id(o)] = entry

    def build(recipe):
        kind = recipe[0]
        if kind == "module":
            _, mod, args, out, path = recipe
            n_before = len(unsupported)
            emit_module(mod, args, out, path)
            if len(unsupported) > n_before:
                raise _Skip(f"it reads {path}, which archcalc could not count")
        else:
            _, func, args, kwargs, out, path = recipe
            op = func.overloadpacket.__name__
            if kind == "const":
                for o in [o for o in tree_flatten(out)[0] if isinstance(o, torch.Tensor)]:
                    made = "torch.tensor" if op.startswith("lift") else f"torch.{op}"
                    name = imp.add(L.Constant(tuple(int(d) for d in o.shape), made), ["input"],
                                   imp.unique(f"{path}.{op}" if path else op))
                    imp.batchless.add(name)
                    imp.full[id(o)] = name
                return
            try:
                record(func, args, kwargs, out, replay_path=path)
            except (_Skip, ArchcalcError) as e:
                record_unsupported(f"{path + '.' if path else ''}{op} (aten.{op}): {e}")
                raise _Skip(f"it reads {path + '.' if path else ''}{op}, which archcalc could not count") from None
        for o in [o for o in tree_flatten(recipe[-2] if kind != "module" else recipe[3])[0]
                  if isinstance(o, torch.Tensor)]:
            v = imp.names.pop(id(o), None)
            if v is not None:
                imp.full[id(o)] = v.name
                imp.batchless.add(v.name)

    imp.replay = replay

    def source(t):
        """Parameters a tensor is computed from, or None if it depends on the input."""
        if id(t) in imp.names:
            return None
        if id(t) in params:
            return [(t, params[id(t)])]
        if id(t) in buffers:
            return [(t, buffers[id(t)])]
        return imp.derived.get(id(t))

    def record(func, args, kwargs, out, replay_path=None):
        op = func.overloadpacket.__name__
        flat_args, _ = tree_flatten((args, kwargs))
        tens = [a for a in flat_args if isinstance(a, torch.Tensor)]
        outs = [o for o in tree_flatten(out)[0] if isinstance(o, torch.Tensor)]
        if not outs:
            return
        if detect and detect.pipeline_op(imp, func.overloadpacket.__name__, tens, outs):
            return
        srcs = [source(t) for t in tens]
        if op in _FACTORIES:
            srcs = []  # a new constant tensor (its argument only gives the dtype/device/shape)
        over_batch = any(imp.batch_pos(o) is not None for o in outs)
        if over_batch and op in ("expand", "repeat") and srcs and srcs[0] is not None \
                and id(tens[0]) in imp.recipes and replay_path is None:
            # batch-free work copied over the batch (XCiT's position encoding, pos.repeat(B, 1, 1, 1)):
            # built once, then read by every sample as a broadcast (torch's repeat copies it); work on
            # the copies alone is per sample (RAFT's first flow, coords1 - coords0, into a conv)
            x = tens[0]
            imp.emit(L.Expand(imp.per_sample(outs[0]), over_batch=True), [imp.value_of(x, where())], outs[0],
                     imp.unique(f"{where()}.{op}" if where() else op))
            return
        if replay_path is None and all(s is not None for s in srcs) and not (
                over_batch and any(id(t) in imp.recipes for t in tens)):
            if not over_batch:
                # batch-free work: a recipe, built (and counted once per forward) when it is read
                kind = "const" if op in _FACTORIES else "op"
                for o in outs:
                    add_recipe(o, (kind, func, args, kwargs, out, where()), tens)
            elif op in _MAC_OPS and any(srcs):
                # a parameter expanded over the batch, then multiplied: per-sample work on a tensor
                # the graph holds as a parameter read, which cannot carry work
                raise _Skip("multiply-accumulates on a parameter expanded over the batch")
            # computed from parameters/constants only (a transposed weight, a standardised kernel)
            merged = [x for s in srcs for x in s]
            view = op in ("t", "view", "_unsafe_view", "reshape", "permute", "transpose", "expand", "unsqueeze",
                          "squeeze", "select", "slice", "detach", "alias", "clone", "_to_copy", "lift_fresh")
            computed = not view or any(id(t) in imp.computed for t in tens)
            for o in outs:
                imp.derived[id(o)] = merged
                imp.keep.append(o)
                if computed and merged:
                    imp.computed.add(id(o))
            return
        path = where() if replay_path is None else replay_path
        lname = imp.unique(f"{path}.{op.rstrip('_')}" if path else op.rstrip("_"))
        imp.used.discard(lname)
        x = tens[0]
        o = outs[0]

        def name_of(t):
            return imp.value_of(t, path)

        def emit(layer, ins, out_t=o):
            return imp.emit(layer, ins, out_t, imp.unique(lname))

        rank_full = x.dim()
        if op in ("convolution", "_convolution"):
            w, b = args[1], args[2]
            stride, pad, dil, transposed, outpad, groups = args[3:9]
            n = w.dim() - 2
            if transposed:
                if n != 2:
                    raise _Skip("transposed 1-d/3-d convolution")
                layer = L.ConvTranspose2d(int(w.shape[1]) * groups, tuple(w.shape[2:]), tuple(stride), tuple(pad),
                                          tuple(outpad), tuple(dil), groups, b is not None)
            else:
                cls = {1: L.Conv1d, 2: L.Conv2d, 3: L.Conv3d}[n]
                layer = cls(int(w.shape[0]), tuple(int(d) for d in w.shape[2:]), tuple(stride), tuple(pad),
                            tuple(dil), groups, b is not None)
            emit(weighted(layer, [w, b], lname), [name_of(x)])
            return
        if op in ("addmm", "mm", "bmm", "baddbmm"):
            a_, b_ = (args[1], args[2]) if op in ("addmm", "baddbmm") else (args[0], args[1])
            sa, sb = source(a_), source(b_)
            if sa is None and sb is not None and op in ("addmm", "mm"):
                bias = args[0] if op == "addmm" else None
                layer = L.Linear(int(b_.shape[1]), bias is not None)
                emit(weighted(layer, [b_, bias], lname), [name_of(a_)])
                return
            if sa is None and sb is None or op in ("mm", "bmm"):
                # two activations; batch-free work (a position-bias table times a weight); or a
                # batch-free operand times an activation (CSATv2's DCT basis on the left, MViTv2's
                # relative-position table on the right of an einsum): the shape check guards it
                if op in ("addmm", "baddbmm"):
                    raise _Skip(f"{op} of two activations plus a term")
                emit(L.MatMul("bmm" if op == "bmm" else "matmul"), [name_of(a_), name_of(b_)])
                return
            if op in ("mm", "bmm"):
                # one operand computed from parameters alone, the other from the input (an einsum with
                # MViT v2's gathered relative-position tables): a matmul with a Parameter node; the
                # emitted shape is checked against torch's
                emit(L.MatMul("bmm" if op == "bmm" else "matmul"), [name_of(a_), name_of(b_)])
                return
            raise _Skip(f"{op} with a parameter on the left")
        if op in ("native_batch_norm", "_native_batch_norm_legit_no_training", "_native_batch_norm_legit",
                  "_native_batch_norm_legit_functional", "batch_norm"):
            w, b = args[1], args[2]
            rm = args[3] if len(args) > 3 and isinstance(args[3], torch.Tensor) else None
            training = op in ("_native_batch_norm_legit", "_native_batch_norm_legit_functional") or \
                (op == "native_batch_norm" and bool(args[5]))
            if _record_instance_norm(imp, args, x, o, rm, training, name_of, lname, weighted):
                return
            rank = rank_full - 1
            kind = {1: "BatchNorm1d", 2: "BatchNorm1d", 3: "BatchNorm2d", 4: "BatchNorm3d"}[rank]
            layer = batch_norm_layer(kind, 1e-5, 0.1, w is not None, rm is not None, training)
            for buf in ((args[3], args[4], imp.bn_counter(args[3])) if len(args) > 4 else ()):
                if isinstance(buf, torch.Tensor):  # the statistics and the counter the rule counts
                    imp.param_owner.setdefault(id(buf), lname)
            emit(weighted(layer, [w, b], lname), [name_of(x)])
            return
        if op == "native_layer_norm":
            ns, w, b = args[1], args[2], args[3]
            layer = L.LayerNorm(tuple(ns), args[4], w is not None, b is not None)
            emit(weighted(layer, [w, b], lname), [name_of(x)])
            return
        if op == "native_group_norm":
            w, b, groups = args[1], args[2], args[6]
            if (w is None) != (b is None):
                # one affine tensor (timm's GroupNorm1NoBias: a weight, no bias): the affine rule's
                # 2C would count a bias torch does not hold, so the tensor is counted once on its own
                # Parameter node and the norm's work (affine: a scale, as fvcore counts it by the
                # weight) is Shared with it
                t = w if w is not None else b
                emit(L.Shared(L.GroupNorm(groups, args[7], True), owner=name_of(t)), [name_of(x)])
                return
            emit(weighted(L.GroupNorm(groups, args[7], w is not None), [w, b], lname), [name_of(x)])
            return
        if op in _ACTS:
            fn = _ACTS[op]
            if op.startswith("gelu") and kwargs.get("approximate", "none") not in ("none", "tanh"):
                raise _Skip("gelu approximate")
            emit(L.Activation(fn, op.endswith("_")), [name_of(x)])
            return
        if op in ("hardtanh", "hardtanh_") and tuple(args[1:3]) == (0.0, 6.0):
            emit(L.Activation("relu6", op.endswith("_")), [name_of(x)])
            return
        if op in _BINARY:
            cls = _BINARY[op]
            a, b = args[0], args[1]
            if isinstance(a, torch.Tensor) and isinstance(b, torch.Tensor):
                if (kwargs.get("alpha", 1) != 1) or len(args) > 2:
                    raise _Skip(f"{op} with alpha")
                if b.dim() == 0 and source(b) is not None and not source(b) and id(b) not in imp.recipes:
                    raise _Skip(f"{op} by a 0-d tensor")  # a 0-d constant made in forward; a 0-d parameter
                    # (NFNet's skipinit gain) is a Parameter node that broadcasts
                emit(cls(), [name_of(a), name_of(b)])
                return
            t = a if isinstance(a, torch.Tensor) else b
            if cls is L.Mul:
                emit(L.Scale(float(b if t is a else a)), [name_of(t)])
            else:
                emit(L.Pointwise(f"{cls.__name__.lower()}_scalar"), [name_of(t)])
            return
        if op in _POINTWISE:
            emit(L.Pointwise(_POINTWISE[op]), [name_of(x)])
            return
        if op in ("cat", "stack"):
            seq = args[0]
            dim = args[1] if len(args) > 1 else kwargs.get("dim", 0)
            if op == "cat" and not detect and batch_axis_cat(imp, seq, dim, o, name_of, lname):
                return  # two inputs encoded in one batch (RAFT)
            names = [name_of(t) for t in seq]
            if op == "stack":
                ax = imp.ps_axis(o, dim)
                names = [imp.add(L.Unsqueeze(ax), [nm], imp.unique(lname + ".unsqueeze")) for nm in names]
                emit(L.Concat(ax), names)
                return
            emit(L.Concat(imp.ps_axis(seq[0], dim)), names)
            return
        if op in ("permute", "transpose", "t"):
            if op == "permute":
                order = list(args[1])
            else:
                a, b = (d if d >= 0 else d + rank_full for d in (args[1:3] if op == "transpose" else (0, 1)))
                order = list(range(rank_full))
                order[a], order[b] = order[b], order[a]
            emit(L.Permute(imp.ps_permutation(x, order)), [name_of(x)])
            return
        if op in ("slice",):
            dim = args[1] if len(args) > 1 else 0
            dim = dim if dim >= 0 else dim + rank_full
            if tuple(o.shape) == tuple(x.shape):
                emit(L.Identity(), [name_of(x)])
                imp.slice_of[id(o)] = (x, L.Slice(0, None, imp.ps_axis(x, dim)))  # x[:, :] = y writes all of x
                return
            start = args[2] if len(args) > 2 and args[2] is not None else 0
            stop = args[3] if len(args) > 3 and args[3] is not None else None
            step = args[4] if len(args) > 4 else 1
            size = int(x.shape[dim])
            start = start + size if start < 0 else start
            stop = None if stop is None or stop >= size else (stop + size if stop < 0 else stop)
            sl = L.Slice(min(start, size), stop, imp.ps_axis(x, dim), step)
            emit(sl, [name_of(x)])
            imp.slice_of[id(o)] = (x, sl)  # for a later write into this view (copy_)
            return
        if op == "select":
            emit(L.Select(imp.ps_axis(x, args[1]), args[2]), [name_of(x)])
            return
        if op == "index":
            # table[idx] / table[:, idx]: one integer index tensor (a relative-position bias table)
            idx = [(d, t) for d, t in enumerate(args[1]) if t is not None]
            if len(idx) != 1 or idx[0][1].dtype in (torch.bool, torch.uint8):
                raise _Skip("indexing by several tensors or a mask")
            (d, it), = idx
            emit(L.Index(imp.ps_axis(x, d)), [name_of(x), name_of(it)])
            return
        if op in ("split", "split_with_sizes", "unbind", "chunk", "unsafe_split"):
            dim = (args[2] if len(args) > 2 else kwargs.get("dim", 0)) if op != "unbind" else (
                args[1] if len(args) > 1 else 0)
            dim = dim if dim >= 0 else dim + rank_full
            if op in ("split", "split_with_sizes", "chunk", "unsafe_split") and not detect and \
                    batch_axis_split(imp, x, dim, outs, name_of, lname):
                return
            ax = imp.ps_axis(x, dim)
            start = 0
            for piece in outs:
                n = int(piece.shape[dim]) if op != "unbind" else 1
                layer = L.Select(ax, start) if op == "unbind" else L.Slice(start, start + n, ax)
                imp.emit(layer, [name_of(x)], piece, imp.unique(lname))
                start += n
            return
        if op in _VIEW_OPS:
            want = imp.per_sample(o)
            if want is None:
                raise _Skip("a view that drops the batch axis")
            if tuple(want) == tuple(imp.shapes[name_of(x)]):
                emit(L.Identity(), [name_of(x)])
            elif op == "expand":
                emit(L.Expand(tuple(want)), [name_of(x)])
            else:
                emit(L.Reshape(tuple(want)), [name_of(x)])
            return
        if op in ("mean", "sum", "amax", "max") and len(args) > 1:
            dim_arg = args[1] if isinstance(args[1], (list, tuple)) else [args[1]]
            axes = [imp.ps_axis(x, d) for d in dim_arg]
            keep = bool(args[2]) if len(args) > 2 else bool(kwargs.get("keepdim", False))
            cls = {"mean": L.Mean, "sum": L.Sum, "amax": L.Amax, "max": L.Amax}[op]
            emit(cls(tuple(axes), keep), [name_of(x)])
            return
        if op in ("_softmax", "softmax", "_safe_softmax"):
            emit(L.Softmax(imp.ps_axis(x, args[1])), [name_of(x)])
            return
        if op in ("max_pool2d_with_indices", "max_pool2d", "max_pool1d", "max_pool3d_with_indices"):
            n = 3 if "3d" in op else (1 if "1d" in op else 2)
            k = args[1]
            s = args[2] if len(args) > 2 and args[2] else k
            p = args[3] if len(args) > 3 else 0
            d = args[4] if len(args) > 4 else 1
            cm = bool(args[5]) if len(args) > 5 else False
            cls = {1: L.MaxPool1d, 2: L.MaxPool2d, 3: L.MaxPool3d}[n]
            emit(_pool_per_item(imp, cls(_n(k, n), _n(s, n), _n(p, n), _n(d, n), cm), x, n), [name_of(x)])
            return
        if op in ("avg_pool2d", "avg_pool3d"):
            n = 3 if "3d" in op else 2
            k = args[1]
            s = args[2] if len(args) > 2 and args[2] else k
            p = args[3] if len(args) > 3 else 0
            cm = bool(args[4]) if len(args) > 4 else False
            cip = bool(args[5]) if len(args) > 5 else True
            if len(args) > 6 and args[6] is not None:
                raise _Skip("avg_pool with divisor_override")
            cls = {2: L.AvgPool2d, 3: L.AvgPool3d}[n]
            emit(_pool_per_item(imp, cls(_n(k, n), _n(s, n), _n(p, n), cm, cip), x, n), [name_of(x)])
            return
        if op in ("_adaptive_avg_pool2d", "adaptive_avg_pool2d", "_adaptive_avg_pool3d", "adaptive_max_pool2d"):
            cls = {"_adaptive_avg_pool2d": L.AdaptiveAvgPool2d, "adaptive_avg_pool2d": L.AdaptiveAvgPool2d,
                   "_adaptive_avg_pool3d": L.AdaptiveAvgPool3d, "adaptive_max_pool2d": L.AdaptiveMaxPool2d}[op]
            emit(cls(_n(args[1], 3 if "3d" in op else 2)), [name_of(x)])
            return
        if op.startswith("upsample_") or op == "_upsample_nearest_exact2d":
            mode = {"upsample_nearest1d": "nearest", "upsample_nearest2d": "nearest", "upsample_nearest3d": "nearest",
                    "_upsample_nearest_exact2d": "nearest-exact", "upsample_linear1d": "linear",
                    "upsample_bilinear2d": "bilinear", "upsample_bicubic2d": "bicubic",
                    "upsample_trilinear3d": "trilinear"}.get(op)
            if mode is None:
                raise _Skip(op)
            emit(L.Interpolate(size=tuple(int(d) for d in o.shape[2:]), mode=mode), [name_of(x)])
            return
        if op in ("constant_pad_nd", "reflection_pad2d", "replication_pad2d"):
            pad = tuple(args[1])
            if not any(pad):
                emit(L.Identity(), [name_of(x)])  # a zero pad (Swin's pad to whole windows when none is needed)
                return
            if op == "constant_pad_nd" and (len(pad) != 4 or rank_full != 4 or min(pad) < 0
                                            or (len(args) > 2 and args[2])):
                # any axes, a fill value, negative amounts (a crop): the general constant pad
                if len(pad) // 2 > rank_full - 1 - (imp.batch_pos(x) or 0):
                    raise _Skip(f"{op} {pad} pads the batch axis")
                emit(L.ConstantPad(pad, float(args[2]) if len(args) > 2 and args[2] else 0.0), [name_of(x)])
                return
            if len(pad) != 4 or rank_full != 4:
                raise _Skip(f"{op} {pad}")
            cls = {"constant_pad_nd": L.ZeroPad2d, "reflection_pad2d": L.ReflectionPad2d,
                   "replication_pad2d": L.ReplicationPad2d}[op]
            emit(cls(pad), [name_of(x)])
            return
        if op in ("_scaled_dot_product_flash_attention_for_cpu", "_scaled_dot_product_efficient_attention",
                  "_scaled_dot_product_flash_attention", "scaled_dot_product_attention",
                  "_scaled_dot_product_attention_math", "_scaled_dot_product_cudnn_attention"):
            q, k, v = args[:3]
            emit(L.ScaledDotProductAttention(bool(kwargs.get("is_causal", False))), [name_of(q), name_of(k), name_of(v)])
            return
        if op == "roll":
            shifts = args[1] if isinstance(args[1], (list, tuple)) else [args[1]]
            rdims = args[2] if len(args) > 2 and isinstance(args[2], (list, tuple)) else [args[2] if len(args) > 2 else 0]
            emit(L.Roll(tuple(shifts), tuple(imp.ps_axis(x, d) for d in rdims)), [name_of(x)])
            return
        if op in ("dropout", "native_dropout", "feature_dropout"):
            emit(L.Dropout(), [name_of(x)])
            return
        if op == "channel_shuffle" or op == "native_channel_shuffle":
            emit(L.ChannelShuffle(args[1]), [name_of(x)])
            return
        if _record_ops14(imp, op, args, kwargs, x, rank_full, emit, name_of, lname):
            return
        if _record_grid_sample(imp, op, args, x, emit, name_of):
            return
        raise _Skip("")

    def weighted(layer, tensors, lname):
        """The rule counts a weight layer's params when its tensors are module parameters used
        directly; computed weights (standardised, weight-normed) count their source tensors."""
        present = []
        for t in tensors:
            if t is None:
                continue
            srcs = source(t) or []
            real = [p for p, _ in srcs if id(p) in params]
            # a weight read through a view or a same-size transform (weight.t(), a standardised
            # kernel) is its parameter: the rule's count is that tensor's size
            same = len(real) == 1 and len(srcs) == 1 and real[0].numel() == t.numel() and id(t) not in imp.computed
            present.append(real[0] if same else t)
        direct = all(id(t) in params for t in present)
        owners = {imp.param_owner.get(id(t)) for t in present}
        if direct and owners == {None}:
            for t in present:
                imp.param_owner[id(t)] = lname
            return layer
        if direct and None not in owners:
            return L.Shared(layer, owner=sorted(owners)[0])
        for t in present:
            srcs = source(t) or []
            for p, pth in srcs:
                if id(p) not in imp.param_owner and id(p) in params:
                    imp.derived.setdefault(id(p), [(p, pth)])
                    imp.param_from(p, pth)
                elif id(p) not in imp.param_owner and id(p) in buffers:
                    imp.buffer_node(p, pth)  # BEiT's zero k_bias buffer concatenated into the qkv bias
        # the Parameter node counting the first source tensor owns the weights
        nodes = set(imp.attr_nodes.values())
        for t in present:
            for p, _ in source(t) or [(t, "")]:
                if imp.param_owner.get(id(p)) in nodes:
                    return L.Shared(layer, owner=imp.param_owner[id(p)])
        raise _Skip("computed weights that no Parameter node holds")

    handles = []
    for m in module.modules():
        handles.append(m.register_forward_pre_hook(pre))
        handles.append(m.register_forward_hook(post))
    patched = _shape_only_lstms(module)
    try:
        p0 = next(iter(module.parameters()), None)
        device = p0.device if p0 is not None else torch.device("cpu")
        with FakeTensorMode(allow_non_fake_inputs=True):
            xs = detect.inputs(input_shapes, device) if detect else \
                [torch.empty((BATCH, *s), device=device) for s in input_shapes]
            for i, x in enumerate(xs):
                imp.names[id(x)] = _Tensor("input" if i == 0 else f"input{i}")
                imp.keep.append(x)
                if i:
                    imp.b.add_input(input_shapes[i], f"input{i}")
                    imp.shapes[f"input{i}"] = tuple(input_shapes[i])
                    imp.used.add(f"input{i}")
            with detect.modes() if detect else contextlib.nullcontext(), Recorder(), torch.no_grad(), meta_autocast_off():
                out = module(*xs)
    except (_Skip, ArchcalcError):
        raise
    except Exception as e:
        raise UnsupportedLayerError(f"the fallback tracer could not run {type(module).__name__} on fake tensors: "
                                    f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}") from None
    finally:
        for h in handles:
            h.remove()
        for m in patched:
            del m.forward  # the class's forward again
    # batch-free work nobody read (or read only as computed weights) is still work torch did
    for key, (recipe, _) in list(imp.recipes.items()):
        if key in imp.full or not (recipe[0] == "module" or recipe[0] == "op" and recipe[1].overloadpacket.__name__
                                   in _MAC_OPS):
            continue
        made = recipe[3] if recipe[0] == "module" else recipe[4]
        for t in tree_flatten(made)[0]:
            if isinstance(t, torch.Tensor) and id(t) == key:
                try:
                    imp.batch_free_node(t)
                except (_Skip, ArchcalcError) as e:
                    record_unsupported(f"{recipe[-1]}: batch-free work: {e}")
    outputs = []
    for t in tree_flatten(out)[0]:
        if isinstance(t, torch.Tensor) and id(t) in imp.names:
            outputs.append(imp.names[id(t)].name)
    return imp, detect.outputs(imp, out) if detect else list(dict.fromkeys(outputs))
