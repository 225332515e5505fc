"""Views and reductions: permute, transpose, (un)squeeze, expand, mean/sum/amax.

Views share their input's storage (no new tensor, no flops). Reductions write a new tensor; their
flops are the adds (or comparisons) that fold the reduced elements, plus a divide per output for
the mean.
"""

from __future__ import annotations

from .. import dims
from ..errors import ShapeError
from ..layers import POINTWISE_OPS, Amax, Expand, Mean, Permute, Pointwise, Roll, Select, Squeeze, Sum, Transpose, Unsqueeze
from . import RESHAPES, Cost, Mixes, Moves, Unfollowed, register
from ._broadcast import axis_index
from ._window import format_shape


def _distinct_axes(layer, rank: int) -> set:
    """``layer.dim`` as axis indices of a rank-``rank`` input; two names for one axis (``(0, -1)``
    on a rank-1 input) are refused, as torch does."""
    picked = [axis_index(a, rank, layer.kind) for a in layer.dim]
    if len(set(picked)) != len(picked):
        raise ShapeError(f"{layer.kind} axes {layer.dim} name one axis twice for a rank-{rank} input")
    return set(picked)


@register(Permute)
def permute(layer: Permute, inputs):
    """``x.permute(dims)``: a view with the axes reordered; no flops."""
    shape = inputs[0]
    rank = len(shape)
    if len(layer.dims) != rank:
        raise ShapeError(f"permute needs {rank} axes for input {format_shape(shape)}, got {layer.dims}")
    order = [axis_index(a, rank, "Permute") for a in layer.dims]
    if len(set(order)) != rank:
        raise ShapeError(f"permute axes {layer.dims} repeat an axis")
    return Cost(output=tuple(shape[a] for a in order), rf=Moves(tuple(order)))


@register(Transpose)
def transpose(layer: Transpose, inputs):
    """``x.transpose(a, b)``: a view with two axes swapped; no flops."""
    shape = list(inputs[0])
    a = axis_index(layer.dim0, len(shape), "Transpose", "dim0")
    b = axis_index(layer.dim1, len(shape), "Transpose", "dim1")
    shape[a], shape[b] = shape[b], shape[a]
    order = list(range(len(shape)))
    order[a], order[b] = b, a
    return Cost(output=tuple(shape), rf=Moves(tuple(order)))


@register(Unsqueeze)
def unsqueeze(layer: Unsqueeze, inputs):
    """``x.unsqueeze(dim)``: a view with a new size-1 axis; no flops."""
    shape = list(inputs[0])
    a = axis_index(layer.dim, len(shape) + 1, "Unsqueeze")
    shape.insert(a, 1)
    return Cost(output=tuple(shape), rf=RESHAPES)


@register(Squeeze)
def squeeze(layer: Squeeze, inputs):
    """``x.squeeze(dim)``: a view without the named size-1 axes (an axis of another size stays, as
    in torch); ``dim=None`` drops every axis of concrete size 1. No flops."""
    shape = inputs[0]
    rank = len(shape)
    if layer.dim is None:
        picked = {i for i, d in enumerate(shape) if dims.is_concrete(d) and d == 1}
    else:
        picked = _distinct_axes(layer, rank)
        picked = {i for i in picked if dims.is_concrete(shape[i]) and shape[i] == 1}
    return Cost(output=tuple(d for i, d in enumerate(shape) if i not in picked), rf=RESHAPES)


@register(Expand)
def expand(layer: Expand, inputs):
    """``x.expand(sizes)``: a view (stride 0 on the stretched axes); only size-1 axes may grow and
    new axes go in front. No flops, no new tensor."""
    shape = inputs[0]
    target = layer.shape
    if len(inputs) == 2:  # expand_as(other): the other's shape
        target = tuple(inputs[1])
    if len(target) < len(shape):
        raise ShapeError(f"expand to {len(target)} axes is fewer than the input's {format_shape(shape)}")
    lead = len(target) - len(shape)
    out = []
    for i, t in enumerate(target):
        src = shape[i - lead] if i >= lead else None
        if isinstance(t, int) and t == -1:
            if src is None:
                raise ShapeError(f"expand: -1 is not allowed for a new leading axis ({layer.shape})")
            out.append(src)
            continue
        if src is not None and not (dims.is_concrete(src) and src == 1) and dims.known_ne(src, t):
            raise ShapeError(f"expand cannot stretch axis {i - lead} of {format_shape(shape)} (size "
                             f"{dims.format_dim(src)}) to {dims.format_dim(t)}")
        out.append(t)
    return Cost(output=tuple(out))


def _reduced(layer, shape):
    """(output shape, input elements, output elements, the receptive-field trait)."""
    rank = len(shape)
    axes = set(range(rank)) if layer.dim is None else _distinct_axes(layer, rank)
    if layer.keepdim:
        out = tuple(1 if i in axes else d for i, d in enumerate(shape))
    else:
        out = tuple(d for i, d in enumerate(shape) if i not in axes)
    return out, dims.prod(shape), dims.prod(out), Mixes(tuple(sorted(a - rank for a in axes)))


@register(Mean)
def mean(layer: Mean, inputs):
    """Mean over axes: ``(n - 1)`` adds and 1 divide per output, i.e. one flop per input element."""
    out, n_in, _, mixes = _reduced(layer, inputs[0])
    return Cost(output=out, flops=n_in, rf=mixes)


@register(Sum)
def sum_(layer: Sum, inputs):
    """Sum over axes: ``(n - 1)`` adds per output element."""
    out, n_in, n_out, mixes = _reduced(layer, inputs[0])
    return Cost(output=out, flops=dims.normalize(n_in - n_out), rf=mixes)


@register(Amax)
def amax(layer: Amax, inputs):
    """Max over axes: ``(n - 1)`` comparisons per output element."""
    out, n_in, n_out, mixes = _reduced(layer, inputs[0])
    return Cost(output=out, flops=dims.normalize(n_in - n_out), rf=mixes)


@register(Select)
def select(layer: Select, inputs):
    """One index of an axis, which is removed: a view, no flops."""
    shape = inputs[0]
    a = axis_index(layer.dim, len(shape), "Select")
    size = shape[a]
    if dims.known_lt(size, layer.index + 1) or (layer.index < 0 and dims.known_lt(size, -layer.index)):
        raise ShapeError(f"index {layer.index} is outside axis {layer.dim} of size {dims.format_dim(size)}")
    return Cost(output=tuple(shape[:a]) + tuple(shape[a + 1:]))


@register(Pointwise)
def pointwise(layer: Pointwise, inputs):
    """One-tensor elementwise math: :data:`archcalc.layers.POINTWISE_OPS` flops per element."""
    n = dims.prod(inputs[0])
    return Cost(output=tuple(inputs[0]), flops=dims.normalize(n * POINTWISE_OPS[layer.op]))


@register(Roll)
def roll(layer: Roll, inputs):
    """A cyclic shift along ``dims``: a new tensor of the same shape, no flops."""
    shape = inputs[0]
    for a in layer.dims:
        axis_index(a, len(shape), "Roll")
    return Cost(output=tuple(shape), rf=_ROLLED)


_ROLLED = Unfollowed("a cyclic shift (torch.roll) wraps positions around the edges")
