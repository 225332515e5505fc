"""``--set NAME=N``: a symbolic size made concrete after the analysis (issue 15: a detector's R)."""

from __future__ import annotations

import json

import pytest

from archcalc import analyze
from archcalc.cli import main

pytest.importorskip("sympy")


def test_set_makes_the_proposals_concrete(capsys):
    assert main(["faster_rcnn_vgg16", "--set", "R=300", "--format", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    want = analyze("faster_rcnn_vgg16").substitute(R=300).totals
    # the same numbers as the API's substitute, and plain integers (no formula left)
    assert doc["totals"]["macs"] == want["macs"] and isinstance(doc["totals"]["macs"], int)
    assert doc["totals"]["params"] == want["params"]


@pytest.mark.parametrize("argv", [
    ["vgg16", "--set", "R=3"],                      # vgg16 has no symbol R
    ["faster_rcnn_vgg16", "--set", "R=0"],          # a size is >= 1
    ["faster_rcnn_vgg16", "--set", "R=2.5"],
    ["faster_rcnn_vgg16", "--set", "R=1e3"],
    ["faster_rcnn_vgg16", "--set", "R"],
    ["faster_rcnn_vgg16", "--set", "=5"],
    ["faster_rcnn_vgg16", "--set", "__import__('os').system('id')=1"],
    ["faster_rcnn_vgg16", "--set", "R=__import__('os')"],
    ["faster_rcnn_vgg16", "--set", "R=1", "--set", "R=2"],
    ["faster_rcnn_vgg16", "--set", "R=1", "--valid"],
])
def test_bad_set_is_one_line_error(capsys, argv):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("archcalc: error: ") and err.count("\n") == 1
