"""torchvision's semantic segmentation models: FCN and DeepLabV3 on dilated ResNet-50/101, DeepLabV3
and LR-ASPP on a dilated MobileNetV3-Large.

- ``fcn_resnet50`` / ``fcn_resnet101``: Long, Shelhamer, Darrell, "Fully Convolutional Networks for
  Semantic Segmentation", CVPR 2015, in torchvision's form (``torchvision.models.segmentation.fcn``):
  ResNet with ``replace_stride_with_dilation=[False, True, True]`` (output stride 8; the first block
  of a dilated stage keeps the previous dilation), ``FCNHead`` (3x3 conv to in/4, BN, ReLU, dropout,
  1x1 conv to 21 classes), a bilinear resize to the input size.
- ``deeplabv3_resnet50`` / ``_resnet101``: Chen, Papandreou, Schroff, Adam, "Rethinking Atrous
  Convolution for Semantic Image Segmentation", 2017 (arXiv:1706.05587), section 3.3 and Figure 5:
  ASPP with a 1x1 branch, three 3x3 atrous branches at rates 12/24/36 (output stride 8) and image
  pooling (global pool, 1x1 conv, BN, ReLU, bilinear resize), concatenated and projected to 256;
  torchvision's ``DeepLabHead`` then adds a 3x3 conv-BN-ReLU and the 1x1 classifier.
- ``deeplabv3_mobilenet_v3_large``: the same head on MobileNetV3-Large's ``features`` built with
  ``dilated=True`` (the last stage's depthwise convs at dilation 2, stride 1: output stride 16).
- ``lraspp_mobilenet_v3_large``: Howard et al., "Searching for MobileNetV3", ICCV 2019, section 6.4
  and Figure 10 (Lite R-ASPP): a 1x1 conv-BN-ReLU on the 1/16 features gated by a pooled 1x1 conv +
  sigmoid, resized to the 1/8 features' size, 1x1 classifiers on both, summed, resized to the input.

All are registered as built for their COCO-with-VOC-labels weights: 21 classes, the auxiliary FCN
head on ``layer3`` (ResNet) or on MobileNet's ``features.4`` included (torchvision's ``aux_loss=True``;
its ``num_params`` and ``_ops`` count it), at 520x520 (the weights' resize size), where those
figures apply; ``aux_loss=False`` drops the head. The resizes target the builder's input size
(``F.interpolate(size=input.shape[-2:])``), so another input size is analysed by building the graph
at that size (``get_entry(name).builder(name=name, input_shape=(3, 480, 640))``): ``input=`` alone
keeps the 520x520 resize targets.
"""

from __future__ import annotations

from dataclasses import replace

from ..graph import Builder
from ..layers import (
    Activation, AdaptiveAvgPool2d, Add, BatchNorm2d, Concat, Conv2d, Dropout, Interpolate, Mul, ReLU,
)
from . import Published, register_model
from ._parts import graft
from ._tvparts import renamed, shape_of
from .mobilenet import mobilenet_v3
from .resnet import resnet

_LAYERS = {"resnet50": (3, 4, 6, 3), "resnet101": (3, 4, 23, 3)}


def _dilated_resnet(b, backbone, input_shape):
    """torchvision ``resnet*(replace_stride_with_dilation=[False, True, True])`` up to layer4, grafted
    under ``backbone.``; returns (layer3 output, layer4 output)."""
    layers = _LAYERS[backbone]
    trunk = resnet("body", input_shape, block="bottleneck", layers=layers)
    # torchvision _make_layer: the stage's stride becomes dilation (layer3: 2, layer4: 4); its first
    # block keeps the previous stage's dilation (1 and 2), the others take the new one
    dilation = {"layer3": (1, 2), "layer4": (2, 4)}

    def dilate(name, layer):
        stage = name.split(".")[0]
        if stage not in dilation:
            return layer
        first, rest = dilation[stage]
        if name.endswith("downsample.0"):
            return replace(layer, stride=1)
        if name.endswith(".conv2"):
            d = first if name.split(".")[1] == "0" else rest
            return replace(layer, stride=1, dilation=d, padding=d)
        return layer

    last, names = graft(b, trunk, b.input, stop_after=f"layer4.{layers[3] - 1}.relu_2", prefix="backbone.",
                        replace=dilate)
    return names[f"layer3.{layers[2] - 1}.relu_2"], last


def _dilated_mobilenet_v3(b, input_shape):
    """torchvision ``mobilenet_v3_large(dilated=True).features`` up to ``features.16``, its modules
    named ``backbone.0`` ... ``backbone.16`` (``IntermediateLayerGetter``). Returns (``features.4``
    output at 1/8, ``features.16`` output at 1/16)."""
    trunk = renamed(mobilenet_v3("body", input_shape, arch="large"), "features.", "backbone.")
    dilated = ("backbone.13.block.1.0", "backbone.14.block.1.0", "backbone.15.block.1.0")

    def dilate(name, layer):
        # the C5 stage's 5x5 depthwise convs: stride 1, dilation 2, padding (5 - 1) // 2 * 2
        return replace(layer, stride=1, dilation=2, padding=4) if name in dilated else layer

    last, names = graft(b, trunk, b.input, stop_after="backbone.16.2", replace=dilate)
    return names["backbone.4.block.3.1"], last


def _resize(b, x, size, name):
    return b.add(Interpolate(size=tuple(size), mode="bilinear", align_corners=False), x, name=name)


def _fcn_head(b, x, prefix, num_classes):
    inter = shape_of(b, x)[0] // 4
    return b.sequential(prefix, x, [Conv2d(inter, 3, padding=1, bias=False), BatchNorm2d(), ReLU(),
                                    Dropout(0.1), Conv2d(num_classes, 1)])


def _deeplab_head(b, x, num_classes, rates=(12, 24, 36), out=256):
    """torchvision ``DeepLabHead``: ASPP (``classifier.0``), 3x3 conv-BN-ReLU, 1x1 classifier."""
    branches = [b.sequential("classifier.0.convs.0", x, [Conv2d(out, 1, bias=False), BatchNorm2d(), ReLU()])]
    for i, r in enumerate(rates, start=1):
        branches.append(b.sequential(f"classifier.0.convs.{i}", x, [
            Conv2d(out, 3, padding=r, dilation=r, bias=False), BatchNorm2d(), ReLU()]))
    p = f"classifier.0.convs.{len(rates) + 1}"
    pooled = b.sequential(p, x, [AdaptiveAvgPool2d(1), Conv2d(out, 1, bias=False), BatchNorm2d(), ReLU()])
    branches.append(_resize(b, pooled, shape_of(b, x)[1:], f"{p}.interpolate"))
    y = b.add(Concat(), branches, name="classifier.0.cat")
    y = b.sequential("classifier.0.project", y, [Conv2d(out, 1, bias=False), BatchNorm2d(), ReLU(), Dropout(0.5)])
    return b.sequential("classifier", y, [Conv2d(out, 3, padding=1, bias=False), BatchNorm2d(), ReLU(),
                                          Conv2d(num_classes, 1)], start=1)


def segmentation(name, input_shape, head="fcn", backbone="resnet50", num_classes=21, aux_loss=True):
    """FCN / DeepLabV3 / LR-ASPP as torchvision builds them (``head``: fcn, deeplabv3, lraspp)."""
    b = Builder(name, input_shape)
    if backbone == "mobilenet_v3_large":
        aux, out = _dilated_mobilenet_v3(b, input_shape)
    else:
        aux, out = _dilated_resnet(b, backbone, input_shape)
    size = tuple(input_shape[1:])
    if head == "lraspp":
        # Howard et al. 2019, Fig. 10: torchvision LRASPPHead(low=40, high=960, inter=128)
        x = b.sequential("classifier.cbr", out, [Conv2d(128, 1, bias=False), BatchNorm2d(), ReLU(True)])
        s = b.sequential("classifier.scale", out, [AdaptiveAvgPool2d(1), Conv2d(128, 1, bias=False),
                                                   Activation("sigmoid")])
        x = b.add(Mul(), x, s, name="classifier.gate")
        x = _resize(b, x, shape_of(b, aux)[1:], "classifier.interpolate")
        low = b.add(Conv2d(num_classes, 1), aux, name="classifier.low_classifier")
        high = b.add(Conv2d(num_classes, 1), x, name="classifier.high_classifier")
        y = b.add(Add(), low, high, name="classifier.add")
        return b.build(outputs=[_resize(b, y, size, "interpolate")])
    if head == "fcn":
        y = _fcn_head(b, out, "classifier", num_classes)
    else:
        y = _deeplab_head(b, out, num_classes)
    outs = [_resize(b, y, size, "interpolate")]
    if aux_loss:
        a = _fcn_head(b, aux, "aux_classifier", num_classes)
        outs.append(_resize(b, a, size, "aux_interpolate"))
    return b.build(outputs=outs)


# torchvision *_Weights.COCO_WITH_VOC_LABELS_V1 meta at 520x520: num_params, _ops (GFLOPS = GMACs)
_TV = {
    "fcn_resnet50": ("fcn", "resnet50", 35_322_218, 152.717),
    "fcn_resnet101": ("fcn", "resnet101", 54_314_346, 232.738),
    "deeplabv3_resnet50": ("deeplabv3", "resnet50", 42_004_074, 178.722),
    "deeplabv3_resnet101": ("deeplabv3", "resnet101", 60_996_202, 258.743),
    "deeplabv3_mobilenet_v3_large": ("deeplabv3", "mobilenet_v3_large", 11_029_328, 10.452),
    "lraspp_mobilenet_v3_large": ("lraspp", "mobilenet_v3_large", 3_221_538, 2.086),
}
_PAPERS = {
    "fcn": "Long et al. 2015 (FCN, arXiv:1411.4038), sec. 3-4, on torchvision's dilated ResNet",
    "deeplabv3": "Chen et al. 2017 (DeepLabV3, arXiv:1706.05587), sec. 3.3 and Fig. 5 (ASPP, output stride 8)",
    "lraspp": "Howard et al. 2019 (MobileNetV3, arXiv:1905.02244), sec. 6.4 and Fig. 10 (Lite R-ASPP)",
}

for _name, (_head, _bb, _params, _gmacs) in _TV.items():
    _aux = _head != "lraspp"
    register_model(
        _name, segmentation, family="Segmentation (torchvision)", head=_head, backbone=_bb,
        input_shape=(3, 520, 520),
        variant=f"{_head} on dilated {_bb}, 21 classes" + (", aux head" if _aux else "") + ", 520x520",
        source=f"{_PAPERS[_head]}; torchvision.models.segmentation.{_name}",
        torchvision=f"segmentation.{_name}",
        torchvision_kwargs={"weights_backbone": None, **({"aux_loss": True} if _aux else {})},
        published=Published(f"torchvision {_name} COCO_WITH_VOC_LABELS_V1 weights meta (at 520x520"
                            + (", aux head included)" if _aux else ")"), params=_params,
                            extra={"gflops": _gmacs, "weights": "COCO_WITH_VOC_LABELS_V1"}),
    )
