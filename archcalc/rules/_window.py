"""Shared arithmetic for sliding-window layers (conv, pooling) and shape checks used by rules."""

from __future__ import annotations

from .. import dims
from ..errors import ShapeError
from ..text import shape_tuple


def expect_rank(shape: tuple, rank: int, what: str = "(C, H, W)") -> None:
    if len(shape) != rank:
        raise ShapeError(f"expects a {what} input, got shape {format_shape(shape)}")


format_shape = shape_tuple  # rules' error messages write shapes as (C, H, W)


def window_out(size, kernel, stride, pad_lead, pad_trail, dilation, ceil_mode, axis, warnings):
    """Output length of a sliding window along one axis, torch's formula:

    ``floor((in + pad_lead + pad_trail - d*(k-1) - 1) / s) + 1``; with ``ceil_mode`` the ceiling,
    except that the last window must start inside the input or its leading padding.
    """
    k_eff = dilation * (kernel - 1) + 1
    padded = dims.normalize(size + pad_lead + pad_trail)
    # with ceil_mode torch accepts a kernel larger than the padded input as long as one window
    # results (MaxPool2d(4, 2, padding=1, ceil_mode=True) on a 1-pixel input gives 1 output)
    if not ceil_mode and dims.known_lt(padded, k_eff):
        raise ShapeError(
            f"kernel {k_eff} (kernel {kernel}, dilation {dilation}) is larger than the padded input "
            f"{dims.format_dim(padded)} along {axis} (input {dims.format_dim(size)} + padding "
            f"{pad_lead}+{pad_trail})"
        )
    span = dims.normalize(padded - k_eff)
    if ceil_mode:
        out = dims.ceildiv(span, stride) + 1
        # torch drops a last window starting in the trailing padding. The last start is at most
        # span + stride - 1 = in + pad_lead + pad_trail - k + stride - 1, so that can only happen
        # when pad_trail + stride > k (hyper-parameters, not dimensions: no branch on a Dim).
        if pad_trail + stride > k_eff:
            out = dims.smin(out, dims.ceildiv(size + pad_lead, stride))
    else:
        out = dims.floordiv(span, stride) + 1
        if dims.divides(span, stride) is False:  # decidable: then the remainder is a number
            _warn_dropped_tail(size, kernel, k_eff, stride, pad_lead, pad_trail, span, axis, warnings)
    out = dims.normalize(out)
    if dims.known_lt(out, 1):
        raise ShapeError(f"output {axis} would be {dims.format_dim(out)} < 1")
    return out, k_eff


def _warn_dropped_tail(size, kernel, k_eff, stride, pad_lead, pad_trail, span, axis, warnings) -> None:
    """Warn when the windows leave real input pixels unread at the end of an axis, and only then.

    The ``span % stride`` positions after the last window are trailing padding first; only what is
    left beyond the padding is input. Even that is no news when the stride already skips as many
    pixels between neighbouring windows (a 1x1 stride-2 downsample reads every other row; that its
    last real row is unread is the same gap, not a loss at the border). So: warn when the unread
    input tail is wider than ``max(0, stride - k_eff)``. Hyper-parameters are numbers here; a
    symbolic size reaches this only when the remainder is decidable, and ``known_lt`` stays False
    when it cannot decide, so one rule serves ints and symbols.
    """
    left = dims.normalize(span % stride)
    dropped = dims.normalize(left - pad_trail)
    gap = dims.smax(dims.normalize(stride - k_eff), 0)
    if not dims.known_lt(gap, dropped):
        return
    unit = "row" if axis == "height" else "column"
    text = (f"stride {stride} leaves the last {dims.format_dim(dropped)} input {unit}(s) unread: "
            f"({dims.format_dim(size)} + {dims.format_dim(dims.normalize(pad_lead + pad_trail))} - {k_eff})/{stride}"
            f" + 1 = {dims.format_dim(dims.exact_div(span, stride) + 1)}")
    # the same loss along height and width is one warning, not two
    twin = text.replace(" input column(s) ", " input row(s) ")
    if unit == "column" and warnings and warnings[-1] == twin:
        warnings[-1] = twin.replace(" input row(s) ", " input rows and columns ")
    else:
        warnings.append(text)


def same_padding(size, kernel, stride, dilation):
    """TensorFlow-style 'same' padding: output ``ceil(in/s)``; total padding split with the extra
    pixel at the end. Returns (lead, trail). With stride 1 it equals torch's ``padding='same'``."""
    k_eff = dilation * (kernel - 1) + 1
    out = dims.ceildiv(size, stride)
    total = dims.smax(dims.normalize((out - 1) * stride + k_eff - size), 0)
    lead = dims.floordiv(total, 2)
    return lead, dims.normalize(total - lead)
