"""Rules for batch-free tensors the torch importer records: tensors ``forward`` creates from sizes
alone (:class:`~archcalc.layers.Constant`) and tables read through an index tensor
(:class:`~archcalc.layers.Index`)."""

from __future__ import annotations

from ..errors import ShapeError
from ..layers import Constant, Index
from . import Cost, register
from ._window import format_shape


@register(Constant)
def constant(layer: Constant, inputs):
    """``torch.arange``/``zeros``/``linspace``...: its shape; no params, no buffers, no work (a
    fill is not a multiply-accumulate, and FlopCounterMode and fvcore count nothing for it)."""
    return Cost(output=tuple(layer.shape))


@register(Index)
def index(layer: Index, inputs):
    """A gather of ``table`` by an integer ``idx`` along ``dim``: ``table.shape[:dim] + idx.shape +
    table.shape[dim + 1:]``; no params (the table and index are nodes of their own), no work."""
    if len(inputs) != 2:
        raise ShapeError(f"expects a table and one index tensor, got {len(inputs)} inputs")
    table, idx = inputs
    if layer.dim >= len(table):
        raise ShapeError(f"axis {layer.dim} out of range for a rank-{len(table)} table {format_shape(table)}")
    return Cost(output=tuple(table[:layer.dim]) + tuple(idx) + tuple(table[layer.dim + 1:]))
