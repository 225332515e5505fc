"""The first classic models: counts recomputed against their published figures, as arithmetic."""

from __future__ import annotations

import pytest

from archcalc import analyze
from archcalc.tally import cs231n_tally
from archcalc.zoo import entries, get_entry


def test_lenet5_1998_per_layer():
    # LeCun et al. 1998 sec. II.B: C1 156, S2 12, C3 1,516, S4 32, C5 48,120, F6 10,164
    r = analyze("lenet5")
    assert r["C1"].params == 6 * (5 * 5 + 1) == 156
    assert r["S2"].params == 6 * 2 == 12  # trainable coefficient + bias per map
    assert r["C3"].params == (6 * 3 + 9 * 4 + 1 * 6) * 25 + 16 == 1516  # Table I: 60 links
    assert r["S4"].params == 16 * 2 == 32
    assert r["C5"].params == 120 * (16 * 25 + 1) == 48120
    assert r["F6"].params == 84 * (120 + 1) == 10164
    assert r.totals["trainable_params"] == 60_000  # "60,000 trainable parameters"
    assert r["output"].params == 84 * 10 and r["output"].trainable_params == 0  # fixed RBF
    # C3 connections: 10x10 outputs x 1,516 weights+bias = 151,600 in the paper; MACs exclude bias
    assert r["C3"].macs == 10 * 10 * 60 * 25
    assert [r[n].output_shape for n in ("C1", "S2", "C3", "S4", "C5")] == [
        (6, 28, 28), (6, 14, 14), (16, 10, 10), (16, 5, 5), (120, 1, 1)]


def test_lenet5_modern():
    r = analyze("lenet5_modern")
    assert r.totals["params"] == 156 + (6 * 25 * 16 + 16) + (400 * 120 + 120) + (120 * 84 + 84) + (84 * 10 + 10)
    assert r.totals["params"] == 61_706


def test_alexnet_torchvision_and_2012():
    r = analyze("alexnet")
    assert r.totals["params"] == 61_100_840  # torchvision AlexNet_Weights meta
    assert round(r.totals["macs"] / 1e9, 2) == 0.71  # torchvision _ops
    p = analyze("alexnet2012")
    # Krizhevsky 2012 Fig. 2: conv1 sees all 3 channels per tower; conv2/4/5 see their own tower
    conv = (11 * 11 * 3 * 96 + 96) + (5 * 5 * 48 * 256 + 256) + (3 * 3 * 256 * 384 + 384) \
        + (3 * 3 * 192 * 384 + 384) + (3 * 3 * 192 * 256 + 256)
    fc = (6 * 6 * 256 * 4096 + 4096) + (4096 * 4096 + 4096) + (4096 * 1000 + 1000)
    assert p.totals["params"] == conv + fc == 60_965_224
    assert p["conv1"].output_shape == (96, 55, 55)  # (227 - 11)/4 + 1
    assert p["pool5"].output_shape == (256, 6, 6)


VGG_CONV = {  # (in, out) of the 3x3 convs, Simonyan & Zisserman Table 1
    "vgg16": [(3, 64), (64, 64), (64, 128), (128, 128), (128, 256), (256, 256), (256, 256),
              (256, 512), (512, 512), (512, 512), (512, 512), (512, 512), (512, 512)],
}


def test_vgg16_params_and_macs():
    r = analyze("vgg16")
    conv = sum(9 * i * o + o for i, o in VGG_CONV["vgg16"])
    fc = (7 * 7 * 512 * 4096 + 4096) + (4096 * 4096 + 4096) + (4096 * 1000 + 1000)
    assert r.totals["params"] == conv + fc == 138_357_544
    sizes = [224, 224, 112, 112, 56, 56, 56, 28, 28, 28, 14, 14, 14]
    conv_macs = sum(s * s * o * 9 * i for s, (i, o) in zip(sizes, VGG_CONV["vgg16"]))
    assert r.totals["macs"] == conv_macs + 7 * 7 * 512 * 4096 + 4096 * 4096 + 4096 * 1000 == 15_470_264_320
    fc_params = sum(x.params for x in r.layers if x.kind == "Linear")
    assert round(fc_params / 1e6, 1) == 123.6  # "122M are in FC layers" in the notes: 123.6M with biases


def test_vgg16_cs231n_tally_row_by_row():
    # shared/seeds cs231n tally: memory = output elements per image, params without bias
    t = cs231n_tally(analyze("vgg16"))
    expected = [
        ("INPUT", 224 * 224 * 3, 0),
        ("CONV3-64", 224 * 224 * 64, 3 * 3 * 3 * 64), ("CONV3-64", 224 * 224 * 64, 3 * 3 * 64 * 64),
        ("POOL2", 112 * 112 * 64, 0),
        ("CONV3-128", 112 * 112 * 128, 3 * 3 * 64 * 128), ("CONV3-128", 112 * 112 * 128, 3 * 3 * 128 * 128),
        ("POOL2", 56 * 56 * 128, 0),
        ("CONV3-256", 56 * 56 * 256, 3 * 3 * 128 * 256), ("CONV3-256", 56 * 56 * 256, 3 * 3 * 256 * 256),
        ("CONV3-256", 56 * 56 * 256, 3 * 3 * 256 * 256),
        ("POOL2", 28 * 28 * 256, 0),
        ("CONV3-512", 28 * 28 * 512, 3 * 3 * 256 * 512), ("CONV3-512", 28 * 28 * 512, 3 * 3 * 512 * 512),
        ("CONV3-512", 28 * 28 * 512, 3 * 3 * 512 * 512),
        ("POOL2", 14 * 14 * 512, 0),
        ("CONV3-512", 14 * 14 * 512, 3 * 3 * 512 * 512), ("CONV3-512", 14 * 14 * 512, 3 * 3 * 512 * 512),
        ("CONV3-512", 14 * 14 * 512, 3 * 3 * 512 * 512),
        ("POOL2", 7 * 7 * 512, 0),
        ("FC", 4096, 7 * 7 * 512 * 4096), ("FC", 4096, 4096 * 4096), ("FC", 1000, 4096 * 1000),
    ]
    assert [(r.label, r.memory, r.params) for r in t.rows] == expected
    assert t.memory == sum(m for _, m, _ in expected) == 15_237_608
    assert t.memory * 4 == 60_950_432  # ~61 MB fp32, not the printed "24M x 4 bytes ~ 96MB"
    assert t.params == 138_357_544
    assert t.params_without_bias == 138_357_544 - (64 * 2 + 128 * 2 + 256 * 3 + 512 * 6 + 4096 * 2 + 1000)
    text = "\n".join(t.lines())
    assert "not the sum of its own rows" in text and "15.2M" in text
    assert ("avgpool", "AdaptiveAvgPool2d", 25_088) in t.omitted


@pytest.mark.parametrize("name", ["vgg11", "vgg11_bn", "vgg13", "vgg13_bn", "vgg16", "vgg16_bn", "vgg19", "vgg19_bn",
                                  "resnet18", "resnet34", "resnet50", "resnet101", "resnet152", "alexnet", "googlenet"])
def test_published_torchvision_figures(name):
    e = get_entry(name)
    r = analyze(name)
    (pub,) = e.published
    assert r.totals["params"] == pub.params, pub.source
    gflops = pub.extra["gflops"]  # torchvision's _ops: GMACs, rounded to the digits it prints
    digits = len(str(gflops).split(".")[1])
    assert round(r.totals["macs"] / 1e9, digits) == gflops


def test_resnet50_exact_macs():
    # torchvision resnet50 _ops = 4.089 GFLOPS; the exact count under archcalc's MAC convention
    assert analyze("resnet50").totals["macs"] == 4_089_184_256


def test_vgg_bn_adds_only_bn_params():
    plain, bn = analyze("vgg16"), analyze("vgg16_bn")
    channels = 64 * 2 + 128 * 2 + 256 * 3 + 512 * 6
    assert bn.totals["params"] - plain.totals["params"] == 2 * channels
    assert bn.totals["buffers"] == 2 * channels + 13  # + num_batches_tracked per BN


def test_googlenet_aux_heads():
    r, aux = analyze("googlenet"), analyze("googlenet_aux")
    # each aux head: 1x1 conv 128 (+BN) + FC 2048->1024 + FC 1024->1000 (torchvision InceptionAux)
    head = lambda cin: cin * 128 + 2 * 128 + 2048 * 1024 + 1024 + 1024 * 1000 + 1000  # noqa: E731
    assert aux.totals["params"] - r.totals["params"] == head(512) + head(528)
    assert r.totals["params"] == 6_624_904


def test_receptive_fields_of_classics():
    # VGG-16 pool5: 212 px; AlexNet pool5: 195 px (Araujo et al., Distill 2019, "Computing Receptive
    # Fields of Convolutional Neural Networks", Table 1)
    assert analyze("vgg16").totals["receptive_field"].size == (212, 212)
    assert analyze("alexnet").totals["receptive_field"].size == (195, 195)


def test_every_entry_cites_a_source_and_analyses():
    for e in entries():
        assert e.source and e.family, e.name
        t = analyze(e.name).totals
        assert t["params"] == sum(r.params for r in analyze(e.name).layers)  # column sums equal totals
