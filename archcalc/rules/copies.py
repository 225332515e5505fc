"""Copies and views that move elements without arithmetic (pad, Tensor.unfold, im2col, repeat,
repeat_interleave, slice_scatter), col2im (which adds overlapping blocks), and the vector norm.

None of the copies has a flop: torch's FlopCounterMode registers no formula for
``constant_pad_nd``, ``unfold``, ``im2col``, ``repeat`` or ``repeat_interleave``, and archcalc counts
data movement as activations (memory), not as work.
"""

from __future__ import annotations

from .. import dims
from ..errors import ShapeError
from ..layers import ConstantPad, Fold, Repeat, RepeatInterleave, Slice, SliceScatter, Unfold, UnfoldAxis, VectorNorm
from . import Cost, Footprint, Unfollowed, register
from ._broadcast import axis_index
from ._window import expect_rank, format_shape, window_out
from .shape import slice_
from .views import _reduced


@register(ConstantPad)
def constant_pad(layer: ConstantPad, inputs):
    """Pad (or, with negative amounts, crop) the last ``len(pad) / 2`` axes: ``size + before +
    after`` each, which must stay >= 1. A copy, no flops. Receptive field: a (C, H, W) map padded
    on H and W keeps its positions shifted by the leading pads."""
    shape = list(inputs[0])
    pairs = [layer.pad[i:i + 2] for i in range(0, len(layer.pad), 2)]
    if len(pairs) > len(shape):
        raise ShapeError(f"pad {layer.pad} names {len(pairs)} axes, the input {format_shape(inputs[0])} has "
                         f"{len(shape)}")
    for k, (before, after) in enumerate(pairs):
        a = len(shape) - 1 - k
        size = dims.normalize(shape[a] + before + after)
        if dims.known_lt(size, 1):
            raise ShapeError(f"pad {layer.pad} leaves axis {a} of {format_shape(inputs[0])} with "
                             f"{dims.format_dim(size)} < 1 elements")
        shape[a] = size
    if len(inputs[0]) == 3 and len(pairs) <= 2:
        top = pairs[1][0] if len(pairs) == 2 else 0
        rf = Footprint((1, 1), (1, 1), (top, pairs[0][0]))
    else:
        rf = _PAD_AXES
    return Cost(output=tuple(shape), rf=rf)


_PAD_AXES = Unfollowed("a pad of axes other than the last two of a (C, H, W) map")


@register(UnfoldAxis)
def unfold_axis(layer: UnfoldAxis, inputs):
    """``x.unfold(dim, size, step)``: axis ``dim`` becomes ``(n - size) // step + 1`` window starts
    and a last axis of ``size`` is appended. A view, no flops."""
    shape = list(inputs[0])
    a = axis_index(layer.dim, len(shape), "UnfoldAxis")
    n = shape[a]
    if dims.known_lt(n, layer.size):
        raise ShapeError(f"window {layer.size} is longer than axis {layer.dim} of {format_shape(inputs[0])}")
    shape[a] = dims.normalize(dims.floordiv(n - layer.size, layer.step) + 1)
    return Cost(output=tuple(shape) + (layer.size,), rf=_WINDOWS)


_WINDOWS = Unfollowed("overlapping windows as a new axis (Tensor.unfold / im2col)")


@register(Unfold)
def unfold(layer: Unfold, inputs):
    """im2col of a (C, H, W) map: ``(C*kh*kw, L)`` with ``L`` the block positions (torch's sliding
    window formula, no ceil mode). A copy, no flops."""
    expect_rank(inputs[0], 3)
    c, h, w = inputs[0]
    warnings: list = []
    oh, _ = window_out(h, layer.kernel_size[0], layer.stride[0], layer.padding[0], layer.padding[0],
                       layer.dilation[0], False, "height", warnings)
    ow, _ = window_out(w, layer.kernel_size[1], layer.stride[1], layer.padding[1], layer.padding[1],
                       layer.dilation[1], False, "width", warnings)
    out = (dims.normalize(c * layer.kernel_size[0] * layer.kernel_size[1]), dims.normalize(oh * ow))
    return Cost(output=out, rf=_WINDOWS, warnings=warnings)


def _landing(n, blocks, k, d, s, p):
    """How many (kernel offset, block) pairs of one axis land inside an axis of ``n`` positions
    (the rest fall in the padding): for offset ``i`` the blocks ``j`` with ``0 <= j*s - p + i*d < n``."""
    total = 0
    for i in range(k):  # k is a hyper-parameter, not a dimension
        first = dims.smax(0, dims.ceildiv(p - i * d, s))
        last = dims.smin(blocks - 1, dims.floordiv(n - 1 + p - i * d, s))
        total = total + dims.smax(0, last - first + 1)
    return dims.normalize(total)


@register(Fold)
def fold(layer: Fold, inputs):
    """col2im: (C*kh*kw, L) -> (C, H, W) with ``L`` the block positions of ``output_size`` (torch
    checks both). flops: one add per column element that lands inside the map (torch's kernel
    accumulates each into a zeroed map; those in the padding are dropped)."""
    expect_rank(inputs[0], 2, "(C*kh*kw, L)")
    ckk, n_blocks = inputs[0]
    (kh, kw), (h, w) = layer.kernel_size, layer.output_size
    if dims.divides(ckk, kh * kw) is False:
        raise ShapeError(f"Fold: {dims.format_dim(ckk)} columns rows are not a multiple of the kernel's {kh * kw}")
    warnings: list = []
    blocks = []
    for axis, n in enumerate((h, w)):
        b, _ = window_out(n, layer.kernel_size[axis], layer.stride[axis], layer.padding[axis], layer.padding[axis],
                          layer.dilation[axis], False, ("height", "width")[axis], warnings)
        blocks.append(b)
    if dims.known_ne(n_blocks, blocks[0] * blocks[1]):
        raise ShapeError(f"Fold to {h}x{w} needs {dims.format_dim(blocks[0] * blocks[1])} block columns, got "
                         f"{dims.format_dim(n_blocks)}")
    c = dims.exact_div(ckk, kh * kw)
    land = [_landing(n, b, layer.kernel_size[a], layer.dilation[a], layer.stride[a], layer.padding[a])
            for a, (n, b) in enumerate(zip((h, w), blocks))]
    return Cost(output=(c, h, w), flops=dims.normalize(c * land[0] * land[1]), rf=_WINDOWS, warnings=warnings)


@register(Repeat)
def repeat(layer: Repeat, inputs):
    """``x.repeat(*repeats)``: the input right-aligned under ``repeats`` (new leading axes of size
    1), each axis times its count. A copy, no flops."""
    shape = tuple(inputs[0])
    reps = layer.repeats
    if len(reps) < len(shape):
        raise ShapeError(f"repeat {reps} gives fewer counts than the input {format_shape(shape)} has axes")
    full = (1,) * (len(reps) - len(shape)) + shape
    return Cost(output=tuple(dims.normalize(d * r) for d, r in zip(full, reps)), rf=_COPIES)


_COPIES = Unfollowed("copies of the input laid side by side (repeat, tile, repeat_interleave)")


@register(RepeatInterleave)
def repeat_interleave(layer: RepeatInterleave, inputs):
    """Each index of axis ``dim`` repeated ``repeats`` times: that axis times ``repeats``. A copy,
    no flops."""
    shape = list(inputs[0])
    a = axis_index(layer.dim, len(shape), "RepeatInterleave")
    shape[a] = dims.normalize(shape[a] * layer.repeats)
    return Cost(output=tuple(shape), rf=_COPIES)


@register(SliceScatter)
def slice_scatter(layer: SliceScatter, inputs):
    """``src`` written into the slice of ``x``: the output is x's shape; ``src`` must have the
    slice's shape. A copy, no flops."""
    if len(inputs) != 2:
        raise ShapeError(f"SliceScatter takes x and src, got {len(inputs)} input(s)")
    x, src = inputs
    want = slice_(Slice(layer.start, layer.stop, layer.axis, layer.step), [x]).output
    if len(want) != len(src) or any(dims.known_ne(a, b) for a, b in zip(want, src)):
        raise ShapeError(f"SliceScatter: src {format_shape(src)} does not fill the slice {format_shape(want)} "
                         f"of {format_shape(x)}")
    return Cost(output=tuple(x))


@register(VectorNorm)
def vector_norm(layer: VectorNorm, inputs):
    """``||x||_ord`` over the axes. flops: ord 2: a square per input element, ``(n - 1)`` adds and
    one square root per output, i.e. 2 per input element; ord 1: an absolute value per input
    element and ``(n - 1)`` adds per output."""
    out, n_in, n_out, mixes = _reduced(layer, inputs[0])
    flops = 2 * n_in if layer.ord == 2 else 2 * n_in - n_out
    return Cost(output=out, flops=dims.normalize(flops), rf=mixes)
