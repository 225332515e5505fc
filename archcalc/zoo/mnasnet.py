"""MNASNet 0.5 / 0.75 / 1.0 / 1.3 (the B1 search result).

Tan, Chen, Pang, Vasudevan, Sandler, Howard, Le, "MnasNet: Platform-Aware Neural Architecture Search
for Mobile", CVPR 2019 (arXiv:1807.11626). torchvision builds the B1 variant of the authors' reference
code (tensorflow/tpu ``mnasnet_models.py``, ``mnasnet_b1``): the paper's Figure 7(a) shows A1, which
adds squeeze-excitation; B1 has none. The depth multipliers are the paper's section 5 scaling. The layout mirrors
``torchvision.models.mnasnet`` (its version 2, whose stem scales with the multiplier): a 3x3 s2 conv,
a separable 3x3 + 1x1 pair, six stacks of inverted residuals (1x1 expand, kxk depthwise, linear 1x1
projection; ``layers(x) + x`` where stride is 1 and the width is kept), a 1x1 conv to 1280, then the
mean over H and W (``x.mean([2, 3])``, a global average pool here) and dropout + FC. Channels are the
B1 depths times ``alpha`` rounded to multiples of 8, rounding down only when that loses less than 10%
(torchvision's ``_round_to_multiple_of``).
"""

from __future__ import annotations

from ..graph import Builder
from ..layers import Add, BatchNorm2d, Conv2d, Dropout, GlobalAvgPool2d, Linear, ReLU
from . import Published, register_model

#: B1 channel depths: stem, separable block output, then the six stacks (torchvision ``_get_depths``).
DEPTHS = (32, 16, 24, 40, 80, 96, 192, 320)
#: The six stacks: kernel, stride, expansion, repeats (``mnasnet_b1``; torchvision ``MNASNet.__init__``).
STACKS = ((3, 2, 3, 3), (5, 2, 3, 3), (5, 2, 6, 3), (3, 1, 6, 2), (5, 2, 6, 4), (3, 1, 6, 1))


def round_to_multiple_of(val: float, divisor: int, round_up_bias: float = 0.9) -> int:
    """Nearest multiple of ``divisor``, rounded up instead when rounding down loses more than 10%."""
    new_val = max(divisor, int(val + divisor / 2) // divisor * divisor)
    return new_val if new_val >= round_up_bias * val else new_val + divisor


def mnasnet(name, input_shape, alpha=1.0, num_classes=1000, dropout=0.2):
    d = [round_to_multiple_of(c * alpha, 8) for c in DEPTHS]
    b = Builder(name, input_shape)
    x = b.sequential("layers", b.input, [
        Conv2d(d[0], 3, stride=2, padding=1, bias=False), BatchNorm2d(), ReLU(True),
        Conv2d(d[0], 3, padding=1, groups=d[0], bias=False), BatchNorm2d(), ReLU(True),
        Conv2d(d[1], 1, bias=False), BatchNorm2d(),
    ])
    cin = d[1]
    for s, ((k, stride, t, n), cout) in enumerate(zip(STACKS, d[2:]), start=8):
        for i in range(n):
            st = stride if i == 0 else 1
            mid = cin * t
            with b.scope(f"layers.{s}.{i}"):
                y = b.sequential("layers", x, [
                    Conv2d(mid, 1, bias=False), BatchNorm2d(), ReLU(True),
                    Conv2d(mid, k, stride=st, padding=k // 2, groups=mid, bias=False), BatchNorm2d(), ReLU(True),
                    Conv2d(cout, 1, bias=False), BatchNorm2d(),
                ])
                if cin == cout and st == 1:
                    y = b.add(Add(), y, x, name="add")
            x, cin = y, cout
    x = b.sequential("layers", x, [Conv2d(1280, 1, bias=False), BatchNorm2d(), ReLU(True)], start=14)
    x = b.add(GlobalAvgPool2d(), x, name="mean")
    x = b.add(Dropout(dropout, inplace=True), x, name="classifier.0")
    b.add(Linear(num_classes), x, name="classifier.1")
    return b.build()


# torchvision MNASNet*_Weights.IMAGENET1K_V1 meta at 224x224: num_params, _ops (GFLOPS = GMACs)
_TV = {
    "0_5": (0.5, 2_218_512, 0.104),
    "0_75": (0.75, 3_170_208, 0.215),
    "1_0": (1.0, 4_383_312, 0.314),
    "1_3": (1.3, 6_282_256, 0.526),
}

for _s, (_alpha, _params, _gmacs) in _TV.items():
    register_model(
        f"mnasnet{_s}", mnasnet, family="MNASNet", alpha=_alpha, variant=f"depth multiplier {_alpha}",
        source=f"Tan et al. 2019 (arXiv:1807.11626), MnasNet-B1 of the reference code, depth multiplier "
               f"{_alpha}; torchvision.models.mnasnet{_s}",
        torchvision=f"mnasnet{_s}",
        published=Published(f"torchvision MNASNet{_s}_Weights.IMAGENET1K_V1", params=_params,
                            extra={"gflops": _gmacs, "weights": "IMAGENET1K_V1"}),
    )
