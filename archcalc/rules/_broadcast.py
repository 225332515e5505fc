"""torch's broadcasting of per-sample shapes, for elementwise and matmul rules."""

from __future__ import annotations

from .. import dims
from ..errors import ShapeError
from ._window import format_shape


def _is_one(d) -> bool:
    return dims.is_concrete(d) and d == 1


def broadcast(shapes, kind: str) -> tuple:
    """The broadcast of ``shapes`` (right-aligned; an axis of size 1 stretches). Two sizes that are
    not provably equal and neither 1 are refused when they are known to differ; a symbolic pair
    that cannot be decided is taken as equal (the first one is kept)."""
    rank = max(len(s) for s in shapes)
    out = []
    for axis in range(rank):
        sizes = [s[len(s) - rank + axis] for s in shapes if len(s) - rank + axis >= 0]
        big = [d for d in sizes if not _is_one(d)]
        if not big:
            out.append(1)
            continue
        for d in big[1:]:
            if dims.known_ne(d, big[0]):
                raise ShapeError(f"{kind} needs equal input shapes (or ones torch broadcasts), got "
                                 + " and ".join(format_shape(s) for s in shapes))
        out.append(big[0])
    return tuple(out)


def axis_index(axis: int, rank: int, kind: str, what: str = "dim") -> int:
    """A per-sample axis (negative counts from the end) as an index in ``range(rank)``."""
    a = axis + rank if axis < 0 else axis
    if not 0 <= a < rank:
        raise ShapeError(f"{kind} {what} {axis} is out of range for a rank-{rank} input (per-sample axes, "
                         "batch excluded)")
    return a
