"""Rules for the kinds the torch importer emits: parameters read by ``forward``, unreached
modules' parameters, and ops counted as unknown under ``allow_partial``."""

from __future__ import annotations

from ..layers import Parameter, TrainingBatchNorm1d, TrainingBatchNorm2d, TrainingBatchNorm3d, Uncounted, Unreached
from . import Cost, register
from .norm import batch_norm1d, batch_norm2d
from .spatial import batch_norm3d

register(TrainingBatchNorm1d)(batch_norm1d)
register(TrainingBatchNorm2d)(batch_norm2d)
register(TrainingBatchNorm3d)(batch_norm3d)


@register(Parameter)
def parameter(layer: Parameter, inputs):
    """A parameter tensor: its elements are params (trainable or frozen) or buffers; no work."""
    n = layer.numel
    return Cost(output=tuple(layer.shape), params=n if layer.role == "trainable" else 0,
                frozen_params=n if layer.role == "frozen" else 0, buffers=n if layer.role == "buffer" else 0)


@register(Unreached)
def unreached(layer: Unreached, inputs):
    """Parameters of modules the forward does not call: counted, no work."""
    return Cost(output=(), params=layer.params, frozen_params=layer.frozen_params,
                buffers=layer.buffers)


@register(Uncounted)
def uncounted(layer: Uncounted, inputs):
    """An op without a rule: the traced output shape, and a warning; its cost is unknown."""
    return Cost(output=tuple(layer.shape), warnings=[f"{layer.op} has no archcalc rule: its cost is NOT counted"])
