"""ResNet-family zoo entries (ResNeXt, Wide ResNet, ResNet v1, pre-activation ResNet, DenseNet, DPN):
each recomputed against its published figure and, where torchvision/timm has the model, against the
real model built on the meta device (per-module params and output shapes, layer by layer)."""

from __future__ import annotations

import pytest

from archcalc import analyze
from archcalc.zoo import get_entry
from torch_oracle import CONV_LINEAR_BN, KINDS, assert_matches, timm_model, tv_model


# --------------------------------------------------------------------------------------------------
# the oracle: a real torch model on the meta device (tests/torch_oracle.py)


def assert_mirrors(torch, model, r):
    """archcalc's graph ``r`` mirrors ``model``: every torch module holding parameters appears under
    the same name with the same count, archcalc has no parameter-holding layer torch lacks, every
    module called once has the same output shape, and params, buffers and MACs agree (MACs exactly
    half of torch's FlopCounterMode count). Returns the profile (module names: ``in``)."""
    return assert_matches(torch, r, model, require="params")[0]


def published_gmacs_match(r, pub):
    """torchvision's ``_ops`` is GMACs, printed to a few decimals: compare at the digits printed."""
    g = pub.extra["gflops"]
    digits = len(repr(g).split(".")[1])
    return round(r.totals["macs"] / 1e9, digits) == g


# --------------------------------------------------------------------------------------------------
# ResNeXt and Wide ResNet (resnet() with groups / width_per_group)

WIDE = ["resnext50_32x4d", "resnext101_32x8d", "resnext101_64x4d", "wide_resnet50_2", "wide_resnet101_2"]


@pytest.mark.parametrize("name", WIDE)
def test_resnext_wide_published(name):
    e = get_entry(name)
    r = analyze(name)
    (pub,) = e.published
    assert r.totals["params"] == pub.params, pub.source
    assert published_gmacs_match(r, pub), (r.totals["macs"], pub.extra)


@pytest.mark.torch
@pytest.mark.parametrize("name", WIDE)
def test_resnext_wide_mirror_torchvision(torch, torchvision, name):
    assert get_entry(name).torchvision == name
    assert_mirrors(torch, tv_model(torch, torchvision, name), analyze(name))


def test_resnext50_block_arithmetic():
    r = analyze("resnext50_32x4d")
    # Xie et al. Table 1, conv2: [1x1, 128; 3x3, 128, C=32; 1x1, 256]: 128 = 32 paths x 4 channels
    c = r["layer1.0.conv2"]
    assert c.output_shape == (128, 56, 56)
    assert c.params == 128 * (128 // 32) * 3 * 3  # grouped: each output sees 4 inputs
    assert c.macs == 56 * 56 * 128 * 4 * 9
    # Table 1: 25.0 x 10^6 params, 4.2 x 10^9 FLOPs (multiply-adds) vs ResNet-50's 25.5 and 4.1
    assert round(r.totals["params"] / 1e6, 1) == 25.0
    assert round(r.totals["macs"] / 1e9, 1) == 4.2


def test_wide_resnet50_2_doubles_inner_width_only():
    r, base = analyze("wide_resnet50_2"), analyze("resnet50")
    assert r["layer1.0.conv2"].output_shape == (128, 56, 56)  # 2 x 64
    assert r["layer1.0.conv3"].output_shape == base["layer1.0.conv3"].output_shape == (256, 56, 56)
    assert r["layer4.2.conv2"].params == 1024 * 1024 * 9 == 4 * base["layer4.2.conv2"].params


# --------------------------------------------------------------------------------------------------
# ResNet v1 (stride on the first 1x1) vs torchvision's v1.5


@pytest.mark.parametrize("name", ["resnet50", "resnet101", "resnet152"])
def test_resnet_v1_macs_difference(name):
    v15, v1 = analyze(name), analyze(f"{name}_v1")
    assert v1.totals["params"] == v15.totals["params"]
    # only the first block of stages 2-4 changes: its 1x1 (cin -> width) runs at Ho x Wo instead of
    # H x W; the strided 3x3 produces Ho x Wo either way
    saved = 0
    for stage, (h, cin, width) in {2: (56, 256, 128), 3: (28, 512, 256), 4: (14, 1024, 512)}.items():
        a, b = v15[f"layer{stage}.0.conv1"], v1[f"layer{stage}.0.conv1"]
        assert a.macs == h * h * cin * width and b.macs == (h // 2) ** 2 * cin * width
        assert v15[f"layer{stage}.0.conv2"].macs == v1[f"layer{stage}.0.conv2"].macs
        saved += h * h * cin * width * 3 // 4
    assert saved == 3 * 77_070_336
    assert v15.totals["macs"] - v1.totals["macs"] == saved
    # block outputs agree; only the first 1x1's output grid moves
    assert [x.output_shape for x in v15.layers if x.kind == "Add"] == [x.output_shape for x in v1.layers
                                                                        if x.kind == "Add"]
    assert v1["layer2.0.conv1"].output_shape == (128, 28, 28) and v15["layer2.0.conv1"].output_shape == (128, 56, 56)


@pytest.mark.parametrize("name", ["resnet50_v1", "resnet101_v1", "resnet152_v1"])
def test_resnet_v1_paper_table1(name):
    pub, tv = get_entry(name).published
    r = analyze(name)
    assert r.totals["params"] == tv.params and pub.params is None  # the paper lists no param counts
    # He et al. Table 1 prints 3.8 / 7.6 / 11.3 x 10^9 FLOPs (multiply-adds) with one decimal but
    # neither rounds nor truncates consistently (3.858 -> 3.8, 7.570 -> 7.6, 11.282 -> 11.3), so
    # the printed figure is good to +-0.1: v1 lands inside, torchvision's v1.5 (0.231 more) outside.
    assert abs(r.totals["macs"] / 1e9 - pub.extra["gflops"]) < 0.1
    assert abs(analyze(name[:-3]).totals["macs"] / 1e9 - pub.extra["gflops"]) > 0.1


@pytest.mark.torch
def test_mirror_check_catches_a_moved_stride(torch, torchvision):
    # the oracle is not vacuous: v1 has v1.5's params everywhere but not its shapes
    model = tv_model(torch, torchvision, "resnet50")
    with pytest.raises(AssertionError, match="layer2.0.conv1"):
        assert_mirrors(torch, model, analyze("resnet50_v1"))
    # ... whichever modules the other test files require to align (tests/torch_oracle.py)
    for require in (CONV_LINEAR_BN, KINDS):
        with pytest.raises(AssertionError, match="layer2.0.conv1"):
            assert_matches(torch, analyze("resnet50_v1"), model, require=require)
    assert_matches(torch, analyze("resnet50"), model, require=KINDS, min_aligned=5)  # the true mirror passes
    # a module called several times has no single shape to require: refused, not skipped
    with pytest.raises(AssertionError, match=r"ran more than once: \['layer1.0.relu'"):
        assert_matches(torch, analyze("resnet50"), model, require="leaves")
    # aux heads run only in training mode: in eval mode archcalc's aux layers have no torch module
    aux = tv_model(torch, torchvision, "inception_v3", aux_logits=True, init_weights=False)
    with pytest.raises(AssertionError, match=r"no torch module that ran.*\['AuxLogits.conv0.conv'"):
        assert_matches(torch, analyze("inception_v3_aux"), aux, require=CONV_LINEAR_BN)
    # per layer, not only in total: MACs (or params) moved between two layers, totals unchanged
    for field in ("macs", "params"):
        r = analyze("resnet50")
        setattr(r["layer1.0.conv1"], field, getattr(r["layer1.0.conv1"], field) + 1)
        setattr(r["layer1.0.conv2"], field, getattr(r["layer1.0.conv2"], field) - 1)
        with pytest.raises(AssertionError, match="layer1.0.conv1"):
            assert_mirrors(torch, model, r)


def test_resnet50_v1_exact():
    assert analyze("resnet50_v1").totals["macs"] == 4_089_184_256 - 231_211_008 == 3_857_973_248


# --------------------------------------------------------------------------------------------------
# DenseNet-BC

DENSE = ["densenet121", "densenet161", "densenet169", "densenet201"]


@pytest.mark.parametrize("name", DENSE)
def test_densenet_published(name):
    (pub,) = get_entry(name).published
    r = analyze(name)
    assert r.totals["params"] == pub.params, pub.source
    assert published_gmacs_match(r, pub), (r.totals["macs"], pub.extra)


@pytest.mark.torch
@pytest.mark.parametrize("name", DENSE)
def test_densenet_mirror_torchvision(torch, torchvision, name):
    assert get_entry(name).torchvision == name
    prof = assert_mirrors(torch, tv_model(torch, torchvision, name), analyze(name))
    assert "features.denseblock1.denselayer1.conv2" in prof


def test_densenet264_table1_structure():
    r = analyze("densenet264")
    k = 32
    # Table 1: 2k stem channels; each block adds layers*k; each transition halves (compression 0.5)
    block_out = []
    c = 2 * k
    for i, layers in enumerate((6, 12, 64, 48), start=1):
        c += layers * k
        block_out.append(c)
        assert r[f"features.denseblock{i}.cat"].output_shape[0] == c
        if i < 4:
            c //= 2
            assert r[f"features.transition{i}.conv"].output_shape[0] == c
    assert block_out == [64 + 6 * 32, 128 + 12 * 32, 256 + 64 * 32, 1152 + 48 * 32] == [256, 512, 2304, 2688]
    # Table 1 output sizes: 56 (block 1), 28, 14, 7
    assert [r[f"features.denseblock{i}.cat"].output_shape[1] for i in range(1, 5)] == [56, 28, 14, 7]
    # the last layer of block 3 reads 256 + 63*32 channels; bottleneck 4k = 128, growth k = 32
    last = r["features.denseblock3.denselayer64.conv1"]
    assert last.input_shapes == ((256 + 63 * 32, 14, 14),) and last.params == (256 + 63 * 32) * 128
    assert r["features.denseblock3.denselayer64.conv2"].params == 128 * 32 * 9
    assert r["classifier"].params == 2688 * 1000 + 1000


@pytest.mark.torch
def test_densenet264_mirror_torchvision_class(torch, torchvision):
    # torchvision has no densenet264 builder; its DenseNet class configured as Table 1 is the oracle
    with torch.device("meta"):
        model = torchvision.models.DenseNet(growth_rate=32, block_config=(6, 12, 64, 48), num_init_features=64)
    assert_mirrors(torch, model, analyze("densenet264"))


def test_densenet_materialises_each_concat():
    # torchvision's non-memory-efficient forward: layer j of a block copies its j inputs into a new
    # tensor before norm1 (torch.cat), and the block ends with one more cat of all of them
    r = analyze("densenet121")
    first = r["features.denseblock1.denselayer1.cat"]
    assert first.activations == 64 * 56 * 56  # a cat of one tensor is still a copy
    assert r["features.denseblock1.denselayer6.cat"].activations == (64 + 5 * 32) * 56 * 56
    assert r["features.denseblock1.cat"].activations == 256 * 56 * 56
    assert r["relu"].activations == 0 and r["relu"].output_shape == (1024, 7, 7)  # in place after norm5


# --------------------------------------------------------------------------------------------------
# Pre-activation ResNet (timm resnetv2 layout)

PREACT = ["preact_resnet18", "preact_resnet34", "preact_resnet50", "preact_resnet101", "preact_resnet152"]


@pytest.mark.torch
@pytest.mark.parametrize("name", PREACT)
def test_preact_mirror_timm(torch, timm, name):
    e = get_entry(name)
    assert e.timm and e.timm.startswith("resnetv2_")
    assert_mirrors(torch, timm_model(torch, timm, e.timm), analyze(name))


@pytest.mark.torch
def test_preact_resnet200_mirror_timm_class(torch, timm):
    from timm.layers import BatchNormAct2d, create_conv2d
    from timm.models.resnetv2 import ResNetV2

    with torch.device("meta"):
        model = ResNetV2(layers=[3, 24, 36, 3], conv_layer=create_conv2d, norm_layer=BatchNormAct2d)
    r = analyze("preact_resnet200")
    assert_mirrors(torch, model, r)
    convs = [x for x in r.layers if x.kind == "Conv2d"]
    assert len(convs) == 1 + 3 * (3 + 24 + 36 + 3) + 4 + 1  # stem, units, projections, fc
    assert 1 + 3 * (3 + 24 + 36 + 3) + 1 == 200  # the paper's depth: weighted layers on the main path


def test_preact_differs_from_v1_5_by_bn_placement_only():
    # same convs as torchvision's resnet50 (the fc becomes a 1x1 conv with the same weights and
    # bias); BN moves: no stem BN, no BN on projections, one BN before each conv of a unit (on its
    # input width) and one final BN over 2048 channels
    pre, post = analyze("preact_resnet50"), analyze("resnet50")
    conv = lambda r: sum(x.params for x in r.layers if x.kind in ("Conv2d", "Linear"))  # noqa: E731
    bn = lambda r: sum(x.params for x in r.layers if x.kind == "BatchNorm2d")  # noqa: E731
    assert conv(pre) == conv(post)
    assert pre.totals["macs"] == post.totals["macs"]
    stem_bn, proj_bn = 2 * 64, 2 * (256 + 512 + 1024 + 2048)
    # post-activation BN sits on each conv's output: bn1/bn2 on the width, bn3 on 4*width. Pre-
    # activation BN sits on each conv's input: norm1 on the unit's input, norm2/norm3 on the width.
    unit_in = [64, 256, 256] + [256] + [512] * 3 + [512] + [1024] * 5 + [1024] + [2048] * 2  # each stage's input
    widths = [64] * 3 + [128] * 4 + [256] * 6 + [512] * 3
    assert bn(post) == stem_bn + proj_bn + sum(2 * (w + w + 4 * w) for w in widths)
    assert bn(pre) == sum(2 * (c + w + w) for c, w in zip(unit_in, widths)) + 2 * 2048
    assert pre.totals["params"] == 25_549_352 and post.totals["params"] == 25_557_032


def test_receptive_field_stops_before_a_conv_classifier():
    # timm's head is pool -> 1x1 conv: the reported field is the last feature map's, not the fc's
    pre, post = analyze("preact_resnet50"), analyze("resnet50")
    assert pre.totals["receptive_field_layer"] == "norm.act"
    assert pre.totals["receptive_field"] == post.totals["receptive_field"]


# --------------------------------------------------------------------------------------------------
# Dual Path Networks (timm dpn layout)

DPN = ["dpn68", "dpn92", "dpn98", "dpn131"]


@pytest.mark.torch
@pytest.mark.parametrize("name", DPN)
def test_dpn_mirror_timm(torch, timm, name):
    e = get_entry(name)
    assert e.timm == name
    model = timm_model(torch, timm, name)
    prof = assert_mirrors(torch, model, analyze(name))
    assert "features.conv3_1.c1x1_w_s2.conv" in prof and "features.conv2_1.c1x1_w_s1.conv" in prof
    # timm's last BN-act is not in place; archcalc's ReLU there must agree
    act = dict(model.named_modules())["features.conv5_bn_ac.bn.act"]
    assert isinstance(act, torch.nn.ReLU) and not act.inplace
    assert analyze(name)["features.conv5_bn_ac.bn.act"].activations > 0


def test_dpn92_table1_arithmetic():
    r = analyze("dpn92")
    # Table 1, DPN-92 (32x3d): per stage [1x1 r; 3x3 r, G=32; 1x1 bw (+inc)] x depth
    stages = [(96, 256, 16, 3, 56), (192, 512, 32, 4, 28), (384, 1024, 24, 20, 14), (768, 2048, 128, 3, 7)]
    for s, (r_, bw, inc, depth, hw) in enumerate(stages, start=2):
        first, last = f"features.conv{s}_1", f"features.conv{s}_{depth}"
        assert r[f"{first}.c3x3_b.conv"].output_shape == (r_, hw, hw)
        assert r[f"{first}.c3x3_b.conv"].params == r_ * (r_ // 32) * 9  # grouped, 32 groups
        assert r[f"{first}.c1x1_c.conv"].output_shape == (bw + inc, hw, hw)
        # the projection emits the residual path plus two increments of dense path
        proj = f"{first}.c1x1_w_s{1 if s == 2 else 2}.conv"
        assert r[proj].output_shape == (bw + 2 * inc, hw, hw)
        # every block adds inc channels to the dense path: bw + 3*inc after the first block
        assert r[f"{first}.cat"].output_shape == (bw + 3 * inc, hw, hw)
        assert r[f"{last}.cat"].output_shape == (bw + (depth + 2) * inc, hw, hw)
        assert r[f"{last}.resid"].output_shape == (bw, hw, hw)
    assert r["classifier"].params == (2048 + 5 * 128) * 1000 + 1000 == 2688 * 1000 + 1000
    # slices are views: no new tensors, no work
    assert all(x.activations == 0 and x.flops == 0 for x in r.layers if x.kind == "Slice")


# --------------------------------------------------------------------------------------------------
# symbolic input sizes: one formula per model that agrees with the concrete analysis


@pytest.mark.parametrize("name", ["resnext50_32x4d", "resnet50_v1", "preact_resnet18", "densenet121", "dpn68"])
def test_symbolic_input_substitutes_to_concrete(name):
    sym = analyze(name, input="3xHxW")
    for h, w in ((224, 224), (199, 256)):
        s, c = sym.substitute(H=h, W=w), analyze(name, input=(3, h, w))
        for key in ("params", "macs", "flops", "activations"):
            assert s.totals[key] == c.totals[key], (key, h, w)


@pytest.mark.torch
def test_odd_input_size_mirrors_torch(torch, torchvision, timm):
    # floor arithmetic of strided convs/pools on a size that does not halve evenly
    shape = (3, 199, 256)
    assert_mirrors(torch, tv_model(torch, torchvision, "densenet121"), analyze("densenet121", input=shape))
    assert_mirrors(torch, timm_model(torch, timm, "dpn68"), analyze("dpn68", input=shape))
    assert_mirrors(torch, tv_model(torch, torchvision, "resnext50_32x4d"), analyze("resnext50_32x4d", input=shape))
