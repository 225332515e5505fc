"""EfficientNet-B0 to B7.

Tan & Le, "EfficientNet: Rethinking Model Scaling for Convolutional Neural Networks", ICML 2019,
Table 1 (the B0 baseline: MBConv stages with expansion, kernel, stride, channels and repeats) and
section 4 (compound scaling). The layout mirrors ``torchvision.models.efficientnet_b0`` ... ``_b7``:
MBConv = 1x1 expansion conv (skipped when the expansion is 1), depthwise conv, squeeze-and-excitation
with ``max(1, block_input_channels // 4)`` channels, SiLU and a sigmoid gate, 1x1 projection conv
without activation; a residual add (in place, ``result += input``) when stride is 1 and the
channels match. Stochastic depth is the identity at inference (an ``Identity`` node named
``stochastic_depth``). Width/depth multipliers round channels with ``make_divisible(c * w, 8)`` and
repeats with ``ceil(n * d)``; each model is registered at the crop size its torchvision weights
were evaluated at (B0 224 ... B7 600), where torchvision's ``_ops`` (GFLOPS = GMACs) apply.
"""

from __future__ import annotations

import math

from ..graph import Builder
from ..layers import AdaptiveAvgPool2d, Dropout, Flatten, Linear
from . import Published, register_model
from ._mobile import conv_norm_act, make_divisible, mbconv

#: Tan & Le 2019, Table 1 (stages 2-8): expansion, kernel, stride, input ch, output ch, repeats.
B0_STAGES = (
    (1, 3, 1, 32, 16, 1),
    (6, 3, 2, 16, 24, 2),
    (6, 5, 2, 24, 40, 2),
    (6, 3, 2, 40, 80, 3),
    (6, 5, 1, 80, 112, 3),
    (6, 5, 2, 112, 192, 4),
    (6, 3, 1, 192, 320, 1),
)


def efficientnet(name, input_shape, width_mult=1.0, depth_mult=1.0, num_classes=1000, dropout=0.2):
    """torchvision's EfficientNet (v1) for a (width, depth) multiplier pair."""
    def adjust(c):
        return make_divisible(c * width_mult, 8)

    b = Builder(name, input_shape)
    x = conv_norm_act(b, b.input, "features.0", adjust(B0_STAGES[0][3]), 3, stride=2, act="silu")
    for stage, (t, k, s, cin0, cout0, n0) in enumerate(B0_STAGES, start=1):
        cout = adjust(cout0)
        for i in range(int(math.ceil(n0 * depth_mult))):
            cin = adjust(cin0) if i == 0 else cout
            stride = s if i == 0 else 1
            p = f"features.{stage}.{i}"
            expanded = make_divisible(cin * t, 8)
            x = mbconv(b, x, p, cin, cout, expanded, k, stride)
    x = conv_norm_act(b, x, f"features.{len(B0_STAGES) + 1}", 4 * adjust(B0_STAGES[-1][4]), 1, act="silu")
    x = b.add(AdaptiveAvgPool2d(1), x, name="avgpool")
    x = b.add(Flatten(), x, name="flatten")
    x = b.add(Dropout(dropout, inplace=True), x, name="classifier.0")
    b.add(Linear(num_classes), x, name="classifier.1")
    return b.build()


# torchvision builders: (width, depth, dropout, crop size of the weights, num_params, _ops GFLOPS)
_TV = {
    "b0": (1.0, 1.0, 0.2, 224, 5_288_548, 0.386),
    "b1": (1.0, 1.1, 0.2, 240, 7_794_184, 0.687),
    "b2": (1.1, 1.2, 0.3, 288, 9_109_994, 1.088),
    "b3": (1.2, 1.4, 0.3, 300, 12_233_232, 1.827),
    "b4": (1.4, 1.8, 0.4, 380, 19_341_616, 4.394),
    "b5": (1.6, 2.2, 0.4, 456, 30_389_784, 10.266),
    "b6": (1.8, 2.6, 0.5, 528, 43_040_704, 19.068),
    "b7": (2.0, 3.1, 0.5, 600, 66_347_960, 37.746),
}

for _b, (_w, _d, _drop, _crop, _params, _gmacs) in _TV.items():
    register_model(
        f"efficientnet_{_b}", efficientnet, family="EfficientNet", width_mult=_w, depth_mult=_d, dropout=_drop,
        input_shape=(3, _crop, _crop), variant=f"{_b.upper()}: width {_w}, depth {_d}, {_crop}x{_crop}",
        source=f"Tan & Le 2019 (arXiv:1905.11946), Table 1 and section 4; torchvision.models.efficientnet_{_b}",
        torchvision=f"efficientnet_{_b}",
        published=Published(f"torchvision EfficientNet_{_b.upper()}_Weights.IMAGENET1K_V1 (at {_crop}x{_crop})",
                            params=_params, extra={"gflops": _gmacs}),
    )
