"""Localisation and detection heads on classic backbones.

- ``vgg16_cls_loc``: classification + localisation (cs231n "Classification + Localization";
  Sermanet et al. 2014 OverFeat, Simonyan & Zisserman 2015 sec. 4 "localisation"): torchvision
  ``vgg16`` whose fc7 features feed two heads, 1000 class scores and 4 box coordinates
  (class-agnostic "single-class regression"; ``box_per_class=True`` gives 4 per class, the
  per-class regression of Simonyan & Zisserman's localisation ConvNet).
- ``yolov1``: Redmon, Divvala, Girshick, Farhadi, "You Only Look Once", CVPR 2016, Fig. 3 and
  sec. 2: 24 conv layers + 2 FC on a 448x448 input, output ``S*S*(B*5+C)`` = 7x7x30. Convs pad
  ``k//2`` (darknet); leaky ReLU (0.1) after every layer but the last; dropout 0.5 after the first
  FC. Fig. 3 is followed exactly; note the released darknet ``yolov1.cfg`` puts a locally-connected
  layer before the FCs, which the figure and this entry do not have.
- ``ssd300_vgg16``: Liu et al., "SSD: Single Shot MultiBox Detector", ECCV 2016, Fig. 2, in
  torchvision's ``ssd300_vgg16`` layout (91 COCO classes incl. background; pool3 in ceil mode so
  conv4_3 is 38x38; pool5 3x3/1; dilated fc6; L2Norm on conv4_3). 4/6/6/6/4/4 default boxes per
  position on 38/19/10/5/3/1 maps = 8,732 boxes (:func:`archcalc.detection.box_maps`).
  torchvision lists 35,641,826 params and 34.858 GFLOPS (GMACs).
- ``faster_rcnn_vgg16``: Ren, He, Girshick, Sun, "Faster R-CNN", NIPS 2015 (sec. 3.1, 3.2) with
  VGG-16 (py-faster-rcnn's ``VGG16/faster_rcnn_end2end`` test net): conv1_1..conv5_3 without pool5,
  RPN (3x3 conv 512, 1x1 convs to 2k = 18 objectness scores and 4k = 36 box deltas, k = 9 anchors),
  RoI pooling of ``R`` proposals to 7x7, fc6/fc7 4096, 21 class scores and 84 box deltas (PASCAL VOC).
  Input 3x600x1000 (shorter side 600). ``R`` is symbolic by default (``proposals=300`` is the
  paper's test setting); proposal decoding and NMS are not layers and are not counted.
- ``rfcn_resnet101``: Dai, Li, He, Sun, "R-FCN", NIPS 2016, sec. 2 and 3: ResNet-101 with conv5
  at stride 16 (dilation 2, torchvision ``replace_stride_with_dilation=[False, False, True]``), a
  1x1 conv 2048->1024, k*k*(C+1) = 7*7*21 position-sensitive score maps and 4*k*k class-agnostic
  box maps, position-sensitive RoI pooling and average voting. The RPN reads conv4 (layer3). All
  per-RoI work is pooling and voting: its MACs do not depend on R. The released py-R-FCN
  prototxts differ in two details: all three conv5 3x3 convs are dilated (torchvision leaves the
  first at dilation 1; params, MACs and shapes are the same, only the receptive field differs) and
  the class-agnostic box branch has 8*k*k maps (boxes for background and foreground) instead of
  the paper's 4*k*k.
- ``mask_rcnn_heads``: He, Gkioxari, Dollar, Girshick, "Mask R-CNN", ICCV 2017, Fig. 4 (right,
  FPN heads) in torchvision's ``maskrcnn_resnet50_fpn`` layout: on one 256-channel feature map,
  RoIAlign 7x7 -> TwoMLPHead (1024, 1024) -> 91 scores + 364 deltas for ``R`` proposals, and
  RoIAlign 14x14 -> 4 x (3x3 conv 256) -> 2x2 deconv -> 91 masks of 28x28 for ``D`` detections
  (the paper applies the mask branch to the top-100 detections at test time).
- ``fasterrcnn_resnet50_fpn`` / ``maskrcnn_resnet50_fpn``: the common implementation, torchvision's
  v1 detectors as they are built for their COCO weights: ResNet-50 with ``FrozenBatchNorm2d`` (no
  params, 4C buffers), FPN (Lin et al. 2017) P2-P5 + a max-pooled P6, an RPN head (3 anchors per
  position) whose weights are shared by all five levels (``Shared`` nodes count its work, not its
  params), MultiScaleRoIAlign 7x7 over P2-P5, the heads of ``mask_rcnn_heads``. Input 3x800x1088 (a
  640x480 image resized to 800 and padded to a multiple of 32). torchvision lists 41,755,286 and
  44,401,393 params. torchvision freezes conv1 and layer1 (``trainable_backbone_layers=3``): pass
  ``freeze=("backbone.body.conv1", "backbone.body.layer1")`` to see that split.
"""

from __future__ import annotations

from dataclasses import replace

from ..graph import Builder
from ..layers import (
    Activation,
    Add,
    BatchNorm2d,
    FrozenBatchNorm2d,
    Shared,
    Upsample,
    Conv2d,
    ConvTranspose2d,
    Dropout,
    Flatten,
    GlobalAvgPool2d,
    L2Norm,
    Linear,
    MaxPool2d,
    PerItem,
    PSRoIPool,
    ReLU,
    Reshape,
    RoIAlign,
    RoIPool,
)
from . import Published, register_model
from ._parts import graft
from .resnet import resnet
from .vgg import vgg


def vgg16_cls_loc(name, input_shape, num_classes=1000, box_per_class=False, dropout=0.5):
    b = Builder(name, input_shape)
    trunk = vgg(name, input_shape, cfg="D", num_classes=num_classes, dropout=dropout)
    # everything up to fc7's dropout (classifier.5), then the two heads
    x, _ = graft(b, trunk, b.input, stop_after="classifier.5")
    scores = b.add(Linear(num_classes), x, name="classifier.6")
    boxes = b.add(Linear(4 * num_classes if box_per_class else 4), x, name="bbox")
    return b.build(outputs=[scores, boxes])


#: Fig. 3 of Redmon et al. 2016: (kernel, filters, stride) per conv, "M" for 2x2/2 max pooling.
YOLOV1_CONVS = (
    [(7, 64, 2), "M", (3, 192, 1), "M",
     (1, 128, 1), (3, 256, 1), (1, 256, 1), (3, 512, 1), "M"]
    + [(1, 256, 1), (3, 512, 1)] * 4 + [(1, 512, 1), (3, 1024, 1), "M"]
    + [(1, 512, 1), (3, 1024, 1)] * 2 + [(3, 1024, 1), (3, 1024, 2)]
    + [(3, 1024, 1), (3, 1024, 1)]
)


def yolov1(name, input_shape, grid=7, boxes=2, num_classes=20, fc_width=4096):
    b = Builder(name, input_shape)
    layers = []
    for item in YOLOV1_CONVS:
        if item == "M":
            layers.append(MaxPool2d(2, 2))
        else:
            k, c, s = item
            layers += [Conv2d(c, k, stride=s, padding=k // 2), Activation("leaky_relu")]
    x = b.sequential("features", b.input, layers)
    x = b.add(Flatten(), x, name="flatten")
    x = b.sequential("classifier", x, [Linear(fc_width), Activation("leaky_relu"), Dropout(0.5),
                                       Linear(grid * grid * (boxes * 5 + num_classes))])
    b.add(Reshape((boxes * 5 + num_classes, grid, grid)), x, name="detections")
    return b.build()


def ssd300_vgg16(name, input_shape, num_classes=91, boxes_per_position=(4, 6, 6, 6, 4, 4)):
    b = Builder(name, input_shape)
    trunk = vgg(name, input_shape, cfg="D")
    # conv1_1..conv4_3 (features.0-22) with pool3 (features.16) in ceil mode, as torchvision patches it
    ceil_pool3 = lambda n, layer: replace(layer, ceil_mode=True) if n == "features.16" else layer  # noqa: E731
    conv4_3, names = graft(b, trunk, b.input, stop_after="features.22", prefix="backbone.", replace=ceil_pool3)
    maps = [b.add(L2Norm(), conv4_3, name="backbone.l2norm")]
    # extra.0: pool4 + conv5_1..conv5_3 (vgg features.23-29), then pool5 3x3/1, fc6 (dilated), fc7
    x = conv4_3
    for i, src in enumerate(range(23, 30)):
        x = b.add(trunk.nodes[f"features.{src}"].layer, x, name=f"backbone.extra.0.{i}")
    x = b.sequential("backbone.extra.0.7", x, [
        MaxPool2d(3, 1, padding=1), Conv2d(1024, 3, padding=6, dilation=6), ReLU(True),
        Conv2d(1024, 1), ReLU(True)])
    maps.append(x)
    for i, (mid, out, k, s, p) in enumerate(((256, 512, 3, 2, 1), (128, 256, 3, 2, 1), (128, 256, 3, 1, 0),
                                             (128, 256, 3, 1, 0)), start=1):
        x = b.sequential(f"backbone.extra.{i}", x, [Conv2d(mid, 1), ReLU(True),
                                                     Conv2d(out, k, stride=s, padding=p), ReLU(True)])
        maps.append(x)
    outs = []
    for head, per in (("classification_head", num_classes), ("regression_head", 4)):
        for i, (fm, k) in enumerate(zip(maps, boxes_per_position)):
            outs.append(b.add(Conv2d(per * k, 3, padding=1), fm, name=f"head.{head}.module_list.{i}"))
    return b.build(outputs=outs)


def _rpn(b, x, mid=512, anchors=9, prefix="rpn.head"):
    """Faster R-CNN's RPN head (Ren et al. sec. 3.1): 3x3 conv, then 1x1 convs to 2k objectness
    scores (the paper's two-class softmax) and 4k box deltas."""
    with b.scope(prefix):
        h = b.add(Conv2d(mid, 3, padding=1), x, name="conv")
        h = b.add(ReLU(True), h, name="relu")
        cls = b.add(Conv2d(2 * anchors, 1), h, name="cls_logits")
        box = b.add(Conv2d(4 * anchors, 1), h, name="bbox_pred")
    return cls, box


def faster_rcnn_vgg16(name, input_shape, num_classes=21, proposals="R", anchors=9, roi_pool="pool"):
    b = Builder(name, input_shape)
    trunk = vgg(name, input_shape, cfg="D")
    conv5_3, _ = graft(b, trunk, b.input, stop_after="features.29", prefix="backbone.")
    rpn_outs = _rpn(b, conv5_3, 512, anchors)
    roi = RoIPool(7, proposals) if roi_pool == "pool" else RoIAlign(7, proposals)
    x = b.add(roi, conv5_3, name="roi_heads.box_roi_pool")
    x = b.add(PerItem(Flatten()), x, name="roi_heads.flatten")
    x = b.sequential("roi_heads.box_head", x, [Linear(4096), ReLU(True), Dropout(0.5),
                                               Linear(4096), ReLU(True), Dropout(0.5)])
    cls = b.add(Linear(num_classes), x, name="roi_heads.box_predictor.cls_score")
    box = b.add(Linear(4 * num_classes), x, name="roi_heads.box_predictor.bbox_pred")
    return b.build(outputs=[cls, box, *rpn_outs])


def rfcn_resnet101(name, input_shape, num_classes=21, proposals="R", k=7, anchors=9):
    b = Builder(name, input_shape)
    trunk = resnet(name, input_shape, block="bottleneck", layers=(3, 4, 23, 3))

    def dilate_conv5(n, layer):
        # torchvision replace_stride_with_dilation on layer4: no stride; dilation 2 after block 0
        if not n.startswith("layer4."):
            return layer
        if n in ("layer4.0.conv2", "layer4.0.downsample.0"):
            return replace(layer, stride=1)
        if n.endswith(".conv2"):
            return replace(layer, dilation=2, padding=2)
        return layer

    conv4, names = graft(b, trunk, b.input, stop_after="layer3.22.relu_2", prefix="backbone.")
    rpn_outs = _rpn(b, conv4, 512, anchors)
    x = conv4
    for n, node in trunk.nodes.items():
        if n.startswith("layer4."):
            layer = dilate_conv5(n, node.layer)
            ins = tuple(names.get(i, "backbone." + i) for i in node.inputs)
            x = b.add(layer, *ins, name="backbone." + n)
            names[n] = x
    x = b.add(Conv2d(1024, 1), x, name="new_conv")
    x = b.add(ReLU(True), x, name="new_conv.relu")
    cls_maps = b.add(Conv2d(k * k * num_classes, 1), x, name="rfcn_cls")
    box_maps = b.add(Conv2d(k * k * 4, 1), x, name="rfcn_bbox")
    cls = b.add(PSRoIPool(k, proposals), cls_maps, name="psroipool_cls")
    cls = b.add(PerItem(GlobalAvgPool2d()), cls, name="vote_cls")
    box = b.add(PSRoIPool(k, proposals), box_maps, name="psroipool_bbox")
    box = b.add(PerItem(GlobalAvgPool2d()), box, name="vote_bbox")
    return b.build(outputs=[cls, box, *rpn_outs])


def mask_rcnn_heads(name, input_shape, num_classes=91, proposals="R", detections="D",
                    representation_size=1024, mask_layers=(256, 256, 256, 256)):
    b = Builder(name, input_shape)
    x = b.add(RoIAlign(7, proposals, sampling_ratio=2), b.input, name="roi_heads.box_roi_pool")
    x = b.add(PerItem(Flatten()), x, name="roi_heads.box_head.flatten")
    x = b.add(Linear(representation_size), x, name="roi_heads.box_head.fc6")
    x = b.add(ReLU(), x, name="roi_heads.box_head.relu6")
    x = b.add(Linear(representation_size), x, name="roi_heads.box_head.fc7")
    x = b.add(ReLU(), x, name="roi_heads.box_head.relu7")
    cls = b.add(Linear(num_classes), x, name="roi_heads.box_predictor.cls_score")
    box = b.add(Linear(4 * num_classes), x, name="roi_heads.box_predictor.bbox_pred")
    m = b.add(RoIAlign(14, detections, sampling_ratio=2), b.input, name="roi_heads.mask_roi_pool")
    for i, c in enumerate(mask_layers):
        m = b.add(PerItem(Conv2d(c, 3, padding=1)), m, name=f"roi_heads.mask_head.{i}.0")
        m = b.add(ReLU(True), m, name=f"roi_heads.mask_head.{i}.1")
    m = b.add(PerItem(ConvTranspose2d(mask_layers[-1], 2, stride=2)), m, name="roi_heads.mask_predictor.conv5_mask")
    m = b.add(ReLU(True), m, name="roi_heads.mask_predictor.relu")
    m = b.add(PerItem(Conv2d(num_classes, 1)), m, name="roi_heads.mask_predictor.mask_fcn_logits")
    return b.build(outputs=[cls, box, m])


def _resnet50_fpn(b, input_shape, out_channels=256):
    """torchvision ``resnet_fpn_backbone('resnet50')``: returns [P2, P3, P4, P5, P6]."""
    trunk = resnet("body", input_shape, block="bottleneck", layers=(3, 4, 6, 3))
    frozen = lambda n, layer: FrozenBatchNorm2d() if isinstance(layer, BatchNorm2d) else layer  # noqa: E731
    _, names = graft(b, trunk, b.input, stop_after="layer4.2.relu_2", prefix="backbone.body.", replace=frozen)
    taps = [names[n] for n in ("layer1.2.relu_2", "layer2.3.relu_2", "layer3.5.relu_2", "layer4.2.relu_2")]
    with b.scope("backbone.fpn"):
        inner = b.add(Conv2d(out_channels, 1), taps[3], name="inner_blocks.3.0")
        results = [b.add(Conv2d(out_channels, 3, padding=1), inner, name="layer_blocks.3.0")]
        for i in (2, 1, 0):
            lateral = b.add(Conv2d(out_channels, 1), taps[i], name=f"inner_blocks.{i}.0")
            top_down = b.add(Upsample(2, "nearest"), inner, name=f"top_down.{i}")
            inner = b.add(Add(), lateral, top_down, name=f"merge.{i}")
            results.insert(0, b.add(Conv2d(out_channels, 3, padding=1), inner, name=f"layer_blocks.{i}.0"))
        results.append(b.add(MaxPool2d(1, 2), results[-1], name="extra_blocks.pool"))
    return results


def _shared_rpn(b, levels, channels=256, anchors=3):
    """torchvision RPNHead applied to every pyramid level with one set of weights."""
    outs = []
    for i, p in enumerate(levels):
        layers = (("conv.0.0", Conv2d(channels, 3, padding=1)), ("conv.0.1", ReLU(True)),
                  ("cls_logits", Conv2d(anchors, 1)), ("bbox_pred", Conv2d(4 * anchors, 1)))
        names = {}
        for n, layer in layers:
            owner = f"rpn.head.{n}"
            src = names["conv.0.1"] if n in ("cls_logits", "bbox_pred") else names.get("conv.0.0", p)
            names[n] = b.add(layer if i == 0 else Shared(layer, owner), src,
                             name=owner if i == 0 else f"{owner}@{i}")
        outs += [names["cls_logits"], names["bbox_pred"]]
    return outs


def _fpn_detector(name, input_shape, num_classes, proposals, detections, masks):
    b = Builder(name, input_shape)
    levels = _resnet50_fpn(b, input_shape)
    rpn_outs = _shared_rpn(b, levels)
    x = b.add(RoIAlign(7, proposals, sampling_ratio=2), *levels[:4], name="roi_heads.box_roi_pool")
    x = b.add(PerItem(Flatten()), x, name="roi_heads.box_head.flatten")
    x = b.add(Linear(1024), x, name="roi_heads.box_head.fc6")
    x = b.add(ReLU(), x, name="roi_heads.box_head.relu6")
    x = b.add(Linear(1024), x, name="roi_heads.box_head.fc7")
    x = b.add(ReLU(), x, name="roi_heads.box_head.relu7")
    outs = [b.add(Linear(num_classes), x, name="roi_heads.box_predictor.cls_score"),
            b.add(Linear(4 * num_classes), x, name="roi_heads.box_predictor.bbox_pred")]
    if masks:
        m = b.add(RoIAlign(14, detections, sampling_ratio=2), *levels[:4], name="roi_heads.mask_roi_pool")
        for i in range(4):
            m = b.add(PerItem(Conv2d(256, 3, padding=1)), m, name=f"roi_heads.mask_head.{i}.0")
            m = b.add(ReLU(True), m, name=f"roi_heads.mask_head.{i}.1")
        m = b.add(PerItem(ConvTranspose2d(256, 2, stride=2)), m, name="roi_heads.mask_predictor.conv5_mask")
        m = b.add(ReLU(True), m, name="roi_heads.mask_predictor.relu")
        outs.append(b.add(PerItem(Conv2d(num_classes, 1)), m, name="roi_heads.mask_predictor.mask_fcn_logits"))
    return b.build(outputs=outs + rpn_outs)


def fasterrcnn_resnet50_fpn(name, input_shape, num_classes=91, proposals="R"):
    return _fpn_detector(name, input_shape, num_classes, proposals, None, masks=False)


def maskrcnn_resnet50_fpn(name, input_shape, num_classes=91, proposals="R", detections="D"):
    return _fpn_detector(name, input_shape, num_classes, proposals, detections, masks=True)


register_model(
    "vgg16_cls_loc", vgg16_cls_loc, family="Detection", variant="classification + localisation (2 heads)",
    source="cs231n 'Classification + Localization'; Simonyan & Zisserman 2015 sec. 4; torchvision vgg16 trunk",
)
register_model(
    "yolov1", yolov1, family="Detection", variant="Fig. 3 (24 conv + 2 FC), 7x7x30 output",
    source="Redmon et al. 2016, 'You Only Look Once', Fig. 3", input_shape=(3, 448, 448),
    published=Published("Redmon et al. 2016 Fig. 3 and sec. 2", extra={"conv_layers": 24, "fc_layers": 2,
                                                                        "output": (7, 7, 30)}),
)
register_model(
    "ssd300_vgg16", ssd300_vgg16, family="Detection", variant="torchvision layout, 91 classes, 8,732 boxes",
    source="Liu et al. 2016 (SSD) Fig. 2; torchvision.models.detection.ssd300_vgg16", input_shape=(3, 300, 300),
    torchvision="detection.ssd300_vgg16",
    published=Published("torchvision SSD300_VGG16_Weights.COCO_V1", params=35_641_826,
                        extra={"gflops": 34.858, "default_boxes": 8732}),
)
register_model(
    "faster_rcnn_vgg16", faster_rcnn_vgg16, family="Detection",
    variant="VGG-16, RoIPool 7x7, R proposals (symbolic), VOC 21 classes",
    source="Ren et al. 2015 (Faster R-CNN) sec. 3; py-faster-rcnn VGG16 faster_rcnn_end2end test net",
    input_shape=(3, 600, 1000),
    published=Published("Ren et al. 2015 sec. 3.1.1, 3.3", extra={"anchors_per_position": 9,
                                                                  "test_proposals": 300}),
)
register_model(
    "rfcn_resnet101", rfcn_resnet101, family="Detection",
    variant="ResNet-101 (conv5 dilated), k=7, VOC 21 classes, R proposals",
    source="Dai et al. 2016 (R-FCN) sec. 2-3; torchvision resnet101(replace_stride_with_dilation=[F, F, T])",
    input_shape=(3, 600, 1000),
)
register_model(
    "mask_rcnn_heads", mask_rcnn_heads, family="Detection",
    variant="FPN box + mask heads on one 256-ch map, R proposals, D detections",
    source="He et al. 2017 (Mask R-CNN) Fig. 4 right; torchvision maskrcnn_resnet50_fpn roi_heads",
    input_shape=(256, 50, 68),
)
register_model(
    "fasterrcnn_resnet50_fpn", fasterrcnn_resnet50_fpn, family="Detection",
    variant="torchvision v1: ResNet-50 (frozen BN) + FPN, shared RPN head, R proposals",
    source="Ren et al. 2015 + Lin et al. 2017 (FPN); torchvision.models.detection.fasterrcnn_resnet50_fpn",
    input_shape=(3, 800, 1088), torchvision="detection.fasterrcnn_resnet50_fpn",
    published=Published("torchvision FasterRCNN_ResNet50_FPN_Weights.COCO_V1", params=41_755_286),
)
register_model(
    "maskrcnn_resnet50_fpn", maskrcnn_resnet50_fpn, family="Detection",
    variant="torchvision v1: Faster R-CNN FPN + mask head, R proposals, D detections",
    source="He et al. 2017 (Mask R-CNN); torchvision.models.detection.maskrcnn_resnet50_fpn",
    input_shape=(3, 800, 1088), torchvision="detection.maskrcnn_resnet50_fpn",
    published=Published("torchvision MaskRCNN_ResNet50_FPN_Weights.COCO_V1", params=44_401_393),
)
