"""The torch importer's late kinds check their fields when made (issue 12): one-line errors that
name the kind and the field, what torch itself would refuse refused here too."""

import pytest

from archcalc import analyze
from archcalc import layers as L
from archcalc.errors import InvalidTypeError, InvalidValueError
from archcalc.graph import Builder


def _out(layer, shape):
    b = Builder("t", shape)
    b.add(layer, b.input, name="x")
    return analyze(b.build()).layers[-1].output_shape


@pytest.mark.parametrize("make,error,words", [
    (lambda: L.Slice(0, None, 1, step=0), InvalidValueError, "Slice.step must be >= 1, got 0"),
    (lambda: L.Roll((1, 2), (0,)), InvalidValueError, "Roll.shifts must give one shift per axis of dims (0,)"),
    (lambda: L.Roll(1.5, 0), InvalidTypeError, "Roll.shifts must be an integer"),
    (lambda: L.Select(True, 0), InvalidTypeError, "Select.dim must be an integer"),
    (lambda: L.Uncounted(""), InvalidValueError, "Uncounted.op must be non-empty text"),
    (lambda: L.Uncounted("aten.foo", (3, 0)), InvalidValueError, "Uncounted.shape must be >= 1, got 0"),
    (lambda: L.Parameter((4,), "trainable", 4, 7), InvalidTypeError, "Parameter.path must be text"),
    (lambda: L.Unreached(1, 0, 0, "aux"), InvalidTypeError, "Unreached.modules must be a list of module paths"),
    (lambda: L.RMSNorm(8, eps=0), InvalidValueError, "RMSNorm.eps must be > 0, got 0"),
    (lambda: L.RMSNorm(()), InvalidValueError, "RMSNorm.normalized_shape must name at least one size"),
    (lambda: L.Pointwise("cosh"), InvalidValueError, "Pointwise.op must be one of"),
])
def test_bad_fields_are_refused_in_one_line(make, error, words):
    with pytest.raises(error) as e:
        make()
    assert words in str(e.value) and "\n" not in str(e.value)


def test_valid_values_keep_their_meaning():
    assert L.Roll(1, -1) == L.Roll((1,), (-1,))  # a single shift and axis, as torch.roll(x, 1, -1)
    assert _out(L.Select(0, -1), (3, 5)) == (5,)  # x[:, -1]: the axis disappears
    assert _out(L.Slice(0, None, 1, step=2), (3, 5)) == (3, (5 + 1) // 2)  # x[:, :, 0::2] keeps ceil(5/2)
    assert L.RMSNorm(8).eps is None  # torch's default eps (the dtype's epsilon) stays unset
    assert L.Parameter().path == "" and L.Parameter(()).shape == ()  # a scalar parameter, path unknown
