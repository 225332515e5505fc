"""Task heads: detection, segmentation, GAN, pose, captioning, blocks; their layer kinds and utilities.

Expected values are arithmetic from the papers' layer tables or come from the real torch modules
(built on the meta device, weights=None).
"""

from __future__ import annotations

from fractions import Fraction

import pytest

import archcalc
from archcalc import detection, dims
from archcalc.errors import ArchcalcError, ShapeError
from archcalc.graph import Builder
from archcalc.layers import (
    LSTM,
    Conv2d,
    Crop,
    Embedding,
    Flatten,
    L2Norm,
    Linear,
    PerItem,
    PSRoIPool,
    Reshape,
    RoIAlign,
    RoIPool,
)
from archcalc.zoo import get_entry
from torch_oracle import profile, tv_model

R, T, D = dims.symbol("R"), dims.symbol("T"), dims.symbol("D")


def slope(expr, symbol):
    """d expr / d symbol, as an int when constant (a count linear in the symbol)."""
    return dims.normalize(dims.sympy().diff(expr, symbol))


def conv(cin, cout, k, bias=True):
    """Params of a k x k conv."""
    return cin * cout * k * k + (cout if bias else 0)


def fc(fin, fout):
    return fin * fout + fout


def _graph(shape, *layers):
    b = Builder("t", shape)
    x = b.input
    for layer in layers:
        x = b.add(layer, x)
    return b.build()


# ---------------------------------------------------------------------------------------------
# layer kinds


def test_crop_center_and_offset():
    b = Builder("t", (8, 64, 64))
    ref = b.add_input((3, 56, 56), "ref")
    b.add(Crop("center"), b.input, ref, name="crop")
    r = archcalc.analyze(b.build())
    assert r["crop"].output_shape == (8, 56, 56)  # channels from the cropped input, size from the reference
    assert r["crop"].activations == 0  # a view
    # centre offset (64 - 56) // 2 = 4 moves the first output's field centre by 4 pixels
    assert r["crop"].receptive_field.start == (Fraction(1, 2) + 4, Fraction(1, 2) + 4)
    r2 = archcalc.analyze(_graph((8, 64, 64), Crop((5, 9), size=(30, 40))))
    assert r2.layers[-1].output_shape == (8, 30, 40)


def test_crop_that_does_not_fit_is_an_error():
    with pytest.raises(ShapeError, match="does not fit"):
        archcalc.analyze(_graph((8, 64, 64), Crop((40, 0), size=(30, 30))))  # 40 + 30 > 64


def test_roi_align_symbolic_rois_and_flops():
    r = archcalc.analyze(_graph((256, 50, 68), RoIAlign(7, "R", sampling_ratio=2)))
    rec = r.layers[-1]
    assert rec.output_shape == (R, 256, 7, 7)
    assert rec.params == 0 and rec.macs == 0
    assert dims.same(rec.flops, R * 256 * 7 * 7 * 8 * 2 * 2)  # 4 bilinear samples x (7 + 1 averaging)
    adaptive = archcalc.analyze(_graph((256, 50, 68), RoIAlign(7, 100, sampling_ratio=0)))
    assert adaptive.layers[-1].flops == 0 and "not counted" in adaptive.layers[-1].warnings[0]


def test_roi_pool_warns_and_ps_roi_pool_checks_channels():
    r = archcalc.analyze(_graph((512, 37, 62), RoIPool(7, 300)))
    assert r.layers[-1].output_shape == (300, 512, 7, 7)
    assert r.layers[-1].warnings  # data-dependent comparisons are said, not silently zero
    ps = archcalc.analyze(_graph((7 * 7 * 21, 38, 63), PSRoIPool(7, "R")))
    assert ps.layers[-1].output_shape == (R, 21, 7, 7)
    with pytest.raises(ShapeError, match="not divisible"):
        archcalc.analyze(_graph((1000, 38, 63), PSRoIPool(7, "R")))


def test_per_item_shares_weights_and_multiplies_work():
    r = archcalc.analyze(_graph((256, 50, 68), RoIAlign(14, "D"), PerItem(Conv2d(256, 3, padding=1)),
                                PerItem(Flatten()), Linear(10)))
    c = r.layers[2]
    assert c.output_shape == (D, 256, 14, 14)
    assert c.params == conv(256, 256, 3)  # once, not per item
    assert dims.same(c.macs, D * 14 * 14 * 256 * 256 * 9)
    assert r.layers[3].output_shape == (D, 256 * 14 * 14)
    assert dims.same(r.layers[4].macs, D * 256 * 14 * 14 * 10)  # Linear maps over the leading axis


def test_lstm_rule_torch_convention():
    r = archcalc.analyze(_graph(("T", 300), LSTM(512, num_layers=2)))
    rec = r.layers[-1]
    h = 512
    layer1 = 4 * (300 * h + h * h) + 2 * 4 * h  # two bias vectors, torch's convention
    layer2 = 4 * (h * h + h * h) + 2 * 4 * h
    assert rec.params == layer1 + layer2
    assert rec.output_shape == (T, h)
    assert dims.same(rec.macs, T * (4 * (300 * h + h * h) + 4 * (h * h + h * h)))
    with pytest.raises(ShapeError, match=r"\(T, features\)"):
        archcalc.analyze(_graph((3, 8, 8), LSTM(4)))


def test_lstm_and_embedding_params_match_torch(torch):
    with torch.device("meta"):
        lstm = torch.nn.LSTM(300, 512, num_layers=2)
        emb = torch.nn.Embedding(10000, 512)
    ours = archcalc.analyze(_graph((20, 300), LSTM(512, num_layers=2))).totals["params"]
    assert ours == sum(p.numel() for p in lstm.parameters())
    e = archcalc.analyze(_graph(("T",), Embedding(10000, 512))).layers[-1]
    assert e.params == sum(p.numel() for p in emb.parameters()) and e.macs == 0
    assert e.output_shape == (T, 512)


def test_reshape_and_l2norm():
    r = archcalc.analyze(_graph((1470,), Reshape((30, -1, 7))))
    assert r.layers[-1].output_shape == (30, 7, 7)
    with pytest.raises(ShapeError, match="cannot reshape"):
        archcalc.analyze(_graph((1470,), Reshape((30, 7, 8))))
    n = archcalc.analyze(_graph((512, 38, 38), L2Norm())).layers[-1]
    assert n.params == 512 and n.macs == 0  # one learned scale per channel


# ---------------------------------------------------------------------------------------------
# detection utilities


def test_box_iou_known_boxes():
    assert detection.box_iou((0, 0, 2, 2), (1, 1, 3, 3)) == Fraction(1, 7)  # overlap 1, union 4 + 4 - 1
    assert detection.box_iou((0, 0, 10, 10), (0, 0, 10, 10)) == 1
    assert detection.box_iou((0, 0, 1, 1), (2, 2, 3, 3)) == 0
    assert detection.box_iou((0, 0, 4, 4), (1, 1, 3, 3)) == Fraction(4, 16)  # contained: area ratio
    assert detection.box_iou((0.0, 0.0, 2.0, 1.0), (1.0, 0.0, 3.0, 1.0)) == pytest.approx(1 / 3)
    with pytest.raises(ArchcalcError, match="x1 <= x2"):
        detection.box_iou((2, 0, 0, 2), (0, 0, 1, 1))


def test_anchor_counts():
    assert detection.anchors_per_position() == 9  # Faster R-CNN: 3 scales x 3 aspect ratios
    assert detection.ssd_boxes_per_position([2]) == 4 and detection.ssd_boxes_per_position([2, 3]) == 6
    r = archcalc.analyze("faster_rcnn_vgg16")
    (rpn,) = detection.box_maps(r, "rpn.head.bbox_pred")
    assert (rpn.height, rpn.width, rpn.per_position) == (37, 62, 9)  # 600x1000 / 16 (floored by 4 pools)
    assert rpn.boxes == 37 * 62 * 9


def test_ssd300_default_boxes_8732():
    maps = detection.box_maps(archcalc.analyze("ssd300_vgg16"), "head.regression_head")
    assert [(m.height, m.width, m.per_position) for m in maps] == [
        (38, 38, 4), (19, 19, 6), (10, 10, 6), (5, 5, 6), (3, 3, 4), (1, 1, 4)]
    assert detection.total_boxes(maps) == 38 * 38 * 4 + 19 * 19 * 6 + 10 * 10 * 6 + 5 * 5 * 6 + 3 * 3 * 4 + 1 * 1 * 4
    assert detection.total_boxes(maps) == get_entry("ssd300_vgg16").published[0].extra["default_boxes"]
    assert detection.box_table(maps)[-1] == "total = 8,732"


# ---------------------------------------------------------------------------------------------
# blocks (course numbers)


def test_course_bottleneck_numbers():
    direct = archcalc.analyze("conv5x5_direct").totals["macs"]
    reduced = archcalc.analyze("conv5x5_bottleneck").totals["macs"]
    assert direct == 28 * 28 * 32 * 5 * 5 * 192 == 120_422_400  # the course's "120M multiplies"
    assert reduced == 28 * 28 * 16 * 192 + 28 * 28 * 32 * 5 * 5 * 16 == 12_443_648  # 1x1 then 5x5
    course = get_entry("conv5x5_direct").published[0].extra
    assert (direct, reduced) == (course["direct_multiplies"], course["bottleneck_multiplies"])


def test_inception_naive_vs_reduced():
    naive = archcalc.analyze("inception_naive")
    red = archcalc.analyze("inception_reduced")
    assert naive.layers[-1].output_shape == (64 + 128 + 32 + 192, 28, 28)  # pool passes 192 channels through
    assert red.layers[-1].output_shape == (64 + 128 + 32 + 32, 28, 28)
    hw = 28 * 28
    assert naive.totals["macs"] == hw * (192 * 64 + 192 * 128 * 9 + 192 * 32 * 25)
    assert red.totals["macs"] == hw * (192 * 64 + 192 * 96 + 96 * 128 * 9 + 192 * 16 + 16 * 32 * 25 + 192 * 32)
    # the same convs as torchvision GoogLeNet's inception3a (BN instead of conv biases), except that
    # torchvision's "5x5" branch is a 3x3 conv (a known quirk kept for its weights)
    g = archcalc.analyze("googlenet")
    tv = sum(r.macs for r in g.layers if r.name.startswith("inception3a."))
    assert red.totals["macs"] == tv + hw * 16 * 32 * (5 * 5 - 3 * 3)


# ---------------------------------------------------------------------------------------------
# detection entries


def test_cls_loc_two_heads():
    r = archcalc.analyze("vgg16_cls_loc")
    assert [r[o].output_shape for o in r.graph.output_names()] == [(1000,), (4,)]
    assert r.totals["params"] == archcalc.analyze("vgg16").totals["params"] + fc(4096, 4)
    per_class = archcalc.analyze("vgg16_cls_loc", box_per_class=True, num_classes=20)
    assert per_class["bbox"].output_shape == (4 * 20,)


def test_yolov1_fig3():
    r = archcalc.analyze("yolov1")
    convs = [x for x in r.layers if x.kind == "Conv2d"]
    fcs = [x for x in r.layers if x.kind == "Linear"]
    assert (len(convs), len(fcs)) == (24, 2)
    S, B, C = 7, 2, 20
    assert r.layers[-1].output_shape == (B * 5 + C, S, S) and S * S * (B * 5 + C) == 1470
    assert convs[-1].output_shape == (1024, 7, 7)
    assert fcs[0].params == fc(7 * 7 * 1024, 4096) and fcs[1].params == fc(4096, 1470)


def test_ssd300_vgg16_matches_torchvision(torchvision, torch):
    r = archcalc.analyze("ssd300_vgg16")
    m = tv_model(torch, torchvision, "detection.ssd300_vgg16", weights_backbone=None)
    assert r.totals["params"] == sum(p.numel() for p in m.parameters()) == 35_641_826
    assert round(r.totals["macs"] / 1e9, 3) == get_entry("ssd300_vgg16").published[0].extra["gflops"]


def test_faster_rcnn_symbolic_proposals():
    r = archcalc.analyze("faster_rcnn_vgg16")
    vgg16_convs = 138_357_544 - fc(25088, 4096) - fc(4096, 4096) - fc(4096, 1000)
    rpn = conv(512, 512, 3) + conv(512, 2 * 9, 1) + conv(512, 4 * 9, 1)  # 2k scores, 4k deltas, k = 9
    head = fc(512 * 7 * 7, 4096) + fc(4096, 4096) + fc(4096, 21) + fc(4096, 84)
    assert r.totals["params"] == vgg16_convs + rpn + head
    assert r["roi_heads.box_roi_pool"].output_shape == (R, 512, 7, 7)
    per_roi = 512 * 7 * 7 * 4096 + 4096 * 4096 + 4096 * 21 + 4096 * 84
    macs = r.totals["macs"]
    assert slope(macs, R) == per_roi  # linear in R, slope = the per-RoI FC work
    at300 = archcalc.analyze("faster_rcnn_vgg16", proposals=300).totals["macs"]
    assert at300 == dims.evaluate(macs, {"R": 300})
    assert archcalc.analyze("faster_rcnn_vgg16", proposals=2000).totals["macs"] - at300 == 1700 * per_roi


def test_substitute_binds_symbols_inside_the_graph():
    r = archcalc.analyze("faster_rcnn_vgg16")
    assert r.substitute(R=300).totals == archcalc.analyze("faster_rcnn_vgg16", proposals=300).totals
    s = archcalc.analyze("show_and_tell").substitute(T=16)
    assert s.layers[-1].output_shape == (17, 10000)
    assert s.totals["macs"] == archcalc.analyze("show_and_tell", caption_length=16).totals["macs"]
    h = archcalc.analyze("vgg16", input=(3, "H", "W")).substitute(H=224, W=224)  # input symbols still work
    assert h.totals["macs"] == archcalc.analyze("vgg16").totals["macs"]


def test_rfcn_per_roi_cost_is_free_of_macs():
    r = archcalc.analyze("rfcn_resnet101")
    assert dims.is_concrete(r.totals["macs"])  # no per-RoI weights: MACs do not depend on R
    assert r["vote_cls"].output_shape == (R, 21) and r["vote_bbox"].output_shape == (R, 4)
    assert r["rfcn_cls"].output_shape[0] == 7 * 7 * 21
    assert r["backbone.layer4.2.relu_2"].output_shape[1:] == r["backbone.layer3.22.relu_2"].output_shape[1:]
    resnet101 = 44_549_160
    rpn = conv(1024, 512, 3) + conv(512, 18, 1) + conv(512, 36, 1)
    assert r.totals["params"] == (resnet101 - fc(2048, 1000) + conv(2048, 1024, 1) + rpn
                                  + conv(1024, 7 * 7 * 21, 1) + conv(1024, 7 * 7 * 4, 1))


def test_rfcn_dilated_conv5_matches_torchvision(torchvision, torch):
    m = tv_model(torch, torchvision, "resnet101", replace_stride_with_dilation=[False, False, True])
    r = archcalc.analyze("rfcn_resnet101")
    for name in ("layer4.0.conv2", "layer4.0.downsample.0", "layer4.1.conv2", "layer4.2.conv2"):
        tv = m.get_submodule(name)
        ours = r["backbone." + name].layer
        assert (ours.stride, ours.dilation, ours.padding) == (tv.stride, tv.dilation, tv.padding), name


def test_detector_backbones_macs_match_torch(torchvision, torch):
    """The trunks at 600x1000 against torch's FlopCounterMode (meta tensors): VGG-16 up to conv5_3
    for Faster R-CNN, dilated ResNet-101 up to conv5 for R-FCN."""
    vgg_trunk = tv_model(torch, torchvision, "vgg16").features[:30]
    res = tv_model(torch, torchvision, "resnet101", replace_stride_with_dilation=[False, False, True])
    res_trunk = torch.nn.Sequential(*list(res.children())[:-2])
    cases = ((archcalc.analyze("faster_rcnn_vgg16"), vgg_trunk, "backbone.features.29"),
             (archcalc.analyze("rfcn_resnet101"), res_trunk, "backbone.layer4.2.relu_2"))
    for r, trunk, last in cases:
        prof = profile(torch, trunk, (3, 600, 1000))
        assert 2 * sum(x.macs for x in r.layers if x.name.startswith("backbone.")) == prof.flops
        assert [r[last].output_shape] == prof.outputs


def _torchvision_fpn_detector(torch, torchvision, masks):
    """torchvision's v1 FPN detector as built for its COCO weights (FrozenBatchNorm2d backbone),
    without downloading anything."""
    from torchvision.models.detection import FasterRCNN, MaskRCNN
    from torchvision.models.detection.backbone_utils import _resnet_fpn_extractor
    from torchvision.ops import misc

    body = torchvision.models.resnet50(weights=None, norm_layer=misc.FrozenBatchNorm2d)
    backbone = _resnet_fpn_extractor(body, 3)
    return (MaskRCNN if masks else FasterRCNN)(backbone, num_classes=91)


@pytest.mark.parametrize("name,masks", [("fasterrcnn_resnet50_fpn", False), ("maskrcnn_resnet50_fpn", True)])
def test_fpn_detectors_match_torchvision(torchvision, torch, name, masks):
    from torch.utils.flop_counter import FlopCounterMode

    r = archcalc.analyze(name)
    with torch.device("meta"):
        m = _torchvision_fpn_detector(torch, torchvision, masks)
        with FlopCounterMode(display=False) as counter:
            feats = m.backbone(torch.zeros(1, 3, 800, 1088))
        backbone_macs = counter.get_total_flops() // 2
        with FlopCounterMode(display=False) as counter:
            m.rpn.head(list(feats.values()))
        rpn_macs = counter.get_total_flops() // 2
    assert r.totals["params"] == sum(p.numel() for p in m.parameters()) == get_entry(name).published[0].params
    assert r.totals["buffers"] == sum(b.numel() for b in m.buffers())  # FrozenBatchNorm2d: 4C each
    assert sum(x.macs for x in r.layers if x.name.startswith("backbone.")) == backbone_macs
    assert sum(x.macs for x in r.layers if x.name.startswith("rpn.")) == rpn_macs  # shared head, 5 levels
    ours = [r[f"backbone.fpn.layer_blocks.{i}.0"].output_shape for i in range(4)]
    ours.append(r["backbone.fpn.extra_blocks.pool"].output_shape)
    assert ours == [tuple(f.shape[1:]) for f in feats.values()]


def test_fpn_rpn_anchors_match_torchvision_generator(torchvision, torch):
    from torchvision.models.detection.anchor_utils import AnchorGenerator
    from torchvision.models.detection.image_list import ImageList

    r = archcalc.analyze("fasterrcnn_resnet50_fpn")
    maps = detection.box_maps(r, "rpn.head.bbox_pred")
    assert [m.per_position for m in maps] == [3] * 5  # one size per level x 3 aspect ratios
    gen = AnchorGenerator(((32,), (64,), (128,), (256,), (512,)), ((0.5, 1.0, 2.0),) * 5)
    images = ImageList(torch.zeros(1, 1, 800, 1088), [(800, 1088)])
    feats = [torch.zeros(1, 1, m.height, m.width) for m in maps]  # only their sizes matter
    (anchors,) = gen(images, feats)
    assert detection.total_boxes(maps) == anchors.shape[0]


def test_shared_nodes_reuse_their_owner():
    from archcalc.layers import Shared

    g = get_entry("maskrcnn_resnet50_fpn").build()
    shared = [n for n in g.nodes.values() if isinstance(n.layer, Shared)]
    assert len(shared) == 4 * 4  # conv, relu, cls, bbox on P3..P6
    for n in shared:
        assert g.nodes[n.layer.owner].layer == n.layer.layer
    r = archcalc.analyze("maskrcnn_resnet50_fpn")
    assert all(r[n.name].params == 0 for n in shared) and r["rpn.head.conv.0.0@4"].macs > 0


def test_roi_count_must_be_positive():
    with pytest.raises(ShapeError, match="num_rois"):
        archcalc.analyze(_graph((256, 50, 68), RoIAlign(7, 0)))


def test_mask_rcnn_heads_match_torchvision_modules(torchvision, torch):
    from torchvision.models.detection.faster_rcnn import FastRCNNPredictor, TwoMLPHead
    from torchvision.models.detection.mask_rcnn import MaskRCNNHeads, MaskRCNNPredictor

    with torch.device("meta"):
        mods = [TwoMLPHead(256 * 7 * 7, 1024), FastRCNNPredictor(1024, 91),
                MaskRCNNHeads(256, (256, 256, 256, 256), 1), MaskRCNNPredictor(256, 256, 91)]
    r = archcalc.analyze("mask_rcnn_heads")
    assert r.totals["params"] == sum(p.numel() for m in mods for p in m.parameters())
    assert r["roi_heads.mask_predictor.mask_fcn_logits"].output_shape == (D, 91, 28, 28)
    per_det = 4 * 14 * 14 * 256 * 256 * 9 + 14 * 14 * 256 * 256 * 4 + 28 * 28 * 256 * 91
    per_prop = 256 * 7 * 7 * 1024 + 1024 * 1024 + 1024 * 91 + 1024 * 364
    assert dims.same(r.totals["macs"], D * per_det + R * per_prop)


# ---------------------------------------------------------------------------------------------
# segmentation


def test_fcn8s_shapes_params_and_crop_alignment():
    r = archcalc.analyze("fcn8s")
    assert r.layers[-1].output_shape == (21, 500, 500)
    assert r["features.0"].output_shape == (64, 698, 698)  # 500 + 2*100 - 2
    assert round(r.totals["params"] / 1e6) == get_entry("fcn8s").published[0].extra["params_millions"]  # 134M
    vgg16_convs = 138_357_544 - fc(25088, 4096) - fc(4096, 4096) - fc(4096, 1000)
    assert r.totals["params"] == (vgg16_convs + conv(512, 4096, 7) + conv(4096, 4096, 1) + conv(4096, 21, 1)
                                  + conv(512, 21, 1) + conv(256, 21, 1)
                                  + 2 * conv(21, 21, 4, bias=False) + conv(21, 21, 16, bias=False))
    # Caffe's crop offsets 5, 9 and 31 put the cropped maps' field centres exactly on their partners'
    rf = lambda n: r[n].receptive_field.start  # noqa: E731
    assert rf("score_pool4c") == rf("upscore2")
    assert rf("score_pool3c") == rf("upscore_pool4")
    assert rf("score") == (Fraction(1, 2), Fraction(1, 2))  # output pixel 0 centred on input pixel 0


def _unet_paper_params():
    enc = [(1, 64), (64, 64), (64, 128), (128, 128), (128, 256), (256, 256), (256, 512), (512, 512),
           (512, 1024), (1024, 1024)]
    dec = [(1024, 512), (512, 512), (512, 256), (256, 256), (256, 128), (128, 128), (128, 64), (64, 64)]
    ups = [(1024, 512), (512, 256), (256, 128), (128, 64)]  # 2x2 up-convs halving the channels
    return (sum(conv(a, b, 3) for a, b in enc + dec) + sum(conv(a, b, 2) for a, b in ups) + conv(64, 2, 1))


def test_unet_fig1():
    r = archcalc.analyze("unet")
    assert r.layers[-1].output_shape == (2, 388, 388)
    assert r["bottom.3"].output_shape == (1024, 28, 28)
    assert r["up4.crop"].output_shape == (512, 56, 56)  # 64x64 cropped to the 56x56 up-convolved map
    assert r.totals["params"] == _unet_paper_params() == 31_030_658
    # the quoted "31,031,685" is zhixuhao/unet's Keras head: 3x3 conv to 2 maps + 1x1 conv to 1
    assert r.totals["params"] - conv(64, 2, 1) + conv(64, 2, 3) + conv(2, 1, 1) == 31_031_685
    assert round(r.totals["params"] / 1e6) == get_entry("unet").published[0].extra["params_millions"]


def test_unet_symbolic_input_agrees_with_concrete():
    r = archcalc.analyze("unet", input=(1, "H", "W"))
    out = r.layers[-1].output_shape
    assert tuple(dims.evaluate(d, {"H": 572, "W": 572}) for d in out) == (2, 388, 388)
    assert dims.evaluate(r.totals["macs"], {"H": 572, "W": 572}) == archcalc.analyze("unet").totals["macs"]


def test_unet_padded_variant():
    r = archcalc.analyze("unet_padded")
    assert r.layers[-1].output_shape == (2, 512, 512)
    double_conv_couts = [64, 64, 128, 128, 256, 256, 512, 512, 1024, 1024, 512, 512, 256, 256, 128, 128, 64, 64]
    # same widths; each 3x3 conv loses its bias and gains a BN (gamma, beta)
    assert r.totals["params"] == 31_030_658 - sum(double_conv_couts) + sum(2 * c for c in double_conv_couts)
    with pytest.raises(ShapeError):
        archcalc.analyze("unet_padded", input=(1, 572, 572))  # 572/16 is not whole: skip sizes disagree


# ---------------------------------------------------------------------------------------------
# GANs


def test_dcgan_generator_fig1():
    r = archcalc.analyze("dcgan_generator")
    assert r["reshape"].output_shape == (1024, 4, 4)
    assert [r[f"deconv{i}"].output_shape for i in (1, 2, 3, 4)] == [(512, 8, 8), (256, 16, 16), (128, 32, 32),
                                                                   (3, 64, 64)]
    assert r["project"].params == fc(100, 4 * 4 * 1024)
    assert r["deconv1"].params == conv(1024, 512, 5)
    d = archcalc.analyze("dcgan_discriminator")
    assert [d[f"conv{i}"].output_shape for i in (1, 2, 3, 4)] == [(128, 32, 32), (256, 16, 16), (512, 8, 8),
                                                                (1024, 4, 4)]
    assert not d.warnings


def _tutorial_dcgan(torch):
    nn = torch.nn
    g = nn.Sequential(
        nn.ConvTranspose2d(100, 512, 4, 1, 0, bias=False), nn.BatchNorm2d(512), nn.ReLU(True),
        nn.ConvTranspose2d(512, 256, 4, 2, 1, bias=False), nn.BatchNorm2d(256), nn.ReLU(True),
        nn.ConvTranspose2d(256, 128, 4, 2, 1, bias=False), nn.BatchNorm2d(128), nn.ReLU(True),
        nn.ConvTranspose2d(128, 64, 4, 2, 1, bias=False), nn.BatchNorm2d(64), nn.ReLU(True),
        nn.ConvTranspose2d(64, 3, 4, 2, 1, bias=False), nn.Tanh())
    d = nn.Sequential(
        nn.Conv2d(3, 64, 4, 2, 1, bias=False), nn.LeakyReLU(0.2, inplace=True),
        nn.Conv2d(64, 128, 4, 2, 1, bias=False), nn.BatchNorm2d(128), nn.LeakyReLU(0.2, inplace=True),
        nn.Conv2d(128, 256, 4, 2, 1, bias=False), nn.BatchNorm2d(256), nn.LeakyReLU(0.2, inplace=True),
        nn.Conv2d(256, 512, 4, 2, 1, bias=False), nn.BatchNorm2d(512), nn.LeakyReLU(0.2, inplace=True),
        nn.Conv2d(512, 1, 4, 1, 0, bias=False), nn.Sigmoid())
    return g, d


def test_dcgan_pytorch_variants_match_tutorial(torch):
    with torch.device("meta"):
        g, d = _tutorial_dcgan(torch)
    for model, name, shape in ((g, "dcgan_generator_pytorch", (100, 1, 1)),
                               (d, "dcgan_discriminator_pytorch", (3, 64, 64))):
        r = archcalc.analyze(name)
        prof = profile(torch, model, shape)
        assert r.totals["params"] == sum(p.numel() for p in model.parameters())
        assert r.totals["params"] == get_entry(name).published[0].params
        assert 2 * r.totals["macs"] == prof.flops
        assert [r.layers[-1].output_shape] == prof.outputs


# ---------------------------------------------------------------------------------------------
# pose and captioning


def test_deeppose_matches_torchvision_alexnet(torchvision, torch):
    r = archcalc.analyze("deeppose_alexnet")
    assert r.layers[-1].output_shape == (2 * 14,)
    m = tv_model(torch, torchvision, "alexnet", num_classes=28)
    assert r.totals["params"] == sum(p.numel() for p in m.parameters())
    assert r.totals["params"] == 61_100_840 - fc(4096, 1000) + fc(4096, 28)


def test_simplebaseline_heatmaps(torchvision, torch):
    r = archcalc.analyze("simplebaseline_resnet50")
    assert r.layers[-1].output_shape == (14, 64, 48)  # 256x192 / 4
    coco = archcalc.analyze("simplebaseline_resnet50", num_joints=17)
    published = get_entry("simplebaseline_resnet50").published[0].extra
    assert round(coco.totals["params"] / 1e6, 1) == published["params_millions"]  # 34.0M
    nn = torch.nn
    r50 = tv_model(torch, torchvision, "resnet50")
    with torch.device("meta"):
        layers, c = [], 2048
        for _ in range(3):
            layers += [nn.ConvTranspose2d(c, 256, 4, 2, 1, bias=False), nn.BatchNorm2d(256), nn.ReLU(True)]
            c = 256
        m = nn.Sequential(nn.Sequential(*list(r50.children())[:-2]), *layers, nn.Conv2d(256, 17, 1))
    prof = profile(torch, m, (3, 256, 192))
    assert coco.totals["params"] == sum(p.numel() for p in m.parameters())
    assert 2 * coco.totals["macs"] == prof.flops
    assert [coco.layers[-1].output_shape] == prof.outputs
    # the paper's "8.9 GFLOPs" is not reproduced under the MAC convention (~5.43 G); we do not claim it
    assert coco.totals["macs"] < published["gflops"] * 1e9


def test_show_and_tell():
    r = archcalc.analyze("show_and_tell")
    V, E, H = 10000, 512, 512
    assert r["decoder.sequence"].output_shape == (T + 1, E)  # image at t = -1, then T words
    assert r.layers[-1].output_shape == (T + 1, V)
    googlenet_trunk = 6_624_904 - fc(1024, 1000)
    lstm = 4 * (E * H + H * H) + 2 * 4 * H
    assert r.totals["params"] == googlenet_trunk + fc(1024, E) + V * E + lstm + fc(H, V)
    per_step = 4 * (E * H + H * H) + H * V
    assert slope(r.totals["macs"], T) == per_step
    t16 = archcalc.analyze("show_and_tell", caption_length=16).totals["macs"]
    assert t16 == dims.evaluate(r.totals["macs"], {"T": 16})


# ---------------------------------------------------------------------------------------------
# transfer learning


@pytest.mark.parametrize("k", [2, 10, 37])
def test_vgg16_frozen_features_new_classifier(k):
    r = archcalc.analyze("vgg16", num_classes=k, freeze=("features",))
    t = r.totals
    classifier = fc(25088, 4096) + fc(4096, 4096) + fc(4096, k)
    assert t["trainable_params"] == classifier
    assert t["non_trainable_params"] == 138_357_544 - fc(25088, 4096) - fc(4096, 4096) - fc(4096, 1000)
    assert t["params"] == t["trainable_params"] + t["non_trainable_params"]


def test_resnet50_only_fc_trainable():
    prefixes = ("conv1", "bn1", "layer")
    r = archcalc.analyze("resnet50", num_classes=5, freeze=prefixes)
    assert r.totals["trainable_params"] == fc(2048, 5)
    assert r.totals["params"] == 25_557_032 - fc(2048, 1000) + fc(2048, 5)


def test_cli_num_classes_and_freeze(capsys, monkeypatch):
    from archcalc.cli import main

    monkeypatch.setenv("COLUMNS", "400")  # every column shown, notes included
    assert main(["vgg16", "--num-classes", "10", "--freeze", "features", "--exact"]) == 0
    out = capsys.readouterr().out
    trainable = fc(25088, 4096) + fc(4096, 4096) + fc(4096, 10)
    assert f"trainable {trainable:,}" in out and "frozen" in out
    assert main(["vgg16", "--freeze", "no_such_layer"]) == 2
    assert "matches no layer" in capsys.readouterr().err
    assert main(["conv5x5_direct", "--num-classes", "3"]) == 2
    assert "does not take num_classes" in capsys.readouterr().err
    assert main(["vgg16", "--num-classes", "0"]) == 2


@pytest.mark.parametrize("name", ["vgg16_cls_loc", "yolov1", "ssd300_vgg16", "faster_rcnn_vgg16", "fcn8s", "unet",
                                  "deeppose_alexnet", "simplebaseline_resnet50", "show_and_tell"])
def test_heads_accept_num_classes(name):
    a = archcalc.analyze(name, num_classes=7)
    assert a.totals["params"] != archcalc.analyze(name).totals["params"]
