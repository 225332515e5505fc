"""Rules for task heads: cropping, RoI pooling, per-item mapping, recurrent and lookup layers.

RoI layers take one image's (C, H, W) feature map and emit ``(R, C, oh, ow)``: ``R`` proposals per
image is a leading per-sample axis (an int or a symbol), so every count below is per image and the
analysis multiplies by the batch as usual. Work whose size depends on the data (bins of a RoI max
pool, proposal decoding, NMS) is not counted and is said so in a warning, never silently zero.
"""

from __future__ import annotations

from .. import dims
from ..errors import ShapeError
from ..layers import (
    LSTM,
    Crop,
    Embedding,
    FrozenBatchNorm2d,
    L2Norm,
    PerItem,
    PSRoIPool,
    Reshape,
    RoIAlign,
    RoIPool,
    Shared,
)
from . import RESHAPES, Cost, Footprint, Moves, Traits, Unfollowed, register, rule_for
from ._window import expect_rank, format_shape


@register(Crop)
def crop(layer: Crop, inputs):
    """Spatial crop of ``inputs[0]`` to ``layer.size`` or to the (H, W) of ``inputs[1]``.

    A view (torch slicing): no new tensor, no flops. ``offset="center"`` starts at
    ``(in - out) // 2`` per axis. The crop must fit inside the input.
    """
    x = inputs[0]
    expect_rank(x, 3)
    c, h, w = x
    if layer.size is not None:
        oh, ow = layer.size
    else:
        if len(inputs) != 2:
            raise ShapeError("Crop needs a size or a second (reference) input")
        oh, ow = inputs[1][-2], inputs[1][-1]
    if isinstance(layer.offset, str):
        if layer.offset != "center":
            raise ShapeError(f"offset must be (top, left) or 'center', got {layer.offset!r}")
        top, left = dims.floordiv(h - oh, 2), dims.floordiv(w - ow, 2)
    else:
        top, left = layer.offset
    for size, off, out, axis in ((h, top, oh, "height"), (w, left, ow, "width")):
        if dims.known_lt(off, 0) or dims.known_lt(size, dims.normalize(off + out)):
            raise ShapeError(f"crop of {dims.format_dim(out)} at offset {dims.format_dim(off)} does not fit "
                             f"the input {axis} {dims.format_dim(size)}")
    top, left = dims.normalize(top), dims.normalize(left)
    return Cost(output=(c, dims.normalize(oh), dims.normalize(ow)),
                rf=Footprint((1, 1), (1, 1), (dims.normalize(-top), dims.normalize(-left))))


def _roi_common(layer, inputs, kind):
    """Several inputs are the levels of a feature pyramid (torchvision ``MultiScaleRoIAlign``): each
    RoI is pooled from the one level its size selects, so output and cost are those of one level;
    the levels must agree on channels."""
    shape = inputs[0]
    for s in inputs:
        expect_rank(s, 3, "(C, H, W) feature map")
        if dims.known_ne(s[0], shape[0]):
            raise ShapeError("pyramid levels disagree on channels: " + " and ".join(format_shape(x) for x in inputs))
    if dims.known_lt(layer.num_rois, 1):
        raise ShapeError(f"num_rois must be >= 1, got {dims.format_dim(layer.num_rois)}")
    oh, ow = layer.output_size
    if oh < 1 or ow < 1:
        raise ShapeError(f"{kind} output_size must be >= 1, got {layer.output_size}")
    return shape[0], oh, ow


@register(RoIAlign)
def roi_align(layer: RoIAlign, inputs):
    """RoIAlign (Mask R-CNN; torchvision ``roi_align``) to ``(R, C, oh, ow)``.

    flops per output element: ``sampling_ratio**2`` bilinear samples at 7 flops each (4 multiplies,
    3 adds, as for bilinear upsampling) plus their average (``s*s - 1`` adds, 1 divide):
    ``8 * s*s``. ``sampling_ratio <= 0`` (adaptive, Detectron's default) makes the sample count
    depend on each RoI's size: then flops are not counted and a warning says so. No params, no MACs.
    """
    c, oh, ow = _roi_common(layer, inputs, "RoIAlign")
    out = (layer.num_rois, c, oh, ow)
    n = dims.prod(out)
    s = layer.sampling_ratio
    warnings = []
    if s > 0:
        flops = dims.normalize(n * 8 * s * s)
    else:
        flops = 0
        warnings.append("adaptive sampling_ratio: bilinear samples per bin depend on each RoI's size; "
                        "their flops are not counted")
    return Cost(output=out, flops=flops, warnings=warnings, rf=_ROI)


#: a bin's receptive field depends on the box it pools, given at run time
_ROI = Unfollowed("pools boxes given at run time: each bin's field depends on its box")


@register(RoIPool)
def roi_pool(layer: RoIPool, inputs):
    """RoI max pooling (Fast R-CNN) to ``(R, C, oh, ow)``. Each bin's size depends on its RoI, so its
    comparisons are data-dependent: flops are not counted (warning). No params, no MACs."""
    c, oh, ow = _roi_common(layer, inputs, "RoIPool")
    return Cost(output=(layer.num_rois, c, oh, ow),
                warnings=["bin sizes depend on each RoI: max-pool comparisons are not counted"], rf=_ROI)


@register(PSRoIPool)
def ps_roi_pool(layer: PSRoIPool, inputs):
    """Position-sensitive RoI average pooling (R-FCN): ``(k*k*D, H, W)`` -> ``(R, D, k, k)``. Bin
    averages are data-dependent in size: flops not counted (warning). No params, no MACs."""
    c, oh, ow = _roi_common(layer, inputs, "PSRoIPool")
    if dims.divides(c, oh * ow) is False:
        raise ShapeError(f"input channels {c} are not divisible by output bins {oh}x{ow}")
    d = dims.floordiv(c, oh * ow)
    return Cost(output=(layer.num_rois, d, oh, ow),
                warnings=["bin sizes depend on each RoI: bin averages are not counted"], rf=_ROI)


@register(PerItem)
def per_item(layer: PerItem, inputs):
    """Apply the wrapped layer's rule to each item of the leading axis (``n`` items).

    params and buffers once (weights are shared across items); macs and flops ``n`` times the
    wrapped layer's; output ``(n,) + inner output``. Inputs must agree on ``n``.
    """
    if not inputs or any(len(s) < 2 for s in inputs):
        raise ShapeError("PerItem needs inputs with a leading item axis, got "
                         + " and ".join(format_shape(s) for s in inputs))
    n = inputs[0][0]
    for s in inputs[1:]:
        if dims.known_ne(s[0], n):
            raise ShapeError("PerItem inputs disagree on the item axis: "
                             + " and ".join(format_shape(s) for s in inputs))
    inner = rule_for(layer.layer)(layer.layer, [tuple(s[1:]) for s in inputs])
    return Cost(
        output=(n,) + tuple(inner.output),
        params=inner.params,
        frozen_params=inner.frozen_params,
        buffers=inner.buffers,
        macs=dims.normalize(n * inner.macs),
        flops=dims.normalize(n * inner.flops),
        # the inner layer's axes, one further right (a permutation also keeps the item axis first)
        rf=Moves((0,) + tuple(a + 1 for a in inner.rf.order)) if type(inner.rf) is Moves else inner.rf,
        warnings=list(inner.warnings),
    )


#: Pointwise flops per hidden unit per step in an LSTM cell (archcalc's convention): adding the
#: input and recurrent products of 4 gates (4), 3 sigmoids (3 x 4) and 2 tanh (2 x 5) as in
#: ACTIVATION_OPS, ``c = f*c + i*g`` (3), ``h = o*tanh(c)`` (1). Bias adds (2 x 4) come on top.
LSTM_POINTWISE_OPS = 4 + 3 * 4 + 2 * 5 + 3 + 1


# a batch-first torch.nn.LSTM takes a fixed rank (N, T, F): run per item, torch folds the items
# into its batch (Sequencer2d's rows and columns)
@register(LSTM, traits=Traits(fixed_rank=True))
def lstm(layer: LSTM, inputs):
    """torch.nn.LSTM on (T, input_size) -> (T, hidden_size); T may be symbolic.

    - params per layer and direction: ``4 * (in*h + h*h) + 2 * 4h`` (torch keeps ``bias_ih`` and
      ``bias_hh``); ``in`` is ``input_size`` for the first layer and ``h`` (``2h`` bidirectional)
      for the others.
    - macs: ``T * 4 * (in*h + h*h)`` per layer and direction (the gate matmuls, as torch runs them:
      the input projection of every step, then one recurrent product per step; biases are not MACs).
    - flops: ``2 * macs + T * h * (30 + 8 if bias)`` per layer and direction, see
      :data:`LSTM_POINTWISE_OPS`.
    """
    (shape,) = inputs
    if len(shape) != 2:
        raise ShapeError(f"expects a (T, features) sequence, got {format_shape(shape)}")
    t, fin = shape
    h = layer.hidden_size
    if h < 1 or layer.num_layers < 1:
        raise ShapeError(f"hidden_size and num_layers must be >= 1, got {h} and {layer.num_layers}")
    dirs = 2 if layer.bidirectional else 1
    params = macs = flops = 0
    for i in range(layer.num_layers):
        fi = fin if i == 0 else dirs * h
        weights = dims.normalize(4 * (fi * h + h * h))
        bias = 8 * h if layer.bias else 0
        params = dims.normalize(params + dirs * (weights + bias))
        step_macs = weights
        macs = dims.normalize(macs + dirs * t * step_macs)
        flops = dims.normalize(flops + dirs * t * (2 * step_macs + h * LSTM_POINTWISE_OPS + bias))
    return Cost(output=(t, dims.normalize(dirs * h)), params=params, macs=macs, flops=flops)


@register(Embedding)
def embedding(layer: Embedding, inputs):
    """Table lookup: (T,) token ids -> (T, d). params ``num_embeddings * d``; a gather, so no MACs
    and no flops (it does materialise a new (T, d) tensor)."""
    (shape,) = inputs
    if len(shape) != 1:
        raise ShapeError(f"expects a (T,) sequence of token ids, got {format_shape(shape)}")
    return Cost(output=(shape[0], layer.embedding_dim), params=layer.num_embeddings * layer.embedding_dim)


@register(Reshape)
def reshape(layer: Reshape, inputs):
    """A view with the same number of elements; one ``-1`` entry is inferred. No flops."""
    (shape,) = inputs
    n = dims.prod(shape)
    target = [dims.coerce_dim(d) if not (isinstance(d, int) and d == -1) else -1 for d in layer.shape]
    if sum(1 for d in target if isinstance(d, int) and d == -1) > 1:
        raise ShapeError(f"at most one -1 in the target shape, got {layer.shape}")
    known = dims.prod(d for d in target if not (isinstance(d, int) and d == -1))
    if any(isinstance(d, int) and d == -1 for d in target):
        if dims.divides(n, known) is False:
            raise ShapeError(f"cannot reshape {format_shape(shape)} ({dims.format_dim(n)} elements) "
                             f"to {layer.shape}")
        fill = dims.exact_div(n, known)
        target = [fill if isinstance(d, int) and d == -1 else d for d in target]
    elif dims.known_ne(known, n):
        raise ShapeError(f"cannot reshape {format_shape(shape)} ({dims.format_dim(n)} elements) to "
                         f"{format_shape(tuple(target))} ({dims.format_dim(known)} elements)")
    return Cost(output=tuple(dims.normalize(d) for d in target), rf=RESHAPES)


@register(L2Norm)
def l2norm(layer: L2Norm, inputs):
    """SSD's channel-wise L2 normalisation with a learned scale per channel.

    params ``C``. flops per element: square and accumulate (2), divide (1), scale (1); per spatial
    position: sqrt and the eps clamp (2): ``4*C*H*W + 2*H*W``. No MACs (no weight matmul).
    """
    (shape,) = inputs
    expect_rank(shape, 3)
    c, h, w = shape
    return Cost(output=tuple(shape), params=c, flops=dims.normalize(4 * c * h * w + 2 * h * w))


@register(FrozenBatchNorm2d)
def frozen_batch_norm2d(layer: FrozenBatchNorm2d, inputs):
    """Frozen batch norm: no params; buffers ``4C`` (weight, bias, running mean, running var; no
    ``num_batches_tracked``); flops 2 per element (a folded scale and shift), like BatchNorm2d."""
    (shape,) = inputs
    expect_rank(shape, 3)
    return Cost(output=tuple(shape), buffers=4 * shape[0], flops=dims.normalize(2 * dims.prod(shape)))


@register(Shared)
def shared(layer: Shared, inputs):
    """The wrapped layer's rule, minus its params and buffers (counted once, at ``owner``)."""
    inner = rule_for(layer.layer)(layer.layer, inputs)
    return Cost(output=inner.output, macs=inner.macs, flops=inner.flops, rf=inner.rf, warnings=list(inner.warnings))
