"""Field checks for layer specs and API arguments: one place, one wording.

A layer validates every field when it is made (``__post_init__``), so a bad value is refused where
it was written, with a one-line error naming the layer kind and the field. The graph adds the node
name when it knows it. Checks never evaluate text: a size given as text goes through
:func:`archcalc.dims.parse_dim`, the restricted parser, and a sympy value is accepted only when it
is a sympy expression already (never a string for sympy to parse).
"""

from __future__ import annotations

import math
from typing import Any

from .errors import InvalidTypeError, InvalidValueError


def _where(layer: Any, field: str) -> str:
    kind = layer if isinstance(layer, str) else type(layer).__name__
    return kind + ("" if not field else field if field.startswith("[") else "." + field)


#: The largest integer a field may hold: a 64-bit signed size, what torch and every array library
#: index with (a larger kernel or channel count describes no network that can exist).
MAX_INT = 2**63 - 1


def _too_large(layer: Any, field: str, value: int) -> InvalidValueError:
    return InvalidValueError(f"{_where(layer, field)} must be at most {MAX_INT} (a 64-bit size), got a "
                             f"{len(str(abs(value)))}-digit integer")


def is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def show(v: Any) -> str:
    text = repr(v)
    return text if len(text) <= 60 else text[:57] + "..."


def int_at_least(layer: Any, field: str, value: Any, low: int) -> int:
    """``value`` must be a plain int (not bool, not float, not text) and ``>= low``."""
    if not is_int(value):
        raise InvalidTypeError(f"{_where(layer, field)} must be an integer, got {show(value)}")
    if value < low:
        raise InvalidValueError(f"{_where(layer, field)} must be >= {low}, got {value}")
    if value > MAX_INT:
        raise _too_large(layer, field, value)
    return value


def positive_int(layer: Any, field: str, value: Any) -> int:
    return int_at_least(layer, field, value, 1)


def nonneg_int(layer: Any, field: str, value: Any) -> int:
    return int_at_least(layer, field, value, 0)


def any_int(layer: Any, field: str, value: Any) -> int:
    """A plain int of any sign (an axis such as ``-1``)."""
    if not is_int(value):
        raise InvalidTypeError(f"{_where(layer, field)} must be an integer, got {show(value)}")
    if abs(value) > MAX_INT:
        raise _too_large(layer, field, value)
    return value


def int_pair(layer: Any, field: str, value: Any, low: int) -> tuple:
    """An int or a pair of ints, each ``>= low``; returns the pair."""
    if type(value) is int and low <= value <= MAX_INT:  # the common case, checked inline
        return (value, value)
    if isinstance(value, (tuple, list)):
        if len(value) != 2:
            raise InvalidValueError(f"{_where(layer, field)} must be an integer or a pair, got {show(value)}")
        return (int_at_least(layer, field, value[0], low), int_at_least(layer, field, value[1], low))
    v = int_at_least(layer, field, value, low)
    return (v, v)


def int_tuple(layer: Any, field: str, value: Any, n: int, low: int) -> tuple:
    """An int or ``n`` ints, each ``>= low``; returns the ``n``-tuple (the 1-d and 3-d kinds'
    kernel sizes, strides, paddings)."""
    if isinstance(value, (tuple, list)):
        if len(value) != n:
            raise InvalidValueError(f"{_where(layer, field)} must be an integer or a list of {n}, got {show(value)}")
        return tuple(int_at_least(layer, field, v, low) for v in value)
    return (int_at_least(layer, field, value, low),) * n


def axes(layer: Any, field: str, value: Any) -> tuple:
    """One axis or several (plain ints, negative counting from the end), at least one, no repeats."""
    vals = tuple(value) if isinstance(value, (tuple, list)) else (value,)
    for v in vals:
        if not is_int(v):
            raise InvalidTypeError(f"{_where(layer, field)} must be an axis or axes (integers), got {show(value)}")
        if abs(v) > MAX_INT:
            raise _too_large(layer, field, v)
    if not vals or len(set(vals)) != len(vals):
        raise InvalidValueError(f"{_where(layer, field)} must name distinct axes, got {show(value)}")
    return vals


def boolean(layer: Any, field: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise InvalidTypeError(f"{_where(layer, field)} must be true or false, got {show(value)}")
    return value


def one_of(layer: Any, field: str, value: Any, choices) -> Any:
    if not isinstance(value, str) or value not in choices:
        raise InvalidValueError(f"{_where(layer, field)} must be one of {', '.join(map(repr, choices))}, "
                                f"got {show(value)}")
    return value


def text(layer: Any, field: str, value: Any, max_len: int = 256) -> str:
    """Non-empty text of at most ``max_len`` characters (a node name)."""
    if not isinstance(value, str):
        raise InvalidTypeError(f"{_where(layer, field)} must be text, got {show(value)}")
    if not value or len(value) > max_len:
        raise InvalidValueError(f"{_where(layer, field)} must be non-empty text of at most {max_len} characters, "
                                f"got {show(value)}")
    return value


def number(layer: Any, field: str, value: Any, low: float | None = None, high: float | None = None,
           low_open: bool = False) -> float:
    """A finite int or float (not bool, not text) in ``[low, high]`` (``(low, high]`` with ``low_open``)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InvalidTypeError(f"{_where(layer, field)} must be a number, got {show(value)}")
    if isinstance(value, int) and abs(value) > MAX_INT:
        raise _too_large(layer, field, value)
    if not math.isfinite(value):
        raise InvalidValueError(f"{_where(layer, field)} must be a finite number, got {value!r}")
    if low is not None and (value <= low if low_open else value < low):
        raise InvalidValueError(f"{_where(layer, field)} must be {'>' if low_open else '>='} {low:g}, got {value!r}")
    if high is not None and value > high:
        raise InvalidValueError(f"{_where(layer, field)} must be <= {high:g}, got {value!r}")
    return value


def _sympy_expr(value: Any) -> bool:
    """A sympy expression built by code (never text): what the engine's own symbols produce."""
    if not hasattr(value, "free_symbols") or isinstance(value, (str, bytes)):
        return False
    from .dims import sympy

    return isinstance(value, sympy().Basic)


def dim_at_least(layer: Any, field: str, value: Any, low: int = 1) -> Any:
    """A dimension ``>= low``: an int, dimension text (``"R"``, ``"H//2"``, through the restricted
    parser) or a sympy expression. A symbolic value is refused only when it provably cannot be an
    integer ``>= low`` (``-H``); one that may be (``H - 3``) is accepted and checked at analysis."""
    if type(value) is int and low <= value <= MAX_INT:  # the common case, checked inline
        return value
    if is_int(value):
        if value < low:
            raise InvalidValueError(f"{_where(layer, field)} must be >= {low}, got {value}")
        if value > MAX_INT:
            raise _too_large(layer, field, value)
        return value
    from . import dims

    if isinstance(value, str):
        try:
            d = dims.coerce_dim(value)
        except dims.DimSyntaxError as e:
            raise InvalidValueError(f"{_where(layer, field)}: {e}") from None
    elif _sympy_expr(value):
        d = dims.normalize(value)
    else:
        raise InvalidTypeError(f"{_where(layer, field)} must be an integer or a dimension such as 'H', "
                               f"got {show(value)}")
    if dims.is_concrete(d):
        if not is_int(d) or d < low:
            raise InvalidValueError(f"{_where(layer, field)} must be an integer >= {low}, got {dims.format_dim(d)}")
        return d
    shifted = d - low  # provably negative, or provably not an integer: never a size
    if getattr(shifted, "is_negative", None) is True or getattr(d, "is_integer", None) is False:
        raise InvalidValueError(f"{_where(layer, field)} {dims.format_dim(d)} cannot be an integer >= {low}")
    return d


def positive_dim(layer: Any, field: str, value: Any) -> Any:
    return dim_at_least(layer, field, value, 1)


def nonneg_dim(layer: Any, field: str, value: Any) -> Any:
    return dim_at_least(layer, field, value, 0)


def dim_pair(layer: Any, field: str, value: Any, low: int = 1) -> tuple:
    """A dimension or a pair of dimensions, each ``>= low``; returns the pair."""
    if isinstance(value, (tuple, list)):
        if len(value) != 2:
            raise InvalidValueError(f"{_where(layer, field)} must be a size or a pair of sizes, got {show(value)}")
        return (dim_at_least(layer, field, value[0], low), dim_at_least(layer, field, value[1], low))
    v = dim_at_least(layer, field, value, low)
    return (v, v)


def layer_value(layer: Any, field: str, value: Any, allow_input: bool = False) -> Any:
    """A field that holds another layer spec (PerItem, Shared)."""
    from .layers import Input, Layer

    if not isinstance(value, Layer):
        raise InvalidTypeError(f"{_where(layer, field)} must be a layer such as Conv2d(...), got {show(value)}")
    if isinstance(value, Input) and not allow_input:
        raise InvalidValueError(f"{_where(layer, field)} cannot be an Input layer")
    return value
