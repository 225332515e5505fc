"""RegNetX and RegNetY, the 15 sizes torchvision builds (400MF ... 32GF, and RegNetY-128GF).

Radosavovic, Kosaraju, Girshick, He, Dollar, "Designing Network Design Spaces", CVPR 2020: section 3.3
(the quantized linear rule that turns ``depth, w_0, w_a, w_m`` into per-block widths) and Appendix C
(the top RegNetX / RegNetY models at 200MF ... 32GF, with their ``d, w_0, w_a, w_m, g``; the same values
as the authors' pycls configs). RegNetY-128GF is the SEER/SWAG model
(Singh et al., "Revisiting Weakly Supervised Pre-Training of Visual Perception Models", CVPR 2022).
The layout mirrors ``torchvision.models.regnet``: stem 3x3 s2 conv-BN-ReLU to 32 channels; stages of
``ResBottleneckBlock`` (1x1, grouped 3x3 carrying the stride, optional squeeze-excitation with
``round(0.25 * block input width)`` channels and ReLU, 1x1 without activation; a 1x1-conv-BN projection
shortcut where the shape changes; ``shortcut + f(x)`` then ReLU), global average pool, one FC.

Widths follow torchvision's ``BlockParams.from_init_params``: ``u_j = w_0 + w_a * j`` for block j,
``s_j = round(log(u_j / w_0) / log(w_m))``, width ``round(w_0 * w_m**s_j / 8) * 8``; consecutive
equal widths form a stage; each stage's width is then rounded (``make_divisible``) to a multiple of
its group width ``min(g, width)``. torchvision evaluates the rule in float32 tensors; it is written
here in Python floats, and the twin test checks every stage width against torchvision's.
"""

from __future__ import annotations

import math

from ..graph import Builder
from ..layers import Activation, Add, AdaptiveAvgPool2d, Flatten, Linear
from . import Published, register_model
from ._mobile import conv_norm_act, make_divisible, squeeze_excitation


def stage_params(depth, w_0, w_a, w_m, group_width):
    """Per-stage (width, depth, group width) from RegNet's quantized linear rule (section 3.3)."""
    quant = 8
    block_widths = []
    for j in range(depth):
        s = round(math.log((j * w_a + w_0) / w_0) / math.log(w_m))
        block_widths.append(int(round(w_0 * w_m ** s / quant) * quant))
    stages: list = []  # [width, depth]
    for w in block_widths:
        if stages and stages[-1][0] == w:
            stages[-1][1] += 1
        else:
            stages.append([w, 1])
    out = []
    for w, d in stages:
        g = min(group_width, w)
        out.append((make_divisible(w, g), d, g))
    return tuple(out)


def regnet(name, input_shape, depth=16, w_0=48, w_a=27.89, w_m=2.09, group_width=8, se_ratio=None,
           num_classes=1000, stem_width=32):
    """torchvision's RegNet for one point of the design space (``se_ratio`` set: RegNetY)."""
    b = Builder(name, input_shape)
    x = conv_norm_act(b, b.input, "stem", stem_width, 3, stride=2, act="relu")
    cin = stem_width
    for s, (width, n, g) in enumerate(stage_params(depth, w_0, w_a, w_m, group_width), start=1):
        for i in range(n):
            stride = 2 if i == 0 else 1
            with b.scope(f"trunk_output.block{s}.block{s}-{i}"):
                short = x
                if cin != width or stride != 1:
                    short = conv_norm_act(b, x, "proj", width, 1, stride=stride, act=None)
                y = conv_norm_act(b, x, "f.a", width, 1, act="relu")
                y = conv_norm_act(b, y, "f.b", width, 3, stride=stride, groups=width // g, act="relu")
                if se_ratio:
                    # the SE width is relative to the block's input width (torchvision's comment)
                    y = squeeze_excitation(b, y, "f.se", width, int(round(se_ratio * cin)), act="relu")
                y = conv_norm_act(b, y, "f.c", width, 1, act=None)
                y = b.add(Add(), short, y, name="add")
                x = b.add(Activation("relu", inplace=True), y, name="activation")
            cin = width
    x = b.add(AdaptiveAvgPool2d(1), x, name="avgpool")
    x = b.add(Flatten(), x, name="flatten")
    b.add(Linear(num_classes), x, name="fc")
    return b.build()


# torchvision builders: (depth, w_0, w_a, w_m, group width), and the weights whose meta is cited:
# (weights, crop size, num_params, _ops in GFLOPS = GMACs). The design-space points: the paper's Appendix C.
_X = {
    "400mf": ((22, 24, 24.48, 2.54, 16), ("IMAGENET1K_V1", 224, 5_495_976, 0.414)),
    "800mf": ((16, 56, 35.73, 2.28, 16), ("IMAGENET1K_V1", 224, 7_259_656, 0.8)),
    "1_6gf": ((18, 80, 34.01, 2.25, 24), ("IMAGENET1K_V1", 224, 9_190_136, 1.603)),
    "3_2gf": ((25, 88, 26.31, 2.25, 48), ("IMAGENET1K_V1", 224, 15_296_552, 3.177)),
    "8gf": ((23, 80, 49.56, 2.88, 120), ("IMAGENET1K_V1", 224, 39_572_648, 7.995)),
    "16gf": ((22, 216, 55.59, 2.1, 128), ("IMAGENET1K_V1", 224, 54_278_536, 15.941)),
    "32gf": ((23, 320, 69.86, 2.0, 168), ("IMAGENET1K_V1", 224, 107_811_560, 31.736)),
}
_Y = {
    "400mf": ((16, 48, 27.89, 2.09, 8), ("IMAGENET1K_V1", 224, 4_344_144, 0.402)),
    "800mf": ((14, 56, 38.84, 2.4, 16), ("IMAGENET1K_V1", 224, 6_432_512, 0.834)),
    "1_6gf": ((27, 48, 20.71, 2.65, 24), ("IMAGENET1K_V1", 224, 11_202_430, 1.612)),
    "3_2gf": ((21, 80, 42.63, 2.66, 24), ("IMAGENET1K_V1", 224, 19_436_338, 3.176)),
    "8gf": ((17, 192, 76.82, 2.19, 56), ("IMAGENET1K_V1", 224, 39_381_472, 8.473)),
    "16gf": ((18, 200, 106.23, 2.48, 112), ("IMAGENET1K_V1", 224, 83_590_140, 15.912)),
    "32gf": ((20, 232, 115.89, 2.53, 232), ("IMAGENET1K_V1", 224, 145_046_770, 32.28)),
    # no ImageNet-1k-only weights: the SWAG linear-probe weights are evaluated at 224
    "128gf": ((27, 456, 160.83, 2.52, 264), ("IMAGENET1K_SWAG_LINEAR_V1", 224, 644_812_894, 127.518)),
}

for _kind, _table in (("x", _X), ("y", _Y)):
    for _size, ((_d, _w0, _wa, _wm, _g), (_weights, _crop, _params, _gmacs)) in _table.items():
        _name = f"regnet_{_kind}_{_size}"
        _label = f"RegNet{_kind.upper()}-{_size.upper().replace('_', '.')}"
        _paper = ("Singh et al. 2022 (SWAG, arXiv:2201.08371), RegNetY-128GF" if _size == "128gf" else
                  "Radosavovic et al. 2020 (arXiv:2003.13678), section 3.3 and Appendix C")
        register_model(
            _name, regnet, family="RegNet", depth=_d, w_0=_w0, w_a=_wa, w_m=_wm, group_width=_g,
            se_ratio=0.25 if _kind == "y" else None, input_shape=(3, _crop, _crop),
            variant=f"{_label}: d={_d}, w0={_w0}, wa={_wa}, wm={_wm}, g={_g}" + (", SE 0.25" if _kind == "y" else ""),
            source=f"{_paper} ({_label}); torchvision.models.{_name}",
            torchvision=_name,
            published=Published(f"torchvision {_name} {_weights} weights meta (at {_crop}x{_crop})", params=_params,
                                extra={"gflops": _gmacs, "weights": _weights}),
        )
