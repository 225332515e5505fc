"""Classic zoo (issue 3): each model's counts recomputed against the real torchvision/timm model
(built on the meta device, weights=None) layer by layer, and against published figures.

The torch oracle is independent of archcalc's rules: output shapes come from forward hooks, params
from ``numel()``, and MACs from each module's own hyper-parameters times its hooked output size
(conv: ``out.numel() * in/groups * kh * kw``; linear: ``out.numel() * in_features``), and again from
torch's FlopCounterMode; see tests/torch_oracle.py, shared with the other zoo tests.
"""

from __future__ import annotations

import pytest

import archcalc
from archcalc.zoo import get_entry
from torch_oracle import CONV_LINEAR_BN, assert_matches, timm_model, tv_model


# ---------------------------------------------------------------------------- torch oracle helpers

def compare_with_torch(torch, result, model, train=False, expect_unmatched=()):
    """Every torch conv/linear/BN module that runs has an archcalc layer of the same name with equal
    params, output shape and MACs (and none without one); totals agree (tests/torch_oracle.py)."""
    return assert_matches(torch, result, model, require=CONV_LINEAR_BN, train=train,
                          expect_unmatched=expect_unmatched)


def published(name, source_prefix):
    for p in get_entry(name).published:
        if p.source.startswith(source_prefix):
            return p
    raise AssertionError(f"{name} has no published figure from {source_prefix!r}")


def check_tv_meta(name, result, weights_prefix="torchvision"):
    """Params exactly and MACs to the 3 decimals of torchvision's ``_ops`` (GMACs)."""
    p = published(name, weights_prefix)
    assert result.totals["params"] == p.params
    assert round(result.totals["macs"] / 1e9, 3) == p.extra["gflops"]


# ---------------------------------------------------------------------------- SqueezeNet

@pytest.mark.parametrize("name", ["squeezenet1_0", "squeezenet1_1"])
def test_squeezenet_matches_torchvision(torch, torchvision, name):
    r = archcalc.analyze(name)
    m = tv_model(torch, torchvision, name)
    compare_with_torch(torch, r, m)
    check_tv_meta(name, r)
    # read the weights meta itself, not a copy of it
    w = torchvision.models.get_model_weights(name).IMAGENET1K_V1.meta
    assert r.totals["params"] == w["num_params"]
    assert round(r.totals["macs"] / 1e9, 3) == w["_ops"]


def test_squeezenet_hand_counts():
    r = archcalc.analyze("squeezenet1_0")
    assert r["features.0"].output_shape == (96, 109, 109)  # (224 - 7)//2 + 1
    assert r["features.2"].output_shape == (96, 54, 54)  # ceil((109 - 3)/2) + 1
    fire2 = 96 * 16 + 16 + 16 * 64 + 64 + 16 * 64 * 9 + 64  # squeeze, expand1x1, expand3x3 (+ biases)
    assert sum(x.params for x in r.layers if x.name.startswith("features.3.")) == fire2
    assert r.totals["params"] == published("squeezenet1_0", "Iandola").params


# ---------------------------------------------------------------------------- Inception family

def test_inception_v3_matches_torchvision(torch, torchvision):
    r = archcalc.analyze("inception_v3")
    m = tv_model(torch, torchvision, "inception_v3", aux_logits=False, init_weights=False)
    compare_with_torch(torch, r, m)
    meta = torchvision.models.Inception_V3_Weights.IMAGENET1K_V1.meta
    # _ops is the eval forward pass, where torchvision never runs AuxLogits
    assert round(r.totals["macs"] / 1e9, 3) == meta["_ops"] == published("inception_v3", "torchvision").extra["gflops"]


def test_inception_v3_aux_matches_torchvision(torch, torchvision):
    r = archcalc.analyze("inception_v3_aux")
    m = tv_model(torch, torchvision, "inception_v3", aux_logits=True, init_weights=False)
    compare_with_torch(torch, r, m, train=True)  # AuxLogits only runs in training mode
    meta = torchvision.models.Inception_V3_Weights.IMAGENET1K_V1.meta
    assert r.totals["params"] == meta["num_params"] == published("inception_v3_aux", "torchvision").params
    aux = sum(x.params for x in r.layers if x.name.startswith("AuxLogits."))
    # conv0 1x1 768->128 + BN, conv1 5x5 128->768 + BN, fc 768->1000 (+ bias)
    assert aux == 768 * 128 + 2 * 128 + 128 * 768 * 25 + 2 * 768 + 768 * 1000 + 1000
    assert r.totals["params"] - aux == archcalc.analyze("inception_v3").totals["params"]


def test_inception_v3_grid_sizes():
    r = archcalc.analyze("inception_v3")
    # Szegedy et al. 2016, Table 1: 35x35x288 -> 17x17x768 -> 8x8x2048
    assert r["Mixed_5d.cat"].output_shape == (288, 35, 35)
    assert r["Mixed_6e.cat"].output_shape == (768, 17, 17)
    assert r["Mixed_7c.cat"].output_shape == (2048, 8, 8)


@pytest.mark.parametrize("name", ["inception_v4", "inception_resnet_v2"])
def test_inception_timm(torch, timm, name):
    r = archcalc.analyze(name)
    m = timm_model(torch, timm, get_entry(name).timm)
    compare_with_torch(torch, r, m)


def test_inception_v4_grid_sizes():
    r = archcalc.analyze("inception_v4")
    # Szegedy et al. 2017, Fig. 3 (stem 35x35x384), Figs. 4-9: 4xA, 7xB, 3xC
    assert r["features.5.cat"].output_shape == (384, 35, 35)
    assert r["features.10.cat"].output_shape == (1024, 17, 17)  # Reduction-A: 384 + 256 + 384
    assert r["features.18.cat"].output_shape == (1536, 8, 8)  # Reduction-B: 192 + 320 + 1024


def test_inception_resnet_v2_residual_scaling():
    r = archcalc.analyze("inception_resnet_v2")
    blk = r["repeat.0.scale"]
    assert blk.layer.factor == 0.17 and blk.macs == 0 and blk.flops == 320 * 35 * 35  # one multiply each
    assert r["repeat_1.0.scale"].layer.factor == 0.10 and r["repeat_2.0.scale"].layer.factor == 0.20
    assert not any(x.name.startswith("block8.act") for x in r.layers)  # last C block: no ReLU


def test_inception_resnet_v1_paper_figures():
    r = archcalc.analyze("inception_resnet_v1")
    # Fig. 14 stem and Fig. 15 grids: 35x35x256, 17x17x896, 8x8x1792
    assert r["conv2d_1a.conv"].output_shape == (32, 149, 149)
    assert r["maxpool_3a"].output_shape == (64, 73, 73)
    assert r["conv2d_4a.conv"].output_shape == (192, 71, 71)
    assert r["conv2d_4b.conv"].output_shape == (256, 35, 35)
    assert r["repeat.4.act"].output_shape == (256, 35, 35)
    assert r["mixed_6a.cat"].output_shape == (384 + 256 + 256, 17, 17)  # Reduction-A n, m, pool
    assert r["repeat_1.9.act"].output_shape == (896, 17, 17)
    assert r["mixed_7a.cat"].output_shape == (384 + 256 + 256 + 896, 8, 8)  # Fig. 12
    assert r["repeat_2.4.relu"].output_shape == (1792, 8, 8)
    assert sum(1 for x in r.layers if x.kind == "Scale") == 5 + 10 + 5
    # one Inception-ResNet-A block (Fig. 10): convs + BN gamma/beta, then the biased 1x1 up-projection
    convs = 256 * 32 + (256 * 32 + 32 * 32 * 9) + (256 * 32 + 32 * 32 * 9 + 32 * 32 * 9)
    bns = 2 * (32 + 32 + 32 + 32 + 32 + 32)
    up = 96 * 256 + 256
    assert sum(x.params for x in r.layers if x.name.startswith("repeat.0.")) == convs + bns + up


# ---------------------------------------------------------------------------- Xception

def test_xception_matches_timm_and_paper(torch, timm):
    r = archcalc.analyze("xception")
    compare_with_torch(torch, r, timm_model(torch, timm, get_entry("xception").timm))
    assert r.totals["params"] == published("xception", "Chollet").params  # Table 3: 22,855,952


def test_xception_separable_counts():
    r = archcalc.analyze("xception")
    # middle flow (Fig. 5): 19x19x728, each separable conv = 3x3 depthwise + 1x1 pointwise, no bias
    dw, pw = r["block4.rep.1.conv1"], r["block4.rep.1.pointwise"]
    assert dw.output_shape == pw.output_shape == (728, 19, 19)
    assert dw.params == 728 * 9 and dw.macs == 19 * 19 * 728 * 9
    assert pw.params == 728 * 728 and pw.macs == 19 * 19 * 728 * 728
    assert r["act4"].output_shape == (2048, 10, 10)  # exit flow


# ---------------------------------------------------------------------------- GoogLeNet, paper variant

def _table1_rows():
    r = archcalc.analyze("googlenet_paper")
    table = published("googlenet_paper", "Szegedy").extra["table1"]
    rows = {}
    for row, (prefixes, params_k, ops_m) in table.items():
        layers = [x for x in r.layers if x.name.startswith(prefixes) and x.kind in ("Conv2d", "Linear")]
        weights = sum(x.params - (x.layer.out_channels if x.kind == "Conv2d" else x.layer.out_features)
                      for x in layers)  # all these layers have a bias: one per output map / unit
        rows[row] = (weights, sum(x.macs for x in layers), params_k, ops_m)
    return r, rows


def _within_rounding(ours, printed):
    """``printed`` is the table's rounded figure: equal to within half a unit of its last digit."""
    half = 0.05 if printed != int(printed) else 0.5
    return abs(ours - printed) <= half + 1e-9


def test_googlenet_paper_table1_ops():
    _, rows = _table1_rows()
    match = {row for row, (_, macs, _, ops_m) in rows.items() if _within_rounding(macs / 1e6, ops_m)}
    # documented in archcalc/zoo/googlenet.py: every row but conv1, 4a and 5a
    assert match == set(rows) - {"conv1", "inception4a", "inception5a"}
    assert rows["inception3a"][1] == 28 * 28 * (192 * 64 + 192 * 96 + 96 * 128 * 9 + 192 * 16 + 16 * 32 * 25 + 192 * 32)
    # 4a and 5a: the table's ops are its own params column times the output positions
    for row, positions in (("inception4a", 14 * 14), ("inception5a", 7 * 7)):
        _, _, params_k, ops_m = rows[row]
        assert round(params_k * 1024 * positions / 1e6) == ops_m


def test_googlenet_paper_table1_params():
    _, rows = _table1_rows()
    match = {row for row, (w, _, params_k, _) in rows.items() if _within_rounding(w / 1024, params_k)}
    assert match == {"conv2", "inception3a", "linear"}  # weights only, K = 1024
    assert rows["conv2"][0] == 64 * 64 + 64 * 192 * 9 == 112 * 1024
    assert rows["linear"][0] == 1024 * 1000 == 1000 * 1024
    off_by_one = {row for row, (w, _, params_k, _) in rows.items() if abs(w / 1024 - params_k) == 1}
    assert off_by_one == {"inception3b", "inception4b"}
    assert rows["conv1"][0] == 7 * 7 * 3 * 64  # 9.2K, not the table's 2.7K


def test_googlenet_paper_shapes_and_totals():
    r = archcalc.analyze("googlenet_paper")
    # Table 1 output sizes
    assert r["maxpool1"].output_shape == (64, 56, 56)
    assert r["inception3b.cat"].output_shape == (480, 28, 28)
    assert r["inception4e.cat"].output_shape == (832, 14, 14)
    assert r["inception5b.cat"].output_shape == (1024, 7, 7)
    assert r["avgpool"].output_shape == (1024, 1, 1)
    assert r["inception3a.branch3.1.conv"].layer.kernel_size == (5, 5)  # true 5x5, unlike torchvision
    assert not any(x.kind == "BatchNorm2d" for x in r.layers)
    assert sum(x.kind == "LocalResponseNorm" for x in r.layers) == 2
    _, rows = _table1_rows()
    assert r.totals["macs"] == sum(m for _, m, _, _ in rows.values())  # only the table's rows do MACs
    assert round(r.totals["macs"] / 1e9, 1) == 1.6  # vs the "1.5 billion" budget: conv1's 84M gap
    aux = archcalc.analyze("googlenet_paper_aux")
    head = 512 * 128 + 128 + 4 * 4 * 128 * 1024 + 1024 + 1024 * 1000 + 1000  # aux1: 4x4x512 input
    head2 = head + (528 - 512) * 128  # aux2 reads 4d's 528 maps
    assert aux.totals["params"] - r.totals["params"] == head + head2


# ---------------------------------------------------------------------------- ZFNet, OverFeat, NiN

def _conv_stack(r):
    return [(x.name, x.output_shape) for x in r.layers if x.kind in ("Conv2d", "MaxPool2d", "AvgPool2d")]


def test_zfnet_fig3():
    r = archcalc.analyze("zfnet")
    # Zeiler & Fergus Fig. 3: 110x110x96 -> 55 -> 26x26x256 -> 13 -> 13x13x384/384/256 -> 6x6x256
    assert _conv_stack(r) == [
        ("conv1", (96, 110, 110)), ("pool1", (96, 55, 55)),
        ("conv2", (256, 26, 26)), ("pool2", (256, 13, 13)),
        ("conv3", (384, 13, 13)), ("conv4", (384, 13, 13)), ("conv5", (256, 13, 13)),
        ("pool5", (256, 6, 6)),
    ]
    assert r["conv1"].params == 96 * 3 * 7 * 7 + 96
    assert r["conv1"].macs == 110 * 110 * 96 * 3 * 7 * 7
    assert r["fc6"].params == 6 * 6 * 256 * 4096 + 4096
    convs = 96 * 3 * 49 + 256 * 96 * 25 + 384 * 256 * 9 + 384 * 384 * 9 + 256 * 384 * 9
    fcs = 9216 * 4096 + 4096 * 4096 + 4096 * 1000
    assert r.totals["params"] == convs + fcs + (96 + 256 + 384 + 384 + 256) + (4096 + 4096 + 1000)
    assert r.totals["params"] == 62_357_608  # the figure the module docstring quotes


@pytest.mark.parametrize("name, stack", [
    ("overfeat_fast", [  # Table 1
        ("conv1", (96, 56, 56)), ("pool1", (96, 28, 28)), ("conv2", (256, 24, 24)), ("pool2", (256, 12, 12)),
        ("conv3", (512, 12, 12)), ("conv4", (1024, 12, 12)), ("conv5", (1024, 12, 12)), ("pool5", (1024, 6, 6)),
    ]),
    ("overfeat_accurate", [  # Table 3
        ("conv1", (96, 108, 108)), ("pool1", (96, 36, 36)), ("conv2", (256, 30, 30)), ("pool2", (256, 15, 15)),
        ("conv3", (512, 15, 15)), ("conv4", (512, 15, 15)), ("conv5", (1024, 15, 15)),
        ("conv6", (1024, 15, 15)), ("pool6", (1024, 5, 5)),
    ]),
])
def test_overfeat_tables(name, stack):
    r = archcalc.analyze(name)
    assert _conv_stack(r) == stack
    printed = published(name, "Sermanet").extra["params_millions_printed"]
    params = r.totals["params"]
    assert params // 10**6 == printed  # Table 4 truncates: 145.9M -> "145", 144.7M -> "144"
    assert round(params / 1e6) == printed + 1  # ... it does not round
    assert not r.warnings  # every stride divides its input exactly, as the tables' sizes imply


def test_overfeat_hand_counts():
    fast = archcalc.analyze("overfeat_fast")
    assert fast["fc6"].params == 6 * 6 * 1024 * 3072 + 3072
    assert fast["conv5"].macs == 12 * 12 * 1024 * 1024 * 9
    acc = archcalc.analyze("overfeat_accurate")
    assert acc["fc7"].params == 5 * 5 * 1024 * 4096 + 4096
    weights = (96 * 3 * 49 + 256 * 96 * 49 + 512 * 256 * 9 + 512 * 512 * 9 + 1024 * 512 * 9 + 1024 * 1024 * 9
               + 25600 * 4096 + 4096 * 4096 + 4096 * 1000)
    biases = 96 + 256 + 512 + 512 + 1024 + 1024 + 4096 + 4096 + 1000
    assert acc.totals["params"] == weights + biases


def test_nin_caffe_imagenet():
    r = archcalc.analyze("nin")
    assert _conv_stack(r) == [
        ("conv1", (96, 54, 54)), ("cccp1", (96, 54, 54)), ("cccp2", (96, 54, 54)), ("pool0", (96, 27, 27)),
        ("conv2", (256, 27, 27)), ("cccp3", (256, 27, 27)), ("cccp4", (256, 27, 27)), ("pool2", (256, 13, 13)),
        ("conv3", (384, 13, 13)), ("cccp5", (384, 13, 13)), ("cccp6", (384, 13, 13)), ("pool3", (384, 6, 6)),
        ("conv4-1024", (1024, 6, 6)), ("cccp7-1024", (1024, 6, 6)), ("cccp8-1024", (1000, 6, 6)),
        ("pool4", (1000, 1, 1)),
    ]
    assert r.layers[-1].output_shape == (1000,)
    assert not any(x.kind == "Linear" for x in r.layers)  # global average pooling replaces FC layers
    weights = (96 * 3 * 121 + 96 * 96 * 2 + 256 * 96 * 25 + 256 * 256 * 2 + 384 * 256 * 9 + 384 * 384 * 2
               + 1024 * 384 * 9 + 1024 * 1024 + 1000 * 1024)
    biases = 96 * 3 + 256 * 3 + 384 * 3 + 1024 * 2 + 1000
    assert r.totals["params"] == weights + biases
    assert sum(x.kind == "ReLU" for x in r.layers) == 12  # after every conv, class maps included


def test_googlenet_paper_matches_caffe_reproduction():
    r = archcalc.analyze("googlenet_paper")
    assert round(r.totals["params"] / 1e6, 3) == published("googlenet_paper", "OpenVINO").extra["mparams"]


def test_squeezenet_paper_table1_sizes_need_227():
    r = archcalc.analyze("squeezenet1_0", input=(3, 227, 227))
    # Iandola et al. Table 1: conv1 111x111x96, maxpool1 55x55, maxpool4 27x27, maxpool8 13x13, conv10 13x13x1000
    assert r["features.0"].output_shape == (96, 111, 111)
    assert [r[f"features.{i}"].output_shape for i in (2, 6, 11)] == [(96, 55, 55), (256, 27, 27), (512, 13, 13)]
    assert r["classifier.1"].output_shape == (1000, 13, 13)
    assert r.totals["params"] == archcalc.analyze("squeezenet1_0").totals["params"]


def test_googlenet_torchvision_layout_still_matches(torch, torchvision):
    """The Inception-module helper now takes a ``conv`` argument; torchvision's layout is unchanged."""
    r = archcalc.analyze("googlenet")
    m = tv_model(torch, torchvision, "googlenet", aux_logits=False, init_weights=False)
    compare_with_torch(torch, r, m)
    assert round(r.totals["macs"] / 1e9, 3) == torchvision.models.GoogLeNet_Weights.IMAGENET1K_V1.meta["_ops"]
