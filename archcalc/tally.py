"""The cs231n-style tally: one row per conv / pool / FC layer with its "memory" (output elements
per image) and "params" (weights, biases not counted), as in the CS231n notes' VGG-16 walk-through
(shared/seeds: "INPUT: [224x224x3] memory: 224*224*3=150K params: 0").

Only layers that appear in that tally are rows: the input, convolutions, pooling and fully
connected layers. In-place ReLUs add no memory; torchvision's 7x7 ``AdaptiveAvgPool2d`` (a copy at
224x224 that the notes do not have) is listed among the omitted layers with its elements.
"""

from __future__ import annotations

from dataclasses import dataclass

from . import dims
from .text import fmt_int, hwc

_ROW_KINDS = {"Input", "Conv2d", "MaxPool2d", "AvgPool2d", "Linear"}


@dataclass
class TallyRow:
    name: str
    label: str
    shape: str  # HxWxC as the notes write it
    memory: object  # output elements per image
    params: object  # weights only


@dataclass
class Tally:
    rows: list
    memory: object
    params_without_bias: object
    params: object
    omitted: list  # (name, kind, new elements) of materialising layers that are not rows
    about_vgg16: bool = False  # the notes' "24M x 4 bytes ~ 96MB" claim is about VGG-16

    def to_dict(self) -> dict:
        j = dims.to_json
        return {"rows": [{"name": r.name, "label": r.label, "shape": r.shape, "memory": j(r.memory),
                          "params": j(r.params)} for r in self.rows],
                "memory": j(self.memory), "params_without_bias": j(self.params_without_bias), "params": j(self.params),
                "omitted": [{"name": n, "kind": k, "elements": j(e)} for n, k, e in self.omitted]}

    def lines(self) -> list:
        out = []
        for r in self.rows:
            out.append(f"{r.label + ':':<11} [{r.shape}]".ljust(28)
                       + f"memory: {fmt_int(r.memory):>11}   params: {fmt_int(r.params):>12}")
        mem, mem_bytes = self.memory, dims.normalize(self.memory * 4)
        out.append("")
        out.append(f"TOTAL memory: {fmt_int(mem)} elements x 4 bytes = {fmt_int(mem_bytes)} bytes"
                   + (f" ~ {mem_bytes / 1e6:.0f} MB / image (forward only)" if isinstance(mem_bytes, int) else ""))
        out.append(f"TOTAL params: {fmt_int(self.params_without_bias)} without biases, "
                   f"{fmt_int(self.params)} with them")
        if self.about_vgg16 and isinstance(mem, int):
            out.append(f"Note: the often-printed '24M x 4 bytes ~ 96MB / image' is not the sum of its own rows; "
                       f"the rows add up to {mem / 1e6:.1f}M elements ~ {mem_bytes / 1e6:.0f} MB in fp32.")
        for name, kind, n in self.omitted:
            out.append(f"Not a row: {name} ({kind}) materialises {fmt_int(n)} more elements per image.")
        return out


def _label(rec) -> str:
    if rec.kind == "Input":
        return "INPUT"
    if rec.kind == "Conv2d":
        return f"CONV{rec.layer.kernel_size[0]}-{rec.layer.out_channels}"
    if rec.kind in ("MaxPool2d", "AvgPool2d"):
        return f"POOL{rec.layer.kernel_size[0]}"
    return "FC"


def cs231n_tally(result) -> Tally:
    """Tally for one image (the notes' convention), whatever the batch of ``result``."""
    rows, omitted = [], []
    for rec in result.layers:
        per_image = dims.prod(rec.output_shape)
        if rec.kind in _ROW_KINDS:
            bias = rec.layer.out_features if rec.kind == "Linear" and rec.layer.bias else (
                rec.layer.out_channels if rec.kind == "Conv2d" and rec.layer.bias else 0)
            rows.append(TallyRow(rec.name, _label(rec), hwc(rec.output_shape), per_image,
                                 dims.normalize(rec.params - bias)))
        elif not rec.layer.reuses_input:
            omitted.append((rec.name, rec.kind, per_image))
    return Tally(
        rows=rows,
        memory=dims.total(r.memory for r in rows),
        params_without_bias=dims.total(r.params for r in rows),
        params=result.totals["params"],
        omitted=omitted,
        about_vgg16=result.model in ("vgg16", "vgg16_bn"),
    )
