"""Normalisation rules."""

from __future__ import annotations

from .. import dims
from ..layers import BatchNorm1d, BatchNorm2d, LocalResponseNorm
from . import Cost, register
from ..errors import ShapeError
from ._window import expect_rank, format_shape


def _batchnorm(layer, shape, channels):
    n = dims.prod(shape)
    return Cost(
        output=tuple(shape),
        params=2 * channels if layer.affine else 0,
        # running_mean, running_var, and torch's scalar num_batches_tracked
        buffers=dims.normalize(2 * channels + 1) if layer.track_running_stats else 0,
        flops=dims.normalize(2 * n),
    )


@register(BatchNorm2d)
def batch_norm2d(layer: BatchNorm2d, inputs):
    """Batch norm at inference. params ``2C`` (gamma, beta); buffers ``2C + 1`` (running mean and
    variance plus torch's ``num_batches_tracked``), never counted as params. flops: 2 per element
    (the folded scale-and-shift an inference engine executes); no MACs."""
    expect_rank(inputs[0], 3)
    return _batchnorm(layer, inputs[0], inputs[0][0])


@register(BatchNorm1d)
def batch_norm1d(layer: BatchNorm1d, inputs):
    """Batch norm over the channels of a (C,) or (C, L) input (torch's (N, C) / (N, C, L)); same
    convention as BatchNorm2d."""
    if len(inputs[0]) not in (1, 2):
        raise ShapeError(f"BatchNorm1d expects a (C,) or (C, L) input, got {format_shape(inputs[0])}")
    return _batchnorm(layer, inputs[0], inputs[0][0])


@register(LocalResponseNorm)
def local_response_norm(layer: LocalResponseNorm, inputs):
    """Cross-channel LRN: per element one square, ``size - 1`` window adds, one scale, one add of
    ``k``, one power and one divide: ``size + 4`` flops; no MACs, no params."""
    expect_rank(inputs[0], 3)
    n = dims.prod(inputs[0])
    return Cost(output=tuple(inputs[0]), flops=dims.normalize(n * (layer.size + 4)))
