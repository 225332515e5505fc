"""``archcalc layer``: the course notes' worked examples, as arithmetic (shared/seeds)."""

from __future__ import annotations

import json

import pytest

from archcalc.cli import main


def run_json(capsys, *argv):
    assert main(["layer", *argv, "--format", "json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_alexnet_conv1(capsys):
    # seeds/003: AlexNet takes 227x227x3; CONV1 is 96 filters of 11x11 at stride 4
    assert main(["layer", "conv", "--input", "3x227x227", "--out", "96", "--kernel", "11", "--stride", "4"]) == 0
    out = capsys.readouterr().out
    assert "floor((227 + 2*0 - 11)/4) + 1 = 55" in out
    assert f"= {96 * (3 * 11 * 11) + 96:,}" in out  # 96 filters of 3x11x11, plus biases: 34,944
    assert f"= {55 * 55 * 96 * 3 * 11 * 11:,}" in out  # one 3x11x11 dot product per output: 105,415,200
    assert "11 px, jump 4" in out
    d = run_json(capsys, "conv", "--input", "3x227x227", "--out", "96", "--kernel", "11", "--stride", "4")
    assert d["output"] == [96, (227 - 11) // 4 + 1, (227 - 11) // 4 + 1]
    assert d["params"] == 96 * 3 * 11 * 11 + 96 and d["macs"] == 55 * 55 * 96 * 3 * 11 * 11


def test_bottleneck_saves_a_factor_of_ten(capsys):
    # seeds/003 "a 1x1 convolution as an intermediate step can reduce computation cost by a factor
    # of 10": 28x28x192 -> 5x5 same conv, 32 filters, directly or through 16 1x1 filters
    direct = run_json(capsys, "conv", "--input", "192x28x28", "--out", "32", "--kernel", "5", "--padding", "same")
    assert direct["macs"] == 28 * 28 * 32 * 5 * 5 * 192 == 120_422_400
    squeeze = run_json(capsys, "conv", "--input", "192x28x28", "--out", "16", "--kernel", "1")
    expand = run_json(capsys, "conv", "--input", "16x28x28", "--out", "32", "--kernel", "5", "--padding", "2")
    assert squeeze["macs"] == 28 * 28 * 16 * 192  # 2,408,448
    assert expand["macs"] == 28 * 28 * 32 * 5 * 5 * 16  # 10,035,200
    assert squeeze["macs"] + expand["macs"] == 12_443_648
    assert expand["output"] == direct["output"] == [32, 28, 28]


def test_pool_linear_convT_and_their_formulas(capsys):
    d = run_json(capsys, "maxpool", "--input", "96x55x55", "--kernel", "3", "--stride", "2")
    assert d["output"] == [96, (55 - 3) // 2 + 1, (55 - 3) // 2 + 1]
    assert d["formulas"]["height, width"] == "floor((55 + 2*0 - 3)/2) + 1 = 27"
    d = run_json(capsys, "linear", "--input", "4096", "--out", "1000")
    assert d["params"] == 4096 * 1000 + 1000 and d["macs"] == 4096 * 1000
    d = run_json(capsys, "convT", "--input", "64x14x14", "--out", "32", "--kernel", "2", "--stride", "2")
    assert d["output"] == [32, (14 - 1) * 2 + (2 - 1) + 1, 28]
    assert d["formulas"]["height, width"] == "(14 - 1)*2 - 2*0 + 1*(2 - 1) + 0 + 1 = 28"
    # torch's ceil_mode rule: ceil((5 + 2 - 2)/2) + 1 = 4, but the 4th window would start in the padding
    d = run_json(capsys, "maxpool", "--input", "3x5x5", "--kernel", "2", "--stride", "2", "--padding", "1", "--ceil")
    assert d["output"] == [3, 3, 3] and "less the last window" in d["formulas"]["height, width"]


def test_a_lossy_stride_is_warned(capsys):
    d = run_json(capsys, "conv", "--input", "3x8x8", "--out", "4", "--kernel", "3", "--stride", "2")
    assert d["output"] == [4, 3, 3] and len(d["warnings"]) == 1  # (8 - 3)/2 + 1 = 3.5


@pytest.mark.parametrize("argv, message", [
    (["conv", "--input", "3x8x8", "--kernel", "3"], "conv needs --out"),
    (["maxpool", "--input", "3x8x8", "--kernel", "2", "--out", "3"], "--out does not apply to maxpool"),
    (["linear", "--input", "10", "--out", "3", "--kernel", "3"], "--kernel does not apply to linear"),
    (["conv", "--input", "3x8x8", "--out", "4", "--kernel", "0"], "--kernel must be >= 1"),
    (["conv", "--input", "3x8x8", "--out", "4", "--kernel", "99999999"], "at most 7 digits"),
    (["conv", "--input", "3xHxW", "--out", "4", "--kernel", "3"], "works on numbers"),
    (["warp", "--input", "3x8x8"], "unknown layer kind"),
    (["conv", "--input", "3x4x4", "--out", "2", "--kernel", "9"], "larger than the padded input"),
])
def test_bad_layers_are_one_line_errors(capsys, argv, message):
    assert main(["layer", *argv]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("archcalc: error: ") and message in err
