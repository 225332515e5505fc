"""from_torch on torchvision detectors (issue 14 item 2): the fallback tracer under the capacity
convention (data-dependent filters keep every candidate; the model's caps set R and D), one image
per run, the pipeline between network modules listed as named Uncounted nodes."""

from __future__ import annotations

import pytest

import archcalc

pytestmark = pytest.mark.torch

C = 8  # the tiny backbone's channels
PRE, POST, DET = 50, 20, 7  # rpn pre/post NMS caps, detections per image


def _tiny_maskrcnn(torch, torchvision, post=POST, det=DET):
    """A Mask R-CNN with a one-conv backbone: a conv RPN head, score threshold (nonzero), NMS, top-k
    caps, RoIAlign on the kept boxes, a per-RoI conv mask head."""
    from torchvision.models.detection import MaskRCNN
    from torchvision.models.detection.anchor_utils import AnchorGenerator
    from torchvision.models.detection.faster_rcnn import FastRCNNPredictor, TwoMLPHead
    from torchvision.models.detection.mask_rcnn import MaskRCNNHeads, MaskRCNNPredictor
    from torchvision.ops import MultiScaleRoIAlign

    nn = torch.nn
    with torch.device("meta"):
        backbone = nn.Sequential(nn.Conv2d(3, C, 3, stride=4, padding=1), nn.ReLU())
        backbone.out_channels = C
        m = MaskRCNN(
            backbone, num_classes=None, min_size=64, max_size=64,
            rpn_anchor_generator=AnchorGenerator(sizes=((16, 32),), aspect_ratios=((0.5, 1.0),)),
            rpn_pre_nms_top_n_test=PRE, rpn_post_nms_top_n_test=post, box_detections_per_img=det,
            box_roi_pool=MultiScaleRoIAlign(["0"], 7, 2), box_head=TwoMLPHead(C * 7 * 7, 32),
            box_predictor=FastRCNNPredictor(32, 3),
            mask_roi_pool=MultiScaleRoIAlign(["0"], 14, 2), mask_head=MaskRCNNHeads(C, [C], 1),
            mask_predictor=MaskRCNNPredictor(C, C, 3),
        )
    return m.eval()


def test_tiny_detector_against_flop_counter_and_arithmetic(torch, torchvision):
    from archcalc.torch_bridge import from_torch
    from archcalc.torch_bridge.detect_import import flop_counter_macs

    m = _tiny_maskrcnn(torch, torchvision)
    g = from_torch(m, (3, 48, 48))
    r = archcalc.analyze(g)
    assert "keep every candidate" in g.tracer and f"R={POST} proposals" in g.tracer and f"D={DET}" in g.tracer
    # the transform: normalize, resize 48 -> 64 (min_size), pad to a multiple of 32 (none needed here)
    assert [r[f"transform.{n}"].output_shape for n in ("normalize.div_std", "resize", "batch_images")] == \
        [(3, 48, 48), (3, 64, 64), (3, 64, 64)]
    assert r["transform.normalize.sub_mean"].flops == 3 * 48 * 48  # one subtraction per element
    s = 64 // 4  # the backbone's stride-4 map: 16 x 16
    anchors = s * s * 2 * 2  # 2 sizes x 2 ratios per position = 1024 >= PRE: the caps decide R
    assert anchors >= PRE
    backbone = s * s * C * 3 * 3 * 3
    rpn = s * s * C * 3 * 3 * C + s * s * 4 * C + s * s * 16 * C  # 3x3 conv, 4 scores, 16 deltas
    box = POST * (C * 7 * 7 * 32 + 32 * 32 + 32 * 3 + 32 * 12)  # fc6, fc7, 3 scores, 12 deltas per RoI
    mask = DET * (14 * 14 * C * 3 * 3 * C + 14 * 14 * C * 2 * 2 * C + 28 * 28 * 3 * C)  # conv, deconv 2x2 s2, 1x1
    assert r.totals["macs"] == backbone + rpn + box + mask
    assert r.totals["macs"] == flop_counter_macs(m, [(3, 48, 48)])  # torch's own count on the same path
    assert r.totals["params"] == sum(p.numel() for p in m.parameters())
    assert r["roi_heads.box_roi_pool"].output_shape == (POST, C, 7, 7)
    assert r["roi_heads.mask_roi_pool"].output_shape == (DET, C, 14, 14)
    assert r["roi_heads.mask_head.0.0"].kind == "PerItem(Conv2d)"  # one conv per RoI
    assert r["rpn.head.conv.0.0"].output_shape == (C, s, s)  # the batch of one image is not an axis
    # the pipeline (transform, anchors, decoding, NMS) is named, never a silent 0
    ops = {u["op"] for u in r.totals["uncounted"]}
    assert ops and all(o.startswith("detection pipeline (rpn: anchors") and "NMS" in o for o in ops), ops


def test_tiny_detector_transform_pads_to_the_size_divisor(torch, torchvision):
    from archcalc.torch_bridge import from_torch
    from archcalc.torch_bridge.detect_import import flop_counter_macs

    m = _tiny_maskrcnn(torch, torchvision)
    r = archcalc.analyze(from_torch(m, (3, 50, 70)))
    # scale min(64 / 50, 64 / 70): 70 -> 64 and 50 -> floor(50 * 64 / 70) = 45, then padded to 64 x 64
    assert r["transform.resize"].output_shape == (3, 45, 64)
    assert r["transform.batch_images"].kind == "ZeroPad2d" and r["transform.batch_images"].output_shape == (3, 64, 64)
    assert r.totals["macs"] == flop_counter_macs(m, [(3, 50, 70)])


def test_tiny_detector_one_proposal_one_detection(torch, torchvision):
    """R = D = 1: a stack of one RoI is (1, C, 7, 7), not a batch axis."""
    from archcalc.torch_bridge import from_torch
    from archcalc.torch_bridge.detect_import import flop_counter_macs

    m = _tiny_maskrcnn(torch, torchvision, post=1, det=1)
    r = archcalc.analyze(from_torch(m, (3, 48, 48)))
    assert r["roi_heads.box_roi_pool"].output_shape == (1, C, 7, 7)
    assert r["roi_heads.mask_predictor.mask_fcn_logits"].output_shape == (1, 3, 28, 28)
    assert r.totals["macs"] == flop_counter_macs(m, [(3, 48, 48)])


def test_detector_takes_one_image_shape(torch, torchvision):
    from archcalc.errors import ArchcalcError
    from archcalc.torch_bridge import from_torch

    with pytest.raises(ArchcalcError, match="one image shape"):
        from_torch(_tiny_maskrcnn(torch, torchvision), [(3, 48, 48), (3, 48, 48)])


def test_capacity_keeps_every_candidate(torch, torchvision):
    """Under the capacity mode, nonzero / boolean indexing / nms keep everything (fake tensors)."""
    from torch._subclasses.fake_tensor import FakeTensorMode

    from archcalc.torch_bridge.detect_import import capacity, capacity_mode

    m = _tiny_maskrcnn(torch, torchvision)
    with FakeTensorMode(), capacity(m), capacity_mode():
        scores = torch.empty(10)
        boxes = torch.empty(10, 4)
        assert torch.where(scores > 0.5)[0].shape == (10,)
        assert boxes[scores > 0.5].shape == (10, 4)
        assert torchvision.ops.boxes.batched_nms(boxes, scores, torch.empty(10, dtype=torch.long), 0.5).shape == (10,)
        assert torchvision.ops.nms(boxes, scores, 0.5).shape == (10,)
    assert "postprocess" not in vars(m.transform)  # patches undone


def test_real_detector_mobilenet_320(torch, torchvision):
    """The cheapest torchvision detector through the corpus check: params, FlopCounterMode on the
    forced path, and the zoo twin at R = 150 (its rpn_post_nms_top_n_test)."""
    from archcalc.torch_bridge.corpus import check

    row = check("torchvision", "fasterrcnn_mobilenet_v3_large_320_fpn", fvcore=False)
    assert row["status"] == "exact", row
    assert row["twin_ok"] and row["twin_caps"] == {"R": 150} and row["twin_input"] == (3, 320, 320), row


DETECTORS = ["fasterrcnn_resnet50_fpn", "fasterrcnn_resnet50_fpn_v2", "fasterrcnn_mobilenet_v3_large_fpn",
             "maskrcnn_resnet50_fpn", "maskrcnn_resnet50_fpn_v2", "keypointrcnn_resnet50_fpn",
             "retinanet_resnet50_fpn", "retinanet_resnet50_fpn_v2", "fcos_resnet50_fpn",
             "ssdlite320_mobilenet_v3_large"]


@pytest.mark.heavy
@pytest.mark.parametrize("name", DETECTORS)
def test_detector_corpus_rows(torch, torchvision, name):
    from archcalc.torch_bridge.corpus import check

    row = check("torchvision", name, fvcore=False)
    assert row["status"] == "exact" and row["twin_ok"], row


@pytest.mark.heavy
def test_ssd300_exact_or_refused_by_name(torch, torchvision):
    """SSD300's L2Norm is F.normalize inline in forward (aten linalg_vector_norm): refused by name
    until the dispatch tracer maps it; never accepted with a wrong number."""
    from archcalc.torch_bridge.corpus import check

    row = check("torchvision", "ssd300_vgg16", fvcore=False)
    assert row["status"] == "exact" or (row["status"] == "refused" and "linalg_vector_norm" in row["why"]), row


def test_two_inputs_encoded_in_one_batch(torch):
    """RAFT's pattern: both inputs through one encoder call (cat on the batch axis), split back with
    chunk. Per sample that is a new leading axis of 2; the counts are torch's."""
    from torch.utils.flop_counter import FlopCounterMode

    from archcalc.torch_bridge import from_torch

    nn = torch.nn

    class Siamese(nn.Module):
        def __init__(self):
            super().__init__()
            self.enc = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 16))
            self.head = nn.Linear(32, 4)

        def forward(self, a, b):
            if a.shape[1] != 8:  # control flow on a shape: fx cannot trace it, the fallback runs
                raise ValueError(a.shape)
            f = self.enc(torch.cat([a, b], dim=0))
            fa, fb = torch.chunk(f, 2, dim=0)
            return self.head(torch.cat([fa, fa - fb], dim=1))

    with torch.device("meta"):
        m = Siamese().eval()
    g = from_torch(m, [(8,), (8,)])
    assert g.tracer.startswith("dispatch")
    r = archcalc.analyze(g)
    assert r["cat"].output_shape == (2, 8) and r["enc.2"].output_shape == (2, 16)
    assert [r[n].kind for n in ("split", "split_1")] == ["Select", "Select"]
    assert r.totals["macs"] == 2 * (8 * 16 + 16 * 16) + 32 * 4  # the encoder on both inputs, the head once
    with FlopCounterMode(display=False) as fc, torch.no_grad():
        m(torch.empty(1, 8, device="meta"), torch.empty(1, 8, device="meta"))
    assert r.totals["macs"] == fc.get_total_flops() // 2


def test_weights_used_in_the_pipeline_are_refused_by_name(torch, torchvision):
    """A customised detector that does weighted work outside the network modules: not dropped into
    the uncounted pipeline, refused by name."""
    from archcalc.errors import UnsupportedLayerError
    from archcalc.torch_bridge import from_torch

    m = _tiny_maskrcnn(torch, torchvision)
    base = type(m)

    class Rescored(base):
        def forward(self, images, targets=None):
            out = base.forward(self, images, targets)
            out[0]["scores"] = out[0]["scores"] * self.temperature
            return out

    m.__class__ = Rescored
    m.temperature = torch.nn.Parameter(torch.ones(1, device="meta"))
    with pytest.raises(UnsupportedLayerError, match=r"mul on weights .* detection pipeline"):
        from_torch(m, (3, 48, 48))


def test_allow_partial_on_the_fallback_tracer_is_refused_not_silent(torch):
    """The fallback tracer has no Uncounted node for an op it cannot map: with allow_partial the
    op (and the conv reading its output) would vanish from the totals, so the import is refused."""
    from archcalc.errors import UnsupportedLayerError
    from archcalc.torch_bridge import from_torch

    nn = torch.nn

    class Warp(nn.Module):
        def __init__(self):
            super().__init__()
            self.a, self.b = nn.Conv2d(3, 8, 3), nn.Conv2d(8, 8, 3)

        def forward(self, x):
            if x.shape[1] != 3:  # control flow on a shape: the fallback runs
                raise ValueError(x.shape)
            y = self.a(x)
            return self.b(torch.cumsum(y, dim=1))  # an op without a rule (grid_sample has one now)

    with torch.device("meta"):
        m = Warp()
    with pytest.raises(UnsupportedLayerError, match="cannot list them as uncounted.*cumsum"):
        from_torch(m, (3, 16, 16), allow_partial=True)
