"""EfficientNetV2-S / M / L.

Tan & Le, "EfficientNetV2: Smaller Models and Faster Training", ICML 2021, Table 4 (the S stages:
Fused-MBConv in the first three, MBConv with squeeze-excitation after); M and L as the authors' code
(``effnetv2_configs.py``) lays them out. The layout mirrors
``torchvision.models.efficientnet_v2_s``/``_m``/``_l``: stem 3x3 s2 conv-BN-SiLU; Fused-MBConv = one
kxk conv (stride, expansion) with BN-SiLU then a 1x1 projection with BN, or, at expansion 1, just the
kxk conv-BN-SiLU; MBConv as in EfficientNet v1 (1x1 expand, depthwise, squeeze-excitation with
``max(1, block input // 4)`` channels, 1x1 projection); stochastic depth (identity at inference) and an
in-place residual add where stride is 1 and channels match; a 1x1 conv to 1280, average pool,
dropout, FC. torchvision's BN uses eps 1e-3, which changes no count. Each model is registered at its
weights' crop size (S 384, M and L 480), where their ``_ops`` apply.
"""

from __future__ import annotations

from ..graph import Builder
from ..layers import AdaptiveAvgPool2d, Dropout, Flatten, Linear
from . import Published, register_model
from ._mobile import _residual, conv_norm_act, make_divisible, mbconv

# (fused?, expansion, kernel, stride, input ch, output ch, layers): torchvision ``_efficientnet_conf``
STAGES = {
    "s": ((True, 1, 3, 1, 24, 24, 2), (True, 4, 3, 2, 24, 48, 4), (True, 4, 3, 2, 48, 64, 4),
          (False, 4, 3, 2, 64, 128, 6), (False, 6, 3, 1, 128, 160, 9), (False, 6, 3, 2, 160, 256, 15)),
    "m": ((True, 1, 3, 1, 24, 24, 3), (True, 4, 3, 2, 24, 48, 5), (True, 4, 3, 2, 48, 80, 5),
          (False, 4, 3, 2, 80, 160, 7), (False, 6, 3, 1, 160, 176, 14), (False, 6, 3, 2, 176, 304, 18),
          (False, 6, 3, 1, 304, 512, 5)),
    "l": ((True, 1, 3, 1, 32, 32, 4), (True, 4, 3, 2, 32, 64, 7), (True, 4, 3, 2, 64, 96, 7),
          (False, 4, 3, 2, 96, 192, 10), (False, 6, 3, 1, 192, 224, 19), (False, 6, 3, 2, 224, 384, 25),
          (False, 6, 3, 1, 384, 640, 7)),
}


def efficientnet_v2(name, input_shape, size="s", num_classes=1000, dropout=0.2, last_channel=1280):
    stages = STAGES[size]
    b = Builder(name, input_shape)
    x = conv_norm_act(b, b.input, "features.0", stages[0][4], 3, stride=2, act="silu")
    for stage, (fused, t, k, s, cin0, cout, n) in enumerate(stages, start=1):
        for i in range(n):
            cin = cin0 if i == 0 else cout
            stride = s if i == 0 else 1
            p = f"features.{stage}.{i}"
            expanded = make_divisible(cin * t, 8)
            if fused and expanded != cin:
                y = conv_norm_act(b, x, f"{p}.block.0", expanded, k, stride=stride, act="silu")
                y = conv_norm_act(b, y, f"{p}.block.1", cout, 1, act=None)
            elif fused:
                y = conv_norm_act(b, x, f"{p}.block.0", cout, k, stride=stride, act="silu")
            else:
                x = mbconv(b, x, p, cin, cout, expanded, k, stride)
                continue
            x = _residual(b, y, x, p, stride, cin, cout)
    x = conv_norm_act(b, x, f"features.{len(stages) + 1}", last_channel, 1, act="silu")
    x = b.add(AdaptiveAvgPool2d(1), x, name="avgpool")
    x = b.add(Flatten(), x, name="flatten")
    x = b.add(Dropout(dropout, inplace=True), x, name="classifier.0")
    b.add(Linear(num_classes), x, name="classifier.1")
    return b.build()


# torchvision EfficientNet_V2_*_Weights.IMAGENET1K_V1 meta: (dropout, crop, num_params, _ops GFLOPS = GMACs)
_TV = {
    "s": (0.2, 384, 21_458_488, 8.366),
    "m": (0.3, 480, 54_139_356, 24.582),
    "l": (0.4, 480, 118_515_272, 56.08),
}

for _s, (_drop, _crop, _params, _gmacs) in _TV.items():
    register_model(
        f"efficientnet_v2_{_s}", efficientnet_v2, family="EfficientNetV2", size=_s, dropout=_drop,
        input_shape=(3, _crop, _crop), variant=f"V2-{_s.upper()} at {_crop}x{_crop}",
        source=f"Tan & Le 2021 (arXiv:2104.00298), Table 4 (V2-S stages; M and L scale them as the authors' "
               f"effnetv2_configs.py); torchvision.models.efficientnet_v2_{_s}",
        torchvision=f"efficientnet_v2_{_s}",
        published=Published(f"torchvision EfficientNet_V2_{_s.upper()}_Weights.IMAGENET1K_V1 (at {_crop}x{_crop})",
                            params=_params, extra={"gflops": _gmacs, "weights": "IMAGENET1K_V1"}),
    )
