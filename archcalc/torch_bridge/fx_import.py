"""``from_torch``: turn an ``nn.Module`` into an archcalc Graph statically.

The module is traced with ``torch.fx.symbolic_trace``: no forward pass runs, no tensor is created,
so a model built on the meta device (``with torch.device("meta"):``) is imported without allocating
any weight, and sizes may stay symbolic (``(3, "H", "W")``). Each traced call maps to one archcalc
layer spec (:mod:`.fx_map`); the rule of each layer runs as the graph is built, so shape arithmetic
in ``forward`` (``x.reshape(B, C, H * W)``, ``x.chunk(2, 1)``) is evaluated on archcalc's dims.

When fx cannot trace the module (control flow on shapes, iteration over proxies), the import falls
back to :mod:`.dispatch_import`, which runs the model once on fake tensors and records aten ops:
concrete shapes only, and the graph says so (``graph.tracer``).

Parameters reconcile with torch, always: each parameter tensor is counted once however many modules
or calls use it (a reused module's later calls are :class:`~archcalc.layers.Shared`), parameters
read directly by ``forward`` are :class:`~archcalc.layers.Parameter` nodes, and parameters of modules
the forward never reaches are one :class:`~archcalc.layers.Unreached` line per module. After every
import the graph's params are checked against ``module.parameters()`` and a difference raises.

An op with no archcalc counterpart is never counted as 0: by default :func:`from_torch` raises
``UnsupportedLayerError`` listing every such op by name; with ``allow_partial=True`` each becomes an
:class:`~archcalc.layers.Uncounted` node and the analysis totals list them under ``uncounted``.

Layer names follow archcalc's zoo: a module call is named by its module path (``layer1.0.conv1``),
the k-th extra call of a reused module ``path_k`` (``layer1.0.relu_1``), and a function call by its
innermost module scope plus the op (``layer1.0.add``).
"""

from __future__ import annotations

import inspect
import operator
import re

from .. import dims
from .. import layers as L
from ..errors import ArchcalcError, UnsupportedLayerError
from ..graph import Builder
from ..rules import rule_for
from .fx_map import ACT_FUNCS, batch_norm_layer, int_pair, interpolate_layer, mha_layer, module_layer


class ImportMismatchError(ArchcalcError):
    """The imported graph's parameter count differs from the module's own: a bug, never hidden."""


class _Batch:
    """The batch size as a value in shape arithmetic (``x.shape[0]``, ``x.size(0)``)."""

    def __repr__(self):
        return "B"


BATCH = _Batch()


class _Untraceable(Exception):
    """The fx import met something only a run can resolve: fall back to the dispatch tracer."""


class _Tensor:
    """A tensor in the graph: the archcalc node name, and whether axis 0 of torch's view is the
    batch (False for parameters read directly, which broadcast from the right)."""

    __slots__ = ("name", "batched")

    def __init__(self, name, batched=True):
        self.name = name
        self.batched = batched

    def __repr__(self):
        return f"tensor {self.name}"


class _Attr:
    """A parameter/buffer read by ``get_attr``: becomes a Parameter node on first use as a tensor."""

    __slots__ = ("tensor", "path")

    def __init__(self, tensor, path):
        self.tensor = tensor
        self.path = path

    def __repr__(self):
        return f"parameter {self.path}"


class _Parts:
    """A tuple of tensors from split/chunk/unbind (and max(dim)), materialised on getitem."""

    __slots__ = ("src", "axis", "bounds", "squeeze", "scope")

    def __init__(self, src, axis, bounds, squeeze, scope):
        self.src, self.axis, self.bounds, self.squeeze, self.scope = src, axis, bounds, squeeze, scope


def _fname(t) -> str:
    return t if isinstance(t, str) else getattr(t, "__name__", str(t))


def _describe(node) -> str:
    t = node.target
    return t if isinstance(t, str) else f"{getattr(t, '__module__', '') or ''}.{getattr(t, '__name__', t)}".lstrip(".")


def _scope(node) -> str:
    stack = node.meta.get("nn_module_stack") or {}
    if not stack:
        return ""
    path = list(stack.values())[-1][0]
    return re.sub(r"@\d+$", "", path)


def _forward_defaults(module, n_inputs):
    """Parameters of ``forward`` past the given inputs, with their defaults (fx concrete_args)."""
    try:
        params = list(inspect.signature(module.forward).parameters.values())
    except (TypeError, ValueError):
        return {}
    params = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]
    out = {}
    for p in params[n_inputs:]:
        if p.default is inspect.Parameter.empty:
            raise ArchcalcError(f"{type(module).__name__}.forward needs argument {p.name!r} besides the "
                                f"{n_inputs} input(s) given; pass one shape per tensor input")
        out[p.name] = p.default
    return out


def trace(module, n_inputs):
    import torch.fx as fx

    concrete = _forward_defaults(module, n_inputs)
    try:
        return fx.symbolic_trace(module, concrete_args=concrete or None)
    except Exception as e:  # data-dependent control flow, unsupported Python constructs
        raise _Untraceable(f"torch.fx cannot trace {type(module).__name__}: {type(e).__name__}: "
                           f"{str(e).splitlines()[0] if str(e) else ''}") from None


class Importer:
    """Walk an fx graph, building the archcalc graph and each node's per-sample shape."""

    def __init__(self, module, input_shapes, name, allow_partial=False, concrete_shapes=None):
        self.module = module
        self.input_shapes = [tuple(s) for s in input_shapes]
        self.b = Builder(name, self.input_shapes[0], input_name="input")
        self.shapes: dict = {"input": self.input_shapes[0]}
        self.unsupported: list = []
        self.allow_partial = allow_partial
        self.concrete = concrete_shapes  # fx node name -> torch shape (for allow_partial), or None
        self.defaults: dict = {}  # forward arguments past the inputs, at their defaults
        self.used: set = {"input"}
        self.calls: dict = {}
        self.param_owner: dict = {}  # id(parameter tensor) -> layer name that counts it
        self.attr_nodes: dict = {}  # id(tensor) -> Parameter node name
        self.inputs_seen = 0
        self.param_total = 0  # params + frozen params of every layer added, from the rules
        self.batchless: set = set()  # node names whose torch axis 0 is not the batch
        self.param_derived: set = set()  # nodes computed from parameters and constants alone
        self.read: set = set()  # ids of the parameters/buffers forward reads (a buffer no op reads: Unreached)
        self.module_buffers: dict = {}  # layer name -> the buffers of the module it was made from
        self.layer_buffers: dict = {}  # layer name -> the buffers its rule counts

    # --- graph building ------------------------------------------------------------------

    def unique(self, base):
        if base not in self.used:
            self.used.add(base)
            return base
        k = 1
        while f"{base}_{k}" in self.used:
            k += 1
        self.used.add(f"{base}_{k}")
        return f"{base}_{k}"

    def add(self, layer, ins, lname):
        inner = layer.layer if isinstance(layer, L.Shared) else layer
        if isinstance(inner, L.Linear) and len(self.shapes[ins[0]]) >= 3:
            # torch's Linear maps the last axis of any rank (channels-last ConvNeXt blocks, windowed
            # attention); archcalc's Linear takes (rows, features): fold the leading axes in a view
            lead = self.shapes[ins[0]][:-1]
            flat = self.add(L.Reshape((-1, self.shapes[ins[0]][-1])), ins[:1], self.unique(lname + ".fold"))
            out = self.add(layer, [flat] + list(ins[1:]), lname)
            return self.add(L.Reshape(tuple(lead) + (self.shapes[out][-1],)), [out], self.unique(lname + ".unfold"))
        shapes = [self.shapes[i] for i in ins]
        try:
            cost = rule_for(layer)(layer, shapes)
        except ArchcalcError as e:
            raise type(e)(f"layer {lname!r} ({layer.kind}): {e}") from None
        except (TypeError, ValueError, ZeroDivisionError) as e:
            raise UnsupportedLayerError(f"layer {lname!r} ({layer.kind}): {e}") from None
        name = self.b.add(layer, *ins, name=lname)
        if getattr(inner, "batch_free", False) or all(i in self.param_derived for i in ins):
            self.param_derived.add(name)
        self.shapes[name] = tuple(cost.output)
        self.param_total = dims.normalize(self.param_total + cost.params + cost.frozen_params)
        self.last_params = dims.normalize(cost.params + cost.frozen_params)
        self.layer_buffers[name] = cost.buffers
        return name

    def tensor_input(self, v, scope=""):
        """A graph node name for a value used as a tensor operand, or None."""
        if isinstance(v, _Tensor):
            return v.name
        if isinstance(v, _Attr):
            return self.param_node(v).name
        return None

    def param_node(self, attr: _Attr) -> _Tensor:
        t = attr.tensor
        key = id(t)
        shape = tuple(int(d) for d in t.shape)
        batched = len(shape) >= 2 and shape[0] == 1
        if key not in self.attr_nodes:
            import torch

            path, src = attr.path, t
            if key not in self.module_tensors():
                # a constant torch.fx folded while tracing: a view of a module tensor (MaxViT's
                # ``relative_position_index.view(-1)`` as ``_tensor_constant0``) reads that tensor,
                # which this line holds, once; anything else (a buffer's sin) is no tensor of the
                # module: 0 here, its buffer on its own line (finish)
                base = t._base
                src = base if base is not None and id(base) in self.module_tensors() else None
                if src is not None:
                    path = self.tensor_paths().get(id(src), path)
            role = "buffer"
            if isinstance(src, torch.nn.Parameter):
                role = "trainable" if src.requires_grad else "frozen"
            # a tensor a module layer already counts is read again here: counted there, 0 here
            numel = 0 if src is None or id(src) in self.param_owner else src.numel()
            layer = L.Parameter(shape[1:] if batched else shape, role, numel, path)
            name = self.add(layer, ["input"], self.unique(path or "param"))
            self.attr_nodes[key] = name
            if not batched:
                self.batchless.add(name)
            if src is not None and (src is not t or isinstance(t, torch.nn.Parameter)):
                self.param_owner.setdefault(id(src), name)
        return _Tensor(self.attr_nodes[key], batched)

    def bn_counter(self, running_mean):
        """The ``num_batches_tracked`` buffer beside a running mean (a BatchNorm subclass calling
        F.batch_norm, timm's BatchNormAct2d): the batch norm rule counts it (the ``+ 1`` of
        ``2C + 1``), though eval mode never reads it. None when the module has none."""
        path = self.tensor_paths().get(id(running_mean))
        if path is None:
            return None
        owner = path.rpartition(".")[0]
        try:
            return self.module.get_buffer(f"{owner}.num_batches_tracked" if owner else "num_batches_tracked")
        except AttributeError:
            return None

    def tensor_paths(self) -> dict:
        """id -> path of the module's own parameters and buffers (the first path of a shared one)."""
        if getattr(self, "_tensor_paths", None) is None:
            self._tensor_paths = {}
            for n, t in list(self.module.named_parameters()) + list(self.module.named_buffers()):
                self._tensor_paths.setdefault(id(t), n)
        return self._tensor_paths

    def module_tensors(self):
        """ids of the module's own parameters and buffers."""
        return self.tensor_paths().keys()

    def axis(self, t: _Tensor, dim, what="dim"):
        """torch axis -> per-sample axis (negative stays negative)."""
        if not isinstance(dim, int):
            raise _Unsupported(f"{what} {dim!r} is not an integer")
        if dim < 0 or not t.batched:
            return dim
        if dim == 0:
            raise _Unsupported(f"{what}=0 works across the batch")
        return dim - 1

    # --- values ------------------------------------------------------------------------------

    def value(self, v):
        """Resolve an fx argument: nodes to env values, containers recursively."""
        import torch.fx as fx

        if isinstance(v, fx.Node):
            return self.env[v]
        if isinstance(v, (list, tuple)):
            return type(v)(self.value(x) for x in v) if not hasattr(v, "_fields") else v
        if isinstance(v, dict):
            return {k: self.value(x) for k, x in v.items()}
        if isinstance(v, slice):
            return slice(self.value(v.start), self.value(v.stop), self.value(v.step))
        return v

    def shape_of(self, t: _Tensor):
        s = self.shapes[t.name]
        return ((BATCH,) + tuple(s)) if t.batched else tuple(s)

    # --- the walk ----------------------------------------------------------------------------

    def run(self, gm):
        self.gm = gm
        self.modules = dict(gm.named_modules())
        self.env: dict = {}
        outputs = []
        for node in gm.graph.nodes:
            if node.op == "output":
                vals = self.value(node.args[0])
                flat = []

                def walk(v):
                    if isinstance(v, (list, tuple)):
                        for x in v:
                            walk(x)
                    elif isinstance(v, dict):
                        for x in v.values():
                            walk(x)
                    elif isinstance(v, _Tensor):
                        flat.append(v.name)

                walk(vals)
                outputs = list(dict.fromkeys(flat))
                continue
            try:
                self.env[node] = self.visit(node)
            except _Unsupported as e:
                self.unsupported_node(node, str(e))
        return outputs

    def unsupported_node(self, node, why):
        if node.op == "call_module":
            mod = self.modules[node.target]
            what = f"{node.target} ({type(mod).__name__})"
        else:
            scope = _scope(node)
            what = f"{(scope + '.') if scope else ''}{re.sub(r'_[0-9]+$', '', node.name)} ({node.op} {_describe(node)})"
        self.unsupported.append(what + (f": {why}" if why else ""))
        # keep walking to name every unsupported op: downstream of it shapes are unknown
        if self.allow_partial and self.concrete is not None and node.name in self.concrete:
            shape = self.concrete[node.name]
            ins = [self.tensor_input(self.env.get(a)) for a in node.all_input_nodes]
            ins = [i for i in ins if i] or ["input"]
            per_sample = tuple(shape[1:])
            lname = self.unique(node.target if node.op == "call_module" else self.fn_name(node))
            layer = L.Uncounted(what.split(" (")[-1].rstrip(")").split(": ")[0], per_sample)
            self.env[node] = _Tensor(self.add(layer, ins, lname))
        else:
            self.env[node] = _Dead(what)
            self.shapes_lost = True

    def fn_name(self, node, layer=None):
        base = re.sub(r"_\d+$", "", node.name)
        scope = _scope(node)
        if layer is not None and isinstance(layer, (L.BatchNorm2d, L.BatchNorm1d, L.BatchNorm3d, L.LayerNorm,
                                                     L.GroupNorm, L.Conv2d, L.Linear)) \
                and scope and scope not in self.used:
            return scope  # F.batch_norm / F.conv2d inside a module subclass: name it after the module
        return f"{scope}.{base}" if scope else base

    def visit(self, node):
        if node.op == "placeholder":
            i = self.inputs_seen
            if i >= len(self.input_shapes) and node.args:
                return node.args[0]  # a forward argument past the inputs, fixed at its default
            self.inputs_seen += 1
            if i >= len(self.input_shapes):
                raise ArchcalcError(f"{type(self.module).__name__}.forward takes more tensor inputs than the "
                                    f"{len(self.input_shapes)} shape(s) given")
            if i == 0:
                return _Tensor("input")
            name = f"input{i}"
            self.b.add_input(self.input_shapes[i], name)
            self.shapes[name] = self.input_shapes[i]
            self.used.add(name)
            return _Tensor(name)
        if node.op == "get_attr":
            obj = self.gm
            for part in node.target.split("."):
                obj = getattr(obj, part)
            import torch

            if isinstance(obj, torch.Tensor):
                self.read.add(id(obj))
                if obj._base is not None:  # a constant fx folded from a module tensor's view (an index table)
                    self.read.add(id(obj._base))
                return _Attr(obj, node.target)
            return obj
        args = self.value(node.args)
        kwargs = self.value(node.kwargs)
        for v in list(args) + list(kwargs.values()):
            # downstream of an unsupported op: not listed again (the refusal names the op itself)
            if isinstance(v, _Dead) or isinstance(v, (list, tuple)) and any(isinstance(x, _Dead) for x in v):
                return v if isinstance(v, _Dead) else next(x for x in v if isinstance(x, _Dead))
        if node.op == "call_module":
            return self.call_module(node, args, kwargs)
        return self.call_function(node, node.target, args, kwargs)

    # --- modules -----------------------------------------------------------------------------

    def call_module(self, node, args, kwargs):
        mod = self.modules[node.target]
        path = node.target
        layer = module_layer(mod)
        if layer is None:
            raise _Unsupported("")
        if isinstance(layer, str):
            raise _Unsupported(layer)
        x = args[0] if args else None
        if isinstance(x, _Attr):  # a module on a parameter or buffer (Swin V2's MLP on its coordinate table)
            x = self.param_node(x)
        if not isinstance(x, _Tensor):
            raise _Unsupported("the first argument is not a tensor")
        ins = [x.name]
        if isinstance(layer, tuple):
            layer, ins = self.module_special(layer, x, args, kwargs)
        elif isinstance(layer, L.ConvTranspose2d):
            out_size = kwargs.get("output_size", args[1] if len(args) > 1 else None)
            if out_size is not None:
                layer, ins = self.with_output_size(layer, x, out_size)
        elif isinstance(layer, L.MaxUnpool2d):
            idx = self.tensor_input(args[1]) if len(args) > 1 else None
            if idx is None:
                raise _Unsupported("MaxUnpool2d without indices")
            ins = [x.name, idx]
        elif len(args) > 1 or kwargs:
            raise _Unsupported("extra arguments")
        k = self.calls.get(path, 0)
        self.calls[path] = k + 1
        lname = self.unique(path if k == 0 else f"{path}_{k}")
        layer = self.own_params(layer, mod, lname)
        lead_one = x.name in self.batchless and not x.batched and len(self.shapes[x.name]) >= 2 and \
            dims.is_concrete(self.shapes[x.name][0]) and self.shapes[x.name][0] == 1 and \
            _FIXED_RANK.fullmatch(type(mod).__name__) is not None
        if lead_one:  # a conv on batch-free (1, C, H, W) work: the 1 is the module's batch axis
            ins = [self.add(L.Squeeze((0,)), ins[:1], self.unique(x.name + ".squeeze"))] + ins[1:]
            self.batchless.add(ins[0])
        out = _Tensor(self.add(layer, ins, lname))
        if all(i in self.batchless for i in ins):  # batch-free in, batch-free out: once per forward
            self.batchless.add(out.name)
            out = _Tensor(out.name, x.batched)
            if lead_one:
                out = _Tensor(self.add(L.Unsqueeze(0), [out.name], self.unique(lname + ".unsqueeze")), False)
                self.batchless.add(out.name)
        # modules returning a pair: MultiheadAttention (attn_output, attn_weights), LSTM (output,
        # (h_n, c_n)): the second item is not modelled
        if any(isinstance(m, (L.MultiheadAttention, L.LSTM)) for m in (layer, getattr(layer, "layer", None))):
            return _Pair(out)
        return out

    def own_params(self, layer, mod, lname):
        """Count each parameter tensor once: a module called again, or one whose tensors another
        module already counted (tied weights), becomes Shared; parametrized tensors count as the
        real tensors torch holds (weight_norm's g and v)."""
        bufs = list(mod.buffers())
        if bufs:  # counted by the module's rule (BN's statistics) when the rule's count is theirs (finish)
            self.module_buffers[lname] = bufs
        params = list(mod.parameters())
        if not params:
            return layer
        owners = {self.param_owner.get(id(p)) for p in params}
        parametrized = hasattr(mod, "parametrizations") or any(n.endswith(("_g", "_v", "_orig"))
                                                               for n, _ in mod.named_parameters())
        if owners == {None} and not parametrized:
            for p in params:
                self.param_owner[id(p)] = lname
            return layer
        if None not in owners and not parametrized:
            return L.Shared(layer, owner=sorted(owners)[0])
        # partly counted elsewhere, or parametrized: the layer's work here, the tensors as Parameters
        for n, p in mod.named_parameters():
            if id(p) not in self.param_owner:
                self.param_node(_Attr(p, f"{lname}.{n}"))
        return L.Shared(layer, owner=self.tensor_owner(params))

    def tensor_owner(self, tensors):
        """The node a Shared layer names for tensors counted as Parameter nodes: the first
        Parameter node holding one of them (the node that counts it)."""
        for t in tensors:
            name = self.param_owner.get(id(t))
            if name is not None and name in self.attr_nodes.values():
                return name
        raise _Unsupported("a layer whose tensors no Parameter node holds")

    def with_output_size(self, layer, x, out_size):
        """ConvTranspose2d(x, output_size=...): ints, or another tensor's size()."""
        vals = list(out_size)[-2:]
        if all(isinstance(v, int) or (hasattr(v, "free_symbols")) for v in vals):
            return L.ConvTranspose2d(layer.out_channels, layer.kernel_size, layer.stride, layer.padding,
                                     layer.output_padding, layer.dilation, layer.groups, layer.bias,
                                     tuple(vals)), [x.name]
        raise _Unsupported(f"output_size {out_size!r}")

    def module_special(self, spec, x, args, kwargs):
        kind = spec[0]
        if kind == "flatten":
            return self.flatten_layer(x, spec[1], spec[2]), [x.name]
        if kind == "softmax":
            dim = spec[1]
            if dim is None:
                raise _Unsupported("Softmax(dim=None)")
            return L.Softmax(self.axis(x, dim)), [x.name]
        if kind == "area":
            size = spec[1]
            return L.AdaptiveAvgPool2d(int_pair(size)), [x.name]
        if kind == "mha":
            mod = spec[1]
            names = [self.tensor_input(a) for a in args[:3]]
            extra = {k: v for k, v in kwargs.items() if k != "need_weights"}
            if any(v is not None and v is not False for v in extra.values()) or len(args) > 3 or None in names:
                raise _Unsupported("MultiheadAttention with masks or extra arguments")
            nw = kwargs.get("need_weights", True)
            ins = names[:1] if names[0] == names[1] == names[2] else names
            return mha_layer(mod, bool(nw)), ins
        raise _Unsupported(kind)

    def flatten_layer(self, x, start, end):
        rank = len(self.shapes[x.name]) + (1 if x.batched else 0)
        start = start + rank if start < 0 else start
        end = end + rank if end < 0 else end
        if start == 0:
            raise _Unsupported("flatten from the batch axis")
        s, e = self.axis(x, start), self.axis(x, end)
        per = len(self.shapes[x.name])
        if s == 0 and e == per - 1:
            return L.Flatten()
        return L.Flatten(s, e)

    # --- functions and methods ---------------------------------------------------------------

    def call_function(self, node, t, args, kwargs):
        fname = _fname(t)
        tensors = []
        for a in list(args) + list(kwargs.values()):
            for v in (a if isinstance(a, (list, tuple)) else (a,)):
                if isinstance(v, (_Tensor, _Attr)):
                    tensors.append(v)
        # shape arithmetic: sizes, attributes, comparisons, asserts
        if fname in ("size", "dim") and node.op == "call_method":
            shape = self.shape_of(self._as_tensor(args[0]))
            if fname == "dim":
                return len(shape)
            d = args[1] if len(args) > 1 else kwargs.get("dim")
            return shape if d is None else shape[d]
        if t is getattr:
            obj, attr = args[0], args[1]
            if isinstance(obj, _Pair):
                if attr == "values":
                    return obj.first
                raise _Unsupported(f".{attr} of a (values, indices) pair")
            if isinstance(obj, (_Tensor, _Attr)):
                shape = self.shape_of(self._as_tensor(obj))
                if attr == "shape":
                    return shape
                if attr == "ndim":
                    return len(shape)
                if attr in ("dtype", "device", "is_cuda", "requires_grad"):
                    return _Opaque(attr)
                if attr in ("T", "mT"):
                    raise _Unsupported(f".{attr}")
                raise _Unsupported(f"attribute {attr}")
            return getattr(obj, attr)
        if t is operator.getitem and isinstance(args[0], _Pair):
            if args[1] != 0:  # an error only if something uses it (ViT discards the weights)
                return _Dead(f"item {args[1]!r} of a (values, indices) or (output, weights) pair")
            return args[0].first
        if not tensors and fname in _FACTORIES and node.op == "call_function":
            return self.factory(node, fname, args, kwargs)
        if not tensors:
            return self.python_op(node, t, fname, args, kwargs)
        spec = self.map_function(node, t, fname, args, kwargs, tensors)
        if isinstance(spec, (_Parts, _Tensor, _Pair)):
            return spec
        layer, ins = spec[0], spec[1]
        if isinstance(layer, _Named):
            layer, lname = layer.layer, layer.name
        else:
            lname = self.unique(self.fn_name(node, layer))
        batched = spec[2] if len(spec) > 2 else any(i not in self.batchless for i in ins)
        name = self.add(layer, ins, lname)
        if not batched:
            self.batchless.add(name)
        return _Tensor(name, batched)

    def factory(self, node, fname, args, kwargs):
        """``torch.arange``/``zeros``/``ones``/``full``/``linspace``/``eye`` on sizes: a Constant node
        (no params, no work). Without the batch among its sizes it is batch-free: the analysis
        counts work on it alone once per forward; ``torch.zeros((B, H, W))`` is made per sample."""
        def size(v):
            if isinstance(v, bool) or not (isinstance(v, int) or hasattr(v, "free_symbols") or isinstance(v, _Batch)):
                raise _Unsupported(f"{fname} with a {type(v).__name__} size {v!r}")
            return v

        if fname == "arange":
            bounds = list(args) or [kwargs.get("end")]
            if "start" in kwargs or "step" in kwargs:
                bounds = [kwargs.get("start", 0), kwargs.get("end", args[0] if args else None), kwargs.get("step", 1)]
            start, end, step = (0, bounds[0], 1) if len(bounds) == 1 else (bounds + [1])[:3]
            for v in (start, end, step):
                if isinstance(v, _Batch):
                    raise _Unsupported("arange over the batch size")
                size(v)
            if not (isinstance(step, int) and step > 0):
                raise _Unsupported(f"arange with step {step!r} (a positive integer is supported)")
            shape = (dims.ceildiv(dims.normalize(end - start), step),)
        elif fname == "linspace":
            shape = (size(args[2] if len(args) > 2 else kwargs.get("steps")),)
        elif fname == "eye":
            n = size(args[0] if args else kwargs.get("n"))
            shape = (n, size(args[1] if len(args) > 1 else kwargs.get("m", n)))
        else:  # zeros, ones, empty, full: sizes as arguments or one sequence
            n_fill = 1 if fname == "full" else 0
            sizes = args[0] if len(args) == 1 + n_fill and isinstance(args[0], (list, tuple)) else \
                args[:len(args) - n_fill]
            if not sizes and "size" in kwargs:
                sizes = kwargs["size"]
            shape = tuple(size(v) for v in sizes)
        batched = bool(shape) and isinstance(shape[0], _Batch)
        if batched:
            shape = shape[1:]
        if any(isinstance(v, _Batch) for v in shape):
            raise _Unsupported(f"{fname} with the batch size in a per-sample axis")
        try:
            layer = L.Constant(tuple(shape), f"torch.{fname}", batched)
        except ArchcalcError as e:
            raise _Unsupported(str(e)) from None
        name = self.add(layer, ["input"], self.unique(self.fn_name(node)))
        if not batched:
            self.batchless.add(name)
        return _Tensor(name, batched)

    def align(self, t, other):
        """``t`` as a broadcasting op with ``other`` reads it: a batch-free tensor whose leading axis
        lines up with the batched operand's batch axis (a bias ``(1, heads, N, N)`` added to
        attention ``(B, heads, N, N)``) loses that axis of size 1, as per-sample shapes have none."""
        if t.batched or t.name not in self.batchless or not other.batched:
            return t
        shape = self.shapes[t.name]
        if len(shape) == len(self.shapes[other.name]) + 1 and dims.is_concrete(shape[0]) and shape[0] == 1:
            name = self.add(L.Squeeze((0,)), [t.name], self.unique(t.name + ".squeeze"))
            self.batchless.add(name)
            return _Tensor(name, False)
        return t

    def _as_tensor(self, v):
        if isinstance(v, _Attr):
            return self.param_node(v)
        if not isinstance(v, _Tensor):
            raise _Unsupported("not a tensor")
        return v

    def python_op(self, node, t, fname, args, kwargs):
        """Arithmetic on shape values (ints, symbols, the batch); anything else is refused."""
        if t is operator.getitem:
            seq, idx = args
            if isinstance(seq, _Parts):
                return self.part(node, seq, idx)
            if isinstance(seq, (tuple, list)):
                return seq[idx]
            raise _Unsupported(f"getitem on {type(seq).__name__}")
        binops = {operator.add: operator.add, operator.sub: operator.sub, operator.mul: operator.mul,
                  operator.floordiv: None, operator.truediv: None, operator.mod: None}
        if t in binops and len(args) == 2:
            a, b = args
            if any(isinstance(v, _Batch) for v in (a, b)):
                raise _Unsupported("arithmetic on the batch size")
            if t is operator.floordiv:
                return dims.floordiv(a, b)
            if t is operator.truediv:
                q = dims.exact_div(a, b)
                return q
            if t is operator.mod:
                if dims.is_concrete(a) and dims.is_concrete(b):
                    return a % b
                raise _Unsupported("a symbolic remainder")
            return dims.normalize(binops[t](a, b))
        if fname in ("eq", "ne", "lt", "le", "gt", "ge", "not_", "is_", "is_not", "and_", "or_", "truth",
                     "contains") or fname.startswith("_assert") or t is isinstance:
            return _Opaque(fname)
        if fname in ("int", "float", "sym_int", "sym_float"):
            return args[0]
        if fname in ("ceil", "floor", "sqrt") and dims.is_concrete(args[0]):
            import math

            return getattr(math, fname)(args[0])
        if node.op == "call_function" and _all_concrete((args, kwargs)) \
                and not (getattr(t, "__module__", None) or "torch").startswith("torch"):
            return _evaluate_helper(fname, t, args, kwargs)  # the model's own helper; torch's factories are not
        raise _Unsupported(f"{fname} on non-tensor values")

    def part(self, node, parts: _Parts, idx):
        if not isinstance(idx, int) or not -len(parts.bounds) <= idx < len(parts.bounds):
            raise _Unsupported(f"index {idx!r} of a split")
        start, stop = parts.bounds[idx]
        src = parts.src
        full = self.shapes[src.name][parts.axis]
        base = self.unique(f"{parts.scope}.{re.sub(r'_[0-9]+$', '', node.name)}" if parts.scope else
                           re.sub(r"_[0-9]+$", "", node.name))
        if parts.squeeze:
            return _Tensor(self.add(L.Select(parts.axis, start), [src.name], base))
        if start == 0 and dims.same(stop, full):
            return src
        if not (isinstance(start, int) and isinstance(stop, int)):
            raise _Unsupported("a split at a symbolic position")
        return _Tensor(self.add(L.Slice(start, stop, parts.axis), [src.name], base))

    def map_function(self, node, t, fname, args, kwargs, tensors):
        import torch

        def arg(i, name, default=None):
            if len(args) > i:
                return args[i]
            return kwargs.get(name, default)

        x = args[0] if args else None
        xt = self._as_tensor(x) if isinstance(x, (_Tensor, _Attr)) else None
        # elementwise binary ops (with broadcasting) and scalar ops
        binary = {"add": L.Add, "sub": L.Sub, "mul": L.Mul, "div": L.Div, "truediv": L.Div,
                  "iadd": L.Add, "isub": L.Sub, "imul": L.Mul, "itruediv": L.Div,
                  "add_": L.Add, "sub_": L.Sub, "mul_": L.Mul, "div_": L.Div}
        key = fname.strip("_") if fname.startswith("__") else fname
        if key in binary and t not in (torch.Tensor.__getitem__,):
            if len(args) != 2 or (set(kwargs) - {"alpha", "rounding_mode"}) or kwargs.get("alpha", 1) != 1 \
                    or kwargs.get("rounding_mode") is not None:
                raise _Unsupported(f"{fname} with extra arguments")
            a, b = args
            ta, tb = [v if isinstance(v, (_Tensor, _Attr)) else None for v in (a, b)]
            cls = binary[key]
            if ta is not None and tb is not None:
                na, nb = self._as_tensor(ta), self._as_tensor(tb)
                ins = [self.align(na, nb).name, self.align(nb, na).name]
                if cls is L.Add:
                    return L.Add(inplace=fname.startswith("__i") or fname.endswith("_")), ins
                return cls(), ins
            tensor = self._as_tensor(ta or tb)
            scalar = b if ta is not None else a
            if not isinstance(scalar, (int, float)) or isinstance(scalar, bool):
                raise _Unsupported(f"{fname} with a {type(scalar).__name__} operand")
            if cls is L.Mul:
                return L.Scale(float(scalar)), [tensor.name]  # out * 0.17 (Inception-ResNet)
            return L.Pointwise(f"{cls.__name__.lower()}_scalar"), [tensor.name]
        if fname in ("rsub", "__rsub__", "__radd__", "__rmul__", "__rtruediv__", "neg", "__neg__", "pow", "__pow__",
                     "sqrt", "rsqrt", "exp", "log", "abs", "clamp", "clamp_", "clip", "erf", "reciprocal",
                     "square", "sign", "floor", "ceil", "round", "__invert__", "neg_", "exp_", "clamp_min",
                     "clamp_max", "sin", "cos"):
            if len(tensors) != 1 or not isinstance(x, (_Tensor, _Attr)):
                raise _Unsupported(f"{fname} of several tensors")
            op = fname.strip("_")
            if op not in L.POINTWISE_OPS:
                raise _Unsupported("")
            return L.Pointwise(op), [self._as_tensor(x).name]
        if fname in ACT_FUNCS:
            fn = fname.rstrip("_")
            inplace = fname.endswith("_") or bool(kwargs.get("inplace", False))
            if fn == "hardtanh":
                lo, hi = arg(1, "min_val", -1.0), arg(2, "max_val", 1.0)
                if (lo, hi) != (0.0, 6.0):
                    raise _Unsupported(f"hardtanh({lo}, {hi})")
                fn = "relu6"
            if fn == "gelu" and kwargs.get("approximate", "none") not in ("none", "tanh"):
                raise _Unsupported("gelu approximate")
            if fn in ("relu", "relu6", "silu", "hardswish", "hardsigmoid", "mish", "elu") and len(args) > 1 \
                    and isinstance(args[1], bool):
                inplace = inplace or args[1]
            return L.Activation(fn, inplace), [xt.name]
        if fname in ("softmax", "log_softmax", "_softmax"):
            if fname == "log_softmax":
                raise _Unsupported("log_softmax")
            dim = arg(1, "dim")
            if dim is None:
                raise _Unsupported("softmax without dim")
            # how it was called matters to counters that patch F.softmax only (ptflops)
            call = "method" if node.op == "call_method" else (
                "functional" if getattr(t, "__module__", "") == "torch.nn.functional" else "torch")
            return L.Softmax(self.axis(xt, dim), call), [xt.name]
        if fname in ("mean", "sum", "amax", "max") and xt is not None:
            dim = arg(1, "dim")
            keep = bool(arg(2, "keepdim", False))
            if fname == "max":
                if dim is None or not isinstance(dim, int):
                    raise _Unsupported("max without a dim (or of two tensors)")
                src = _Tensor(self.add(L.Amax((self.axis(xt, dim),), keep), [xt.name],
                                       self.unique(self.fn_name(node))))
                return _Pair(src)
            if dim is None:
                if xt.batched:
                    raise _Unsupported(f"{fname} over every axis (batch included)")
                axes = None
            else:
                axes = tuple(self.axis(xt, d) for d in (dim if isinstance(dim, (list, tuple)) else (dim,)))
            if kwargs.get("dtype") is not None:
                raise _Unsupported(f"{fname}(dtype=...)")
            cls = {"mean": L.Mean, "sum": L.Sum, "amax": L.Amax}[fname]
            return cls(axes, keep), [xt.name]
        if fname == "permute":
            order = args[1:] if len(args) > 2 or isinstance(arg(1, "dims"), int) else arg(1, "dims")
            order = list(order)
            if xt.batched:
                if order[0] != 0:
                    raise _Unsupported("permute moves the batch axis")
                order = [self.axis(xt, d if d >= 0 else d + len(order)) for d in order[1:]]
            return L.Permute(tuple(order)), [xt.name]
        if fname in ("transpose", "swapaxes", "swapdims"):
            a, b = arg(1, "dim0"), arg(2, "dim1")
            return L.Transpose(self.axis(xt, a), self.axis(xt, b)), [xt.name]
        if fname == "t":
            return L.Transpose(-2, -1), [xt.name]
        if fname in ("reshape", "view"):
            target = args[1:] if len(args) > 2 or not isinstance(arg(1, "shape"), (tuple, list)) else arg(1, "shape")
            if len(args) == 2 and isinstance(args[1], (tuple, list)):
                target = args[1]
            self.batched_by_reshape = False
            layer = self.reshape(xt, list(target))
            if xt.batched and xt.name in self.param_derived and target and not isinstance(target[0], _Batch):
                try:
                    rule_for(layer)(layer, [self.shapes[xt.name]])
                except (ArchcalcError, TypeError, ValueError, ZeroDivisionError):
                    # its leading 1 is no batch: Swin V2's coordinate table (1, 2h-1, 2w-1, 2) through
                    # the position-bias MLP, then .view(-1, heads): read the whole tensor
                    self.batched_by_reshape = False
                    layer = self.reshape(_Tensor(xt.name, False), list(target))
                    return layer, [xt.name], self.batched_by_reshape
            return layer, [xt.name], xt.batched or self.batched_by_reshape
        if fname == "flatten" and xt is not None:
            return self.flatten_layer(xt, arg(1, "start_dim", 0), arg(2, "end_dim", -1)), [xt.name]
        if fname in ("unflatten",):
            dim, sizes = arg(1, "dim"), arg(2, "sizes")
            shape = list(self.shapes[xt.name])
            a = self.axis(xt, dim)
            a = a + len(shape) if a < 0 else a
            return L.Reshape(tuple(shape[:a]) + tuple(sizes) + tuple(shape[a + 1:])), [xt.name]
        if fname in ("unsqueeze", "unsqueeze_"):
            d = arg(1, "dim")
            return L.Unsqueeze(self.axis(xt, d) if d >= 0 else d), [xt.name]
        if fname in ("squeeze", "squeeze_"):
            d = arg(1, "dim")
            if d is None:
                return L.Squeeze(None), [xt.name]
            ds = d if isinstance(d, (list, tuple)) else (d,)
            return L.Squeeze(tuple(self.axis(xt, v) for v in ds)), [xt.name]
        if fname in ("expand", "expand_as", "broadcast_to"):
            if fname == "expand_as":
                other = self._as_tensor(args[1])
                return L.Expand(()), [xt.name, other.name]
            else:
                target = list(args[1:]) if len(args) > 2 or isinstance(args[1], int) or isinstance(args[1], _Batch) \
                    else list(args[1])
            # a batch-free tensor broadcast over the batch (cls_token.expand(B, -1, -1)): per sample from here
            to_batch = bool(target) and isinstance(target[0], _Batch)
            over_batch = to_batch and xt.name in self.param_derived
            if xt.batched or (target and isinstance(target[0], _Batch)):
                if not target or not (isinstance(target[0], _Batch) or target[0] == -1 or target[0] == 1 and False):
                    if not (target and (isinstance(target[0], _Batch) or target[0] == -1)):
                        raise _Unsupported("expand without the batch axis first")
                target = target[1:]
            if any(isinstance(d, _Batch) for d in target):
                raise _Unsupported("expand with the batch size in a per-sample axis")
            return L.Expand(tuple(target), over_batch), [xt.name], xt.batched or to_batch
        if fname in ("contiguous", "clone", "detach", "to", "type_as", "float", "requires_grad_"):
            if fname == "to" and any(isinstance(a, (_Tensor,)) for a in args[1:]):
                pass
            return L.Identity(), [xt.name]
        if fname in ("dropout", "dropout2d", "dropout1d", "dropout3d", "alpha_dropout", "feature_alpha_dropout"):
            return L.Dropout(arg(1, "p", 0.5)), [xt.name]
        if fname == "stochastic_depth":
            if arg(3, "training", True) is not False:
                raise _Unsupported("stochastic_depth in training mode (random)")
            return L.Dropout(arg(1, "p", 0.0)), [xt.name]
        if fname in ("cat", "concat", "concatenate", "stack"):
            seq = arg(0, "tensors")
            dim = arg(1, "dim", 0)
            ts = [self._as_tensor(s) for s in seq]
            if fname == "stack":
                ax = self.axis(ts[0], dim) if dim >= 0 else dim
                names = [self.add(L.Unsqueeze(ax), [s.name], self.unique(self.fn_name(node) + ".unsqueeze"))
                         for s in ts]
                return L.Concat(ax if ax >= 0 else ax), names
            return L.Concat(self.axis(ts[0], dim)), [s.name for s in ts]
        if fname in ("split", "chunk", "unbind", "tensor_split", "split_with_sizes"):
            return self.split(node, fname, xt, args, kwargs)
        if t is operator.getitem:
            return self.getitem(node, xt, args[1])
        if fname in ("matmul", "bmm", "mm") or t is operator.matmul or fname == "__matmul__":
            a, b = (self._as_tensor(v) for v in args[:2])
            if not (a.batched and b.batched) and fname != "bmm" and min(len(self.shapes[a.name]),
                                                                      len(self.shapes[b.name])) < 2:
                raise _Unsupported("matmul of a vector with a parameter operand")
            mode = "@" if t is operator.matmul or fname == "__matmul__" else ("bmm" if fname == "bmm" else "matmul")
            return L.MatMul(mode), [a.name, b.name]
        if fname == "einsum":
            eq = args[0]
            ops = args[1:] if not (len(args) == 2 and isinstance(args[1], (list, tuple))) else args[1]
            ts = [self._as_tensor(o) for o in ops]
            return L.Einsum(self.strip_batch_letter(eq, ts)), [v.name for v in ts]
        if fname == "scaled_dot_product_attention":
            q, k, v = (self._as_tensor(a) for a in args[:3])
            if arg(3, "attn_mask") is not None or arg(4, "dropout_p", 0.0) not in (0, 0.0) \
                    or kwargs.get("scale") is not None or kwargs.get("enable_gqa"):
                raise _Unsupported("scaled_dot_product_attention with a mask, dropout, scale or GQA")
            return L.ScaledDotProductAttention(bool(arg(5, "is_causal", False))), [q.name, k.name, v.name]
        if fname in ("interpolate", "upsample"):
            size, sf = arg(1, "size"), arg(2, "scale_factor")
            mode = arg(3, "mode", "nearest")
            layer = interpolate_layer(self.concrete_sizes(size), sf, mode, arg(4, "align_corners"),
                                      arg(5, "recompute_scale_factor"))
            if isinstance(layer, str):
                raise _Unsupported(layer)
            if isinstance(layer, tuple):
                return L.AdaptiveAvgPool2d(int_pair(layer[1])), [xt.name]
            return layer, [xt.name]
        if fname in ("adaptive_avg_pool1d", "adaptive_avg_pool2d", "adaptive_avg_pool3d", "adaptive_max_pool1d",
                     "adaptive_max_pool2d", "adaptive_max_pool3d"):
            size = arg(1, "output_size")
            if isinstance(size, (tuple, list)) and None in size or size is None:
                raise _Unsupported(f"{fname} with output_size None")
            if arg(2, "return_indices", False):
                raise _Unsupported(f"{fname} with return_indices")
            cls = "".join(p.capitalize() for p in fname.split("_"))  # adaptive_avg_pool2d -> AdaptiveAvgPool2d
            return getattr(L, cls)(int_pair(size)), [xt.name]
        if fname in ("max_pool1d", "max_pool2d", "max_pool3d", "avg_pool1d", "avg_pool2d", "avg_pool3d"):
            n = fname[-2]
            k = arg(1, "kernel_size")
            s = arg(2, "stride", None) or k
            p = arg(3, "padding", 0)
            if fname.startswith("max"):
                if arg(6, "return_indices", False):
                    raise _Unsupported("max_pool with return_indices")
                return getattr(L, f"MaxPool{n}d")(int_pair(k), int_pair(s), int_pair(p),
                                                  int_pair(arg(4, "dilation", 1)), bool(arg(5, "ceil_mode", False))), \
                    [xt.name]
            if arg(6, "divisor_override") is not None:
                raise _Unsupported("avg_pool with divisor_override")
            return getattr(L, f"AvgPool{n}d")(int_pair(k), int_pair(s), int_pair(p), bool(arg(4, "ceil_mode", False)),
                                              bool(arg(5, "count_include_pad", True))), [xt.name]
        if fname == "pad":
            pad, mode = tuple(arg(1, "pad")), arg(2, "mode", "constant")
            value = arg(3, "value", None)
            rank = len(self.shapes[xt.name])
            if all(isinstance(v, int) and v == 0 for v in pad) and 2 * rank >= len(pad):
                return L.Identity(), [xt.name]  # nothing to pad (Swin3d's pad to whole patches when none is needed)
            if mode == "constant" and (len(pad) != 4 or rank != 3 or min(pad) < 0 or value):
                # any axes, a fill value, negative amounts (a crop): the general constant pad
                if len(pad) // 2 > rank:
                    raise _Unsupported(f"pad {pad} reaches the batch axis")
                return L.ConstantPad(pad, float(value or 0.0)), [xt.name]
            if len(pad) != 4 or rank != 3:
                raise _Unsupported(f"pad {pad} on a rank-{rank} sample (archcalc pads (C, H, W) on H and W)")
            if mode == "constant" and not value:
                return L.ZeroPad2d(pad), [xt.name]
            if mode == "reflect":
                return L.ReflectionPad2d(pad), [xt.name]
            if mode == "replicate":
                return L.ReplicationPad2d(pad), [xt.name]
            raise _Unsupported(f"pad mode {mode!r} value {value!r}")
        if fname == "linear":
            w, bias = arg(1, "weight"), arg(2, "bias")
            if not isinstance(w, _Attr) or not (bias is None or isinstance(bias, _Attr)):
                raise _Unsupported("F.linear with computed weights")
            layer = L.Linear(int(w.tensor.shape[0]), bias is not None)
            return self.weighted(node, layer, [w, bias], xt)
        if fname in ("conv1d", "conv2d", "conv3d"):
            w, bias = arg(1, "weight"), arg(2, "bias")
            if not isinstance(w, _Attr) or not (bias is None or isinstance(bias, _Attr)):
                raise _Unsupported(f"F.{fname} with computed weights")
            pad = arg(4, "padding", 0)
            cls = {"conv1d": L.Conv1d, "conv2d": L.Conv2d, "conv3d": L.Conv3d}[fname]
            layer = cls(int(w.tensor.shape[0]), int_pair(tuple(int(d) for d in w.tensor.shape[2:])),
                        int_pair(arg(3, "stride", 1)), pad if isinstance(pad, str) else int_pair(pad),
                        int_pair(arg(5, "dilation", 1)), arg(6, "groups", 1), bias is not None)
            return self.weighted(node, layer, [w, bias], xt)
        if fname == "layer_norm":
            ns, w, bias = arg(1, "normalized_shape"), arg(2, "weight"), arg(3, "bias")
            if not all(v is None or isinstance(v, _Attr) for v in (w, bias)):
                raise _Unsupported("F.layer_norm with computed weights")
            layer = L.LayerNorm(tuple(ns), arg(4, "eps", 1e-5), w is not None, bias is not None)
            if w is None and bias is not None:
                raise _Unsupported("layer_norm with a bias but no weight")
            return self.weighted(node, layer, [w, bias], xt)
        if fname == "rms_norm":
            ns, w = arg(1, "normalized_shape"), arg(2, "weight")
            if not (w is None or isinstance(w, _Attr)):
                raise _Unsupported("F.rms_norm with computed weights")
            ns = tuple(ns) if isinstance(ns, (list, tuple)) else (ns,)
            return self.weighted(node, L.RMSNorm(ns, arg(3, "eps"), w is not None), [w], xt)
        if fname == "group_norm":
            w, bias = arg(2, "weight"), arg(3, "bias")
            if (w is None) != (bias is None) or not all(v is None or isinstance(v, _Attr) for v in (w, bias)):
                raise _Unsupported("F.group_norm with one affine tensor or computed weights")
            return self.weighted(node, L.GroupNorm(arg(1, "num_groups"), arg(4, "eps", 1e-5), w is not None),
                                 [w, bias], xt)
        if fname == "batch_norm":
            rm, rv, w, bias = arg(1, "running_mean"), arg(2, "running_var"), arg(3, "weight"), arg(4, "bias")
            training = arg(5, "training", False)
            if (w is None) != (bias is None) or not all(v is None or isinstance(v, _Attr) for v in (w, bias, rm, rv)):
                raise _Unsupported("F.batch_norm with one affine tensor or computed statistics")
            rank = len(self.shapes[xt.name])
            name = {1: "BatchNorm1d", 2: "BatchNorm1d", 3: "BatchNorm2d", 4: "BatchNorm3d"}.get(rank)
            if name is None:
                raise _Unsupported(f"batch_norm on a rank-{rank} sample")
            eps = arg(7, "eps", 1e-5)
            layer = batch_norm_layer(name, eps if isinstance(eps, float) else 1e-5, arg(6, "momentum", 0.1),
                                     w is not None, rm is not None, bool(training) or rm is None)
            for buf in (rm, rv, self.bn_counter(rm.tensor) if rm is not None else None):
                if buf is not None:
                    self.param_owner.setdefault(id(getattr(buf, "tensor", buf)), "(buffer)")
            return self.weighted(node, layer, [w, bias], xt)
        if fname == "channel_shuffle" or fname == "native_channel_shuffle":
            return L.ChannelShuffle(arg(1, "groups")), [xt.name]
        spec = self.map_ops14(node, t, fname, arg, args, kwargs, xt)
        if spec is not None:
            return spec
        spec = self.map_sampling(node, fname, arg, xt)
        if spec is not None:
            return spec
        raise _Unsupported("")

    def map_sampling(self, node, fname, arg, xt):
        """F.grid_sample and F.instance_norm (RAFT's ops, issue 14). A spec, or None."""
        if fname == "grid_sample" and xt is not None:
            grid = self._as_tensor(arg(1, "grid"))
            if not (xt.batched and grid.batched) or len(self.shapes[xt.name]) != 3:
                raise _Unsupported("grid_sample of a map and a grid that are not (N, C, H, W) and (N, Hg, Wg, 2)")
            mode, padding = arg(2, "mode", "bilinear"), arg(3, "padding_mode", "zeros")
            if not isinstance(mode, str) or not isinstance(padding, str):
                raise _Unsupported(f"grid_sample mode {mode!r} padding_mode {padding!r}")
            # align_corners=None is torch's False (with a warning)
            return L.GridSample(mode, padding, bool(arg(4, "align_corners", False))), [xt.name, grid.name]
        if fname == "instance_norm" and xt is not None:
            rm, rv, w, bias = arg(1, "running_mean"), arg(2, "running_var"), arg(3, "weight"), arg(4, "bias")
            if rm is not None or rv is not None or arg(5, "use_input_stats", True) is not True:
                raise _Unsupported("F.instance_norm with running statistics")
            if (w is None) != (bias is None) or not all(v is None or isinstance(v, _Attr) for v in (w, bias)):
                raise _Unsupported("F.instance_norm with one affine tensor or computed weights")
            if len(self.shapes[xt.name]) != 3:
                raise _Unsupported("instance_norm of a sample that is not (C, H, W)")
            eps = arg(7, "eps", 1e-5)
            return self.weighted(node, L.InstanceNorm2d(eps if isinstance(eps, float) else 1e-5, w is not None),
                                 [w, bias], xt)
        return None

    def map_ops14(self, node, t, fname, arg, args, kwargs, xt):
        """Issue 14's ops: Tensor.unfold, F.unfold, F.fold, repeat/tile, repeat_interleave, norms,
        F.normalize and addcmul. A spec, or None (not one of them)."""
        if fname == "unfold" and xt is not None:
            if node.op == "call_method":  # Tensor.unfold(dim, size, step): windows along one axis
                return L.UnfoldAxis(self.axis(xt, arg(1, "dimension")), arg(2, "size"), arg(3, "step")), [xt.name]
            if not xt.batched or len(self.shapes[xt.name]) != 3:
                raise _Unsupported("F.unfold of a map that is not (N, C, H, W)")
            return L.Unfold(int_pair(arg(1, "kernel_size")), int_pair(arg(2, "dilation", 1)),
                            int_pair(arg(3, "padding", 0)), int_pair(arg(4, "stride", 1))), [xt.name]
        if fname == "fold" and xt is not None:
            if not xt.batched or len(self.shapes[xt.name]) != 2:
                raise _Unsupported("F.fold of columns that are not (N, C*kh*kw, L)")
            size = arg(1, "output_size")
            if any(isinstance(v, (_Batch, _Opaque)) for v in (size if isinstance(size, (tuple, list)) else [size])):
                raise _Unsupported(f"F.fold to {size!r}")
            return L.Fold(int_pair(size), int_pair(arg(2, "kernel_size")), int_pair(arg(3, "dilation", 1)),
                          int_pair(arg(4, "padding", 0)), int_pair(arg(5, "stride", 1))), [xt.name]
        if fname in ("repeat", "tile") and xt is not None and (node.op == "call_method" or fname == "tile"):
            if len(args) == 2 and isinstance(args[1], (tuple, list)):
                reps = list(args[1])  # x.repeat((2, 1)), torch.tile(x, (2, 1))
            elif len(args) >= 2:
                reps = list(args[1:])  # x.repeat(2, 1)
            else:
                reps = list(kwargs.get("dims", kwargs.get("repeats", ())))
            rank = len(self.shape_of(xt))
            if fname == "tile" and len(reps) < rank:
                reps = [1] * (rank - len(reps)) + reps  # torch.tile pads the counts with 1s on the left
            if any(isinstance(r, (_Batch, _Opaque)) for r in reps):
                raise _Unsupported(f"{fname} by the batch size")
            if not all(isinstance(r, int) or hasattr(r, "free_symbols") for r in reps):
                raise _Unsupported(f"{fname} {reps!r}")
            if xt.batched:
                if len(reps) != rank or reps[0] != 1:
                    raise _Unsupported(f"{fname} {reps} copies along the batch axis")
                reps = reps[1:]
            return L.Repeat(tuple(reps)), [xt.name]
        if fname == "repeat_interleave" and xt is not None:
            reps, dim = arg(1, "repeats"), arg(2, "dim")
            if not (isinstance(reps, int) or hasattr(reps, "free_symbols")) or dim is None:
                raise _Unsupported("repeat_interleave with a tensor of counts or without dim")
            return L.RepeatInterleave(reps, self.axis(xt, dim)), [xt.name]
        if fname in ("norm", "vector_norm", "linalg_vector_norm") and xt is not None:
            p = arg(1, "ord" if fname != "norm" else "p", 2)
            dim, keep = arg(2, "dim"), bool(arg(3, "keepdim", False))
            if p == "fro":
                p = 2  # the Frobenius norm of the given axes is their 2-norm
            if dim is None or p not in (1, 2) or kwargs.get("dtype") is not None:
                raise _Unsupported(f"{fname}(p={p!r}, dim={dim!r})")
            axes = tuple(self.axis(xt, d) for d in (dim if isinstance(dim, (list, tuple)) else (dim,)))
            return L.VectorNorm(axes, keep, float(p)), [xt.name]
        if fname == "normalize" and xt is not None:
            # F.normalize: x / max(||x||_p, eps) along dim, as torch computes it (linalg_vector_norm,
            # clamp_min, expand_as, div)
            p, dim = arg(1, "p", 2.0), arg(2, "dim", 1)
            if p not in (1, 2) or arg(4, "out") is not None:
                raise _Unsupported(f"normalize(p={p!r})")
            base = self.fn_name(node)
            norm = self.add(L.VectorNorm((self.axis(xt, dim),), True, float(p)), [xt.name],
                            self.unique(base + ".norm"))
            n = self.add(L.Pointwise("clamp_min"), [norm], self.unique(base + ".clamp_min"))
            if not xt.batched:
                self.batchless.update((norm, n))
            return L.Div(), [xt.name, n]
        if fname == "addcmul":
            # input + value * t1 * t2: torch's one kernel, archcalc's multiply then add
            ts = [self._as_tensor(v) for v in (arg(0, "input"), arg(1, "tensor1"), arg(2, "tensor2"))]
            value = kwargs.get("value", 1)
            if not isinstance(value, (int, float)) or isinstance(value, bool):
                raise _Unsupported(f"addcmul with value {value!r}")
            base = self.fn_name(node)
            nodes = [self.add(L.Mul(), [ts[1].name, ts[2].name], self.unique(base + ".mul"))]
            if value != 1:
                nodes.append(self.add(L.Scale(float(value)), [nodes[-1]], self.unique(base + ".scale")))
            if not (ts[1].batched or ts[2].batched):
                self.batchless.update(nodes)
            return L.Add(), [ts[0].name, nodes[-1]]
        return None

    def weighted(self, node, layer, tensors, xt):
        """A functional weight op (F.linear, F.conv2d, F.layer_norm...) on parameters read by
        ``get_attr``: the layer's rule counts the params, once; a later use is Shared."""
        import torch

        lname = self.unique(self.fn_name(node, layer))
        if any(p is not None and not isinstance(p.tensor, torch.nn.Parameter) for p in tensors):
            # a fixed kernel held as a buffer (timm's BlurPool2d filter): work, but no parameters
            for p in tensors:
                if p is not None and isinstance(p.tensor, torch.nn.Parameter) and id(p.tensor) not in self.param_owner:
                    self.param_node(p)
            # the buffer is a Parameter node of role buffer (counted once however many ops read it): it
            # owns the weights the layer's work reads
            fixed = [self.param_node(p).name for p in tensors if p is not None
                     and not isinstance(p.tensor, torch.nn.Parameter)]
            return _Named(L.Shared(layer, owner=fixed[0]), lname), [xt.name]
        present = [p for p in tensors if p is not None]
        owners = {self.param_owner.get(id(p.tensor)) for p in present}
        if present and None not in owners:
            return _Named(L.Shared(layer, owner=sorted(owners)[0]), lname), [xt.name]
        if present and owners != {None}:
            for p in present:
                if id(p.tensor) not in self.param_owner:
                    self.param_node(p)
            return _Named(L.Shared(layer, owner=self.tensor_owner([p.tensor for p in present])), lname), [xt.name]
        for p in present:
            self.param_owner[id(p.tensor)] = lname
        return _Named(layer, lname), [xt.name]

    def reshape(self, xt, target):
        if not xt.batched and len(target) >= 2 and target[0] == 1:
            target = target[1:]  # a parameter reshaped to (1, C, 1, 1): its leading 1 broadcasts over the batch
            self.batched_by_reshape = True
        elif xt.batched:
            first = target[0]
            if not (isinstance(first, _Batch) or first == -1):
                raise _Unsupported(f"reshape to {target!r} does not keep the batch axis first")
            target = target[1:]
        if any(isinstance(d, (_Batch, _Opaque)) for d in target):
            raise _Unsupported(f"reshape to {target!r} mixes the batch into a per-sample axis")
        if not all(isinstance(d, int) or hasattr(d, "free_symbols") for d in target):
            raise _Unsupported(f"reshape to {target!r}")
        return L.Reshape(tuple(target))

    def concrete_sizes(self, size):
        if size is None:
            return None
        vals = list(size) if isinstance(size, (list, tuple)) else [size]
        if any(isinstance(v, (_Batch, _Opaque)) for v in vals):
            raise _Unsupported(f"interpolate size {size!r}")
        return tuple(vals) if isinstance(size, (list, tuple)) else size

    def strip_batch_letter(self, eq, ts):
        eq = eq.replace(" ", "")
        if "->" not in eq or "..." in eq:
            raise _Unsupported(f"einsum {eq!r} (implicit output or ellipsis)")
        lhs, out = eq.split("->")
        terms = lhs.split(",")
        firsts = {t[:1] for t in terms} | {out[:1]}
        if len(firsts) != 1 or not all(v.batched for v in ts):
            raise _Unsupported(f"einsum {eq!r}: every operand and the output must start with the batch letter")
        return ",".join(t[1:] for t in terms) + "->" + out[1:]

    def split(self, node, fname, xt, args, kwargs):
        def arg(i, name, default=None):
            return args[i] if len(args) > i else kwargs.get(name, default)

        dim = arg(2, "dim", 0) if fname != "unbind" else arg(1, "dim", 0)
        axis = self.axis(xt, dim)
        shape = self.shapes[xt.name]
        axis = axis + len(shape) if axis < 0 else axis
        size = shape[axis]
        scope = _scope(node)
        if fname == "unbind":
            if not dims.is_concrete(size):
                raise _Unsupported("unbind along a symbolic axis")
            return _Parts(xt, axis, [(i, i + 1) for i in range(size)], True, scope)
        if not dims.is_concrete(size):
            raise _Unsupported(f"{fname} along a symbolic axis")
        if fname == "chunk":
            n = arg(1, "chunks")
            step = -(-size // n)
            bounds = [(s, min(s + step, size)) for s in range(0, size, step)]
        else:
            sizes = arg(1, "split_size_or_sections") if fname == "split" else arg(1, "split_sizes")
            if fname == "tensor_split":
                raise _Unsupported("tensor_split")
            if isinstance(sizes, int):
                bounds = [(s, min(s + sizes, size)) for s in range(0, size, sizes)]
            else:
                bounds, s = [], 0
                for n in sizes:
                    bounds.append((s, s + n))
                    s += n
        return _Parts(xt, axis, bounds, False, scope)

    def getitem(self, node, xt, index):
        """``x[...]``: slices with step 1 on one axis (Slice), an int index (Select), None (Unsqueeze)."""
        idx = index if isinstance(index, tuple) else (index,)
        if not xt.batched:  # a batch-free tensor (a bias table): every index reads a real axis
            idx = (slice(None),) + idx
        if any(i is Ellipsis for i in idx):
            e = idx.index(Ellipsis)
            rank = len(self.shapes[xt.name]) + 1
            fill = rank - (len(idx) - 1 - sum(1 for i in idx if i is None))
            idx = idx[:e] + (slice(None),) * fill + idx[e + 1:]
        if not idx or idx[0] != slice(None):
            raise _Unsupported(f"indexing {index!r} touches the batch axis")
        ops = []
        axis = 0
        for i in idx[1:]:
            if isinstance(i, slice):
                if i != slice(None):
                    if i.step not in (None, 1) or not all(v is None or isinstance(v, int) for v in (i.start, i.stop)):
                        raise _Unsupported(f"slice {i!r}")
                    ops.append(("slice", axis, i.start, i.stop))
                axis += 1
            elif i is None:
                ops.append(("unsqueeze", axis))
                axis += 1
            elif isinstance(i, int):
                ops.append(("select", axis, i))
            elif isinstance(i, (_Tensor, _Attr)) and not any(o[0] == "index" for o in ops):
                # table[idx] / table[:, idx] with one integer index tensor that is not per sample
                # (a relative-position index buffer): a gather (Index)
                it = self._as_tensor(i)
                if it.batched or it.name not in self.batchless:
                    raise _Unsupported(f"index by {i!r}, a tensor with a batch axis")
                ops.append(("index", axis, it.name))
                axis += len(self.shapes[it.name])
            else:
                raise _Unsupported(f"index {i!r}")
        if not ops:
            return L.Identity(), [xt.name]
        name = xt.name
        base = self.fn_name(node)
        for k, op in enumerate(ops):
            shape = self.shapes[name]
            if op[0] == "slice":
                _, ax, start, stop = op
                size = shape[ax]
                start = start or 0
                if start < 0 or (stop is not None and stop < 0):
                    if not dims.is_concrete(size):
                        raise _Unsupported("a negative slice on a symbolic axis")
                    start = start + size if start < 0 else start
                    stop = stop + size if (stop is not None and stop < 0) else stop
                if stop is not None and dims.is_concrete(size) and stop >= size:
                    stop = None
                layer = L.Slice(start, stop, ax)
            elif op[0] == "select":
                layer = L.Select(op[1], op[2])
            elif op[0] == "index":
                layer = L.Index(op[1])
            else:
                layer = L.Unsqueeze(op[1])
            ins = [name, op[2]] if op[0] == "index" else [name]
            last = k == len(ops) - 1
            if last:
                return layer, ins
            name = self.add(layer, ins, self.unique(base))
        raise AssertionError("unreachable")


class _Unsupported(Exception):
    pass


#: module classes that take a fixed rank with a leading batch axis (torch's (N, C, *spatial))
_FIXED_RANK = re.compile(r"(Conv|ConvTranspose|BatchNorm|InstanceNorm|MaxPool|AvgPool|AdaptiveAvgPool|"
                         r"AdaptiveMaxPool|LPPool|FractionalMaxPool)[123]d")

#: functions that create a tensor from sizes alone (fx: call_function with no tensor argument)
_FACTORIES = ("arange", "zeros", "ones", "empty", "full", "linspace", "eye")


def _all_concrete(v) -> bool:
    """Plain Python values only (ints, floats, strings, None, containers of them): no batch size,
    no symbolic size, no tensor, no opaque value."""
    if isinstance(v, (list, tuple)):
        return all(_all_concrete(x) for x in v)
    if isinstance(v, dict):
        return all(_all_concrete(x) for x in v.values())
    return v is None or isinstance(v, (bool, int, float, str)) and not hasattr(v, "free_symbols")


def _evaluate_helper(fname, t, args, kwargs):
    """An fx-wrapped helper of the model's own code called on concrete shape values only
    (torchvision's ``_compute_pad_size_3d((T, H, W), patch)``): calling it is what forward does.
    Its result must be plain values too (it is shape arithmetic, not a tensor op)."""
    def plain(v):  # fx hands lists over as immutable_list: the helper gets fresh plain containers
        if isinstance(v, list):
            return [plain(x) for x in v]
        if isinstance(v, tuple):
            return tuple(plain(x) for x in v)
        if isinstance(v, dict):
            return {k: plain(x) for k, x in v.items()}
        return v

    try:
        out = t(*plain(list(args)), **plain(dict(kwargs)))
    except Exception as e:
        raise _Unsupported(f"{fname} on non-tensor values raised {type(e).__name__}: {e}") from None
    if not _all_concrete(out):
        raise _Unsupported(f"{fname} on non-tensor values returned a {type(out).__name__}")
    return out


class _Dead:
    """The result of an unsupported op (the walk goes on to name every one)."""

    def __init__(self, what):
        self.what = what


class _Opaque:
    """A non-tensor, non-size value (dtype, a comparison): fine unless a layer needs it."""

    def __init__(self, what):
        self.what = what


class _Named:
    """A layer with the name it must have (functional weight ops take their module's name)."""

    def __init__(self, layer, name):
        self.layer, self.name = layer, name


class _Pair:
    """A (tensor, other) result: ``x.max(dim)`` (values, indices) or attention (output, weights);
    only the first item is supported."""

    def __init__(self, first):
        self.first = first


# --- the public functions ------------------------------------------------------------------


def _shapes_arg(input_shape):
    """One per-sample shape, or a list of them (one per tensor input of forward)."""
    if isinstance(input_shape, str):
        return [dims.parse_shape(input_shape)]
    seq = list(input_shape)
    if seq and all(isinstance(s, (tuple, list, str)) for s in seq):
        return [dims.parse_shape(s) if isinstance(s, str) else tuple(dims.coerce_dim(d) for d in s) for s in seq]
    return [tuple(dims.coerce_dim(d) for d in seq)]


def _wrap_leaf(module):
    """A bare leaf module (``nn.Conv2d(3, 8, 3)``) as the root: fx would emit one call_module node
    named '' — wrap it so its layer is named after its class."""
    import torch.nn as nn

    class Root(nn.Module):
        def __init__(self, inner):
            super().__init__()
            setattr(self, type(inner).__name__.lower(), inner)
            self._inner_name = type(inner).__name__.lower()

        def forward(self, *xs):
            return getattr(self, self._inner_name)(*xs)

    return Root(module)


def _is_leaf(module) -> bool:
    import torch.fx as fx

    return fx.Tracer().is_leaf_module(module, "") and not list(module.children())


def _unreached(module, accounted: set, read: set = frozenset()) -> list:
    """(path, trainable, frozen, buffers) for the largest modules none of whose parameters the
    traced forward reached (with those of their buffers forward reads nowhere else), then for
    loose parameters of partly reached modules, then for buffers forward never reads (registered
    but unused: each on its own line, so the buffers reconcile). Each tensor is on one line."""
    out, covered = [], set()
    mods = list(module.named_modules())
    for path, mod in mods:
        if not path or any(path.startswith(c + ".") for c in covered):
            continue
        ps = list(mod.parameters())
        if ps and not any(id(p) in accounted for p in ps):
            covered.add(path)
            accounted.update(id(p) for p in ps)
            bs = [b for b in mod.buffers() if id(b) not in accounted and id(b) not in read]
            accounted.update(id(b) for b in bs)
            out.append((path, sum(p.numel() for p in ps if p.requires_grad),
                        sum(p.numel() for p in ps if not p.requires_grad), sum(b.numel() for b in bs)))
    for path, mod in mods:
        for n, p in mod.named_parameters(recurse=False):
            if id(p) not in accounted:
                accounted.add(id(p))
                full = f"{path}.{n}" if path else n
                out.append((full, p.numel() if p.requires_grad else 0, 0 if p.requires_grad else p.numel(), 0))
    for full, b in module.named_buffers():  # unique tensors, first path
        if id(b) not in accounted and id(b) not in read:
            accounted.add(id(b))
            out.append((full, 0, 0, b.numel()))
    return out


def _concrete_shapes(module, input_shapes, gm):
    """Torch shapes of every fx node, from one run on fake tensors (for allow_partial)."""
    import torch
    from torch._subclasses.fake_tensor import FakeTensorMode
    from torch.fx.passes.shape_prop import ShapeProp

    if not all(dims.is_concrete(d) for s in input_shapes for d in s):
        return None
    try:
        with FakeTensorMode(allow_non_fake_inputs=True) as mode:
            xs = [torch.empty((1, *s)) for s in input_shapes]
            ShapeProp(gm, fake_mode=mode).propagate(*xs)
    except Exception:
        return None
    out = {}
    for node in gm.graph.nodes:
        tm = node.meta.get("tensor_meta")
        if tm is not None and hasattr(tm, "shape"):
            out[node.name] = tuple(int(d) for d in tm.shape)
    return out


def import_fx(module, input_shapes, name, allow_partial=False):
    """(graph, unsupported) through torch.fx; raises _Untraceable when fx cannot trace."""
    n = len(input_shapes)
    gm = trace(module, n)
    concrete = _concrete_shapes(module, input_shapes, gm) if allow_partial else None
    imp = Importer(module, input_shapes, name, allow_partial, concrete)
    imp.defaults = _forward_defaults(module, n)
    outputs = imp.run(gm)
    return imp, outputs


def finish(module, imp, outputs, tracer: str):
    """Unreached parameters, the reconciliation check, and the graph."""
    accounted = set(imp.param_owner)
    for lname, bufs in imp.module_buffers.items():
        # a module layer whose rule counts exactly its module's buffers holds them; one whose rule
        # counts none (a Conv2d with a mask registered on it) leaves them to the lines below
        if dims.same(imp.layer_buffers.get(lname, 0), sum(b.numel() for b in bufs)):
            accounted.update(id(b) for b in bufs)
    for path, trainable, frozen, buffers in _unreached(module, accounted, imp.read):
        imp.add(L.Unreached(trainable, frozen, buffers, (path,)), ["input"], imp.unique(path))
    torch_params = sum(p.numel() for p in module.parameters())
    if not dims.same(imp.param_total, torch_params):
        raise ImportMismatchError(
            f"imported {type(module).__name__} has {dims.format_dim(imp.param_total)} params but "
            f"module.parameters() holds {torch_params}: a layer's rule disagrees with its module "
            f"(please report it; nothing was guessed)")
    graph = imp.b.build(outputs=outputs or None)
    graph.tracer = tracer
    # buffers reconcile too: one the graph lost (an index table read by indexing) is refused by name
    from ..analysis import analyze

    torch_buffers = sum(b.numel() for b in module.buffers())
    got = analyze(graph).totals["buffers"]
    if not dims.same(got, torch_buffers):
        lost = [n for n, b in module.named_buffers() if id(b) not in accounted]
        named = f" (read, held by no layer: {', '.join(lost[:4])}{', ...' if len(lost) > 4 else ''})" if lost else ""
        raise ImportMismatchError(
            f"imported {type(module).__name__} holds {dims.format_dim(got)} buffer elements but "
            f"module.buffers() holds {torch_buffers}{named}: a buffer read outside a recorded layer (an index "
            f"table, say) has no node, or a layer's rule counts buffers its module does not hold; nothing "
            f"was guessed")
    return graph


def from_torch(module, input_shape, name=None, allow_partial=False):
    """Import ``module`` as an archcalc Graph for a per-sample ``input_shape`` (``(3, 224, 224)``,
    symbolic ``(3, "H", "W")``, or a list of shapes for several tensor inputs). No weights are read.

    torch.fx first (no forward runs; symbolic sizes stay symbolic); when fx cannot trace the
    module, one run on fake tensors (:mod:`.dispatch_import`; concrete sizes only; ``graph.tracer``
    says which). torchvision detectors go straight to the fallback, one image per run, under the
    capacity convention of :mod:`.detect_import` (named in ``graph.tracer``). Raises
    ``UnsupportedLayerError`` naming every op archcalc has no rule for, unless
    ``allow_partial``: then those ops are ``Uncounted`` nodes, listed in the totals' ``uncounted``.
    Raises ``ImportMismatchError`` if the graph's params differ from ``module.parameters()``."""
    shapes = _shapes_arg(input_shape)
    label = name or type(module).__name__
    root = _wrap_leaf(module) if _is_leaf(module) else module
    imp, outputs, tracer, why = None, [], "torch.fx", ""
    from .detect_import import capacity_note, is_detector

    detector = capacity_note(root) if is_detector(root) else ""
    try:
        if detector:  # per-image Python loops and data-dependent filters: fx cannot, the fallback does
            raise _Untraceable(f"torch.fx cannot trace {type(module).__name__} (a torchvision detector)")
        imp, outputs = import_fx(root, shapes, label, allow_partial)
    except _Untraceable as e:
        why = str(e)
    except ArchcalcError as e:
        # an fx-level reading that does not fit (x.reshape(-1, ...) folding the batch into a
        # per-sample axis): the fallback sees real shapes and checks every layer against them
        if not all(dims.is_concrete(d) for s in shapes for d in s):
            raise
        why = str(e)
    if imp is None or imp.unsupported:
        # fx failed, or met ops it cannot see into (fx-wrapped helpers, shape-dependent code):
        # run the model once on fake tensors, which needs concrete sizes
        if all(dims.is_concrete(d) for s in shapes for d in s):
            from .dispatch_import import import_dispatch

            try:
                d_imp, d_out = import_dispatch(root, shapes, label, allow_partial)
            except UnsupportedLayerError as e:
                d_imp, why = None, f"{why}; {e}" if why else str(e)
            if d_imp is not None and (imp is None or len(d_imp.unsupported) < len(imp.unsupported)):
                imp, outputs, tracer = d_imp, d_out, "dispatch (fake tensors, concrete shapes)" + (
                    f"; one image; {detector}" if detector else "")
        if imp is None:
            raise UnsupportedLayerError(why + ("; the fallback tracer runs the model once and needs concrete sizes "
                                               "(integers, not names)" if "fallback" not in why else "")) from None
    if imp.unsupported and not allow_partial:
        raise UnsupportedLayerError(f"{len(imp.unsupported)} op(s) in {type(module).__name__} have no archcalc rule "
                                    f"(none is counted as 0): " + "; ".join(imp.unsupported))
    if imp.unsupported and getattr(imp, "shapes_lost", False):
        raise UnsupportedLayerError(f"{type(module).__name__}: shapes after an unsupported op are unknown "
                                    "(allow_partial needs concrete sizes): " + "; ".join(imp.unsupported))
    if imp.unsupported and tracer.startswith("dispatch"):
        # the fallback tracer keeps no Uncounted node for an op it cannot map: that op's work, and the
        # work of what reads its output, would be missing from the totals without a line saying so
        raise UnsupportedLayerError(f"{len(imp.unsupported)} op(s) in {type(module).__name__} have no archcalc rule "
                                    "and the fallback tracer cannot list them as uncounted (allow_partial works "
                                    "on torch.fx imports only): " + "; ".join(imp.unsupported))
    return finish(root, imp, outputs, tracer)


def unsupported_ops(module, input_shape=(3, 224, 224)) -> list:
    """Every op of ``module`` that archcalc cannot count, by name (empty when all are supported)."""
    shapes = _shapes_arg(input_shape)
    root = _wrap_leaf(module) if _is_leaf(module) else module
    try:
        imp, _ = import_fx(root, shapes, type(module).__name__)
    except _Untraceable:
        from .dispatch_import import import_dispatch

        imp, _ = import_dispatch(root, shapes, type(module).__name__, False)
    return imp.unsupported
