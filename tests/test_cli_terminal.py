"""The fitted terminal view: golden files at 80 and 120 columns, no line wider than COLUMNS at
any width, compact units vs --exact, the module tree's subtotals, colour only when asked.

Regenerate the golden files after an intended change with ``ARCHCALC_REGOLD=1 pytest tests/test_cli_terminal.py``.
"""

from __future__ import annotations

import os
import pathlib

import pytest

from archcalc import analyze
from archcalc.cli import main
from archcalc.renderers.terminal import render_terminal, tree_rows

GOLDEN = pathlib.Path(__file__).parent / "golden" / "terminal"
CASES = [("vgg16", []), ("resnet50", ["--depth", "2"]), ("resnet50", []), ("mobilenet_v2", ["--depth", "1", "--exact"]),
         ("faster_rcnn_vgg16", ["--depth", "1"])]


def cli_text(capsys, monkeypatch, columns, argv, no_color=False):
    monkeypatch.setenv("COLUMNS", str(columns))
    if no_color:
        monkeypatch.setenv("NO_COLOR", "1")
    else:
        monkeypatch.delenv("NO_COLOR", raising=False)
    assert main(argv) == 0
    return capsys.readouterr().out


@pytest.mark.parametrize("columns", [80, 120])
@pytest.mark.parametrize("model, flags", CASES, ids=[" ".join([m, *f]) for m, f in CASES])
def test_golden_terminal_output(capsys, monkeypatch, columns, model, flags):
    text = cli_text(capsys, monkeypatch, columns, [model, *flags])
    path = GOLDEN / f"{model}{''.join(flags).replace('--', '_')}@{columns}.txt"
    if os.environ.get("ARCHCALC_REGOLD"):
        path.write_text(text, encoding="utf-8")
    assert text == path.read_text(encoding="utf-8"), f"{path.name} differs; regenerate with ARCHCALC_REGOLD=1"
    assert max(map(len, text.splitlines())) <= columns


@pytest.mark.parametrize("columns", [1, 10, 24, 40, 60, 79, 100, 200])
@pytest.mark.parametrize("argv", [["resnet50"], ["efficientnet_b0", "--depth", "3"], ["vgg16", "--tally"],
                                  ["inception_v3", "--exact"], ["list", "--no-costs"], ["compare", "vgg16", "lenet5",
                                                                                       "--no-accuracy"]])
def test_no_line_exceeds_columns(capsys, monkeypatch, columns, argv):
    text = cli_text(capsys, monkeypatch, columns, argv)
    too_wide = [line for line in text.splitlines() if len(line) > columns]
    assert not too_wide, too_wide[:3]


def test_compact_units_by_default_and_exact_on_request(capsys, monkeypatch):
    text = cli_text(capsys, monkeypatch, 200, ["vgg16"])
    assert "15,470,264,320 = 15.47 G" in text and "138,357,544 = 138.4 M" in text
    assert "1.850 G" in text  # features.2: 64x224x224 outputs x 64x3x3 = 1,849,688,064 MACs
    exact = cli_text(capsys, monkeypatch, 200, ["vgg16", "--exact"])
    assert f"{224 * 224 * 64 * 64 * 3 * 3:,}" in exact and " G" not in exact.split("\n\n")[1]


def test_depth_subtotals_add_up_and_share_is_of_the_total():
    r = analyze("resnet50")
    rows = {row.cells["layer"].strip(): row for row in tree_rows(r, 1, exact=True)}
    assert rows["layer1"].group and rows["layer1"].cells["kind"] == "module (32 layers)"
    layer1 = [x for x in r.layers if x.name.startswith("layer1.")]
    assert rows["layer1"].cells["macs"] == f"{sum(x.macs for x in layer1):,}"
    assert rows["layer1"].cells["params"] == f"{sum(x.params for x in layer1):,}"
    assert rows["layer1"].cells["share"] == f"{100 * sum(x.macs for x in layer1) / r.totals['macs']:.1f}%"
    # depth 1 folds every block; the top-level rows' MACs add up to the total
    assert sum(int(row.cells["macs"].replace(",", "")) for row in rows.values()) == r.totals["macs"]
    deeper = [row.cells["layer"].strip() for row in tree_rows(r, 2, exact=True)]
    assert "layer1.0" in deeper and "layer1.0.conv1" not in deeper
    assert tree_rows(r, 0, exact=True) == []


def test_depth_zero_prints_totals_only(capsys, monkeypatch):
    text = cli_text(capsys, monkeypatch, 120, ["vgg16", "--depth", "0"])
    assert "features" not in text.split("params:")[0] and "MACs: 15,470,264,320 = 15.47 G" in text


def test_each_warning_prints_once_in_a_warnings_section(tmp_path, capsys, monkeypatch):
    spec = tmp_path / "lossy.yaml"
    spec.write_text("input: 3x8x8\nlayers:\n  - {name: c, kind: Conv2d, out_channels: 4, kernel_size: 3, stride: 2}\n")
    text = cli_text(capsys, monkeypatch, 120, [str(spec)])
    section = text.split("warnings (1):")[1]
    assert section.count("c: stride 2 leaves the last 1 input rows and columns unread") == 1
    assert text.count("leaves the last") == 1  # the table only points at it
    assert "see warnings" in text


def test_colour_only_when_asked_or_on_a_tty(capsys, monkeypatch):
    plain = cli_text(capsys, monkeypatch, 120, ["lenet5"])
    assert "\x1b[" not in plain  # piped (capsys is not a TTY): byte-stable, no codes
    coloured = cli_text(capsys, monkeypatch, 120, ["lenet5", "--color", "always"])
    assert "\x1b[1m" in coloured
    import re

    assert re.sub(r"\x1b\[[0-9;]*m", "", coloured) == plain  # colour adds codes, never changes the text
    import sys

    monkeypatch.setattr(sys.stdout, "isatty", lambda: True, raising=False)
    assert "\x1b[1m" in cli_text(capsys, monkeypatch, 120, ["lenet5"])  # a terminal: colour
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True, raising=False)
    assert "\x1b[" not in cli_text(capsys, monkeypatch, 120, ["lenet5"], no_color=True)  # NO_COLOR wins


def test_render_terminal_is_stable_across_calls():
    r = analyze("googlenet")
    assert render_terminal(r, 100) == render_terminal(r, 100)


@pytest.mark.parametrize("fmt", ["json", "csv"])
def test_machine_formats_are_byte_identical_to_before_the_split(capsys, monkeypatch, fmt):
    # tests/golden/vgg16.{json,csv}: written by the pre-split archcalc (commit a745b9c); VGG-16 has
    # no warnings under either rule, so any difference is the renderer's
    text = cli_text(capsys, monkeypatch, 80, ["vgg16", "--format", fmt])
    assert text == (GOLDEN.parent / f"vgg16.{fmt}").read_text(encoding="utf-8")
