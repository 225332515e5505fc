"""A caller's mistake in the memory model, the detection helpers, output paths and
``Result.substitute`` is an ArchcalcError that is also the built-in Python code expects
(``ValueError`` here), in one line that names the offending value."""

from __future__ import annotations

import pytest

import archcalc
from archcalc import analyze
from archcalc._io import OutputExistsError, write_atomic
from archcalc.detection import box_iou, box_maps
from archcalc.errors import ArchcalcError, InvalidValueError
from archcalc.memory import estimate, fit_batch, parse_size

CASES = [
    (lambda: estimate(analyze("lenet5"), train=True, optimizer="lion"), "unknown optimizer 'lion'"),
    (lambda: estimate(analyze("lenet5", input="1xHxW")), "memory needs concrete sizes"),
    (lambda: estimate(analyze("lenet5"), batch=0), "batch must be >= 1, got 0"),
    (lambda: parse_size("2 potatoes"), "cannot read memory size '2 potatoes'"),
    (lambda: parse_size("0GiB"), "memory size must be positive, got '0GiB'"),
    (lambda: fit_batch(analyze("lenet5"), parse_size("1GiB"), limit=4), "more than 4 samples fit"),
    (lambda: box_iou((0, 0, -1, 1), (0, 0, 1, 1)), "box (0, 0, -1, 1) is not (x1, y1, x2, y2)"),
    (lambda: box_maps(analyze("vgg16"), "head.regression_head"), "no box-regression conv under"),
    (lambda: analyze("vgg11", input="3xHxW").substitute(h=224, W=224),
     "vgg11 has no size named 'h'; its symbols are H, W"),
    (lambda: analyze("vgg11").substitute(H=224), "it has no symbols"),
    (lambda: analyze("faster_rcnn_vgg16").substitute(N=2), "its symbols are R"),
]


@pytest.mark.parametrize("call, message", CASES, ids=[c[1][:30] for c in CASES])
def test_mistakes_are_typed_value_errors(call, message):
    with pytest.raises(InvalidValueError) as info:
        call()
    assert isinstance(info.value, ValueError) and isinstance(info.value, ArchcalcError)
    assert message in str(info.value) and "\n" not in str(info.value)


def test_an_existing_output_is_a_value_error(tmp_path):
    path = tmp_path / "out.txt"
    path.write_text("keep")
    with pytest.raises(ValueError) as info:
        write_atomic(path, "new")
    assert isinstance(info.value, OutputExistsError) and "pass --force" in str(info.value)
    assert path.read_text() == "keep"


def test_substitute_accepts_every_symbol_it_lists():
    r = analyze("vgg11", input="3xHxW", batch="N")
    assert r.symbols == ["H", "N", "W"]
    # vgg11 at 64x64: five 2x2 pools leave 2x2 maps, and the classifier's input is fixed by the 7x7 pool
    assert r.substitute(H=64, W=64, N=2).totals["macs"] == analyze("vgg11", input=(3, 64, 64), batch=2).totals["macs"]
    assert analyze("faster_rcnn_vgg16").symbols == ["R"] and archcalc.analyze("lenet5").symbols == []
