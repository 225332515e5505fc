"""Layout rules: flatten, concat, upsample, padding, channel shuffle. No arithmetic beyond copies
(bilinear upsampling excepted)."""

from __future__ import annotations

from .. import dims
from ..errors import ShapeError
from ..layers import ChannelShuffle, Concat, Flatten, Input, Slice, Upsample, ZeroPad2d
from . import RESHAPES, Cost, Extends, Footprint, register
from ._window import expect_rank, format_shape


@register(Input)
def input_(layer: Input, inputs):
    """A graph input: its shape is the network's input shape."""
    return Cost(output=tuple(layer.shape))


@register(Flatten)
def flatten(layer: Flatten, inputs):
    """(C, H, W) -> (C*H*W,), a view; with ``start_dim``/``end_dim`` only those axes merge. For the receptive field the flattened vector covers the whole
    input extent, since whatever reads it (a Linear) mixes all positions."""
    shape = inputs[0]
    rank = len(shape)
    start = layer.start_dim + rank if layer.start_dim < 0 else layer.start_dim
    end = layer.end_dim + rank if layer.end_dim < 0 else layer.end_dim
    if not (0 <= start < rank and 0 <= end < rank) or start > end:
        raise ShapeError(f"flatten({layer.start_dim}, {layer.end_dim}) does not fit a rank-{rank} input "
                         f"{format_shape(shape)} (per-sample axes, batch excluded)")
    out = tuple(shape[:start]) + (dims.prod(shape[start:end + 1]),) + tuple(shape[end + 1:])
    whole = start == 0 and end == rank - 1
    fp = Footprint((shape[1], shape[2]), (shape[1], shape[2]), (0, 0)) if rank == 3 and whole else RESHAPES
    return Cost(output=out, rf=fp)


@register(Concat)
def concat(layer: Concat, inputs):
    """Concatenation along ``axis`` (0 = channels); other axes must agree. A copy, no flops."""
    if len(inputs) < 1:
        raise ShapeError("Concat needs at least one input")
    rank = len(inputs[0])
    axis = layer.axis if layer.axis >= 0 else rank + layer.axis
    if not 0 <= axis < rank:
        raise ShapeError(f"axis {layer.axis} out of range for rank-{rank} inputs")
    first = inputs[0]
    rest = first[:axis] + first[axis + 1:]
    for s in inputs[1:]:
        if len(s) != rank or (s[:axis] + s[axis + 1:] != rest  # equal tuples: nothing to prove
                              and any(dims.known_ne(a, b) for i, (a, b) in enumerate(zip(s, first)) if i != axis)):
            raise ShapeError(
                f"Concat along axis {axis} needs the other axes equal, got "
                + " and ".join(format_shape(x) for x in inputs)
            )
    out = list(inputs[0])
    out[axis] = dims.total(s[axis] for s in inputs)
    # positions join along ``axis``: kept elsewhere; a token prepended to an image's tokens (ViT's
    # class token, whose parameter carries no pixels) adds a position with no field
    return Cost(output=tuple(out), rf=Extends(axis - rank))


# bilinear: 4 multiplies + 3 adds per output element
_UPSAMPLE_OPS = {"nearest": 0, "bilinear": 7}


@register(Upsample)
def upsample(layer: Upsample, inputs):
    """Integer-factor upsampling. flops: nearest 0, bilinear 7 per output element. Receptive field:
    the jump shrinks by the factor; bilinear reads a 2x2 neighbourhood."""
    expect_rank(inputs[0], 3)
    if layer.mode not in _UPSAMPLE_OPS:
        raise ShapeError(f"mode must be one of {sorted(_UPSAMPLE_OPS)}, got {layer.mode!r}")
    c, h, w = inputs[0]
    fh, fw = layer.scale_factor
    out = (c, dims.normalize(h * fh), dims.normalize(w * fw))
    k = 1 if layer.mode == "nearest" else 2
    pads = tuple(dims.exact_div(k, 2) - dims.exact_div(1, 2 * f) for f in (fh, fw))
    fp = Footprint((k, k), (dims.exact_div(1, fh), dims.exact_div(1, fw)), pads)
    return Cost(output=out, flops=dims.normalize(dims.prod(out) * _UPSAMPLE_OPS[layer.mode]), rf=fp)


@register(ZeroPad2d)
def zero_pad2d(layer: ZeroPad2d, inputs):
    """Zero padding (left, right, top, bottom): a copy into a larger tensor."""
    expect_rank(inputs[0], 3)
    c, h, w = inputs[0]
    left, right, top, bottom = layer.padding
    out = (c, dims.normalize(h + top + bottom), dims.normalize(w + left + right))
    return Cost(output=out, rf=Footprint((1, 1), (1, 1), (top, left)))


@register(ChannelShuffle)
def channel_shuffle(layer: ChannelShuffle, inputs):
    """ShuffleNet's channel permutation: a copy, no flops. Channels must divide into ``groups``."""
    expect_rank(inputs[0], 3)
    if dims.divides(inputs[0][0], layer.groups) is False:
        raise ShapeError(f"channels {inputs[0][0]} are not divisible by groups {layer.groups}")
    return Cost(output=tuple(inputs[0]))


@register(Slice)
def slice_(layer: Slice, inputs):
    """``x[start:stop]`` along ``axis``: a view, no flops. Bounds must lie inside the axis."""
    shape = inputs[0]
    rank = len(shape)
    axis = layer.axis if layer.axis >= 0 else rank + layer.axis
    if not 0 <= axis < rank:
        raise ShapeError(f"axis {layer.axis} out of range for a rank-{rank} input")
    size = shape[axis]
    stop = size if layer.stop is None else layer.stop
    if layer.start < 0 or dims.known_lt(size, stop) or dims.known_lt(stop, layer.start + 1):
        raise ShapeError(f"slice [{layer.start}:{layer.stop}] is empty or outside axis {axis} of size "
                         f"{dims.format_dim(size)}")
    if layer.step < 1:
        raise ShapeError(f"slice step must be >= 1, got {layer.step}")
    out = list(shape)
    out[axis] = dims.ceildiv(stop - layer.start, layer.step)
    return Cost(output=tuple(out))
