"""Pointwise and merge rules: activations, dropout, softmax, residual add, gating multiply."""

from __future__ import annotations

from .. import dims
from ..errors import ShapeError
from ..layers import ACTIVATION_OPS, Activation, Add, Dropout, Identity, Mul, Softmax
from . import Cost, register
from ._window import format_shape


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
    """Softmax: one exp, one accumulate and one divide per element (3 flops). ``dim`` indexes the
    per-sample shape and must exist in it (torch refuses an axis out of range)."""
    rank = len(inputs[0])
    if not -rank <= layer.dim < rank:
        raise ShapeError(f"dim {layer.dim} out of range for a rank-{rank} input {format_shape(inputs[0])}")
    n = dims.prod(inputs[0])
    return Cost(output=tuple(inputs[0]), flops=dims.normalize(3 * n))


def _check_same(shapes, kind):
    first = shapes[0]
    for s in shapes[1:]:
        if len(s) != len(first) or any(dims.known_ne(a, b) for a, b in zip(s, first)):
            raise ShapeError(
                f"{kind} needs equal input shapes, got " + " and ".join(format_shape(x) for x in shapes)
            )


@register(Add)
def add(layer: Add, inputs):
    """Elementwise sum of k inputs: ``(k - 1)`` adds per element."""
    if len(inputs) < 2:
        raise ShapeError(f"Add needs at least 2 inputs, got {len(inputs)}")
    _check_same(inputs, "Add")
    n = dims.prod(inputs[0])
    return Cost(output=tuple(inputs[0]), flops=dims.normalize(n * (len(inputs) - 1)))


@register(Mul)
def mul(layer: Mul, inputs):
    """Elementwise product; later inputs may be (C,), (C, 1, 1) gates broadcast over the first.
    ``(k - 1)`` multiplies per output element (no weights, so no MACs)."""
    if len(inputs) < 2:
        raise ShapeError(f"Mul needs at least 2 inputs, got {len(inputs)}")
    base = inputs[0]
    for g in inputs[1:]:
        gate = tuple(d for d in g if not (dims.is_concrete(d) and d == 1)) or (1,)
        if dims.known_ne(gate[0], base[0]) and gate != (1,):
            raise ShapeError(f"Mul cannot broadcast {format_shape(g)} over {format_shape(base)}")
    n = dims.prod(base)
    return Cost(output=tuple(base), flops=dims.normalize(n * (len(inputs) - 1)))
