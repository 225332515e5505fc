"""1-d and 3-d convolution and pooling, padding modes, max-unpooling and interpolation.

The receptive field is propagated for 2-d maps only: 1-d and 3-d layers report no footprint.
"""

from __future__ import annotations

from fractions import Fraction

from .. import dims
from ..errors import ShapeError
from ..layers import (
    INTERPOLATE_OPS,
    _INTERPOLATE_RANK,
    AdaptiveAvgPool1d,
    AdaptiveAvgPool3d,
    AdaptiveMaxPool1d,
    AdaptiveMaxPool3d,
    AvgPool1d,
    AvgPool3d,
    BatchNorm3d,
    Conv1d,
    Conv3d,
    Interpolate,
    MaxPool1d,
    MaxPool3d,
    MaxUnpool2d,
    ReflectionPad2d,
    ReplicationPad2d,
)
from . import Cost, Footprint, Unfollowed, register
from ._window import expect_rank, format_shape, same_padding, window_out
from .conv import CONV_TRAITS, _check_groups
from .norm import BATCH_NORM_TRAITS, _batchnorm
from .pool import POOL_TRAITS, _adaptive_windows

_AXES = {1: ("length",), 3: ("depth", "height", "width")}
#: 1-d and 3-d windows: the receptive-field walk follows (H, W) windows only
_NOT_2D = Unfollowed("is a 1-d window, not an (H, W) one")


def _hw_footprint(layer, kernel, stride, lead, dilation):
    """A 3-d window's footprint on its last two axes (H, W): the receptive field is reported over
    the image's height and width (its extent in frames is not tracked). A 1-d window: not followed."""
    if layer.spatial != 3:
        return _NOT_2D
    return Footprint(tuple(d * (k - 1) + 1 for k, d in zip(kernel[1:], dilation[1:])), tuple(stride[1:]),
                     tuple(lead[1:]))


def _spatial(layer, shape):
    n = layer.spatial
    what = "(C, L)" if n == 1 else "(C, D, H, W)"
    expect_rank(shape, n + 1, what)
    return shape[0], shape[1:]


@register(Conv1d, Conv3d, traits=CONV_TRAITS)
def conv_nd(layer, inputs):
    """1-d / 3-d convolution, same convention as Conv2d: params ``cout * cin/groups * prod(k)``
    (+ ``cout`` bias); macs one per weight per output position; flops ``2*macs`` + bias adds."""
    cin, sizes = _spatial(layer, inputs[0])
    cout = layer.out_channels
    _check_groups(cin, cout, layer.groups)
    warnings: list = []
    out, leads = [], []
    for i, size in enumerate(sizes):
        k, s, d = layer.kernel_size[i], layer.stride[i], layer.dilation[i]
        if layer.padding == "valid":
            lead = trail = 0
        elif layer.padding == "same":
            lead, trail = same_padding(size, k, s, d)
        else:
            lead = trail = layer.padding[i]
        o, _ = window_out(size, k, s, lead, trail, d, False, _AXES[layer.spatial][i], warnings)
        out.append(o)
        leads.append(lead)
    weights = dims.normalize(cout * dims.floordiv(cin, layer.groups) * dims.prod(layer.kernel_size))
    positions = dims.prod(out)
    macs = dims.normalize(weights * positions)
    return Cost(output=(cout, *out), params=dims.normalize(weights + (cout if layer.bias else 0)), macs=macs,
                flops=dims.normalize(2 * macs + (cout * positions if layer.bias else 0)), warnings=warnings,
                rf=_hw_footprint(layer, layer.kernel_size, layer.stride, leads, layer.dilation))


@register(BatchNorm3d, traits=BATCH_NORM_TRAITS)
def batch_norm3d(layer: BatchNorm3d, inputs):
    """Batch norm of a (C, D, H, W) input; same convention as BatchNorm2d."""
    expect_rank(inputs[0], 4, "(C, D, H, W)")
    return _batchnorm(layer, inputs[0], inputs[0][0])


def _pooled_nd(layer, shape, dilation):
    c, sizes = _spatial(layer, shape)
    warnings: list = []
    out = []
    for i, size in enumerate(sizes):
        k, s, p = layer.kernel_size[i], layer.stride[i], layer.padding[i]
        if 2 * p > k:
            raise ShapeError(f"padding {p} must be at most half the kernel {k}, as torch requires")
        o, _ = window_out(size, k, s, p, p, dilation[i], layer.ceil_mode, _AXES[layer.spatial][i], warnings)
        out.append(o)
    fp = _hw_footprint(layer, layer.kernel_size, layer.stride, layer.padding, dilation)
    return (c, *out), dims.normalize(c * dims.prod(out)), warnings, fp


@register(MaxPool1d, MaxPool3d, traits=POOL_TRAITS)
def max_pool_nd(layer, inputs):
    """Max pooling: ``prod(k) - 1`` comparisons per output element."""
    out, n, warnings, fp = _pooled_nd(layer, inputs[0], layer.dilation)
    return Cost(output=out, flops=dims.normalize(n * (dims.prod(layer.kernel_size) - 1)), warnings=warnings, rf=fp)


@register(AvgPool1d, AvgPool3d, traits=POOL_TRAITS)
def avg_pool_nd(layer, inputs):
    """Average pooling: ``prod(k) - 1`` adds + 1 divide per output element."""
    if layer.spatial == 3:  # torch's avg_pool3d (only it) also wants each unpadded axis >= the kernel
        for size, k, axis in zip(inputs[0][1:], layer.kernel_size, _AXES[3]):
            if dims.known_lt(size, k):
                raise ShapeError(f"AvgPool3d: input {axis} {dims.format_dim(size)} is smaller than the kernel {k} "
                                 "(torch's avg_pool3d refuses it, whatever the padding)")
    out, n, warnings, fp = _pooled_nd(layer, inputs[0], (1,) * layer.spatial)
    return Cost(output=out, flops=dims.normalize(n * dims.prod(layer.kernel_size)), warnings=warnings, rf=fp)


def _adaptive_nd(layer, shape):
    c, sizes = _spatial(layer, shape)
    window = dims.prod(_adaptive_windows(size, o)[0] for size, o in zip(sizes, layer.output_size))
    # (H, W) footprint as for AdaptiveAvgPool2d: the widest window and the mean step
    fp = _NOT_2D if layer.spatial != 3 else Footprint(
        tuple(_adaptive_windows(size, o)[1] for size, o in zip(sizes[1:], layer.output_size[1:])),
        tuple(dims.exact_div(size, o) for size, o in zip(sizes[1:], layer.output_size[1:])), (0, 0))
    return (c, *layer.output_size), dims.normalize(c * window), dims.normalize(c * dims.prod(layer.output_size)), fp


@register(AdaptiveAvgPool1d, AdaptiveAvgPool3d, traits=POOL_TRAITS)
def adaptive_avg_pool_nd(layer, inputs):
    """Adaptive average pooling with torch's windows: flops = the window sizes summed over outputs."""
    out, window_elems, _, fp = _adaptive_nd(layer, inputs[0])
    return Cost(output=out, flops=window_elems, rf=fp)


@register(AdaptiveMaxPool1d, AdaptiveMaxPool3d, traits=POOL_TRAITS)
def adaptive_max_pool_nd(layer, inputs):
    """Adaptive max pooling: ``window - 1`` comparisons per output."""
    out, window_elems, n_out, fp = _adaptive_nd(layer, inputs[0])
    return Cost(output=out, flops=dims.normalize(window_elems - n_out), rf=fp)


@register(ReflectionPad2d, ReplicationPad2d)
def pad2d(layer, inputs):
    """Reflection / replication padding (left, right, top, bottom): a copy into a larger map, no
    flops. Reflection needs every pad smaller than its axis (torch)."""
    expect_rank(inputs[0], 3)
    c, h, w = inputs[0]
    left, right, top, bottom = layer.padding
    if type(layer) is ReflectionPad2d:
        for p, size, axis in ((left, w, "width"), (right, w, "width"), (top, h, "height"), (bottom, h, "height")):
            if dims.known_lt(size, p + 1):
                raise ShapeError(f"reflection padding {p} must be smaller than the input {axis} {size}")
    out = (c, dims.normalize(h + top + bottom), dims.normalize(w + left + right))
    return Cost(output=out, rf=Footprint((1, 1), (1, 1), (top, left)))


@register(MaxUnpool2d)
def max_unpool2d(layer: MaxUnpool2d, inputs):
    """Scatter values to the positions in ``indices`` of a zero map: ``(in - 1)*s - 2p + k`` per
    axis (or ``output_size``). A copy, no flops."""
    if len(inputs) != 2:
        raise ShapeError(f"MaxUnpool2d takes values and indices, got {len(inputs)} input(s)")
    x, idx = inputs
    expect_rank(x, 3)
    if len(idx) != 3 or any(dims.known_ne(a, b) for a, b in zip(x, idx)):
        raise ShapeError(f"indices {format_shape(idx)} must have the shape of the values {format_shape(x)}")
    c, h, w = x
    out, fp_k, fp_s, fp_p = [], [], [], []
    for i, size in enumerate((h, w)):
        k, s, p = layer.kernel_size[i], layer.stride[i], layer.padding[i]
        o = dims.normalize((size - 1) * s - 2 * p + k)
        if layer.output_size is not None:
            want = layer.output_size[i]
            if dims.known_lt(want, o - s + 1) or dims.known_lt(o + s - 1, want):
                raise ShapeError(f"output_size {layer.output_size} is outside torch's range around {dims.format_dim(o)}")
            o = want
        elif dims.known_lt(o, 1):
            raise ShapeError(f"unpooled size (in - 1)*{s} - 2*{p} + {k} = {dims.format_dim(o)} for input "
                             f"{format_shape(x)} is below 1")
        out.append(o)
        kin = (k - 1) // s + 1
        fp_k.append(kin)
        fp_s.append(dims.exact_div(1, s))
        fp_p.append(dims.exact_div(kin - 1, 2) - dims.exact_div(2 * p - (k - 1), 2 * s))
    return Cost(output=(c, *out), rf=Footprint(tuple(fp_k), tuple(fp_s), tuple(fp_p)))


@register(Interpolate)
def interpolate(layer: Interpolate, inputs):
    """``F.interpolate`` to ``size`` or by ``scale_factor``: with a factor the output is
    ``floor(in * factor)`` per axis (torch, recompute_scale_factor unset). flops: per output
    element :data:`archcalc.layers.INTERPOLATE_OPS` for the mode (nearest 0, linear 3, bilinear 7,
    bicubic 31, trilinear 15). 2-d receptive field: the jump scales by ``in/out``."""
    shape = inputs[0]
    n = len(shape) - 1
    if n < 1 or n > 3:
        raise ShapeError(f"interpolate expects (C, L), (C, H, W) or (C, D, H, W), got {format_shape(shape)}")
    need = _INTERPOLATE_RANK.get(layer.mode)
    if need is not None and need != n:
        raise ShapeError(f"mode {layer.mode!r} needs {need} spatial axes, input {format_shape(shape)} has {n}")
    given = layer.size if layer.size is not None else layer.scale_factor
    if len(given) not in (1, n):
        raise ShapeError(f"{'size' if layer.size is not None else 'scale_factor'} {given} does not fit "
                         f"{n} spatial axes of {format_shape(shape)}")
    given = given * n if len(given) == 1 else given
    if layer.size is not None:
        out = tuple(given)
    else:
        fracs = [Fraction(f) for f in given]  # exact: 1.5 -> 3/2, 0.1 -> its binary value
        out = tuple(dims.floordiv(size * f.numerator, f.denominator) for size, f in zip(shape[1:], fracs))
    for o in out:
        if dims.known_lt(o, 1):
            raise ShapeError(f"interpolate output {format_shape(out)} has an empty axis")
    output = (shape[0], *out)
    fp = None
    if n == 2:
        k = {"bilinear": 2, "bicubic": 4}.get(layer.mode, 1)
        steps = tuple(dims.exact_div(i, o) for i, o in zip(shape[1:], out))
        fp = Footprint((k, k), steps, tuple(dims.exact_div(k, 2) - dims.exact_div(s, 2) for s in steps))
    return Cost(output=output, flops=dims.normalize(dims.prod(output) * INTERPOLATE_OPS[layer.mode]), rf=fp)
