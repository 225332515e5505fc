"""Fully connected rules."""

from __future__ import annotations

from .. import dims
from ..errors import ShapeError
from ..layers import RBF, Linear
from . import Cost, Mixes, Traits, register
from ._window import format_shape


def _features(shape, kind):
    if len(shape) not in (1, 2):
        raise ShapeError(
            f"{kind} expects a (features,) or (sequence, features) input, got {format_shape(shape)}; "
            "insert a Flatten or a global pooling before it"
        )
    return shape[-1], dims.prod(shape[:-1])


@register(Linear, traits=Traits(param_tensors=lambda layer, params: (
    (params - layer.out_features, layer.out_features) if layer.bias else (params,))))
def linear(layer: Linear, inputs):
    """``y = x W^T + b`` on the last axis.

    params ``in*out`` (+ ``out``); macs ``rows*in*out``; flops ``2*macs`` + one add per output
    element when there is a bias.
    """
    fin, rows = _features(inputs[0], "Linear")
    fout = layer.out_features
    macs = dims.normalize(rows * fin * fout)
    return Cost(
        output=tuple(inputs[0][:-1]) + (fout,),
        params=dims.normalize(fin * fout + (fout if layer.bias else 0)),
        macs=macs,
        flops=dims.normalize(2 * macs + (rows * fout if layer.bias else 0)),
        rf=_LAST_AXIS,
    )


_LAST_AXIS = Mixes((-1,))


@register(RBF)
def rbf(layer: RBF, inputs):
    """Euclidean RBF units ``y_i = sum_j (x_j - w_ij)^2`` (LeNet-5's output layer).

    params ``in*out`` (non-trainable unless ``trainable``); macs one squared-difference accumulate
    per weight; flops ``2*macs`` + one subtraction per weight.
    """
    fin, rows = _features(inputs[0], "RBF")
    weights = dims.normalize(fin * layer.out_features)
    macs = dims.normalize(rows * weights)
    return Cost(
        output=tuple(inputs[0][:-1]) + (layer.out_features,),
        params=weights if layer.trainable else 0,
        frozen_params=0 if layer.trainable else weights,
        macs=macs,
        flops=dims.normalize(3 * macs),
    )
