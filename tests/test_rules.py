"""Layer rules: output shapes, params, MACs, FLOPs, receptive field and errors, as arithmetic."""

from __future__ import annotations

import pytest

from archcalc import analyze, dims
from archcalc.errors import ArchcalcError, ShapeError
from archcalc.graph import Builder
from archcalc.layers import (
    RBF, AdaptiveAvgPool2d, Add, AvgPool2d, BatchNorm2d, Concat, Conv2d, ConvTranspose2d, Flatten,
    GlobalAvgPool2d, LocalResponseNorm, Linear, MaxPool2d, Mul, ReLU, Upsample, ZeroPad2d,
)


def one(layer, shape, batch=1):
    b = Builder("t", shape)
    b.add(layer, b.input, name="x")
    return analyze(b.build(), batch=batch)["x"]


def test_conv_formula_from_the_notes():
    # seeds/002: n_out = floor((n_in + 2p - f)/s + 1); LeNet C1: (32 + 0 - 5)/1 + 1 = 28
    r = one(Conv2d(6, 5), (1, 32, 32))
    assert r.output_shape == (6, 28, 28)
    assert r.params == 6 * 5 * 5 * 1 + 6
    assert r.macs == 28 * 28 * 6 * 5 * 5
    assert r.flops == 2 * r.macs + 28 * 28 * 6  # bias adds
    assert r.warnings == []


def test_notes_worked_example_is_corrected_and_not_warned():
    # seeds/002 "32x32x3 image, 12 filters (5x5), 1 padding, stride 2" printed 12x12x12 by
    # subtracting the filter count; the formula gives floor((32 + 2 - 5)/2) + 1 = 15. 29/2 is not
    # an integer, but the one position left unread is the trailing padding: no input is lost.
    r = one(Conv2d(12, 5, stride=2, padding=1), (3, 32, 32))
    assert r.output_shape == (12, 15, 15)
    assert r.warnings == []


def test_repeated_layers_each_get_their_own_costs_and_warnings():
    # analyze() computes a rule once per (layer, input shapes): the repeats must still be
    # separate records, each with the warning, and an equal layer on another shape recomputed
    b = Builder("t", (3, 8, 8))
    x = b.add(Conv2d(3, 3, stride=2), b.input, name="a")  # (8 - 3)/2 + 1 = 3.5: a real row and column lost
    y = b.add(Conv2d(3, 3, stride=2), b.input, name="b")
    b.add(Conv2d(3, 3, stride=2), b.add(Add(), x, y, name="sum"), name="c")  # on 3x3: (3 - 3)/2 + 1 = 1
    r = analyze(b.build())
    assert r["a"].output_shape == r["b"].output_shape == (3, 3, 3) and r["c"].output_shape == (3, 1, 1)
    assert r["a"].macs == r["b"].macs == 3 * 3 * 3 * 3 * 3 * 3 and r["c"].macs == 1 * 1 * 3 * 3 * 3 * 3
    assert len(r["a"].warnings) == len(r["b"].warnings) == 1 and r["c"].warnings == []  # rows+columns: one
    assert [w.split(":")[0] for w in r.warnings] == ["a", "b"]


def test_layer_holding_a_list_is_analysed_without_the_memo():
    # a hand-written connection table as lists makes the layer unhashable; it is still analysed
    b = Builder("t", (3, 8, 8))
    b.add(Conv2d(2, 3, connections=[[0, 1], [2]]), b.input, name="c")
    b.add(Conv2d(2, 3, connections=[[0, 1], [1]]), "c", name="d")
    r = analyze(b.build())
    # 3 links (2 + 1 input maps) x a 3x3 kernel + 2 biases; (8 - 3)/1 + 1 = 6, then (6 - 3) + 1 = 4
    assert r["c"].params == r["d"].params == 3 * 3 * 3 + 2 and r["d"].output_shape == (2, 4, 4)


def test_stride_that_tiles_has_no_warning():
    # seeds/002 "(5 + 2 - 3)/2 + 1 = 3: much better"
    r = one(Conv2d(1, 3, stride=2, padding=1), (1, 5, 5))
    assert r.output_shape == (1, 3, 3) and r.warnings == []


def test_stride_that_drops_pixels_warns():
    # seeds/002 "no padding, stride 2, filter 3: 5/2 + 1, that's not nice": n_in - f = 5
    r = one(Conv2d(1, 3, stride=2), (1, 8, 8))
    assert r.output_shape == (1, 3, 3)
    assert any("= 3.5" in w for w in r.warnings)


def test_one_by_one_bottleneck_arithmetic():
    # seeds/003: 1x1 convs shrink n_c; the classic 28x28x192 -> 32 5x5 example (cost ~120M)
    direct = one(Conv2d(32, 5, padding=2, bias=False), (192, 28, 28))
    assert direct.macs == 28 * 28 * 32 * 5 * 5 * 192 == 120_422_400
    b = Builder("bottleneck", (192, 28, 28))
    x = b.add(Conv2d(16, 1, bias=False), b.input, name="reduce")
    b.add(Conv2d(32, 5, padding=2, bias=False), x, name="conv5x5")
    r = analyze(b.build())
    assert r.totals["macs"] == 28 * 28 * 16 * 192 + 28 * 28 * 32 * 5 * 5 * 16 == 12_443_648


def test_grouped_and_depthwise_conv():
    g = one(Conv2d(64, 3, padding=1, groups=4, bias=False), (32, 10, 10))
    assert g.params == 64 * (32 // 4) * 9
    assert g.macs == 10 * 10 * 64 * (32 // 4) * 9
    dw = one(Conv2d(32, 3, padding=1, groups=32, bias=False), (32, 10, 10))
    assert dw.params == 32 * 9 and dw.macs == 10 * 10 * 32 * 9


def test_dilated_conv_and_same_padding():
    r = one(Conv2d(8, 3, dilation=2, padding="same"), (4, 17, 17))
    assert r.output_shape == (8, 17, 17)  # effective kernel 5, padding 2 each side
    assert r.receptive_field.size == (5, 5)
    v = one(Conv2d(8, 3, padding="valid"), (4, 17, 17))
    assert v.output_shape == (8, 15, 15)
    # TF-style 'same' with stride 2: ceil(17/2) = 9
    s = one(Conv2d(8, 3, stride=2, padding="same"), (4, 17, 17))
    assert s.output_shape == (8, 9, 9)


def test_sparse_connection_table():
    table = ((0, 1), (1, 2), (0, 1, 2))
    r = one(Conv2d(3, 5, connections=table), (3, 14, 14))
    assert r.params == (2 + 2 + 3) * 25 + 3
    assert r.macs == 10 * 10 * (2 + 2 + 3) * 25


def test_conv_transpose_output_padding():
    # torch: (in-1)*s - 2p + d(k-1) + output_padding + 1
    r = one(ConvTranspose2d(16, 3, stride=2, padding=1, output_padding=1), (32, 8, 8))
    assert r.output_shape == (16, 16, 16)
    assert r.params == 32 * 16 * 9 + 16
    assert r.macs == 8 * 8 * 32 * 16 * 9  # every input pixel meets every weight
    with pytest.raises(ShapeError, match="output_padding 2 must be smaller than stride 2"):
        one(ConvTranspose2d(16, 3, stride=2, output_padding=2), (32, 8, 8))


def test_pooling_ceil_mode_and_padding():
    assert one(MaxPool2d(3, 2), (1, 112, 112)).output_shape == (1, 55, 55)
    assert one(MaxPool2d(3, 2, ceil_mode=True), (1, 112, 112)).output_shape == (1, 56, 56)
    # torch drops a last window that would start in the right padding: in 5, k 2, s 2, p 1
    assert one(MaxPool2d(2, 2, padding=1, ceil_mode=True), (1, 5, 5)).output_shape == (1, 3, 3)
    mp = one(MaxPool2d(2), (3, 8, 8))
    assert mp.flops == 3 * 4 * 4 * (2 * 2 - 1) and mp.macs == 0
    ap = one(AvgPool2d(3, 1, padding=1, count_include_pad=False), (2, 5, 5))
    assert ap.output_shape == (2, 5, 5) and ap.flops == 2 * 5 * 5 * 9
    with pytest.raises(ShapeError, match="at most half the kernel"):
        one(MaxPool2d(2, 2, padding=2), (1, 8, 8))


def test_adaptive_pool_windows_match_torch():
    # torch windows for 5 -> 3: [0,2), [1,4), [3,5): widths 2, 3, 2
    r = one(AdaptiveAvgPool2d(3), (1, 5, 5))
    assert r.output_shape == (1, 3, 3)
    assert r.flops == (2 + 3 + 2) * (2 + 3 + 2)
    assert r.receptive_field.size == (3, 3)


def test_global_pool_linear_flatten():
    g = one(GlobalAvgPool2d(), (512, 7, 7))
    assert g.output_shape == (512,) and g.flops == 512 * 49
    lin = one(Linear(10), (512,))
    assert lin.params == 512 * 10 + 10 and lin.macs == 5120
    with pytest.raises(ShapeError, match="insert a Flatten"):
        one(Linear(10), (512, 7, 7))
    f = one(Flatten(), (512, 7, 7))
    assert f.output_shape == (512 * 49,) and f.activations == 0  # a view


def test_batchnorm_buffers_are_not_params():
    r = one(BatchNorm2d(), (64, 8, 8))
    assert r.params == 2 * 64 and r.trainable_params == 128
    assert r.buffers == 2 * 64 + 1  # running mean, running var, num_batches_tracked
    assert r.macs == 0 and r.flops == 2 * 64 * 8 * 8


def test_lrn_and_relu_inplace():
    r = one(LocalResponseNorm(5), (96, 55, 55))
    assert r.flops == 96 * 55 * 55 * (5 + 4) and r.params == 0
    relu = one(ReLU(inplace=True), (96, 55, 55), batch=4)
    assert relu.activations == 0 and relu.output_elements == 4 * 96 * 55 * 55
    assert relu.flops == 4 * 96 * 55 * 55


def test_rbf_is_fixed_weights():
    r = one(RBF(10), (84,))
    assert r.params == 840 and r.trainable_params == 0


def test_merge_layers():
    b = Builder("m", (8, 4, 4))
    x = b.add(Conv2d(8, 3, padding=1), b.input, name="c")
    s = b.add(Add(), x, b.input, name="add")
    c = b.add(Concat(), s, x, name="cat")
    u = b.add(Upsample(2), c, name="up")
    p = b.add(ZeroPad2d((1, 0, 1, 0)), u, name="pad")
    gate = b.add(GlobalAvgPool2d(), p, name="gap")
    b.add(Mul(), p, gate, name="scale")
    r = analyze(b.build())
    assert r["add"].flops == 8 * 16
    assert r["cat"].output_shape == (16, 4, 4) and r["cat"].flops == 0
    assert r["up"].output_shape == (16, 8, 8)
    assert r["pad"].output_shape == (16, 9, 9)
    assert r["scale"].output_shape == (16, 9, 9)
    with pytest.raises(ShapeError, match="'bad' \\(Add\\): Add needs equal input shapes"):
        b2 = Builder("m", (8, 4, 4))
        y = b2.add(Conv2d(4, 1), b2.input, name="y")
        b2.add(Add(), y, b2.input, name="bad")
        analyze(b2.build())


@pytest.mark.parametrize("layer,shape,message", [
    (Conv2d(8, 7), (3, 5, 5), "'x' (Conv2d): kernel 7 (kernel 7, dilation 1) is larger than the padded input 5"),
    (Conv2d(8, 3, groups=4), (30, 8, 8), "in_channels 30 is not divisible by groups 4"),
    (Conv2d(6, 3, groups=4), (8, 8, 8), "out_channels 6 is not divisible by groups 4"),
    (Conv2d(8, 3), (3, 8), "expects a (C, H, W) input, got shape (3, 8)"),
    (MaxPool2d(3, 2), (4, 2, 2), "kernel 3"),
])
def test_bad_shapes_name_the_layer_and_values(layer, shape, message):
    with pytest.raises(ShapeError) as e:
        one(layer, shape)
    assert message in str(e.value)
    assert "\n" not in str(e.value)


def test_receptive_field_of_stacked_3x3():
    # two 3x3 convs see 5x5, three see 7x7 (VGG's argument, Simonyan & Zisserman sec. 2.3)
    b = Builder("rf", (1, 32, 32))
    x = b.input
    for i in range(3):
        x = b.add(Conv2d(1, 3, padding=1), x, name=f"c{i}")
    r = analyze(b.build())
    assert [r[f"c{i}"].receptive_field.size[0] for i in range(3)] == [3, 5, 7]


def test_batch_and_dtype_scale_bytes():
    r1 = analyze("vgg16")
    r8 = analyze("vgg16", batch=8, dtype="bf16")
    assert r8.totals["macs"] == 8 * r1.totals["macs"]
    assert r8.totals["activations"] == 8 * r1.totals["activations"]
    assert r8.totals["activation_bytes"] == 2 * r8.totals["activations"]
    assert r8.totals["param_bytes"] == 2 * r1.totals["params"]
    assert analyze("vgg16", dtype="int8").totals["param_bytes"] == r1.totals["params"]
    with pytest.raises(ArchcalcError, match="unknown dtype"):
        analyze("vgg16", dtype="fp8")


def test_dims_parser_is_restricted():
    H = dims.symbol("H")
    assert dims.parse_shape("3xHxW")[1] == H
    assert dims.parse_dim("H//2+1") == dims.floordiv(H, 2) + 1
    for bad in ("__import__('os')", "H**2", "H/2", "1e3", "H;W", ""):
        with pytest.raises(dims.DimSyntaxError):
            dims.parse_dim(bad)
