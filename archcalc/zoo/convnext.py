"""ConvNeXt-T / S / B / L.

Liu, Mao, Wu, Feichtenhofer, Darrell, Xie, "A ConvNet for the 2020s", CVPR 2022, section 2 and
Table 9 (the architectures: stem 4x4 s4 "patchify" conv + LayerNorm; stages of (3, 3, 9, 3) blocks
for T and (3, 3, 27, 3) for S/B/L, widths 96/96/128/192 doubling per stage; downsampling LayerNorm
+ 2x2 s2 conv between stages). The layout mirrors ``torchvision.models.convnext``: each ``CNBlock``
is a 7x7 depthwise conv (with bias), a permute to channels-last, LayerNorm (eps 1e-6), Linear to 4C,
GELU, Linear back to C (on the (H, W, C) tensor: archcalc's Linear reads (features,) or
(sequence, features), so these are ``PerItem(Linear)`` over the rows, the same work), a permute
back, times the learned layer scale (a (C, 1, 1) parameter held by the block itself, the node named
as the block), stochastic depth (identity at inference) and an
in-place residual add. Head: global average pool, LayerNorm2d, flatten, Linear. Registered at
224x224, where the weights' ``_ops`` apply.
"""

from __future__ import annotations

from ..graph import Builder
from ..layers import (
    Activation, AdaptiveAvgPool2d, Add, Conv2d, Flatten, Identity, LayerNorm, LayerNorm2d, LearnedTensor,
    Linear, PerItem, Permute,
)
from . import Published, register_model

#: (stage widths, blocks per stage): Liu et al. 2022, Table 9
CONFIGS = {
    "tiny": ((96, 192, 384, 768), (3, 3, 9, 3)),
    "small": ((96, 192, 384, 768), (3, 3, 27, 3)),
    "base": ((128, 256, 512, 1024), (3, 3, 27, 3)),
    "large": ((192, 384, 768, 1536), (3, 3, 27, 3)),
}


def convnext(name, input_shape, size="tiny", num_classes=1000):
    widths, depths = CONFIGS[size]
    b = Builder(name, input_shape)
    x = b.sequential("features.0", b.input, [Conv2d(widths[0], 4, stride=4), LayerNorm2d(eps=1e-6)])
    for s, (c, n) in enumerate(zip(widths, depths)):
        if s:
            x = b.sequential(f"features.{2 * s}", x, [LayerNorm2d(eps=1e-6), Conv2d(c, 2, stride=2)])
        for i in range(n):
            p = f"features.{2 * s + 1}.{i}"
            y = b.sequential(f"{p}.block", x, [
                Conv2d(c, 7, padding=3, groups=c), Permute((1, 2, 0)), LayerNorm((c,), eps=1e-6),
                PerItem(Linear(4 * c)), Activation("gelu"), PerItem(Linear(c)), Permute((2, 0, 1))])
            y = b.add(LearnedTensor((c, 1, 1), "mul"), y, name=p)  # CNBlock.layer_scale
            y = b.add(Identity(), y, name=f"{p}.stochastic_depth")
            x = b.add(Add(inplace=True), y, x, name=f"{p}.add")
    x = b.add(AdaptiveAvgPool2d(1), x, name="avgpool")
    x = b.add(LayerNorm2d(eps=1e-6), x, name="classifier.0")
    x = b.add(Flatten(), x, name="classifier.1")
    b.add(Linear(num_classes), x, name="classifier.2")
    return b.build()


# torchvision ConvNeXt_*_Weights.IMAGENET1K_V1 meta at 224x224: num_params, _ops (GFLOPS = GMACs)
_TV = {
    "tiny": (28_589_128, 4.456),
    "small": (50_223_688, 8.684),
    "base": (88_591_464, 15.355),
    "large": (197_767_336, 34.361),
}

for _s, (_params, _gmacs) in _TV.items():
    register_model(
        f"convnext_{_s}", convnext, family="ConvNeXt", size=_s,
        variant=f"ConvNeXt-{_s[0].upper()}: widths {CONFIGS[_s][0]}, blocks {CONFIGS[_s][1]}",
        source=f"Liu et al. 2022 (arXiv:2201.03545), sec. 2 and Table 9 (ConvNeXt-{_s[0].upper()}); "
               f"torchvision.models.convnext_{_s}",
        torchvision=f"convnext_{_s}",
        published=Published(f"torchvision ConvNeXt_{_s.capitalize()}_Weights.IMAGENET1K_V1", params=_params,
                            extra={"gflops": _gmacs, "weights": "IMAGENET1K_V1"}),
    )
