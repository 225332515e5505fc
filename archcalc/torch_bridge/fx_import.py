"""``from_torch``: turn an ``nn.Module`` into an archcalc Graph statically.

The module is traced with ``torch.fx.symbolic_trace``: no forward pass runs, no tensor is created,
so a model built on the meta device (``with torch.device("meta"):``) is imported without allocating
any weight. Each traced call maps to one archcalc layer spec (hyper-parameters read from the module
or the call's arguments); archcalc's rules then compute shapes, params, MACs, receptive field and
symbolic formulas exactly as for a zoo model.

An op with no archcalc counterpart is never counted as 0: :func:`from_torch` raises
``UnsupportedLayerError`` listing every such op by name, and :func:`unsupported_ops` returns them.

Layer names follow archcalc's zoo: a module call is named by its module path (``layer1.0.conv1``),
the k-th extra call of a reused module ``path_k`` (``layer1.0.relu_1``), and a function call by its
innermost module scope plus the op (``layer1.0.add``).
"""

from __future__ import annotations

import operator
import re

from ..errors import UnsupportedLayerError
from ..graph import Builder
from .. import layers as L

_ACT_MODULES = {
    "ReLU": "relu", "ReLU6": "relu6", "LeakyReLU": "leaky_relu", "ELU": "elu", "Sigmoid": "sigmoid",
    "Tanh": "tanh", "Hardsigmoid": "hardsigmoid", "Hardswish": "hardswish", "SiLU": "silu", "GELU": "gelu",
    "Softplus": "softplus",
}
_ACT_FUNCS = {"relu", "relu6", "leaky_relu", "elu", "sigmoid", "tanh", "hardsigmoid", "hardswish", "silu", "gelu",
              "softplus", "relu_", "sigmoid_", "tanh_", "hardtanh"}


def _slice_layer(index):
    """``x[:, a:b]`` (a channel slice, DPN's split) -> Slice; any other indexing -> None."""
    if len(index) < 2 or index[0] != slice(None):
        return None
    rest = [i for i in index[2:] if i != slice(None) and i is not Ellipsis]
    sl = index[1]
    if rest or not isinstance(sl, slice) or sl.step not in (None, 1):
        return None
    if not all(v is None or isinstance(v, int) for v in (sl.start, sl.stop)):
        return None
    if (sl.start or 0) < 0 or (sl.stop is not None and sl.stop < 0):
        return None
    return L.Slice(sl.start or 0, sl.stop, 0)


def _int_pair(v):
    return tuple(v) if isinstance(v, (tuple, list)) else v


def _module_layer(mod):
    """The archcalc layer for a leaf module, or a reason string when there is none."""
    import torch.nn as nn

    kind = type(mod).__name__
    if isinstance(mod, nn.Conv2d):
        if mod.padding_mode != "zeros":
            return f"Conv2d with padding_mode={mod.padding_mode!r}"
        pad = mod.padding if isinstance(mod.padding, str) else _int_pair(mod.padding)
        return L.Conv2d(mod.out_channels, _int_pair(mod.kernel_size), _int_pair(mod.stride), pad,
                        _int_pair(mod.dilation), mod.groups, mod.bias is not None)
    if isinstance(mod, nn.ConvTranspose2d):
        return L.ConvTranspose2d(mod.out_channels, _int_pair(mod.kernel_size), _int_pair(mod.stride),
                                 _int_pair(mod.padding), _int_pair(mod.output_padding), _int_pair(mod.dilation),
                                 mod.groups, mod.bias is not None)
    if isinstance(mod, nn.Linear):
        return L.Linear(mod.out_features, mod.bias is not None)
    if isinstance(mod, (nn.BatchNorm2d, nn.BatchNorm1d)):
        cls = L.BatchNorm2d if isinstance(mod, nn.BatchNorm2d) else L.BatchNorm1d
        return cls(mod.eps, mod.momentum if mod.momentum is not None else 0.1, mod.affine, mod.track_running_stats)
    if isinstance(mod, nn.MaxPool2d):
        if mod.return_indices:
            return "MaxPool2d(return_indices=True)"
        return L.MaxPool2d(_int_pair(mod.kernel_size), _int_pair(mod.stride), _int_pair(mod.padding),
                           _int_pair(mod.dilation), mod.ceil_mode)
    if isinstance(mod, nn.AvgPool2d):
        return L.AvgPool2d(_int_pair(mod.kernel_size), _int_pair(mod.stride), _int_pair(mod.padding),
                           mod.ceil_mode, mod.count_include_pad)
    if isinstance(mod, (nn.AdaptiveAvgPool2d, nn.AdaptiveMaxPool2d)):
        size = mod.output_size
        if size is None or (isinstance(size, (tuple, list)) and None in size):
            return f"{kind} with output_size {size!r} (None keeps the input size)"
        cls = L.AdaptiveAvgPool2d if isinstance(mod, nn.AdaptiveAvgPool2d) else L.AdaptiveMaxPool2d
        return cls(_int_pair(size))
    if kind in _ACT_MODULES and type(mod).__module__.startswith("torch.nn"):
        return L.Activation(_ACT_MODULES[kind], bool(getattr(mod, "inplace", False)))
    if isinstance(mod, nn.Dropout):
        return L.Dropout(mod.p, mod.inplace)
    if isinstance(mod, nn.Identity):
        return L.Identity()
    if isinstance(mod, nn.Flatten):
        if mod.start_dim != 1 or mod.end_dim != -1:
            return f"Flatten(start_dim={mod.start_dim}, end_dim={mod.end_dim})"
        return L.Flatten()
    if isinstance(mod, nn.LocalResponseNorm):
        return L.LocalResponseNorm(mod.size, mod.alpha, mod.beta, mod.k)
    if isinstance(mod, nn.Softmax):
        return L.Softmax(-1) if mod.dim in (-1, 1) else f"Softmax(dim={mod.dim})"
    if isinstance(mod, nn.ZeroPad2d):
        left, right, top, bottom = mod.padding
        return L.ZeroPad2d((left, right, top, bottom))
    if isinstance(mod, nn.ChannelShuffle):
        return L.ChannelShuffle(mod.groups)
    if isinstance(mod, nn.Upsample):
        sf = mod.scale_factor
        if mod.size is not None or sf is None or mod.mode not in ("nearest", "bilinear"):
            return f"Upsample(size={mod.size}, scale_factor={sf}, mode={mod.mode!r})"
        sf = tuple(int(s) for s in sf) if isinstance(sf, (tuple, list)) else int(sf)
        return L.Upsample(sf, mod.mode)
    return None


def _arg(node, i, name, default=None):
    if len(node.args) > i:
        return node.args[i]
    return node.kwargs.get(name, default)


def _function_layer(node, tensor_args):
    """The archcalc layer for a call_function / call_method node, or None."""
    import torch
    import torch.nn.functional as F

    t = node.target
    fname = t if isinstance(t, str) else getattr(t, "__name__", str(t))
    n_tensors = len(tensor_args)
    if t in (operator.add, operator.iadd, torch.add) or fname in ("add", "add_", "__add__", "__iadd__"):
        if n_tensors == 2 and len(node.args) == 2 and not node.kwargs:
            return L.Add(inplace=t is operator.iadd or fname in ("add_", "__iadd__"))
        return None
    if t in (operator.mul, operator.imul, torch.mul) or fname in ("mul", "mul_"):
        if n_tensors == 1 and len(node.args) == 2:
            factor = [a for a in node.args if isinstance(a, (int, float)) and not isinstance(a, bool)]
            return L.Scale(float(factor[0])) if factor else None  # out * 0.17 (Inception-ResNet)
        return L.Mul() if n_tensors == 2 and len(node.args) == 2 else None
    if fname == "stochastic_depth":
        # torchvision.ops.stochastic_depth: identity at inference, like dropout
        return L.Dropout(_arg(node, 1, "p", 0.0)) if _arg(node, 3, "training", True) is False else None
    if t is torch.cat or fname in ("cat", "concat"):
        dim = _arg(node, 1, "dim", 0)
        return L.Concat(dim - 1) if isinstance(dim, int) and dim >= 1 else None
    if t is torch.flatten or fname == "flatten":
        start = _arg(node, 1, "start_dim", 0)
        end = _arg(node, 2, "end_dim", -1)
        return L.Flatten() if start == 1 and end == -1 else None
    if fname in ("view", "reshape") and isinstance(node.args[-1], int) and node.args[-1] == -1 and len(node.args) == 3:
        return L.Flatten()  # x.view(x.size(0), -1)
    if fname in _ACT_FUNCS and (t in vars(F).values() or t in vars(torch).values() or isinstance(t, str)):
        fn = {"relu_": "relu", "sigmoid_": "sigmoid", "tanh_": "tanh"}.get(fname, fname)
        if fn == "hardtanh":
            lo, hi = _arg(node, 1, "min_val", -1.0), _arg(node, 2, "max_val", 1.0)
            if (lo, hi) != (0.0, 6.0):
                return None
            fn = "relu6"
        inplace = bool(_arg(node, 1, "inplace", False)) if fn in ("relu", "relu6") and fname != "hardtanh" else False
        return L.Activation(fn, inplace or fname.endswith("_"))
    if t is F.adaptive_avg_pool2d or t is F.adaptive_max_pool2d:
        size = _arg(node, 1, "output_size")
        if isinstance(size, (int, tuple, list)) and not (isinstance(size, (tuple, list)) and None in size):
            return (L.AdaptiveAvgPool2d if t is F.adaptive_avg_pool2d else L.AdaptiveMaxPool2d)(_int_pair(size))
        return None
    if fname in ("max_pool2d", "avg_pool2d") and (t in vars(F).values() or t in vars(torch).values()):
        k = _arg(node, 1, "kernel_size")
        s = _arg(node, 2, "stride", None) or k
        p = _arg(node, 3, "padding", 0)
        if fname == "max_pool2d":
            return L.MaxPool2d(_int_pair(k), _int_pair(s), _int_pair(p), _int_pair(_arg(node, 4, "dilation", 1)),
                               bool(_arg(node, 5, "ceil_mode", False)))
        return L.AvgPool2d(_int_pair(k), _int_pair(s), _int_pair(p), bool(_arg(node, 4, "ceil_mode", False)),
                           bool(_arg(node, 5, "count_include_pad", True)))
    if fname == "mean" and len(node.args) >= 2 and list(node.args[1]) in ([2, 3], [-2, -1]) \
            and not _arg(node, 2, "keepdim", False):
        return L.GlobalAvgPool2d()  # x.mean((2, 3)): torchvision's ShuffleNet v2 global pool
    if t is F.batch_norm:
        weight, rm = _arg(node, 3, "weight"), _arg(node, 1, "running_mean")
        training = _arg(node, 5, "training", False)
        if training is not False:
            return None
        eps = _arg(node, 7, "eps", 1e-5)
        return L.BatchNorm2d(eps=eps if isinstance(eps, float) else 1e-5, affine=weight is not None,
                             track_running_stats=rm is not None)
    if t is operator.getitem and n_tensors == 1 and isinstance(node.args[1], tuple):
        return _slice_layer(node.args[1])
    if fname == "dropout":
        return L.Dropout(_arg(node, 1, "p", 0.5))
    if fname in ("contiguous",):
        return L.Identity()
    return None


_SHAPE_ATTRS = ("shape", "ndim", "dtype", "device")
_SHAPE_OPS = (operator.eq, operator.ne, operator.lt, operator.le, operator.gt, operator.ge, operator.not_)


def _batch_norm_fn():
    import torch.nn.functional as F

    return F.batch_norm


def _describe(node) -> str:
    t = node.target
    return t if isinstance(t, str) else f"{getattr(t, '__module__', '') or ''}.{getattr(t, '__name__', t)}".lstrip(".")


def _scope(node) -> str:
    stack = node.meta.get("nn_module_stack") or {}
    if not stack:
        return ""
    path = list(stack.values())[-1][0]
    return re.sub(r"@\d+$", "", path)


def _trace(module):
    import torch.fx as fx

    try:
        return fx.symbolic_trace(module)
    except Exception as e:  # data-dependent control flow, unsupported Python constructs
        raise UnsupportedLayerError(f"torch.fx cannot trace {type(module).__name__}: {type(e).__name__}: "
                                    f"{str(e).splitlines()[0] if str(e) else ''}") from None


def _convert(module, input_shape, name):
    gm = _trace(module)
    modules = dict(gm.named_modules())
    b = None
    env: dict = {}  # fx node -> archcalc layer name (tensors) or a marker for non-tensor values
    unsupported: list = []
    calls: dict = {}
    used: set = set()
    outputs: list = []
    placeholders = 0
    gates: set = set()  # layers whose output is a per-channel (C, 1, 1) gate

    def unique(base):
        if base not in used:
            used.add(base)
            return base
        k = 1
        while f"{base}_{k}" in used:
            k += 1
        used.add(f"{base}_{k}")
        return f"{base}_{k}"

    for node in gm.graph.nodes:
        if node.op == "placeholder":
            placeholders += 1
            if placeholders > 1:
                unsupported.append(f"{node.name} (second input)")
                continue
            b = Builder(name, tuple(input_shape), input_name="input")
            env[node] = b.input
            continue
        if node.op == "output":
            vals = node.args[0]
            vals = list(vals) if isinstance(vals, (tuple, list)) else [vals]
            outputs = [env[v] for v in vals if v in env and isinstance(env[v], str)]
            continue
        if node.op == "get_attr":
            # a parameter or buffer read outside its module's forward: fine when F.batch_norm
            # consumes it (timm's BatchNormAct2d), an unsupported op otherwise
            if not all(u.op == "call_function" and u.target is _batch_norm_fn() for u in node.users):
                unsupported.append(f"{node.name} (get_attr {node.target}: a parameter used outside its module)")
            env[node] = ("param",)
            continue
        tensor_args = [a for a in node.all_input_nodes if isinstance(env.get(a), str)]
        if node.op == "call_method" and node.target in ("size", "dim") or (
                node.op == "call_function" and node.target is getattr and node.args[1] in _SHAPE_ATTRS):
            env[node] = ("shape-value",)  # shape arithmetic, no tensor work
            continue
        if node.op == "call_function" and not tensor_args and (
                node.target in _SHAPE_OPS or getattr(node.target, "__name__", "") == "_assert"):
            env[node] = ("shape-value",)  # comparisons / asserts on shapes (timm's _assert(x.ndim == 4))
            continue
        if node.op == "call_function" and node.target is operator.getitem and node.args[0] in env \
                and isinstance(env[node.args[0]], tuple):
            env[node] = ("shape-value",)
            continue
        if node.op == "call_module":
            mod = modules[node.target]
            layer = _module_layer(mod)
            path = node.target
            k = calls.get(path, 0)
            calls[path] = k + 1
            lname = unique(path if k == 0 else f"{path}_{k}")
            what = f"{path} ({type(mod).__name__})"
        else:
            layer = _function_layer(node, tensor_args)
            base = re.sub(r"_\d+$", "", node.name)
            scope = _scope(node)
            if isinstance(layer, (L.BatchNorm2d, L.BatchNorm1d)) and scope and scope not in used:
                lname = unique(scope)  # F.batch_norm inside a BatchNorm subclass: name it after the module
            else:
                lname = unique(f"{scope}.{base}" if scope else base)
            what = f"{lname} ({node.op} {_describe(node)})"
        if isinstance(layer, str) or layer is None:
            unsupported.append(what + (f": {layer}" if isinstance(layer, str) else ""))
            env[node] = lname  # keep tracing to list every unsupported op
            continue
        ins = [env[a] for a in node.args if hasattr(a, "op") and isinstance(env.get(a), str)]
        if isinstance(layer, L.Concat):
            ins = [env[a] for a in node.args[0]]
        if isinstance(layer, L.Mul):
            # archcalc broadcasts later inputs over the first: put a squeeze-excitation gate
            # (``scale * input`` in torchvision) after the feature map it scales
            ins.sort(key=lambda name: name in gates)
        env[node] = b.add(layer, *ins, name=lname)
        if _is_gate(layer, ins, gates):
            gates.add(env[node])
    return b, outputs, unsupported


def _is_gate(layer, ins, gates) -> bool:
    """A (C, 1, 1) per-channel tensor: a pool to 1x1, or pointwise work on gates only."""
    if isinstance(layer, (L.AdaptiveAvgPool2d, L.AdaptiveMaxPool2d)):
        return tuple(layer.output_size) == (1, 1)
    pointwise = (L.Conv2d, L.Activation, L.BatchNorm2d, L.Scale, L.Dropout, L.Identity, L.Add, L.Mul)
    if isinstance(layer, L.Conv2d) and tuple(layer.kernel_size) != (1, 1):
        return False
    return isinstance(layer, pointwise) and bool(ins) and all(i in gates for i in ins)


def unsupported_ops(module, input_shape=(3, 224, 224)) -> list:
    """Every op of ``module`` that archcalc cannot count, by name (empty when all are supported)."""
    return _convert(module, input_shape, type(module).__name__)[2]


def from_torch(module, input_shape, name=None):
    """Import ``module`` as an archcalc Graph for a per-sample ``input_shape`` (``(3, 224, 224)``,
    or symbolic ``(3, "H", "W")``). No weights are read, no forward runs.

    Raises ``UnsupportedLayerError`` naming every op archcalc has no rule for."""
    from .. import dims

    if isinstance(input_shape, str):
        input_shape = dims.parse_shape(input_shape)
    input_shape = tuple(dims.coerce_dim(d) for d in input_shape)
    b, outputs, unsupported = _convert(module, input_shape, name or type(module).__name__)
    if unsupported:
        raise UnsupportedLayerError(f"{len(unsupported)} op(s) in {type(module).__name__} have no archcalc rule "
                                    f"(none is counted as 0): " + "; ".join(unsupported))
    return b.build(outputs=outputs or None)
