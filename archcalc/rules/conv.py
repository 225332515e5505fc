"""Convolution rules."""

from __future__ import annotations

from .. import dims
from ..errors import ShapeError
from ..layers import Conv2d, ConvTranspose2d
from . import Cost, Footprint, Traits, register
from ._window import expect_rank, same_padding, window_out


def _check_groups(cin, cout, groups):
    if groups < 1:
        raise ShapeError(f"groups must be >= 1, got {groups}")
    if dims.divides(cin, groups) is False:
        raise ShapeError(f"in_channels {cin} is not divisible by groups {groups}")
    if dims.divides(cout, groups) is False:
        raise ShapeError(f"out_channels {cout} is not divisible by groups {groups}")


def _conv_padding(layer: Conv2d, h, w):
    """(lead_h, trail_h, lead_w, trail_w) for an int/pair, 'valid' or 'same' padding."""
    if layer.padding == "valid":
        return 0, 0, 0, 0
    if layer.padding == "same":
        (kh, kw), (sh, sw), (dh, dw) = layer.kernel_size, layer.stride, layer.dilation
        lh, th = same_padding(h, kh, sh, dh)
        lw, tw = same_padding(w, kw, sw, dw)
        return lh, th, lw, tw
    if isinstance(layer.padding, str):
        raise ShapeError(f"padding must be an int, a pair, 'same' or 'valid', got {layer.padding!r}")
    ph, pw = layer.padding
    return ph, ph, pw, pw


def weight_and_bias(layer, params):
    """A conv's parameter tensors: the weight, then a bias of one per output channel."""
    return (params - layer.out_channels, layer.out_channels) if layer.bias else (params,)


#: conv kinds: a weight and an optional bias (optimizer counters and step temporaries per tensor)
CONV_TRAITS = Traits(param_tensors=weight_and_bias, fixed_rank=True)


@register(Conv2d, traits=CONV_TRAITS)
def conv2d(layer: Conv2d, inputs):
    """Dense, grouped, depthwise, dilated or sparse-table 2-D convolution.

    - params: ``cout * cin/groups * kh * kw`` (+ ``cout`` bias); a sparse ``connections`` table
      replaces ``cout * cin/groups`` by the number of (output map, input map) links.
    - macs: one MAC per weight per output position. Bias is not a MAC.
    - flops: ``2 * macs`` + one add per output element when there is a bias.
    """
    (shape,) = inputs
    expect_rank(shape, 3)
    cin, h, w = shape
    cout = layer.out_channels
    _check_groups(cin, cout, layer.groups)
    (kh, kw), (sh, sw), (dh, dw) = layer.kernel_size, layer.stride, layer.dilation
    lh, th, lw, tw = _conv_padding(layer, h, w)
    warnings: list = []
    ho, keh = window_out(h, kh, sh, lh, th, dh, False, "height", warnings)
    wo, kew = window_out(w, kw, sw, lw, tw, dw, False, "width", warnings)
    if layer.connections is not None:
        if len(layer.connections) != cout:
            raise ShapeError(f"connection table has {len(layer.connections)} rows for {cout} output maps")
        bad = [i for row in layer.connections for i in row if not 0 <= i < cin]
        if bad:
            raise ShapeError(f"connection table refers to input map(s) {sorted(set(bad))} but the input has {cin}")
        links = sum(len(row) for row in layer.connections)
    else:
        links = dims.normalize(cout * dims.floordiv(cin, layer.groups))
    weights = dims.normalize(links * kh * kw)
    out_elems = dims.normalize(cout * ho * wo)
    macs = dims.normalize(weights * ho * wo)
    bias = cout if layer.bias else 0
    return Cost(
        output=(cout, ho, wo),
        params=dims.normalize(weights + bias),
        macs=macs,
        flops=dims.normalize(2 * macs + (out_elems if layer.bias else 0)),
        rf=Footprint((keh, kew), (sh, sw), (lh, lw)),
        warnings=warnings,
    )


@register(ConvTranspose2d, traits=CONV_TRAITS)
def conv_transpose2d(layer: ConvTranspose2d, inputs):
    """Transposed ("fractionally strided") convolution.

    - output: ``(in - 1)*s - 2p + d*(k - 1) + output_padding + 1`` per axis (torch); with
      ``output_size`` (or a second, reference input) that size, which must lie within a stride of
      the smallest one.
    - macs: every input element meets every weight of its group: ``cin * cout/groups * kh * kw *
      Hin * Win`` (fvcore's convention for transposed convs); flops ``2*macs`` + bias adds.
    - receptive field: an output pixel reads ``floor((d*(k-1))/s) + 1`` input pixels per axis and
      the jump shrinks by ``s``.
    """
    shape = inputs[0]
    expect_rank(shape, 3)
    cin, h, w = shape
    cout = layer.out_channels
    _check_groups(cin, cout, layer.groups)
    (kh, kw), (sh, sw), (ph, pw) = layer.kernel_size, layer.stride, layer.padding
    (oph, opw), (dh, dw) = layer.output_padding, layer.dilation
    for op, s, d, axis in ((oph, sh, dh, "height"), (opw, sw, dw, "width")):
        if op >= max(s, d):
            raise ShapeError(f"output_padding {op} must be smaller than stride {s} or dilation {d} ({axis})")
    wanted = layer.output_size
    if len(inputs) == 2:  # forward(x, output_size=ref.size()): the reference's last two axes
        wanted = tuple(inputs[1][-2:])
    outs = []
    for i, (size, k, s, p, op, d, axis) in enumerate(((h, kh, sh, ph, oph, dh, "height"),
                                                     (w, kw, sw, pw, opw, dw, "width"))):
        o = dims.normalize((size - 1) * s - 2 * p + d * (k - 1) + op + 1)
        if wanted is not None:
            # torch picks output_padding = wanted - smallest size; it must be below the stride
            smallest = dims.normalize(o - op)
            if dims.known_lt(wanted[i], smallest) or dims.known_lt(smallest + s - 1, wanted[i]):
                raise ShapeError(f"output_size {dims.format_dim(wanted[i])} along {axis} is outside "
                                 f"[{dims.format_dim(smallest)}, {dims.format_dim(smallest + s - 1)}] (torch)")
            o = wanted[i]
        if dims.known_lt(o, 1):
            raise ShapeError(f"output {axis} would be {dims.format_dim(o)} < 1")
        outs.append(o)
    ho, wo = outs
    weights = cin * (cout // layer.groups) * kh * kw
    macs = dims.normalize(weights * h * w)
    out_elems = dims.normalize(cout * ho * wo)
    fp_k, fp_s, fp_p = [], [], []
    for k, s, p, d in ((kh, sh, ph, dh), (kw, sw, pw, dw)):
        k_eff = d * (k - 1) + 1
        kin = (k_eff - 1) // s + 1
        fp_k.append(kin)
        fp_s.append(dims.exact_div(1, s))
        # centre of output 0 sits at (p - (k_eff-1)/2)/s input pixels; express it as a padding.
        fp_p.append(dims.exact_div(kin - 1, 2) - dims.exact_div(2 * p - (k_eff - 1), 2 * s))
    return Cost(
        output=(cout, ho, wo),
        params=weights + (cout if layer.bias else 0),
        macs=macs,
        flops=dims.normalize(2 * macs + (out_elems if layer.bias else 0)),
        rf=Footprint(tuple(fp_k), tuple(fp_s), tuple(fp_p)),
    )
