"""ResNet-18/34/50/101/152 in torchvision's layout (and the knobs ResNeXt / Wide ResNet reuse).

He, Zhang, Ren, Sun, "Deep Residual Learning for Image Recognition", CVPR 2016, Table 1. The layout
mirrors ``torchvision.models.resnet``: BasicBlock (two 3x3) for 18/34, Bottleneck (1x1, 3x3, 1x1
with 4x expansion) for 50/101/152, projection shortcuts (1x1 conv + BN) only where shape changes,
and the "v1.5" placement of the stride on the 3x3 conv of a bottleneck. ``stride_in_1x1=True``
gives the paper's/Caffe's v1 placement (same params, more MACs in the 1x1 and fewer in the 3x3).
torchvision's weights list resnet50 at 25,557,032 params and 4.09 GFLOPS (MACs).
"""

from __future__ import annotations

from ..graph import Builder
from ..layers import Add, AdaptiveAvgPool2d, BatchNorm2d, Conv2d, Flatten, Linear, MaxPool2d, ReLU
from . import Published, register_model


def _basic(b, x, cin, planes, stride, groups, base_width, stride_in_1x1):
    down = None
    if stride != 1 or cin != planes:
        down = b.add(Conv2d(planes, 1, stride=stride, bias=False), x, name="downsample.0")
        down = b.add(BatchNorm2d(), down, name="downsample.1")
    y = b.add(Conv2d(planes, 3, stride=stride, padding=1, bias=False), x, name="conv1")
    y = b.add(BatchNorm2d(), y, name="bn1")
    y = b.add(ReLU(True), y, name="relu")
    y = b.add(Conv2d(planes, 3, padding=1, bias=False), y, name="conv2")
    y = b.add(BatchNorm2d(), y, name="bn2")
    y = b.add(Add(inplace=True), y, down or x, name="add")
    return b.add(ReLU(True), y, name="relu_1"), planes


def _bottleneck(b, x, cin, planes, stride, groups, base_width, stride_in_1x1):
    width = int(planes * (base_width / 64.0)) * groups
    cout = planes * 4
    s1, s3 = (stride, 1) if stride_in_1x1 else (1, stride)
    down = None
    if stride != 1 or cin != cout:
        down = b.add(Conv2d(cout, 1, stride=stride, bias=False), x, name="downsample.0")
        down = b.add(BatchNorm2d(), down, name="downsample.1")
    y = b.add(Conv2d(width, 1, stride=s1, bias=False), x, name="conv1")
    y = b.add(BatchNorm2d(), y, name="bn1")
    y = b.add(ReLU(True), y, name="relu")
    y = b.add(Conv2d(width, 3, stride=s3, padding=1, groups=groups, bias=False), y, name="conv2")
    y = b.add(BatchNorm2d(), y, name="bn2")
    y = b.add(ReLU(True), y, name="relu_1")
    y = b.add(Conv2d(cout, 1, bias=False), y, name="conv3")
    y = b.add(BatchNorm2d(), y, name="bn3")
    y = b.add(Add(inplace=True), y, down or x, name="add")
    return b.add(ReLU(True), y, name="relu_2"), cout


BLOCKS = {"basic": _basic, "bottleneck": _bottleneck}


def resnet(name, input_shape, block="bottleneck", layers=(3, 4, 6, 3), num_classes=1000, groups=1,
           width_per_group=64, stride_in_1x1=False):
    make = BLOCKS[block]
    b = Builder(name, input_shape)
    x = b.add(Conv2d(64, 7, stride=2, padding=3, bias=False), b.input, name="conv1")
    x = b.add(BatchNorm2d(), x, name="bn1")
    x = b.add(ReLU(True), x, name="relu")
    x = b.add(MaxPool2d(3, 2, padding=1), x, name="maxpool")
    cin = 64
    for stage, (planes, blocks) in enumerate(zip((64, 128, 256, 512), layers), start=1):
        for i in range(blocks):
            stride = 2 if (stage > 1 and i == 0) else 1
            with b.scope(f"layer{stage}.{i}"):
                x, cin = make(b, x, cin, planes, stride, groups, width_per_group, stride_in_1x1)
    x = b.add(AdaptiveAvgPool2d(1), x, name="avgpool")
    x = b.add(Flatten(), x, name="flatten")
    b.add(Linear(num_classes), x, name="fc")
    return b.build()


# torchvision ResNet*_Weights.IMAGENET1K_V1 meta: num_params and _ops (GFLOPS, i.e. GMACs)
_TV = {
    "resnet18": ("basic", (2, 2, 2, 2), 11_689_512, 1.814),
    "resnet34": ("basic", (3, 4, 6, 3), 21_797_672, 3.664),
    "resnet50": ("bottleneck", (3, 4, 6, 3), 25_557_032, 4.089),
    "resnet101": ("bottleneck", (3, 4, 23, 3), 44_549_160, 7.801),
    "resnet152": ("bottleneck", (3, 8, 36, 3), 60_192_808, 11.514),
}

for _name, (_block, _layers, _params, _gmacs) in _TV.items():
    register_model(
        _name, resnet, family="ResNet", block=_block, layers=_layers,
        variant="v1.5 (stride on the 3x3)" if _block == "bottleneck" else "v1",
        source=f"He et al. 2016, Table 1 ({_name[6:]}-layer); torchvision.models.{_name}",
        torchvision=_name,
        published=Published(f"torchvision ResNet{_name[6:]}_Weights.IMAGENET1K_V1", params=_params,
                            extra={"gflops": _gmacs}),
    )
