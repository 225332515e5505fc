"""torch -> archcalc layer specs: one table for modules, one for functions and tensor methods.

Both tracers use it: the torch.fx importer (symbolic shapes) and the dispatch-mode fallback
(concrete shapes). A mapping function returns an archcalc layer, a reason string (unsupported),
or None (not this op). Axes are converted from torch's (batch first) to archcalc's per-sample axes
by the caller's ``axis`` function.
"""

from __future__ import annotations

from .. import layers as L

_ACT_MODULES = {
    "ReLU": "relu", "ReLU6": "relu6", "LeakyReLU": "leaky_relu", "ELU": "elu", "Sigmoid": "sigmoid",
    "Tanh": "tanh", "Hardsigmoid": "hardsigmoid", "Hardswish": "hardswish", "SiLU": "silu", "GELU": "gelu",
    "Softplus": "softplus", "Mish": "mish",
}
ACT_FUNCS = {"relu", "relu6", "leaky_relu", "elu", "sigmoid", "tanh", "hardsigmoid", "hardswish", "silu", "gelu",
             "softplus", "mish", "relu_", "sigmoid_", "tanh_", "hardtanh", "hardtanh_", "silu_", "hardswish_",
             "leaky_relu_", "elu_", "hardsigmoid_", "mish_", "gelu_"}


def int_pair(v):
    return tuple(v) if isinstance(v, (tuple, list)) else v


def _tuple(v):
    return tuple(v) if isinstance(v, (tuple, list)) else v


def batch_norm_layer(cls_name: str, eps, momentum, affine, track, training: bool):
    cls = getattr(L, ("Training" if training else "") + cls_name)
    return cls(eps, momentum if momentum is not None else 0.1, affine, track)


def module_layer(mod):
    """The archcalc layer for a leaf module, or a reason string, or None (unknown module)."""
    import torch.nn as nn

    kind = type(mod).__name__
    if isinstance(mod, (nn.Conv1d, nn.Conv2d, nn.Conv3d)):
        if mod.padding_mode != "zeros":
            return f"{kind} with padding_mode={mod.padding_mode!r}"
        pad = mod.padding if isinstance(mod.padding, str) else int_pair(mod.padding)
        cls = {nn.Conv1d: L.Conv1d, nn.Conv2d: L.Conv2d, nn.Conv3d: L.Conv3d}[
            next(c for c in (nn.Conv1d, nn.Conv2d, nn.Conv3d) if isinstance(mod, c))]
        return cls(mod.out_channels, int_pair(mod.kernel_size), int_pair(mod.stride), pad, int_pair(mod.dilation),
                   mod.groups, mod.bias is not None)
    if isinstance(mod, nn.ConvTranspose2d):
        return L.ConvTranspose2d(mod.out_channels, int_pair(mod.kernel_size), int_pair(mod.stride),
                                 int_pair(mod.padding), int_pair(mod.output_padding), int_pair(mod.dilation),
                                 mod.groups, mod.bias is not None)
    if isinstance(mod, nn.Linear):
        return L.Linear(mod.out_features, mod.bias is not None)
    for bn, name in ((nn.BatchNorm1d, "BatchNorm1d"), (nn.BatchNorm2d, "BatchNorm2d"), (nn.BatchNorm3d, "BatchNorm3d")):
        if isinstance(mod, bn):
            # training mode (or no running stats) normalises with batch statistics
            training = mod.training or not mod.track_running_stats
            return batch_norm_layer(name, mod.eps, mod.momentum, mod.affine, mod.track_running_stats, training)
    if isinstance(mod, nn.LayerNorm):
        return L.LayerNorm(tuple(mod.normalized_shape), mod.eps, mod.elementwise_affine,
                           getattr(mod, "bias", None) is not None)
    if isinstance(mod, getattr(nn, "RMSNorm", ())):
        return L.RMSNorm(tuple(mod.normalized_shape), mod.eps, mod.weight is not None)
    if isinstance(mod, nn.GroupNorm):
        return L.GroupNorm(mod.num_groups, mod.eps, mod.affine)
    if type(mod) is nn.InstanceNorm2d:
        if mod.track_running_stats:
            return "InstanceNorm2d(track_running_stats=True): running statistics are not modelled"
        return L.InstanceNorm2d(mod.eps, mod.affine)
    for cls in ("MaxPool1d", "MaxPool2d", "MaxPool3d"):
        if isinstance(mod, getattr(nn, cls)):
            if mod.return_indices:
                return f"{kind}(return_indices=True)"
            return getattr(L, cls)(int_pair(mod.kernel_size), int_pair(mod.stride), int_pair(mod.padding),
                                   int_pair(mod.dilation), mod.ceil_mode)
    for cls in ("AvgPool1d", "AvgPool2d", "AvgPool3d"):
        if isinstance(mod, getattr(nn, cls)):
            if getattr(mod, "divisor_override", None):
                return f"{kind}(divisor_override={mod.divisor_override})"
            return getattr(L, cls)(int_pair(mod.kernel_size), int_pair(mod.stride), int_pair(mod.padding),
                                   mod.ceil_mode, mod.count_include_pad)
    for cls in ("AdaptiveAvgPool1d", "AdaptiveAvgPool2d", "AdaptiveAvgPool3d", "AdaptiveMaxPool1d",
                "AdaptiveMaxPool2d", "AdaptiveMaxPool3d"):
        if isinstance(mod, getattr(nn, cls)):
            size = mod.output_size
            if size is None or (isinstance(size, (tuple, list)) and None in size):
                return f"{kind} with output_size {size!r} (None keeps the input size)"
            if getattr(mod, "return_indices", False):
                return f"{kind}(return_indices=True)"
            return getattr(L, cls)(int_pair(size))
    if kind in _ACT_MODULES and type(mod).__module__.startswith("torch.nn"):
        if kind == "GELU" and getattr(mod, "approximate", "none") not in ("none", "tanh"):
            return f"GELU(approximate={mod.approximate!r})"
        return L.Activation(_ACT_MODULES[kind], bool(getattr(mod, "inplace", False)))
    if isinstance(mod, nn.Hardtanh) and (mod.min_val, mod.max_val) == (0.0, 6.0):
        return L.Activation("relu6", mod.inplace)
    if isinstance(mod, (nn.Dropout, nn.Dropout1d, nn.Dropout2d, nn.Dropout3d, nn.AlphaDropout)):
        return L.Dropout(mod.p, mod.inplace)
    if isinstance(mod, nn.Identity):
        return L.Identity()
    if isinstance(mod, nn.Flatten):
        return ("flatten", mod.start_dim, mod.end_dim)  # axes need the caller's batch handling
    if isinstance(mod, nn.Unflatten):
        return f"Unflatten(dim={mod.dim})"
    if isinstance(mod, nn.LocalResponseNorm):
        return L.LocalResponseNorm(mod.size, mod.alpha, mod.beta, mod.k)
    if isinstance(mod, nn.Softmax):
        return ("softmax", mod.dim)
    if isinstance(mod, nn.ZeroPad2d):
        left, right, top, bottom = mod.padding
        if min(mod.padding) < 0:  # a negative amount crops (timm's NASNet): the general constant pad
            return L.ConstantPad((left, right, top, bottom))
        return L.ZeroPad2d((left, right, top, bottom))
    if isinstance(mod, nn.Unfold):
        return L.Unfold(int_pair(mod.kernel_size), int_pair(mod.dilation), int_pair(mod.padding), int_pair(mod.stride))
    if isinstance(mod, nn.Fold):
        return L.Fold(int_pair(mod.output_size), int_pair(mod.kernel_size), int_pair(mod.dilation),
                      int_pair(mod.padding), int_pair(mod.stride))
    if isinstance(mod, nn.ReflectionPad2d):
        return L.ReflectionPad2d(tuple(mod.padding))
    if isinstance(mod, nn.ReplicationPad2d):
        return L.ReplicationPad2d(tuple(mod.padding))
    if isinstance(mod, nn.ChannelShuffle):
        return L.ChannelShuffle(mod.groups)
    if isinstance(mod, nn.MaxUnpool2d):
        return L.MaxUnpool2d(int_pair(mod.kernel_size), int_pair(mod.stride), int_pair(mod.padding))
    if isinstance(mod, nn.Upsample):
        return interpolate_layer(mod.size, mod.scale_factor, mod.mode, mod.align_corners,
                                 getattr(mod, "recompute_scale_factor", None))
    if isinstance(mod, nn.LSTM):
        if not mod.batch_first:
            return "LSTM(batch_first=False): archcalc puts the batch first"
        if mod.proj_size:
            return f"LSTM(proj_size={mod.proj_size})"
        return L.LSTM(mod.hidden_size, mod.num_layers, mod.bias, mod.bidirectional)
    if isinstance(mod, nn.MultiheadAttention):
        if not mod.batch_first:
            return "MultiheadAttention(batch_first=False): archcalc puts the batch first"
        if mod.bias_k is not None and mod.bias_k is None:
            return "MultiheadAttention with bias_k only"
        return ("mha", mod)
    return None


def interpolate_layer(size, scale_factor, mode, align_corners=None, recompute=None):
    if mode == "area":
        if size is None:
            return "interpolate(mode='area') with a scale_factor"
        return ("area", size)
    if mode not in L.INTERPOLATE_OPS:
        return f"interpolate(mode={mode!r})"
    if recompute and scale_factor is not None:
        return "interpolate(recompute_scale_factor=True)"
    if size is not None and scale_factor is None:
        return L.Interpolate(size=_tuple(size), mode=mode, align_corners=align_corners)
    return L.Interpolate(scale_factor=_tuple(scale_factor), mode=mode, align_corners=align_corners)


def mha_layer(mod, need_weights: bool):
    return L.MultiheadAttention(mod.embed_dim, mod.num_heads, mod.in_proj_bias is not None,
                                mod.kdim if mod.kdim != mod.embed_dim else None,
                                mod.vdim if mod.vdim != mod.embed_dim else None,
                                mod.bias_k is not None, need_weights)
