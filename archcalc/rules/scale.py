"""Constant scaling (Inception-ResNet's residual scale)."""

from __future__ import annotations

from .. import dims
from ..layers import Scale
from . import Cost, register


@register(Scale)
def scale(layer: Scale, inputs):
    """Multiply every element by a constant: 1 flop per element, no params (the factor is a fixed
    hyper-parameter), no MACs (no weight tensor), a new tensor as in ``out * scale``."""
    n = dims.prod(inputs[0])
    return Cost(output=tuple(inputs[0]), flops=dims.normalize(n))
