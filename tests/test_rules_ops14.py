"""Issue 14's copy/view kinds and the vector norm: shapes and counts written as arithmetic, one rule
for ints and symbols, clean one-line refusals. (Against torch: tests/test_torch_ops14.py.)"""

from __future__ import annotations

import pytest

import archcalc
from archcalc import conventions as C
from archcalc import dims
from archcalc import layers as L
from archcalc.errors import ArchcalcError, InvalidTypeError, InvalidValueError, ShapeError
from archcalc.graph import Builder
from archcalc.rules import rule_for


def cost(layer, *shapes):
    return rule_for(layer)(layer, list(shapes))


def test_constant_pad_pads_from_the_last_axis_and_crops_with_negatives():
    c = cost(L.ConstantPad((0, 1)), (4, 5, 6))
    assert c.output == (4, 5, 6 + 1) and c.flops == 0 and c.macs == 0
    c = cost(L.ConstantPad((1, 1, 0, 2, 1, 0)), (4, 5, 6))  # last axis, then H, then channels
    assert c.output == (4 + 1, 5 + 2, 6 + 2)
    c = cost(L.ConstantPad((-1, 0, -1, 0)), (4, 5, 6))  # NASNet's ZeroPad2d((-1, 0, -1, 0)): a crop
    assert c.output == (4, 5 - 1, 6 - 1)
    assert L.ConstantPad((1, 1), float("-inf")).value == "-inf"  # 'same' padding before a max pool, as text


def test_constant_pad_refusals():
    with pytest.raises(ShapeError, match="names 4 axes"):
        cost(L.ConstantPad((1,) * 8), (4, 5, 6))
    with pytest.raises(ShapeError, match="< 1"):
        cost(L.ConstantPad((-3, -3)), (4, 5, 6))
    with pytest.raises(InvalidValueError, match="pairs"):
        L.ConstantPad((1, 2, 3))
    with pytest.raises(InvalidValueError):
        L.ConstantPad((1, 1), float("nan"))


def test_unfold_axis_windows():
    c = cost(L.UnfoldAxis(1, 4, 2), (8, 10, 3))
    assert c.output == (8, (10 - 4) // 2 + 1, 3, 4) and c.flops == 0
    with pytest.raises(ShapeError, match="longer"):
        cost(L.UnfoldAxis(2, 4, 1), (8, 10, 3))


def test_im2col():
    c = cost(L.Unfold(3, 1, 1, 2), (4, 9, 9))  # kernel 3, dilation 1, padding 1, stride 2
    per_axis = (9 + 2 * 1 - 3) // 2 + 1
    assert c.output == (4 * 3 * 3, per_axis * per_axis) and c.flops == 0
    with pytest.raises(ShapeError):
        cost(L.Unfold(3), (4, 9))


def test_col2im_adds_the_column_elements_that_land_inside_the_map():
    c = cost(L.Fold(7, 3, 1, 1, 2), (4 * 3 * 3, 4 * 4))  # VOLO: kernel 3, padding 1, stride 2 on 7x7
    assert c.output == (4, 7, 7)
    # per axis: 4 blocks x 3 offsets = 12 pairs; the first block's offset 0 falls in the leading
    # padding (position -1), the last block's offset 2 in the trailing one (position 7)
    assert c.flops == 4 * (4 * 3 - 2) * (4 * 3 - 2)
    assert cost(L.Fold(4, 2, 1, 0, 2), (3 * 4, 4)).flops == 3 * 4 * 4  # no overlap, no padding: one add each
    with pytest.raises(ShapeError, match="block columns"):
        cost(L.Fold(7, 3, 1, 1, 2), (36, 15))


def test_repeat_and_tile_counts():
    assert cost(L.Repeat((2, 1, 3)), (4, 5, 6)).output == (8, 5, 18)
    assert cost(L.Repeat((2, 1, 1, 1)), (4, 5, 6)).output == (2, 4, 5, 6)  # a new leading axis
    with pytest.raises(ShapeError, match="fewer counts"):
        cost(L.Repeat((2,)), (4, 5))
    with pytest.raises(InvalidValueError):
        L.Repeat((0,))
    assert cost(L.RepeatInterleave(3, -1), (4, 5)).output == (4, 15)


def test_slice_scatter_writes_src_into_a_slice():
    c = cost(L.SliceScatter(1, None, 1), (2, 5, 6), (2, 4, 6))  # x[:, 1:] = src
    assert c.output == (2, 5, 6) and c.flops == 0
    with pytest.raises(ShapeError, match="does not fill"):
        cost(L.SliceScatter(1, None, 1), (2, 5, 6), (2, 5, 6))


def test_vector_norm_flops():
    c = cost(L.VectorNorm((1, 2), True), (4, 5, 6))
    assert c.output == (4, 1, 1)
    assert c.flops == 2 * 4 * 5 * 6  # a square per element, (n - 1) adds and a sqrt per output
    c = cost(L.VectorNorm((0,), False, 1.0), (4, 5))
    assert c.output == (5,) and c.flops == 2 * 4 * 5 - 5  # |x| per element, (n - 1) adds per output
    with pytest.raises(InvalidValueError, match="ord"):
        L.VectorNorm((0,), ord=3.0)


def test_one_rule_for_ints_and_symbols():
    H, W = dims.symbol("H"), dims.symbol("W")
    b = Builder("sym", (8, H, W))
    x = b.add(L.ConstantPad((1, 2, 0, 1)), b.input, name="pad")
    x = b.add(L.UnfoldAxis(2, 3, 1), x, name="windows")
    x = b.add(L.Repeat((1, 2, 1, 1)), x, name="rep")
    x = b.add(L.VectorNorm((-1,), False), x, name="norm")
    r = archcalc.analyze(b.build())
    out = r.layers[-1].output_shape
    assert dims.same(out[1], 2 * (H + 1)) and dims.same(out[2], W + 3 - 3 + 1)
    concrete = r.substitute(H=7, W=9)
    assert concrete.layers[-1].output_shape == (8, 2 * 8, 9 + 3 - 2)
    assert concrete.layers[-1].flops == 2 * 8 * 16 * 10 * 3


def test_every_convention_counts_the_copies_as_zero():
    b = Builder("copies", (4, 6, 6))
    x = b.add(L.Unfold(2, 1, 0, 2), b.input, name="im2col")
    x = b.add(L.Fold(6, 2, 1, 0, 2), x, name="col2im")
    x = b.add(L.ConstantPad((1, 1)), x, name="pad")
    x = b.add(L.Repeat((1, 2, 1)), x, name="rep")
    x = b.add(L.RepeatInterleave(2, 0), x, name="ri")
    x = b.add(L.VectorNorm((0,), True), x, name="norm")
    r = archcalc.analyze(b.build())
    for name in C.OPERATION_CONVENTIONS:
        assert C.count(r, name).total == 0, name


def test_bad_fields_are_one_line_typed_errors():
    for make in (lambda: L.UnfoldAxis(0, 0, 1), lambda: L.Repeat(2.5), lambda: L.RepeatInterleave(-1),
                 lambda: L.VectorNorm((0, 0)), lambda: L.ConstantPad(()), lambda: L.Unfold(0)):
        with pytest.raises(ArchcalcError) as e:
            make()
        assert isinstance(e.value, (InvalidTypeError, InvalidValueError)) and "\n" not in str(e.value)


@pytest.mark.parametrize("fmt", ["json", "yaml"])
def test_a_minus_inf_fill_round_trips_through_a_spec(fmt):
    from archcalc.spec import dumps_spec, loads_spec

    b = Builder("same_pool", (3, 8, 8))
    x = b.add(L.ConstantPad((1, 1, 1, 1), float("-inf")), b.input, name="pad")
    b.add(L.MaxPool2d(3, 1), x, name="pool")
    g = b.build()
    text = dumps_spec(g, fmt)
    assert "Infinity" not in text and loads_spec(text, fmt).nodes == g.nodes
