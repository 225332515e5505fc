"""Reports of models whose figures are formulas: a symbolic input, a symbolic batch, a symbolic
layer field (the RoI count ``R`` of the detection heads), a symbolic second input (the caption
length ``T``). The report never fails: what needs numbers names the symbols to set."""

from __future__ import annotations

import re
import textwrap

import pytest

from archcalc import analyze
from archcalc.cli import main

pytest.importorskip("jinja2")
pytest.importorskip("sympy")

#: zoo model -> the symbols its report must ask for (the zoo docstrings say which are symbolic)
SYMBOLIC_ZOO = {"faster_rcnn_vgg16": ["R"], "fasterrcnn_resnet50_fpn": ["R"], "mask_rcnn_heads": ["D", "R"],
                "show_and_tell": ["T"]}


@pytest.mark.parametrize("model", sorted(SYMBOLIC_ZOO))
def test_cli_markdown_report_of_symbolic_zoo_models(model, capsys):
    assert main([model, "--report", "md"]) == 0
    out = capsys.readouterr().out
    names = SYMBOLIC_ZOO[model]
    setting = ", ".join(f"{n}=..." for n in names)
    # the peaks need numbers; the report says which symbol to set, and that only Python can set it
    assert f"which needs numbers: set {', '.join(names)} with Result.substitute({setting}) in Python." in out
    assert "--input/--batch" not in out  # R and T are not input sizes: --input cannot bind them


def test_html_report_and_notebook_of_a_detection_model():
    r = analyze("faster_rcnn_vgg16")
    h = r.report("html")
    assert "No charts: the figures are formulas in R" in h and "<svg" not in h
    assert h.count('<tr data-index="') == len(r.layers)
    # the MACs formula appears in the totals table once; the card only names its symbols
    # R RoIs x the per-RoI fc6/fc7/heads MACs + the shared backbone, coefficients grouped
    macs = f"{119967744:,}*R + {188637124608:,}"
    assert h.count(macs) == 1
    assert '<div class="v">f(R)</div><div class="n">MACs</div>' in h
    assert "Result.substitute(R=...)" in r._repr_html_()


def test_substituting_the_symbol_gives_the_full_report():
    r = analyze("faster_rcnn_vgg16").substitute(R=300)
    h = r.report("html")
    assert "No charts" not in h and "inference peak" in h
    # 300 RoIs: per-RoI MACs times R plus the backbone, as in the formula above
    assert r.totals["macs"] == 119967744 * 300 + 188637124608


def test_spec_with_a_symbolic_second_input(tmp_path, capsys):
    spec = tmp_path / "two_inputs.yaml"
    spec.write_text(textwrap.dedent("""\
        name: two_inputs
        input: 3x8x8
        layers:
          - {name: conv, kind: Conv2d, out_channels: 4, kernel_size: 3, padding: 1}
          - {name: side, kind: Input, shape: Lx8x8}
          - {name: cat, kind: Concat, axis: 0, inputs: [conv, side]}
        """), encoding="utf-8")
    for fmt in ("md", "html"):
        assert main([str(spec), "--report", fmt]) == 0
        out = capsys.readouterr().out
        assert "set L with Result.substitute(L=...) in Python" in out


def test_symbolic_input_report_names_its_formulas_once():
    r = analyze("resnet50", input="3xHxW")
    h = r.report("html")
    assert 'class="archcalc symbolic"' in h  # formulas wrap in monospace (see _style.css)
    assert '<div class="v">f(H, W)</div><div class="n">MACs</div>' in h
    from archcalc.dims import format_dim

    assert h.count(format_dim(r.totals["macs"])) == 1


@pytest.mark.slow  # 112 models: about 5 s of CPU (the four symbolic ones above are CI's slice)
def test_every_zoo_model_has_a_markdown_report_and_a_notebook_view():
    from archcalc.zoo import names

    failed = {}
    for name in names():
        r = analyze(name)
        try:
            md = r.report("md")
            nb = r._repr_html_()
        except Exception as e:  # noqa: BLE001 - collect every failure, then report them together
            failed[name] = f"{type(e).__name__}: {e}"
            continue
        assert md.startswith(f"# {name}") and f"**layers** {len(r.layers)}" in md, name
        assert f"All {len(r.layers)} layers" in nb, name
    assert not failed, failed


@pytest.mark.heavy  # every zoo model's HTML report with its charts: minutes; run by hand (-m heavy)
def test_every_zoo_model_has_an_html_report():
    from archcalc.zoo import names

    for name in names():
        h = analyze(name).report("html")
        # four charts (and the folded per-layer cost chart for 61-600 costly layers), or none with the reason
        assert h.count("<svg") in (0, 4, 5), name
        assert h.count("<svg") >= 4 or "No charts: the figures are formulas in" in h, name


def test_notebook_ranks_the_layers_whose_macs_are_numbers():
    h = analyze("faster_rcnn_vgg16")._repr_html_()
    assert "Top 8 layers by MACs (of those whose MACs are numbers)" in h
    # the four RoI-head layers run once per RoI: their MACs are multiples of R
    assert ("Not ranked: 4 layers with MACs that are formulas (roi_heads.box_head.0, roi_heads.box_head.3, "
            "roi_heads.box_predictor.cls_score, roi_heads.box_predictor.bbox_pred); set R with") in h
