"""Field checks for layer specs and API arguments: one place, one wording.

A layer validates every field when it is made (``__post_init__``), so a bad value is refused where
it was written, with a one-line error naming the layer kind and the field. The graph adds the node
name when it knows it. Checks never evaluate text: a size given as text goes through
:func:`archcalc.dims.parse_dim`, the restricted parser.
"""

from __future__ import annotations

from typing import Any

from .errors import InvalidTypeError, InvalidValueError


def _where(layer: Any, field: str) -> str:
    kind = layer if isinstance(layer, str) else type(layer).__name__
    return f"{kind}.{field}"


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def int_at_least(layer: Any, field: str, value: Any, low: int) -> int:
    """``value`` must be a plain int (not bool, not float, not text) and ``>= low``."""
    if not _is_int(value):
        raise InvalidTypeError(f"{_where(layer, field)} must be an integer, got {value!r}")
    if value < low:
        raise InvalidValueError(f"{_where(layer, field)} must be >= {low}, got {value}")
    return value


def positive_int(layer: Any, field: str, value: Any) -> int:
    return int_at_least(layer, field, value, 1)


def nonneg_int(layer: Any, field: str, value: Any) -> int:
    return int_at_least(layer, field, value, 0)


def int_pair(layer: Any, field: str, value: Any, low: int) -> tuple:
    """An int or a pair of ints, each ``>= low``; returns the pair."""
    if isinstance(value, (tuple, list)):
        if len(value) != 2:
            raise InvalidValueError(f"{_where(layer, field)} must be an integer or a pair, got {value!r}")
        return (int_at_least(layer, field, value[0], low), int_at_least(layer, field, value[1], low))
    v = int_at_least(layer, field, value, low)
    return (v, v)


def boolean(layer: Any, field: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise InvalidTypeError(f"{_where(layer, field)} must be true or false, got {value!r}")
    return value


def one_of(layer: Any, field: str, value: Any, choices) -> Any:
    if value not in choices:
        raise InvalidValueError(f"{_where(layer, field)} must be one of {', '.join(map(repr, choices))}, got {value!r}")
    return value
