"""Pointwise and merge rules: activations, dropout, softmax, residual add, gating multiply."""

from __future__ import annotations

from .. import dims
from ..errors import ShapeError
from ..layers import ACTIVATION_OPS, Activation, Add, Div, Dropout, Identity, Mul, Softmax, Sub
from . import Cost, register
from ._broadcast import axis_index, broadcast


@register(Activation)
def activation(layer: Activation, inputs):
    """Pointwise activation: :data:`archcalc.layers.ACTIVATION_OPS` flops per element."""
    n = dims.prod(inputs[0])
    return Cost(output=tuple(inputs[0]), flops=dims.normalize(n * ACTIVATION_OPS[layer.fn]))


@register(Dropout, Identity)
def passthrough(layer, inputs):
    """Identity at inference: no work, no new tensor."""
    return Cost(output=tuple(inputs[0]))


@register(Softmax)
def softmax(layer: Softmax, inputs):
    """Softmax along ``dim`` (a per-sample axis): one exp, one accumulate and one divide per
    element (3 flops)."""
    axis_index(layer.dim, len(inputs[0]), "Softmax")
    n = dims.prod(inputs[0])
    return Cost(output=tuple(inputs[0]), flops=dims.normalize(3 * n))


def _binary(layer, inputs):
    """Output shape and flops of a k-input elementwise op with torch broadcasting: ``k - 1`` ops
    per output element."""
    if len(inputs) < 2:
        raise ShapeError(f"{layer.kind} needs at least 2 inputs, got {len(inputs)}")
    out = broadcast(inputs, layer.kind)
    return Cost(output=out, flops=dims.normalize(dims.prod(out) * (len(inputs) - 1)))


@register(Add, Sub, Div)
def add(layer, inputs):
    """Elementwise sum / difference / quotient of k inputs with torch broadcasting (a (C, 1, 1)
    tensor against (C, H, W)): ``(k - 1)`` ops per output element, no MACs."""
    return _binary(layer, inputs)


def _legacy_gate(inputs):
    """archcalc's older Mul accepted a (C,) gate over (C, H, W) (channel-first, not torch's
    right-aligned broadcasting); kept so hand-written graphs keep working."""
    base = inputs[0]
    for g in inputs[1:]:
        gate = tuple(d for d in g if not (dims.is_concrete(d) and d == 1)) or (1,)
        if dims.known_ne(gate[0], base[0]) and gate != (1,):
            return False
    return True


@register(Mul)
def mul(layer: Mul, inputs):
    """Elementwise product with torch broadcasting (squeeze-excitation gates (C, 1, 1), attention
    maps (1, H, W)): ``(k - 1)`` multiplies per output element (no weights, so no MACs). A (C,)
    gate over a (C, H, W) map (archcalc's channel-first gate) is also accepted."""
    if len(inputs) < 2:
        raise ShapeError(f"Mul needs at least 2 inputs, got {len(inputs)}")
    try:
        return _binary(layer, inputs)
    except ShapeError:
        if not _legacy_gate(inputs):
            raise
    n = dims.prod(inputs[0])
    return Cost(output=tuple(inputs[0]), flops=dims.normalize(n * (len(inputs) - 1)))
