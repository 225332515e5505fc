"""VGG-11/13/16/19 (configurations A, B, D, E) with and without batch norm.

Simonyan & Zisserman, "Very Deep Convolutional Networks for Large-Scale Image Recognition",
ICLR 2015, Table 1 (configurations) and Table 2 (133/133/138/144 million parameters). The layout
mirrors torchvision's ``vgg*``/``vgg*_bn`` (``features``, a 7x7 ``AdaptiveAvgPool2d`` that is an
identity copy at 224x224, ``classifier``), whose weights list vgg16 at 138,357,544 params and
15.47 GFLOPS (MACs).
"""

from __future__ import annotations

from ..graph import Builder
from ..layers import AdaptiveAvgPool2d, BatchNorm2d, Conv2d, Dropout, Flatten, Linear, MaxPool2d, ReLU
from . import Published, register_model

CONFIGS = {
    "A": [64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    "B": [64, 64, "M", 128, 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    "D": [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"],
    "E": [64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M", 512, 512, 512, 512, "M", 512, 512, 512, 512, "M"],
}


def vgg(name, input_shape, cfg="D", batch_norm=False, num_classes=1000, dropout=0.5):
    layers = []
    for v in CONFIGS[cfg]:
        if v == "M":
            layers.append(MaxPool2d(2, 2))
        else:
            layers.append(Conv2d(v, 3, padding=1))
            if batch_norm:
                layers.append(BatchNorm2d())
            layers.append(ReLU(True))
    b = Builder(name, input_shape)
    x = b.sequential("features", b.input, layers)
    x = b.add(AdaptiveAvgPool2d(7), x, name="avgpool")
    x = b.add(Flatten(), x, name="flatten")
    b.sequential("classifier", x, [
        Linear(4096), ReLU(True), Dropout(dropout),
        Linear(4096), ReLU(True), Dropout(dropout),
        Linear(num_classes),
    ])
    return b.build()


# torchvision's published figures (VGG*_Weights.IMAGENET1K_V1 meta: num_params, _ops in GFLOPS=GMACs)
_TV = {
    "vgg11": ("A", False, 132_863_336, 7.609), "vgg11_bn": ("A", True, 132_868_840, 7.609),
    "vgg13": ("B", False, 133_047_848, 11.308), "vgg13_bn": ("B", True, 133_053_736, 11.308),
    "vgg16": ("D", False, 138_357_544, 15.47), "vgg16_bn": ("D", True, 138_365_992, 15.47),
    "vgg19": ("E", False, 143_667_240, 19.632), "vgg19_bn": ("E", True, 143_678_248, 19.632),
}
_DEPTH = {"A": 11, "B": 13, "D": 16, "E": 19}

for _name, (_cfg, _bn, _params, _gmacs) in _TV.items():
    register_model(
        _name, vgg, family="VGG", cfg=_cfg, batch_norm=_bn,
        variant=f"configuration {_cfg}" + (" + batch norm" if _bn else ""),
        source=f"Simonyan & Zisserman 2015, Table 1 config {_cfg}; torchvision.models.{_name}",
        torchvision=_name,
        published=Published(f"torchvision {_name.upper().replace('VGG', 'VGG')}_Weights.IMAGENET1K_V1",
                            params=_params, extra={"gflops": _gmacs}),
    )
