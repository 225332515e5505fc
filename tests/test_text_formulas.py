"""Symbolic results as text: shapes in brackets, long formulas named once and referenced in the
terminal table and Markdown, whole in CSV; the JSON gains ``conditions`` only when a join needs one.
Every name a rendering uses is checked against the formula it stands for."""

from __future__ import annotations

import csv
import io
import json
import re

import pytest

from archcalc import analyze, dims
from archcalc.cli import main
from archcalc.format import render_csv, render_json, render_markdown, render_table
from archcalc.graph import Builder
from archcalc.layers import Concat, Conv2d, MaxPool2d
from archcalc.renderers.terminal import build_view, render_terminal
from archcalc.text import FormulaText, count_formula, shape

pytest.importorskip("sympy")

H, W = dims.symbol("H"), dims.symbol("W")


@pytest.fixture(scope="module")
def vgg():
    return analyze("vgg16", input="3xHxW")


def _expand(expr, text: FormulaText):
    """``expr`` with every floor name replaced by what it stands for, until none is left."""
    back = {sym: atom for atom, sym in text._floors.names.items()}
    for _ in range(len(back) + 1):
        expr = expr.xreplace(back)
    return expr


def test_shapes_with_formulas_print_in_brackets_numeric_ones_as_before():
    assert shape((64, dims.floordiv(H, 4), dims.floordiv(W, 4))) == "[64, floor(H/4), floor(W/4)]"
    assert shape((3, 224, 224)) == "3x224x224"
    # in one symbolic rendering every shape is bracketed, the numeric ones too
    assert FormulaText().shape((512, 7, 7)) == "[512, 7, 7]"


def test_a_long_formula_names_its_floors_and_the_names_stand_for_the_parts(vgg):
    text = FormulaText(limit=40)
    flops = vgg.totals["flops"]
    short = text.value(flops, count_formula)
    assert "floor" not in short and len(short) < len(count_formula(flops)) / 2
    defs = dict(text.definitions)
    assert {"floor(H/32)", "floor(W/32)", "floor(H/2)"} <= set(defs.values()) and len(set(defs.values())) == len(defs)
    # the short text is the same formula: the names put back give the original expression
    assert dims.sympy().expand(_expand(text._floors.rewrite(flops), text) - flops) == 0
    # and it evaluates like the numeric analysis, at a size where every floor matters
    assert dims.evaluate(flops, {"H": 250, "W": 333}) == analyze("vgg16", input=(3, 250, 333)).totals["flops"]


def test_a_formula_too_long_for_a_cell_is_named_whole_once(vgg):
    text = FormulaText(limit=40, cap=40)
    avgpool_flops = vgg["avgpool"].flops
    first, again = text.value(avgpool_flops), text.value(avgpool_flops)
    assert first == again == "f1"
    assert [n for n, _ in text.definitions].count("f1") == 1
    assert text.value(H * W) == "H*W"  # short formulas untouched


def test_symbolic_vgg16_fits_80_columns_with_a_formulas_section(capsys, monkeypatch, vgg):
    monkeypatch.setenv("COLUMNS", "80")
    assert main(["vgg16", "--input", "3xHxW"]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert max(map(len, lines)) <= 80
    assert "input [3, H, W]" in lines[0]
    assert re.search(r"^features\.30 +\[512, floor\(H/32\), floor\(W/32\)\]", out, re.M)
    assert "formulas (the names above stand for these):" in out
    # each listed name is used above or by another listed formula, and each used name is listed
    section = out.split("formulas (the names above stand for these):")[1]
    listed = re.findall(r"^  ([a-z]+\d+) = ", section, re.M)
    body = out.split("formulas (the names above stand for these):")[0]
    used = set(re.findall(r"\b([hwf]\d+)\b", body))
    assert used and used <= set(listed)
    assert "f1" not in listed  # the avgpool FLOPs cell is in a column not shown at 80


def test_wide_terminal_references_whole_formulas_it_lists(vgg):
    out = render_terminal(vgg, width=250)
    row = next(line for line in out.splitlines() if line.startswith("avgpool"))
    assert " f1 " in row + " "
    assert re.search(r"^  f1 = ", out, re.M)
    assert max(map(len, out.splitlines())) <= 250


def test_markdown_and_plain_table_name_long_formulas(vgg):
    md = render_markdown(vgg)
    assert md.count("\n| features.") == 31 and "| [64, H, W] |" in md
    assert max(map(len, md.splitlines())) < 300  # was 2,307 (the FLOPs total)
    assert "| FLOPs | f2 (" in md and "\nf2 = 77,440*H*W + " in md  # named in the totals, defined below
    assert "```\nh1 = floor(H/32)\n" in md
    table = render_table(vgg)
    assert max(map(len, table.splitlines())) < 350 and "\n  h1 = floor(H/32)\n" in table


def test_csv_keeps_every_formula_whole_and_brackets_every_shape(vgg):
    rows = list(csv.DictReader(io.StringIO(render_csv(vgg))))
    assert len(rows) == len(vgg.layers)
    by = {r["name"]: r for r in rows}
    assert by["features.30"]["output_shape"] == "[512, floor(H/32), floor(W/32)]"
    assert by["avgpool"]["output_shape"] == "[512, 7, 7]"
    assert by["classifier.0"]["input_shape"] == "[25088]"
    assert not re.search(r"\b[hwf]\d+\b", by["avgpool"]["flops"])  # no name without its definition
    assert by["avgpool"]["flops"] == dims.format_dim(vgg["avgpool"].flops)


def test_numeric_tables_are_untouched():
    r = analyze("vgg16")
    assert "formulas" not in render_markdown(r) and "[" not in render_csv(r).split("\n", 2)[1]
    assert "input 3x224x224" in render_table(r)


def _joins(n: int):
    b = Builder("joins", input_shape=(4, 31, 31))
    x = b.input
    for i in range(n):  # ceil-mode pool beside a floor conv: their rows agree for odd sizes only
        x = b.add(Concat(), b.add(MaxPool2d(3, 2, ceil_mode=True), x), b.add(Conv2d(4 * 2 ** i, 3, 2), x))
    return b.build()


def test_json_has_conditions_only_when_a_join_needs_one(vgg):
    assert "conditions" not in json.loads(render_json(vgg))
    d = analyze(_joins(2), input=(4, "H", "W")).to_dict()
    # two stages of (x - 1)/2, each odd: x = 3 (mod 4)
    assert d["conditions"] == {"H": {"text": "H = 3 (mod 4)", "modulus": 4, "residues": [3]},
                               "W": {"text": "W = 3 (mod 4)", "modulus": 4, "residues": [3]}}
    for h in (7, 11):
        assert analyze(_joins(2), input=(4, h, h)).totals["macs"] == \
            dims.evaluate(analyze(_joins(2), input=(4, "H", "W")).totals["macs"], {"H": h, "W": h})


def test_names_never_take_a_symbol_of_the_result():
    r = analyze("vgg16", input="3xHxh1")  # the width is called h1, the first name H's floors would get
    out = render_terminal(r, width=100)
    defs = dict(re.findall(r"^  (\w+) = (.*)$", out.split("formulas (the names above")[1], re.M))
    assert "h1" not in defs and defs["h2"] == "floor(H/32)" and defs["h1_1"] == "floor(h1/32)"


@pytest.mark.parametrize("model, width", [("efficientnet_b0", 60), ("resnet50", 100), ("faster_rcnn_vgg16", 60),
                                          ("vgg16", 160)])
def test_every_name_shown_is_defined_and_every_line_fits(model, width):
    r = analyze(model, input=None if model == "faster_rcnn_vgg16" else "3xHxW")
    depth = 1 if model == "resnet50" else None
    out = render_terminal(r, width=width, depth=depth)
    assert max(map(len, out.splitlines())) <= width
    body, _, section = out.partition("formulas (the names above stand for these):")
    listed = dict(re.findall(r"^  (\w+) = (.*)$", section, re.M))
    every = [n for n, _ in build_view(r, depth=depth).formulas]  # all the names the cells and totals took

    def mentions(text):
        return {n for n in every if re.search(rf"(?<![\w.]){n}(?![\w.])", text)}

    # each name shown is defined; each definition is shown because something shown uses it
    assert mentions(body) <= set(listed)
    assert set(listed) <= mentions(body) | set().union(*(mentions(t) for t in listed.values()))
