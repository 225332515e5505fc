"""torchvision's detectors beyond the v1 Faster/Mask R-CNN of ``detection.py``: RetinaNet v1/v2, FCOS,
Faster R-CNN v2, Mask R-CNN v2 and Keypoint R-CNN.

- ``retinanet_resnet50_fpn``: Lin, Goyal, Girshick, He, Dollar, "Focal Loss for Dense Object
  Detection", ICCV 2017, section 4 and Figure 3: ResNet-50 (``FrozenBatchNorm2d``: no parameters) +
  FPN on C3-C5 with P6 (3x3 s2 conv on P5) and P7 (3x3 s2 conv after a ReLU), two subnets of four
  3x3 conv-ReLU layers and a 3x3 output conv (9 anchors x 91 classes; 9 x 4 box deltas) whose weights
  are shared by all five levels (``Shared`` nodes count the work of levels 2-5).
- ``retinanet_resnet50_fpn_v2``: the same with a BatchNorm ResNet-50, P6 from C5, GroupNorm(32) after
  every subnet conv (torchvision's improved recipe, after Zhang et al. 2020, ATSS).
- ``fcos_resnet50_fpn``: Tian, Shen, Chen, He, "FCOS: Fully Convolutional One-Stage Object
  Detection", ICCV 2019, Figure 2: the RetinaNet v1 trunk, one location per position, heads of four
  3x3 conv-GroupNorm-ReLU layers then 91 class scores, and 4 box distances + 1 centre-ness.

- ``fasterrcnn_resnet50_fpn_v2`` / ``maskrcnn_resnet50_fpn_v2``: Faster / Mask R-CNN (Ren et al. 2015;
  He et al. 2017) with the recipe of Li, Xie, Lin, Girshick, He, "Benchmarking Detection Transfer
  Learning with Vision Transformers", 2021: BatchNorm ResNet-50, FPN convs with BN, a two-conv RPN
  head, a box head of four 3x3 conv-BN-ReLU layers and one FC (``FastRCNNConvFCHead``), a mask head
  of four conv-BN-ReLU layers.
- ``keypointrcnn_resnet50_fpn``: He et al. 2017, section 5 (Mask R-CNN for human pose): the v1
  trunk (frozen BN ResNet-50 + FPN), person/background boxes, eight 3x3 conv-ReLU layers of 512 on
  14x14 RoIs, a 4x4 s2 deconv to 17 heatmaps and a bilinear 2x upsampling (56x56 heatmaps).

Sizes: torchvision's ``_ops`` for these weights are at an 800x800 input (the transform's resize of a
square image, padded to a multiple of 32), where the entries are registered. The box branch runs on
``R`` proposals and the mask/keypoint branches on ``D`` detections, symbolic by default (``--set``
or ``Result.substitute``). The published figures are reproduced with R = 1000 (torchvision's
``rpn_post_nms_top_n_test``) and D = 100 for Mask R-CNN v2, D = 1 for Keypoint R-CNN's COCO_V1
weights (133.924, its COCO_LEGACY figure, is the count without the keypoint branch): D is however many detections torchvision's
measurement happened to produce, recorded here, not a property of the model. The two MobileNetV3
Faster R-CNN figures (4.494 at 800x800, 0.719 at 320x320) are backbone + FPN + RPN alone: no
proposal passed their ``rpn_score_thresh`` of 0.05 in that measurement, so the box branch ran on
none (R = 0, which archcalc does not accept as a RoI count; the test sums the other layers). Anchor and location
counts per image come from :func:`archcalc.detection.box_maps` on the regression outputs.
"""

from __future__ import annotations

from ..graph import Builder
from ..layers import (
    Activation, Add, BatchNorm2d, Conv2d, ConvTranspose2d, Flatten, FrozenBatchNorm2d, GroupNorm, Interpolate,
    Linear, MaxPool2d, PerItem, RoIAlign, Shared, Upsample,
)
from . import Published, register_model
from ._parts import graft
from ._tvparts import renamed
from .detection import _resnet50_fpn, _shared_rpn
from ._mobile import conv_norm_act, make_divisible, squeeze_excitation
from .mobilenet import V3_LARGE, mobilenet_v3
from .resnet import resnet


def _trunk(b, input_shape, frozen=True):
    """torchvision ResNet-50 under ``backbone.body.`` (FrozenBatchNorm2d for the v1 detectors); returns
    the outputs of layer1 .. layer4."""
    trunk = resnet("body", input_shape, block="bottleneck", layers=(3, 4, 6, 3))
    swap = (lambda n, layer: FrozenBatchNorm2d() if isinstance(layer, BatchNorm2d) else layer) if frozen else None
    _, names = graft(b, trunk, b.input, stop_after="layer4.2.relu_2", prefix="backbone.body.", replace=swap)
    return [names[n] for n in ("layer1.2.relu_2", "layer2.3.relu_2", "layer3.5.relu_2", "layer4.2.relu_2")]


def _fpn_p3_p7(b, taps, p6_from_c5=False, out=256):
    """torchvision ``FeaturePyramidNetwork`` on C3-C5 with ``LastLevelP6P7``: returns [P3 .. P7]."""
    with b.scope("backbone.fpn"):
        inner = b.add(Conv2d(out, 1), taps[2], name="inner_blocks.2.0")
        results = [b.add(Conv2d(out, 3, padding=1), inner, name="layer_blocks.2.0")]
        for i in (1, 0):
            lateral = b.add(Conv2d(out, 1), taps[i], name=f"inner_blocks.{i}.0")
            top_down = b.add(Upsample(2, "nearest"), inner, name=f"top_down.{i}")
            inner = b.add(Add(), lateral, top_down, name=f"merge.{i}")
            results.insert(0, b.add(Conv2d(out, 3, padding=1), inner, name=f"layer_blocks.{i}.0"))
        p6 = b.add(Conv2d(out, 3, stride=2, padding=1), taps[2] if p6_from_c5 else results[-1],
                   name="extra_blocks.p6")
        r = b.add(Activation("relu"), p6, name="extra_blocks.relu")
        p7 = b.add(Conv2d(out, 3, stride=2, padding=1), r, name="extra_blocks.p7")
    return results + [p6, p7]


def _shared_head(b, levels, prefix, layers):
    """One torchvision head module applied to every level: ``layers`` is a list of (name, layer,
    reads) with ``reads`` the name of the layer it reads (None: the level's features). The first
    level owns the weights; the others are ``Shared`` nodes named ``name@level``."""
    outs = []
    for lvl, p in enumerate(levels):
        names = {}
        for n, layer, reads in layers:
            owner = f"{prefix}.{n}"
            src = p if reads is None else names[reads]
            names[n] = b.add(layer if lvl == 0 else Shared(layer, owner), src,
                             name=owner if lvl == 0 else f"{owner}@{lvl}")
        outs.append(names)
    return outs


def _subnet(convs, norm, tail):
    """RetinaNet/FCOS subnet: ``convs`` 3x3 convs (bias unless normalised), each followed by ``norm``
    (None, "gn" as ``conv.i.1``, or "gn_flat" FCOS's flat Sequential) and ReLU; then ``tail``."""
    layers, prev = [], None
    for i in range(convs):
        if norm == "gn_flat":
            names = (f"conv.{3 * i}", f"conv.{3 * i + 1}", f"conv.{3 * i + 2}")
            layers += [(names[0], Conv2d(256, 3, padding=1), prev), (names[1], GroupNorm(32), names[0]),
                       (names[2], Activation("relu"), names[1])]
            prev = names[2]
        elif norm == "gn":
            layers += [(f"conv.{i}.0", Conv2d(256, 3, padding=1, bias=False), prev),
                       (f"conv.{i}.1", GroupNorm(32), f"conv.{i}.0"),
                       (f"conv.{i}.2", Activation("relu", inplace=True), f"conv.{i}.1")]
            prev = f"conv.{i}.2"
        else:
            layers += [(f"conv.{i}.0", Conv2d(256, 3, padding=1), prev),
                       (f"conv.{i}.1", Activation("relu", inplace=True), f"conv.{i}.0")]
            prev = f"conv.{i}.1"
    return layers + [(n, layer, prev) for n, layer in tail]


def retinanet(name, input_shape, v2=False, num_classes=91, anchors=9):
    b = Builder(name, input_shape)
    levels = _fpn_p3_p7(b, _trunk(b, input_shape, frozen=not v2)[1:], p6_from_c5=v2)
    norm = "gn" if v2 else None
    cls = _shared_head(b, levels, "head.classification_head",
                       _subnet(4, norm, [("cls_logits", Conv2d(anchors * num_classes, 3, padding=1))]))
    box = _shared_head(b, levels, "head.regression_head",
                       _subnet(4, norm, [("bbox_reg", Conv2d(anchors * 4, 3, padding=1))]))
    return b.build(outputs=[o["cls_logits"] for o in cls] + [o["bbox_reg"] for o in box])


def fcos(name, input_shape, num_classes=91):
    b = Builder(name, input_shape)
    levels = _fpn_p3_p7(b, _trunk(b, input_shape)[1:])
    cls = _shared_head(b, levels, "head.classification_head",
                       _subnet(4, "gn_flat", [("cls_logits", Conv2d(num_classes, 3, padding=1))]))
    box = _shared_head(b, levels, "head.regression_head",
                       _subnet(4, "gn_flat", [("bbox_reg", Conv2d(4, 3, padding=1)),
                                              ("bbox_ctrness", Conv2d(1, 3, padding=1))]))
    return b.build(outputs=[o["cls_logits"] for o in cls] + [o[k] for o in box for k in ("bbox_reg", "bbox_ctrness")])


def _fpn_p2_p6_bn(b, taps, out=256):
    """torchvision ``FeaturePyramidNetwork(norm_layer=BatchNorm2d)`` on C2-C5 with a max-pooled P6 (the
    v2 detectors): every FPN conv is conv (no bias) + BN. Returns [P2 .. P6]."""
    def conv_bn(x, name, k):
        x = b.add(Conv2d(out, k, padding=k // 2, bias=False), x, name=f"{name}.0")
        return b.add(BatchNorm2d(), x, name=f"{name}.1")

    with b.scope("backbone.fpn"):
        inner = conv_bn(taps[3], "inner_blocks.3", 1)
        results = [conv_bn(inner, "layer_blocks.3", 3)]
        for i in (2, 1, 0):
            lateral = conv_bn(taps[i], f"inner_blocks.{i}", 1)
            top_down = b.add(Upsample(2, "nearest"), inner, name=f"top_down.{i}")
            inner = b.add(Add(), lateral, top_down, name=f"merge.{i}")
            results.insert(0, conv_bn(inner, f"layer_blocks.{i}", 3))
        results.append(b.add(MaxPool2d(1, 2), results[-1], name="extra_blocks.pool"))
    return results


def two_stage(name, input_shape, v2=True, masks=False, keypoints=False, num_classes=91, num_keypoints=17,
              proposals="R", detections="D"):
    """Faster / Mask R-CNN v2 (``v2``) and Keypoint R-CNN (v1 trunk). The box branch runs on ``R``
    proposals, the mask and keypoint branches on ``D`` detections (both symbolic by default)."""
    b = Builder(name, input_shape)
    if v2:
        levels = _fpn_p2_p6_bn(b, _trunk(b, input_shape, frozen=False))
        rpn = _shared_head(b, levels, "rpn.head", [
            ("conv.0.0", Conv2d(256, 3, padding=1), None), ("conv.0.1", Activation("relu", inplace=True), "conv.0.0"),
            ("conv.1.0", Conv2d(256, 3, padding=1), "conv.0.1"),
            ("conv.1.1", Activation("relu", inplace=True), "conv.1.0"),
            ("cls_logits", Conv2d(3, 1), "conv.1.1"), ("bbox_pred", Conv2d(12, 1), "conv.1.1")])
        outs = [o[k] for o in rpn for k in ("cls_logits", "bbox_pred")]
    else:
        levels = _resnet50_fpn(b, input_shape)
        outs = _shared_rpn(b, levels)
    x = b.add(RoIAlign(7, proposals, sampling_ratio=2), *levels[:4], name="roi_heads.box_roi_pool")
    if v2:  # FastRCNNConvFCHead((256, 7, 7), [256] * 4, [1024], norm_layer=BatchNorm2d)
        for i in range(4):
            x = b.add(PerItem(Conv2d(256, 3, padding=1, bias=False)), x, name=f"roi_heads.box_head.{i}.0")
            x = b.add(PerItem(BatchNorm2d()), x, name=f"roi_heads.box_head.{i}.1")
            x = b.add(Activation("relu", inplace=True), x, name=f"roi_heads.box_head.{i}.2")
        x = b.add(PerItem(Flatten()), x, name="roi_heads.box_head.4")
        x = b.add(Linear(1024), x, name="roi_heads.box_head.5")
        x = b.add(Activation("relu", inplace=True), x, name="roi_heads.box_head.6")
    else:  # TwoMLPHead
        x = b.add(PerItem(Flatten()), x, name="roi_heads.box_head.flatten")
        x = b.add(Linear(1024), x, name="roi_heads.box_head.fc6")
        x = b.add(Activation("relu"), x, name="roi_heads.box_head.relu6")
        x = b.add(Linear(1024), x, name="roi_heads.box_head.fc7")
        x = b.add(Activation("relu"), x, name="roi_heads.box_head.relu7")
    outs += [b.add(Linear(num_classes), x, name="roi_heads.box_predictor.cls_score"),
             b.add(Linear(4 * num_classes), x, name="roi_heads.box_predictor.bbox_pred")]
    if masks:  # MaskRCNNHeads(256, [256] * 4, 1, norm_layer=BatchNorm2d) + MaskRCNNPredictor
        m = b.add(RoIAlign(14, detections, sampling_ratio=2), *levels[:4], name="roi_heads.mask_roi_pool")
        for i in range(4):
            m = b.add(PerItem(Conv2d(256, 3, padding=1, bias=False)), m, name=f"roi_heads.mask_head.{i}.0")
            m = b.add(PerItem(BatchNorm2d()), m, name=f"roi_heads.mask_head.{i}.1")
            m = b.add(Activation("relu", inplace=True), m, name=f"roi_heads.mask_head.{i}.2")
        m = b.add(PerItem(ConvTranspose2d(256, 2, stride=2)), m, name="roi_heads.mask_predictor.conv5_mask")
        m = b.add(Activation("relu", inplace=True), m, name="roi_heads.mask_predictor.relu")
        outs.append(b.add(PerItem(Conv2d(num_classes, 1)), m, name="roi_heads.mask_predictor.mask_fcn_logits"))
    if keypoints:  # KeypointRCNNHeads(256, [512] * 8) + KeypointRCNNPredictor(512, 17)
        k = b.add(RoIAlign(14, detections, sampling_ratio=2), *levels[:4], name="roi_heads.keypoint_roi_pool")
        for i in range(8):
            k = b.add(PerItem(Conv2d(512, 3, padding=1)), k, name=f"roi_heads.keypoint_head.{2 * i}")
            k = b.add(Activation("relu", inplace=True), k, name=f"roi_heads.keypoint_head.{2 * i + 1}")
        k = b.add(PerItem(ConvTranspose2d(num_keypoints, 4, stride=2, padding=1)), k,
                  name="roi_heads.keypoint_predictor.kps_score_lowres")
        outs.append(b.add(PerItem(Interpolate(scale_factor=2, mode="bilinear", align_corners=False)), k,
                          name="roi_heads.keypoint_predictor.interpolate"))
    return b.build(outputs=outs)


def fasterrcnn_mobilenet(name, input_shape, num_classes=91, proposals="R"):
    """torchvision ``fasterrcnn_mobilenet_v3_large_fpn`` / ``_320_fpn``: MobileNetV3-Large features with
    FrozenBatchNorm2d, an FPN on ``features.13`` (160 ch) and ``features.16`` (960 ch), both at stride
    32, plus a max-pooled level; an RPN head with 15 anchors (5 sizes x 3 ratios) per position shared
    by the 3 levels; RoIAlign 7x7 over the two FPN maps, TwoMLPHead (1024), box predictor."""
    b = Builder(name, input_shape)
    trunk = mobilenet_v3("body", input_shape, arch="large")
    frozen = lambda n, layer: FrozenBatchNorm2d() if isinstance(layer, BatchNorm2d) else layer  # noqa: E731
    # IntermediateLayerGetter(features): backbone.body.0 ... backbone.body.16
    _, names = graft(b, renamed(trunk, "features.", "backbone.body."), b.input, stop_after="backbone.body.16.2",
                     replace=frozen)
    taps = [names["backbone.body.13.block.3.1"], names["backbone.body.16.2"]]
    with b.scope("backbone.fpn"):
        inner = b.add(Conv2d(256, 1), taps[1], name="inner_blocks.1.0")
        p1 = b.add(Conv2d(256, 3, padding=1), inner, name="layer_blocks.1.0")
        lateral = b.add(Conv2d(256, 1), taps[0], name="inner_blocks.0.0")
        # F.interpolate(size=the lateral's size): both maps are at stride 32, so a same-size copy
        top_down = b.add(Interpolate(scale_factor=1, mode="nearest"), inner, name="top_down.0")
        inner = b.add(Add(), lateral, top_down, name="merge.0")
        p0 = b.add(Conv2d(256, 3, padding=1), inner, name="layer_blocks.0.0")
        pool = b.add(MaxPool2d(1, 2), p1, name="extra_blocks.pool")
    outs = _shared_rpn(b, [p0, p1, pool], anchors=15)
    x = b.add(RoIAlign(7, proposals, sampling_ratio=2), p0, p1, name="roi_heads.box_roi_pool")
    x = b.add(PerItem(Flatten()), x, name="roi_heads.box_head.flatten")
    x = b.add(Linear(1024), x, name="roi_heads.box_head.fc6")
    x = b.add(Activation("relu"), x, name="roi_heads.box_head.relu6")
    x = b.add(Linear(1024), x, name="roi_heads.box_head.fc7")
    x = b.add(Activation("relu"), x, name="roi_heads.box_head.relu7")
    outs += [b.add(Linear(num_classes), x, name="roi_heads.box_predictor.cls_score"),
             b.add(Linear(4 * num_classes), x, name="roi_heads.box_predictor.bbox_pred")]
    return b.build(outputs=outs)


def _v3_block(b, x, p, cin, k, exp, cout, use_se, act, stride, names):
    """One MobileNetV3 inverted residual (torchvision ``InvertedResidual``); ``names`` are the node
    prefixes of its expansion, depthwise, SE and projection modules."""
    y = x
    if exp != cin:
        y = conv_norm_act(b, y, names[0], exp, 1, act=act)
    y = conv_norm_act(b, y, names[1], exp, k, stride=stride, groups=exp, act=act)
    if use_se:
        y = squeeze_excitation(b, y, names[2], exp, make_divisible(exp // 4, 8), act="relu", scale_act="hardsigmoid")
    y = conv_norm_act(b, y, names[3], cout, 1, act=None)
    if stride == 1 and cin == cout:
        y = b.add(Add(inplace=True), y, x, name=f"{p}.add")
    return y


def ssdlite320(name, input_shape, num_classes=91, anchors=6):
    """torchvision ``ssdlite320_mobilenet_v3_large`` as built for its COCO weights: MobileNetV3-Large
    with the reduced tail (C5 at half width, Howard et al. 2019 Table 6 note), split after the C4
    block's expansion conv (672 channels at 1/16; torchvision ``SSDLiteFeatureExtractorMobileNet``),
    the rest to 480 channels at 1/32, four extra blocks (1x1, depthwise 3x3 s2, 1x1, ReLU6) to
    512/256/256/128 channels, and per map a separable predictor (depthwise 3x3 conv-BN-ReLU6, 1x1 conv)
    for 6 boxes x 91 classes and 6 x 4 deltas. BN eps 0.001 changes no count."""
    tail = {13: (112, 5, 672, 80), 14: (80, 5, 480, 80), 15: (80, 5, 480, 80)}  # reduce_divider 2
    b = Builder(name, input_shape)
    x = conv_norm_act(b, b.input, "backbone.features.0.0", 16, 3, stride=2, act="hardswish")
    for idx, (cin, k, exp, cout, use_se, act, stride) in enumerate(V3_LARGE, start=1):
        cin, k, exp, cout = tail.get(idx, (cin, k, exp, cout))
        if idx < 13:
            p = f"backbone.features.0.{idx}"
            names = [f"{p}.block.{j}" for j in range(4)] if exp != cin else \
                [None] + [f"{p}.block.{j}" for j in range(3)]
            if not use_se:
                names = names[:2] + [None, names[2]]
        elif idx == 13:  # split: its expansion conv ends feature map 0
            p = "backbone.features.1.0"
            names = ["backbone.features.0.13", f"{p}.1", f"{p}.2", f"{p}.3"]
        else:
            p = f"backbone.features.1.{idx - 13}"
            names = [f"{p}.block.{j}" for j in range(4)]
        if idx == 13:
            c4 = conv_norm_act(b, x, names[0], exp, 1, act=act)
            y = conv_norm_act(b, c4, names[1], exp, k, stride=stride, groups=exp, act=act)
            y = squeeze_excitation(b, y, names[2], exp, make_divisible(exp // 4, 8), act="relu",
                                   scale_act="hardsigmoid")
            x = conv_norm_act(b, y, names[3], cout, 1, act=None)
        else:
            x = _v3_block(b, x, p, cin, k, exp, cout, use_se, act, stride, names)
    x = conv_norm_act(b, x, "backbone.features.1.3", 480, 1, act="hardswish")
    maps = [c4, x]
    for i, cout in enumerate((512, 256, 256, 128)):
        mid = cout // 2
        p = f"backbone.extra.{i}"
        x = conv_norm_act(b, x, f"{p}.0", mid, 1, act="relu6")
        x = conv_norm_act(b, x, f"{p}.1", mid, 3, stride=2, groups=mid, act="relu6")
        x = conv_norm_act(b, x, f"{p}.2", cout, 1, act="relu6")
        maps.append(x)
    outs = []
    widths = (672, 480, 512, 256, 256, 128)  # the six maps' channels (torchvision retrieve_out_channels)
    for head, per in (("classification_head", num_classes), ("regression_head", 4)):
        for i, (m, c) in enumerate(zip(maps, widths)):
            p = f"head.{head}.module_list.{i}"
            y = conv_norm_act(b, m, f"{p}.0", c, 3, groups=c, act="relu6")
            outs.append(b.add(Conv2d(anchors * per, 1), y, name=f"{p}.1"))
    return b.build(outputs=outs)


_COMMON = dict(family="Detection (torchvision)", input_shape=(3, 800, 800))

register_model(
    "retinanet_resnet50_fpn", retinanet, **_COMMON,
    variant="v1: ResNet-50 (frozen BN) + FPN P3-P7, shared subnets, 9 anchors, 800x800",
    source="Lin et al. 2017 (Focal Loss, arXiv:1708.02002), sec. 4 and Fig. 3; "
           "torchvision.models.detection.retinanet_resnet50_fpn",
    torchvision="detection.retinanet_resnet50_fpn",
    published=Published("torchvision RetinaNet_ResNet50_FPN_Weights.COCO_V1 (at 800x800)", params=34_014_999,
                        extra={"gflops": 151.54, "weights": "COCO_V1"}),
)
register_model(
    "retinanet_resnet50_fpn_v2", retinanet, v2=True, **_COMMON,
    variant="v2: BN ResNet-50, P6 from C5, GroupNorm subnets, 800x800",
    source="Lin et al. 2017 (Focal Loss), sec. 4; torchvision's v2 recipe (GroupNorm heads as in Zhang et al. "
           "2020, ATSS, arXiv:1912.02424); torchvision.models.detection.retinanet_resnet50_fpn_v2",
    torchvision="detection.retinanet_resnet50_fpn_v2",
    published=Published("torchvision RetinaNet_ResNet50_FPN_V2_Weights.COCO_V1 (at 800x800)", params=38_198_935,
                        extra={"gflops": 152.238, "weights": "COCO_V1"}),
)
register_model(
    "fcos_resnet50_fpn", fcos, **_COMMON,
    variant="ResNet-50 (frozen BN) + FPN P3-P7, GroupNorm heads, centre-ness, 800x800",
    source="Tian et al. 2019 (FCOS, arXiv:1904.01355), Fig. 2; torchvision.models.detection.fcos_resnet50_fpn",
    torchvision="detection.fcos_resnet50_fpn",
    published=Published("torchvision FCOS_ResNet50_FPN_Weights.COCO_V1 (at 800x800)", params=32_269_600,
                        extra={"gflops": 128.207, "weights": "COCO_V1"}),
)

register_model(
    "fasterrcnn_resnet50_fpn_v2", two_stage, **_COMMON,
    variant="v2: BN ResNet-50 + BN FPN, 2-conv RPN head, 4-conv + FC box head, R proposals, 800x800",
    source="Ren et al. 2015 (Faster R-CNN) + Lin et al. 2017 (FPN); the v2 recipe of Li et al. 2021, "
           "'Benchmarking Detection Transfer Learning with Vision Transformers' (arXiv:2111.11429); "
           "torchvision.models.detection.fasterrcnn_resnet50_fpn_v2",
    torchvision="detection.fasterrcnn_resnet50_fpn_v2",
    published=Published("torchvision FasterRCNN_ResNet50_FPN_V2_Weights.COCO_V1 (at 800x800, R=1000)",
                        params=43_712_278, extra={"gflops": 280.371, "weights": "COCO_V1", "at": {"R": 1000}}),
)
register_model(
    "maskrcnn_resnet50_fpn_v2", two_stage, masks=True, **_COMMON,
    variant="v2: Faster R-CNN v2 + BN mask head, R proposals, D detections, 800x800",
    source="He et al. 2017 (Mask R-CNN) with the v2 recipe of Li et al. 2021 (arXiv:2111.11429); "
           "torchvision.models.detection.maskrcnn_resnet50_fpn_v2",
    torchvision="detection.maskrcnn_resnet50_fpn_v2",
    published=Published("torchvision MaskRCNN_ResNet50_FPN_V2_Weights.COCO_V1 (at 800x800, R=1000, D=100)",
                        params=46_359_409, extra={"gflops": 333.577, "weights": "COCO_V1",
                                                  "at": {"R": 1000, "D": 100}}),
)
register_model(
    "keypointrcnn_resnet50_fpn", two_stage, v2=False, keypoints=True, num_classes=2, **_COMMON,
    variant="ResNet-50 (frozen BN) + FPN, person boxes, 17 keypoint heatmaps on D detections, 800x800",
    source="He et al. 2017 (Mask R-CNN) sec. 5 (keypoint detection); "
           "torchvision.models.detection.keypointrcnn_resnet50_fpn",
    torchvision="detection.keypointrcnn_resnet50_fpn",
    published=Published("torchvision KeypointRCNN_ResNet50_FPN_Weights.COCO_V1 (at 800x800, R=1000, D=1)",
                        params=59_137_258, extra={"gflops": 137.42, "weights": "COCO_V1", "at": {"R": 1000, "D": 1}}),
)

register_model(
    "fasterrcnn_mobilenet_v3_large_fpn", fasterrcnn_mobilenet, **_COMMON,
    variant="MobileNetV3-Large (frozen BN) + 2-map FPN, 15 anchors, R proposals, 800x800",
    source="Ren et al. 2015 (Faster R-CNN) + Lin et al. 2017 (FPN) on Howard et al. 2019 (MobileNetV3); "
           "torchvision.models.detection.fasterrcnn_mobilenet_v3_large_fpn",
    torchvision="detection.fasterrcnn_mobilenet_v3_large_fpn",
    published=Published("torchvision FasterRCNN_MobileNet_V3_Large_FPN_Weights.COCO_V1 (at 800x800; its _ops "
                        "counts no box branch)", params=19_386_354,
                        extra={"gflops": 4.494, "weights": "COCO_V1", "without": "roi_heads."}),
)
register_model(
    "fasterrcnn_mobilenet_v3_large_320_fpn", fasterrcnn_mobilenet, family="Detection (torchvision)",
    input_shape=(3, 320, 320),
    variant="the same at torchvision's low-resolution setting: 320x320, 150 proposals",
    source="as fasterrcnn_mobilenet_v3_large_fpn (min_size 320, rpn_post_nms_top_n_test 150); "
           "torchvision.models.detection.fasterrcnn_mobilenet_v3_large_320_fpn",
    torchvision="detection.fasterrcnn_mobilenet_v3_large_320_fpn",
    published=Published("torchvision FasterRCNN_MobileNet_V3_Large_320_FPN_Weights.COCO_V1 (at 320x320; its "
                        "_ops counts no box branch)", params=19_386_354,
                        extra={"gflops": 0.719, "weights": "COCO_V1", "without": "roi_heads."}),
)

register_model(
    "ssdlite320_mobilenet_v3_large", ssdlite320, family="Detection (torchvision)", input_shape=(3, 320, 320),
    variant="SSDlite on MobileNetV3-Large (reduced tail), 6 maps, 6 boxes per position, 320x320",
    source="Sandler et al. 2018 (MobileNetV2, arXiv:1801.04381) sec. 6.2 (SSDLite) on Howard et al. 2019 "
           "(MobileNetV3, arXiv:1905.02244) sec. 6.2; torchvision.models.detection.ssdlite320_mobilenet_v3_large",
    torchvision="detection.ssdlite320_mobilenet_v3_large",
    torchvision_kwargs={"weights_backbone": None},
    published=Published("torchvision SSDLite320_MobileNet_V3_Large_Weights.COCO_V1 (at 320x320)", params=3_440_060,
                        extra={"gflops": 0.583, "weights": "COCO_V1"}),
)
