"""Element types and their sizes, beside the dims they multiply (``bytes = elements * DTYPE_BYTES``)."""

from __future__ import annotations

from .errors import InvalidTypeError, InvalidValueError

DTYPE_BYTES = {"fp32": 4, "fp16": 2, "bf16": 2, "int8": 1, "fp64": 8}
_DTYPE_ALIASES = {"float32": "fp32", "float": "fp32", "float16": "fp16", "half": "fp16", "bfloat16": "bf16",
                  "float64": "fp64", "double": "fp64"}


def dtype_name(dtype: str) -> str:
    """The canonical name (``fp32``...) of a dtype or one of its torch/numpy aliases."""
    if not isinstance(dtype, str):
        raise InvalidTypeError(f"dtype must be text such as 'fp32', got {dtype!r}")
    d = _DTYPE_ALIASES.get(dtype.lower(), dtype.lower())
    if d not in DTYPE_BYTES:
        raise InvalidValueError(f"unknown dtype {dtype!r}; choose one of {', '.join(DTYPE_BYTES)}")
    return d
