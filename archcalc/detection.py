"""Detection arithmetic that is not a layer: box IoU, anchors per position, default-box counts.

Standard library only. Boxes are ``(x1, y1, x2, y2)`` corners with ``x1 <= x2`` and ``y1 <= y2``
(torchvision's ``box_iou`` format). Integer boxes give an exact :class:`fractions.Fraction`.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Sequence

from . import dims
from .errors import InvalidValueError


def _area(box) -> object:
    x1, y1, x2, y2 = box
    if x2 < x1 or y2 < y1:
        raise InvalidValueError(f"box {tuple(box)} is not (x1, y1, x2, y2) with x1 <= x2 and y1 <= y2")
    return (x2 - x1) * (y2 - y1)


def box_iou(a: Sequence, b: Sequence):
    """Intersection over union of two boxes: ``|a & b| / |a | b|`` (0 when both are empty)."""
    area_a, area_b = _area(a), _area(b)
    iw = max(0, min(a[2], b[2]) - max(a[0], b[0]))
    ih = max(0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = iw * ih
    union = area_a + area_b - inter
    if union == 0:
        return 0
    if all(isinstance(v, int) for v in (inter, union)):
        q = Fraction(inter, union)
        return int(q) if q.denominator == 1 else q
    return inter / union


def anchors_per_position(scales: Sequence = (128, 256, 512), aspect_ratios: Sequence = (0.5, 1.0, 2.0)) -> int:
    """Faster R-CNN's anchors per feature-map position: one per (scale, aspect ratio) pair. The
    paper (Ren et al. 2015, sec. 3.1.1) uses 3 scales x 3 ratios = k = 9."""
    return len(scales) * len(aspect_ratios)


def ssd_boxes_per_position(aspect_ratios: Sequence) -> int:
    """SSD default boxes per position for extra aspect ratios ``r`` (each used as r and 1/r) plus
    the two square boxes (scale s_k and sqrt(s_k * s_k+1)): ``2 + 2*len(r)`` (Liu et al. 2016
    sec. 2.2; torchvision ``DefaultBoxGenerator.num_anchors_per_location``)."""
    return 2 + 2 * len(aspect_ratios)


@dataclass(frozen=True)
class BoxMap:
    """Boxes predicted from one feature map: ``height * width * per_position``."""

    layer: str  # the box-regression layer that predicts them
    height: object
    width: object
    per_position: int

    @property
    def boxes(self):
        return dims.normalize(self.height * self.width * self.per_position)


def box_maps(result, prefix: str, coords: int = 4) -> list:
    """Per feature map, the boxes a detector predicts, read off an analysed graph: every layer under
    ``prefix`` is a box-regression conv whose output channels are ``coords * boxes per position``
    (SSD's ``head.regression_head``, an RPN's ``bbox_pred``)."""
    maps = []
    for r in result.layers:
        if not r.name.startswith(prefix) or r.kind not in ("Conv2d", "Shared(Conv2d)"):
            continue
        c, h, w = r.output_shape[-3:]
        if c % coords:
            raise InvalidValueError(f"{r.name}: {c} output channels are not a multiple of {coords} box coordinates")
        maps.append(BoxMap(r.name, h, w, c // coords))
    if not maps:
        raise InvalidValueError(f"no box-regression conv under {prefix!r} in {result.model}")
    return maps


def total_boxes(maps: Sequence[BoxMap]):
    return dims.total(m.boxes for m in maps)


def box_table(maps: Sequence[BoxMap]) -> list:
    """Lines such as ``38x38x4 = 5,776`` and a total, for reports."""
    lines = [f"{dims.format_dim(m.height)}x{dims.format_dim(m.width)}x{m.per_position} = {dims.fmt_int(m.boxes)}"
             f"  ({m.layer})" for m in maps]
    lines.append(f"total = {dims.fmt_int(total_boxes(maps))}")
    return lines
