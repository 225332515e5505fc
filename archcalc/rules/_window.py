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
        if dims.divides(span, stride) is False:
            left = dims.format_dim(dims.normalize(span % stride))
            unit = "row" if axis == "height" else "column"
            warnings.append(
                f"stride {stride} drops the last {left} {unit}(s) of the padded input: "
                f"({dims.format_dim(size)} + {pad_lead + pad_trail} - {k_eff})/{stride} + 1 = "
                f"{dims.format_dim(dims.exact_div(span, stride) + 1)}"
            )
    out = dims.normalize(out)
    if dims.known_lt(out, 1):
        raise ShapeError(f"output {axis} would be {dims.format_dim(out)} < 1")
    return out, k_eff


def same_padding(size, kernel, stride, dilation):
    """TensorFlow-style 'same' padding: output ``ceil(in/s)``; total padding split with the extra
    pixel at the end. Returns (lead, trail). With stride 1 it equals torch's ``padding='same'``."""
    k_eff = dilation * (kernel - 1) + 1
    out = dims.ceildiv(size, stride)
    total = dims.smax(dims.normalize((out - 1) * stride + k_eff - size), 0)
    lead = dims.floordiv(total, 2)
    return lead, dims.normalize(total - lead)
