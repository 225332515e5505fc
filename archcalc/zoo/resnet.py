"""ResNet-18/34/50/101/152 in torchvision's layout (and the knobs ResNeXt / Wide ResNet reuse).

He, Zhang, Ren, Sun, "Deep Residual Learning for Image Recognition", CVPR 2016, Table 1. The layout
mirrors ``torchvision.models.resnet``: BasicBlock (two 3x3) for 18/34, Bottleneck (1x1, 3x3, 1x1
with 4x expansion) for 50/101/152, projection shortcuts (1x1 conv + BN) only where shape changes,
and the "v1.5" placement of the stride on the 3x3 conv of a bottleneck. ``stride_in_1x1=True``
gives the paper's/Caffe's v1 placement (same params, fewer MACs; ``resnet50_v1`` etc., below).
torchvision's weights list resnet50 at 25,557,032 params and 4.09 GFLOPS (MACs).

The same builder gives ResNeXt (``groups`` > 1: the 3x3 becomes a grouped conv of ``groups`` paths
of ``width_per_group`` channels per 64 planes) and Wide ResNet (``width_per_group=128``: the inner
1x1/3x3 width doubles, the block's output channels do not), exactly as torchvision builds them.

ResNet v1 vs v1.5 (``resnet50_v1``, ``resnet101_v1``, ``resnet152_v1``): the paper and its Caffe
models put the stride 2 of the first bottleneck of stages 2-4 on the first 1x1 conv; torchvision
(v1.5) puts it on the 3x3. Params are identical. MACs differ only in those three blocks: in v1 the
strided 1x1 (cin -> width) runs on the output grid Ho x Wo instead of the input grid H x W =
4 Ho x Wo, while the 3x3 produces Ho x Wo outputs in both placements. So v1 saves
``3/4 * H*W*cin*width`` MACs per stage, ``3 * (56*56*256*128 * 3/4) = 231,211,008`` for
ResNet-50: torchvision's 4.089 GMACs become 3.858, printed "3.8 x 10^9 FLOPs" in He et al. 2016,
Table 1 (FLOPs there are multiply-adds; its one decimal is good to +-0.1). Basic-block nets
(18/34) have no 1x1, so v1 and v1.5 coincide there.
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


_PAPER_GMACS = {"resnet50": 3.8, "resnet101": 7.6, "resnet152": 11.3}  # He et al. 2016, Table 1

for _name, _gmacs in _PAPER_GMACS.items():
    _block, _layers, _params, _ = _TV[_name]
    register_model(
        f"{_name}_v1", resnet, family="ResNet", block=_block, layers=_layers, stride_in_1x1=True,
        variant="v1 (paper/Caffe: stride on the first 1x1)",
        notes="same params as v1.5; the strided 1x1 of the first block of stages 2-4 runs on the output "
              "grid, saving 3/4*H*W*cin*width MACs per stage (231,211,008 in all for 224x224)",
        source=f"He et al. 2016, Table 1 ({_name[6:]}-layer) and the authors' Caffe prototxt "
               f"(stride 2 in res3a/res4a/res5a branch2a); torchvision.models.{_name} with the stride moved",
        published=(
            Published(f"He et al. 2016, Table 1 ({_name[6:]}-layer FLOPs, multiply-adds)", extra={"gflops": _gmacs}),
            Published(f"torchvision ResNet{_name[6:]}_Weights.IMAGENET1K_V1 num_params (the stride's placement "
                      "changes no parameter)", params=_params),
        ),
    )


# ResNeXt (Xie et al., "Aggregated Residual Transformations for Deep Neural Networks", CVPR 2017,
# Table 1: ResNeXt-50 32x4d, 25.0M params, 4.2 GFLOPs) and Wide ResNet (Zagoruyko & Komodakis,
# "Wide Residual Networks", BMVC 2016, the ImageNet WRN-50-2/101-2 bottleneck nets), as torchvision
# builds them. Figures: torchvision *_Weights.IMAGENET1K_V1 meta (num_params, _ops in GMACs).
_TV_WIDE = {
    # name: (layers, groups, width_per_group, params, gmacs, family, paper source)
    "resnext50_32x4d": ((3, 4, 6, 3), 32, 4, 25_028_904, 4.23, "ResNeXt",
                        "Xie et al. 2017, Table 1 (ResNeXt-50 32x4d)"),
    "resnext101_32x8d": ((3, 4, 23, 3), 32, 8, 88_791_336, 16.414, "ResNeXt",
                         "Xie et al. 2017 template, 32 paths of width 8d (torchvision's configuration; "
                         "not in the paper's tables)"),
    "resnext101_64x4d": ((3, 4, 23, 3), 64, 4, 83_455_272, 15.46, "ResNeXt",
                         "Xie et al. 2017, Table 4 (ResNeXt-101 64x4d, 2x complexity)"),
    "wide_resnet50_2": ((3, 4, 6, 3), 1, 128, 68_883_240, 11.398, "Wide ResNet",
                        "Zagoruyko & Komodakis 2016, WRN-50-2-bottleneck (ImageNet)"),
    "wide_resnet101_2": ((3, 4, 23, 3), 1, 128, 126_886_696, 22.753, "Wide ResNet",
                         "Zagoruyko & Komodakis 2016, WRN-101-2-bottleneck (ImageNet)"),
}

for _name, (_layers, _groups, _wpg, _params, _gmacs, _family, _paper) in _TV_WIDE.items():
    register_model(
        _name, resnet, family=_family, block="bottleneck", layers=_layers, groups=_groups,
        width_per_group=_wpg, variant="v1.5 (stride on the 3x3)",
        source=f"{_paper}; torchvision.models.{_name}",
        torchvision=_name,
        published=Published(f"torchvision {_name} IMAGENET1K_V1 weights meta", params=_params,
                            extra={"gflops": _gmacs}),
    )
