"""Pooling rules. Pooling has no MACs (no weights) except LeNet's trainable sub-sampling."""

from __future__ import annotations

from .. import dims
from ..errors import ShapeError
from ..layers import (
    AdaptiveAvgPool2d,
    AdaptiveMaxPool2d,
    AvgPool2d,
    GlobalAvgPool2d,
    GlobalMaxPool2d,
    MaxPool2d,
    Subsample2d,
)
from . import Cost, Footprint, Traits, register

#: pooling modules take (N, C, *spatial): a PerItem pool runs on the items folded into the batch
POOL_TRAITS = Traits(fixed_rank=True)
from ._window import expect_rank, window_out


def _pooled(layer, shape, dilation=(1, 1), ceil_mode=False, padding=(0, 0)):
    expect_rank(shape, 3)
    c, h, w = shape
    (kh, kw), (sh, sw) = layer.kernel_size, layer.stride
    for p, k, axis in ((padding[0], kh, "height"), (padding[1], kw, "width")):
        if 2 * p > k:
            raise ShapeError(f"padding {p} must be at most half the kernel {k} ({axis}), as torch requires")
    warnings: list = []
    ho, keh = window_out(h, kh, sh, padding[0], padding[0], dilation[0], ceil_mode, "height", warnings)
    wo, kew = window_out(w, kw, sw, padding[1], padding[1], dilation[1], ceil_mode, "width", warnings)
    fp = Footprint((keh, kew), (sh, sw), tuple(padding))
    return (c, ho, wo), dims.normalize(c * ho * wo), fp, warnings


@register(MaxPool2d, traits=POOL_TRAITS)
def max_pool2d(layer: MaxPool2d, inputs):
    """Max pooling. flops: ``k*k - 1`` comparisons per output element."""
    out, n, fp, warnings = _pooled(layer, inputs[0], layer.dilation, layer.ceil_mode, layer.padding)
    kh, kw = layer.kernel_size
    return Cost(output=out, flops=dims.normalize(n * (kh * kw - 1)), rf=fp, warnings=warnings)


@register(AvgPool2d, traits=POOL_TRAITS)
def avg_pool2d(layer: AvgPool2d, inputs):
    """Average pooling. flops: ``k*k - 1`` adds + 1 divide = ``k*k`` per output element (also with
    ``count_include_pad=False``, where only the divisor changes)."""
    out, n, fp, warnings = _pooled(layer, inputs[0], (1, 1), layer.ceil_mode, layer.padding)
    kh, kw = layer.kernel_size
    return Cost(output=out, flops=dims.normalize(n * kh * kw), rf=fp, warnings=warnings)


@register(Subsample2d)
def subsample2d(layer: Subsample2d, inputs):
    """LeNet-5 S-layer: window sum, times one trainable coefficient, plus one trainable bias per map.

    params ``2*C``; macs one (coefficient) per output element; flops ``2*macs`` + ``k*k - 1``
    window adds + 1 bias add per output element.
    """
    out, n, fp, warnings = _pooled(layer, inputs[0])
    kh, kw = layer.kernel_size
    return Cost(
        output=out,
        params=2 * inputs[0][0],
        macs=n,
        flops=dims.normalize(2 * n + n * (kh * kw - 1) + n),
        rf=fp,
        warnings=warnings,
    )


def _adaptive_windows(size, out):
    """torch's adaptive windows along one axis: window i spans
    ``[floor(i*in/out), ceil((i+1)*in/out))``. Returns (sum of widths, widest window)."""
    widths = [dims.normalize(dims.ceildiv((i + 1) * size, out) - dims.floordiv(i * size, out)) for i in range(out)]
    return dims.total(widths), dims.smax(*widths)


def _adaptive(layer, shape):
    expect_rank(shape, 3)
    c, h, w = shape
    oh, ow = layer.output_size
    for o, axis in ((oh, "height"), (ow, "width")):
        if o < 1:
            raise ShapeError(f"output_size along {axis} must be >= 1, got {o}")
    sum_h, max_h = _adaptive_windows(h, oh)
    sum_w, max_w = _adaptive_windows(w, ow)
    fp = Footprint((max_h, max_w), (dims.exact_div(h, oh), dims.exact_div(w, ow)), (0, 0))
    return (c, oh, ow), dims.normalize(c * sum_h * sum_w), dims.normalize(c * oh * ow), fp


@register(AdaptiveAvgPool2d, traits=POOL_TRAITS)
def adaptive_avg_pool2d(layer: AdaptiveAvgPool2d, inputs):
    """Adaptive average pooling with torch's exact windows. flops: window size (``size - 1`` adds +
    1 divide) summed over outputs. Receptive field uses the widest window and the mean step. An
    output size equal to the input size is still a copy (torch materialises a new tensor)."""
    out, window_elems, _, fp = _adaptive(layer, inputs[0])
    return Cost(output=out, flops=window_elems, rf=fp)


@register(AdaptiveMaxPool2d, traits=POOL_TRAITS)
def adaptive_max_pool2d(layer: AdaptiveMaxPool2d, inputs):
    """Adaptive max pooling: ``window - 1`` comparisons per output."""
    out, window_elems, n_out, fp = _adaptive(layer, inputs[0])
    return Cost(output=out, flops=dims.normalize(window_elems - n_out), rf=fp)


def _global(shape):
    expect_rank(shape, 3)
    c, h, w = shape
    return c, dims.normalize(c * h * w), Footprint((h, w), (h, w), (0, 0))


@register(GlobalAvgPool2d)
def global_avg_pool2d(layer, inputs):
    """Global average pooling to (C,): ``H*W - 1`` adds + 1 divide per channel."""
    c, n, fp = _global(inputs[0])
    return Cost(output=(c,), flops=n, rf=fp)


@register(GlobalMaxPool2d)
def global_max_pool2d(layer, inputs):
    """Global max pooling to (C,): ``H*W - 1`` comparisons per channel."""
    c, n, fp = _global(inputs[0])
    return Cost(output=(c,), flops=dims.normalize(n - c), rf=fp)
