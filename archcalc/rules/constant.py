"""The rule for tensors ``forward`` creates from sizes alone (:class:`~archcalc.layers.Constant`)."""

from __future__ import annotations

from ..layers import Constant
from . import Cost, register


@register(Constant)
def constant(layer: Constant, inputs):
    """``torch.arange``/``zeros``/``linspace``...: its shape; no params, no buffers, no work (a
    fill is not a multiply-accumulate, and FlopCounterMode and fvcore count nothing for it)."""
    return Cost(output=tuple(layer.shape))
