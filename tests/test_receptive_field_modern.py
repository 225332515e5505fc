"""Receptive fields beyond plain (C, H, W) CNNs: exact where the walk follows the spatial mapping
(channels-last views, reshapes that merge H and W into tokens, attention = the whole input),
undefined (naming the layer) where it does not (3-d windows, reshapes that split an axis)."""

from __future__ import annotations

import json

import pytest

import archcalc
from archcalc.format import render_json, render_table
from archcalc.graph import Builder
from archcalc.layers import Conv2d, LayerNorm, Linear, Permute, PerItem, Reshape


def test_classic_cnns_unchanged():
    vgg = archcalc.analyze("vgg16")
    pool5 = vgg["features.30"].receptive_field
    # thirteen 3x3 convs and five 2x2/2 pools: 1 + 2*(2+2*2+3*4+3*8+3*16) + (1+2+4+8+16) = 212
    assert pool5.mode == "map" and pool5.size == (212, 212) and pool5.jump == (32, 32)
    assert vgg.totals["receptive_field_layer"] == "features.30"
    r50 = archcalc.analyze("resnet50")
    assert r50.totals["receptive_field"].size == (427, 427)  # as before this walk (tests/golden/terminal/resnet50*)
    for name in ("vgg16", "resnet50", "googlenet", "mobilenet_v2", "densenet121"):
        modes = {r.receptive_field.mode for r in archcalc.analyze(name).layers}
        assert modes <= {"map", "pooled"}, (name, modes)


def test_vit_attention_reads_the_whole_input():
    r = archcalc.analyze("vit_b_16")
    assert r["conv_proj"].receptive_field.size == (16, 16)  # the 16x16/16 patch embedding
    tokens = r["permute"].receptive_field
    assert tokens.mode == "tokens" and tokens.size == (16, 16) and tokens.grid == (14, 14)
    attn = r["encoder.layers.encoder_layer_0.self_attention"].receptive_field
    # every token reads all 14x14 patches: 16 + (14 - 1) * 16 = 224, the whole image
    assert attn.mode == "whole" and attn.size == (16 + 13 * 16,) * 2
    assert r.totals["receptive_field"].mode == "whole"
    assert r.totals["receptive_field_layer"] == r.layers[-1].name
    assert render_table(r).count("the whole input") == 1


def test_swin_window_partition_is_undefined_from_the_first_split():
    r = archcalc.analyze("swin_t")
    assert r["features.1.0.norm1"].receptive_field.mode == "map"  # conv 4x4/4, permute, layer norms
    assert r["features.1.0.norm1"].receptive_field.axes == (-3, -2)  # H, W of the channels-last map
    t = r.totals
    assert t["receptive_field"].mode == "undefined"
    assert t["receptive_field_layer"] == "features.1.0.attn.windows"
    d = r.to_dict()["totals"]["receptive_field"]
    assert d["size"] is None and "splits an axis" in d["undefined"]
    assert d["from"] == "features.1.0.attn.windows"


def test_convnext_channels_last_block_is_followed():
    r = archcalc.analyze("convnext_tiny")
    before = r["features.1.0.block.0"].receptive_field  # the 7x7 depthwise conv
    # permute -> LayerNorm -> Linear -> GELU -> Linear -> permute back: position-wise, same field
    assert r["features.1.0.block.6"].receptive_field == before
    assert r["features.1.0.block.3"].receptive_field.axes == (-3, -2)
    assert all(rec.receptive_field.mode in ("map", "pooled") for rec in r.layers)
    assert r.totals["receptive_field"].mode == "map"


def _map(build):
    b = Builder("t", (8, 10, 12))
    x = b.add(Conv2d(8, 3, padding=1), b.input, name="conv")
    build(b, x)
    return archcalc.analyze(b.build())


def test_permute_linear_permute_block_keeps_a_3x3_field():
    def block(b, x):
        x = b.add(Permute((1, 2, 0)), x, name="to_last")  # (10, 12, 8)
        x = b.add(LayerNorm((8,)), x, name="ln")
        x = b.add(PerItem(Linear(16)), x, name="fc")  # mixes channels only
        x = b.add(Permute((2, 0, 1)), x, name="back")  # (16, 10, 12)
        b.add(Conv2d(8, 3, padding=1), x, name="conv2")

    r = _map(block)
    assert r["back"].receptive_field.size == (3, 3)
    assert r["conv2"].receptive_field.size == (3 + 2, 3 + 2)  # two 3x3 convs, as without the block


def test_linear_over_a_spatial_axis_is_not_treated_as_pointwise():
    def block(b, x):
        x = b.add(Permute((0, 2, 1)), x, name="swap")  # (8, 12, 10): H is now last
        b.add(PerItem(Linear(10)), x, name="fc")  # each output reads all 10 rows

    f = _map(block)["fc"].receptive_field
    assert f.mode == "map" and f.axes == (-1, -2)
    assert f.size == (3 + (10 - 1) * 1, 3)  # the span of all 10 rows' 3x3 fields, width unchanged


def test_split_reshape_is_undefined_naming_the_layer():
    r = _map(lambda b, x: b.add(Reshape((8, 5, 2, 12)), x, name="split"))
    f = r["split"].receptive_field
    assert not f.defined and f.origin == "split" and "splits an axis" in f.why
    assert r.totals["receptive_field_layer"] == "split"
    assert "n/a: split (Reshape) splits an axis" in render_table(r)


def test_r3d_conv3d_field_over_height_and_width():
    r = archcalc.analyze("r3d_18")
    f = r.totals["receptive_field"]
    # stem 3x7x7 /(1,2,2): 7 px, jump 2; then 3x3x3 convs, two per block, two blocks per stage, the
    # first conv of stages 2-4 with stride 2 (the 1x1x1 shortcut adds nothing)
    size = 7 + 4 * 2 * 2  # layer1
    for jump in (2, 4, 8):
        size += 2 * jump + 3 * 2 * (2 * jump)  # stride-2 conv read at the old jump, then 3 convs at the new
    assert f.mode == "map" and f.size == (size, size) == (219, 219) and f.jump == (16, 16)
    assert r.totals["receptive_field_layer"] == "layer4.1.relu"


def test_mvit_flattening_time_with_space_is_undefined():
    from archcalc.zoo import names

    if "mvit_v1_b" not in names():
        pytest.skip("mvit_v1_b is not registered in this zoo")
    r = archcalc.analyze("mvit_v1_b")
    assert r["conv_proj"].receptive_field.size == (7, 7)  # Conv3d 3x7x7 /(2,4,4) p(1,3,3)
    f = r.totals["receptive_field"]
    assert f.mode == "undefined" and f.origin == "flatten"
    rec = json.loads(render_json(r))["layers"]
    flat = next(x for x in rec if x["name"] == "flatten")["receptive_field"]
    assert flat["size"] is None and flat["from"] == "flatten" and "merges a spatial axis" in flat["undefined"]


@pytest.mark.parametrize("name", ["maxvit_t", "raft_small", "swin_v2_t"])
def test_other_transformers_are_honest(name):
    from archcalc.zoo import names

    if name not in names():
        pytest.skip(f"{name} is not registered in this zoo")
    f = archcalc.analyze(name).totals["receptive_field"]
    assert f.mode in ("undefined", "whole"), f
