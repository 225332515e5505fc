"""Normalisation rules."""

from __future__ import annotations

from .. import dims
from ..layers import BatchNorm1d, BatchNorm2d, LocalResponseNorm
from . import Cost, Traits, register
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


#: batch norms: gamma and beta are two tensors of C; the buffers hold torch's int64 num_batches_tracked
BATCH_NORM_TRAITS = Traits(param_tensors=lambda layer, params: (params // 2, params // 2), counts_batches=True,
                           fixed_rank=True)


@register(BatchNorm2d, traits=BATCH_NORM_TRAITS)
def batch_norm2d(layer: BatchNorm2d, inputs):
    """Batch norm at inference. params ``2C`` (gamma, beta); buffers ``2C + 1`` (running mean and
    variance plus torch's ``num_batches_tracked``), never counted as params. flops: 2 per element
    (the folded scale-and-shift an inference engine executes); no MACs."""
    expect_rank(inputs[0], 3)
    return _batchnorm(layer, inputs[0], inputs[0][0])


@register(BatchNorm1d, traits=BATCH_NORM_TRAITS)
def batch_norm1d(layer: BatchNorm1d, inputs):
    """Batch norm over the channels of a (C,) or (C, L) input (torch's (N, C) / (N, C, L)); same
    convention as BatchNorm2d."""
    if len(inputs[0]) not in (1, 2):
        raise ShapeError(f"BatchNorm1d expects a (C,) or (C, L) input, got {format_shape(inputs[0])}")
    return _batchnorm(layer, inputs[0], inputs[0][0])


def _lrn_composite_elements(layer, shape, training: bool):
    """Elements torch's composite ``F.local_response_norm`` holds besides its input and output.

    It computes ``sq = x*x``, pads it across channels (``C + size - 1`` maps), ``avg_pool3d``s that
    to ``avg`` and evaluates ``avg.mul(alpha).add(k).pow(beta)`` with ``avg`` still held by its
    variable, then ``x / div``. Inference: the larger of ``sq`` + padded and three maps during the
    chained expression, less the output map the model already counts. Training: ``avg_pool3d``
    saves the padded squares, ``pow`` its input and the division its divisor (padded + 2 maps)."""
    c = shape[0]
    rest = dims.prod(shape[1:])
    padded = (c + layer.size - 1) * rest
    if training:
        return padded + 2 * c * rest
    return dims.smax(padded + c * rest, 3 * c * rest) - c * rest


# its composite backward (division, pow, avg_pool3d, mul) holds 3 map-sized temporaries at once:
# measured (exact for (C, size) = (8, 5), (16, 3), (8, 7), (4, 9) in tests/test_memory_measure.py),
# not derived op by op
@register(LocalResponseNorm, traits=Traits(composite_elements=_lrn_composite_elements, backward_maps=3))
def local_response_norm(layer: LocalResponseNorm, inputs):
    """Cross-channel LRN: per element one square, ``size - 1`` window adds, one scale, one add of
    ``k``, one power and one divide: ``size + 4`` flops; no MACs, no params."""
    expect_rank(inputs[0], 3)
    n = dims.prod(inputs[0])
    return Cost(output=tuple(inputs[0]), flops=dims.normalize(n * (layer.size + 4)))
