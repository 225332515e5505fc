"""Learned tensors applied in ``forward`` (archcalc.layers.LearnedTensor)."""

from __future__ import annotations

from .. import dims
from ..errors import ShapeError
from ..layers import LearnedTensor
from . import Cost, Extends, Unfollowed, register
from ._broadcast import axis_index, broadcast
from ._window import format_shape


@register(LearnedTensor)
def learned_tensor(layer: LearnedTensor, inputs):
    """params ``prod(shape)`` (or ``stored``), buffers ``index``. ``mul`` / ``add``: torch
    broadcasting of the input against the tensor, one flop per output element, no MACs (no
    reduction). ``prepend``: the tensor is concatenated before the input along ``axis`` (other axes
    must match): a copy, no flops. ``value``: the tensor of ``shape`` itself (a gather, no flops)."""
    x = tuple(inputs[0])
    params = dims.prod(layer.shape) if layer.stored is None else layer.stored
    if layer.op == "value":
        return Cost(output=tuple(layer.shape), params=params, buffers=layer.index,
                    rf=Unfollowed("outputs a learned tensor, not the input's pixels"))
    if layer.op in ("mul", "add"):
        out = broadcast([x, layer.shape], f"LearnedTensor ({layer.op})")
        return Cost(output=out, params=params, buffers=layer.index, flops=dims.normalize(dims.prod(out)))
    rank = len(x)
    axis = axis_index(layer.axis, rank, "LearnedTensor", "axis")
    if len(layer.shape) != rank or any(dims.known_ne(a, b) for i, (a, b) in enumerate(zip(layer.shape, x))
                                       if i != axis):
        raise ShapeError(f"a learned tensor {format_shape(layer.shape)} cannot be prepended to "
                         f"{format_shape(x)} along axis {layer.axis}")
    out = x[:axis] + (dims.normalize(x[axis] + layer.shape[axis]),) + x[axis + 1:]
    return Cost(output=out, params=params, buffers=layer.index, rf=Extends(axis - rank))
