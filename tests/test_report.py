"""Reports: HTML and Markdown content, escaping, atomic writes, the CLI, the notebook API."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

import archcalc
from archcalc import Builder, analyze
from archcalc.cli import main
from archcalc.layers import Conv2d, Flatten, Linear, MaxPool2d, ReLU

ROOT = Path(__file__).resolve().parents[1]

try:  # the report extra; in CI its absence is an error, never a skip
    import jinja2  # noqa: F401
except ImportError:
    from conftest import IN_CI

    if IN_CI:
        raise
    pytest.skip("jinja2 not installed (install archcalc[report])", allow_module_level=True)

#: A layer name that would run script, close attributes and break tables if it were not escaped.
HOSTILE = "<script>document.documentElement.setAttribute('data-pwned','1')</script>\"'|`$x$`"


def hostile_result():
    b = Builder("evil<b>net</b>", input_shape=(3, 32, 32))
    x = b.add(Conv2d(8, 3, padding=1), b.input, name=HOSTILE)
    x = b.add(ReLU(True), x, name="relu")
    x = b.add(MaxPool2d(2, 2), x, name="pool'\"")
    x = b.add(Flatten(), x, name="flatten")
    b.add(Linear(10), x, name="fc|x")
    return analyze(b.build())


@pytest.fixture(scope="module")
def vgg16():
    return analyze("vgg16")


@pytest.fixture(scope="module")
def vgg16_html(vgg16):
    return vgg16.report("html")


def test_vgg16_html_has_header_totals_table_charts_and_tally(vgg16, vgg16_html):
    h = vgg16_html
    assert h.startswith("<!DOCTYPE html>")
    assert "Simonyan &amp; Zisserman 2015, Table 1 config D" in h  # source citation, escaped
    assert "3x224x224" in h and "<b>batch</b> 1" in h and "<b>dtype</b> fp32" in h
    assert "bias not counted" in h  # the convention travels with the numbers
    assert "138,357,544" in h and "15,470,264,320" in h  # totals
    # one sortable row per layer
    assert h.count('<tr data-index="') == len(vgg16.layers)
    assert 'class="layers sortable"' in h
    # four inline SVG charts, no external resources
    assert h.count("<svg") == 4 and h.count("</svg>") == 4
    # VGG-16's FC layers hold 123.6M of 138.4M params: 25088*4096+4096 + 4096*4096+4096 + 4096*1000+1000
    fc = 25088 * 4096 + 4096 + 4096 * 4096 + 4096 + 4096 * 1000 + 1000
    assert fc == 123_642_856
    assert f"<td>Linear</td><td class=\"num\">3</td><td class=\"num\">{fc:,}</td><td class=\"num\">89.4%</td>" in h
    # the cs231n tally with its honest total: sum of its rows, not the often-printed 24M
    assert "TOTAL memory: 15,237,608 elements x 4 bytes = 60,950,432 bytes" in h
    assert "&#39;24M x 4 bytes ~ 96MB / image&#39; is not the sum of its own rows" in h


def test_html_is_self_contained(vgg16_html):
    assert "<link" not in vgg16_html and "@import" not in vgg16_html and " src=" not in vgg16_html
    urls = set(re.findall(r"https?://[^\s\"'<>)]+", vgg16_html))
    # only XML namespaces of the inline SVG (and RDF metadata), never something fetched
    assert urls <= {"http://www.w3.org/2000/svg", "http://www.w3.org/1999/xlink",
                    "http://purl.org/dc/elements/1.1/", "http://creativecommons.org/ns#",
                    "http://www.w3.org/1999/02/22-rdf-syntax-ns#", "http://purl.org/dc/dcmitype/StillImage"}, urls


def test_svg_ids_are_unique_across_charts(vgg16_html):
    ids = re.findall(r'\bid="([^"]+)"', vgg16_html)
    assert len(ids) == len(set(ids))


def _md_cells(line):
    return re.split(r"(?<!\\)\|", line.strip())[1:-1]


def test_markdown_tables_are_well_formed(vgg16):
    md = vgg16.report("md")
    assert md.startswith("# vgg16 (VGG, configuration D)\n")
    lines = md.splitlines()
    head = lines.index("| # | layer | kind | config | input | output | params | MACs | FLOPs | activations "
                       "| bytes | RF | notes / warnings |")
    rows = [ln for ln in lines[head + 2:] if ln.startswith("|")]
    rows = rows[:len(vgg16.layers)]
    assert len(rows) == len(vgg16.layers)
    assert all(len(_md_cells(r)) == 13 for r in rows)
    # column sums equal the totals
    assert sum(int(_md_cells(r)[6].replace(",", "")) for r in rows) == vgg16.totals["params"]
    assert sum(int(_md_cells(r)[7].replace(",", "")) for r in rows) == vgg16.totals["macs"]
    assert "| Linear | 3 | 123,642,856 | 89.4% |" in md
    assert "TOTAL memory: 15,237,608 elements" in md  # tally in a code block
    assert "<svg" not in md


def test_hostile_names_render_as_text():
    r = hostile_result()
    h = r.report("html")
    assert "<script>document" not in h
    assert "&lt;script&gt;document.documentElement.setAttribute(&#39;data-pwned&#39;,&#39;1&#39;)" in h
    assert "evil&lt;b&gt;net&lt;/b&gt;" in h and "<b>net</b>" not in h
    assert 'pool&#39;&#34;' in h
    # exactly the product's own two script blocks (error hook, sort) and tables intact
    assert h.count("<script>") == 2
    assert h.count('<tr data-index="') == len(r.layers)
    # chart labels go through matplotlib's XML escaping, and $x$ is not mathtext
    svgs = re.findall(r"<svg\b.*?</svg>", h, re.S)
    assert svgs and all("<script" not in s for s in svgs)
    assert any("&lt;script&gt;" in s for s in svgs)
    md = r.report("md")
    row = next(ln for ln in md.splitlines() if "data-pwned" in ln)
    assert len(_md_cells(row)) == 13  # the name's | is escaped, the table survives
    # inside a code span (fence longer than the name's own backtick run, padded): shown as text
    assert _md_cells(row)[1].strip() == "`` " + HOSTILE.replace("|", "\\|") + " ``"


def test_markdown_code_span_and_escapes():
    from archcalc.report import _code, _md

    assert _code("layer1.0.conv1") == "`layer1.0.conv1`"
    assert _code("a`b") == "``a`b``"
    assert _code("`x") == "`` `x ``"
    assert _code("a|b") == "`a\\|b`"
    assert _md("<b>|x*") == "\\<b\\>\\|x\\*"


def test_symbolic_report_has_tables_not_charts():
    pytest.importorskip("sympy")
    r = analyze("lenet5_modern", input="1xHxW", batch="N")
    h = r.report("html")
    assert "<svg" not in h and "the sizes are symbolic" in h
    assert h.count('<tr data-index="') == len(r.layers)
    md = r.report("md")
    assert "`1xHxW`" in md and "`N`" in md


def test_report_writes_atomically_and_refuses_to_overwrite(tmp_path, vgg16, monkeypatch):
    from archcalc.report import OutputExistsError, save

    path = tmp_path / "r.md"
    path.write_text("keep me")
    with pytest.raises(OutputExistsError):
        vgg16.report("md", path=path)
    assert path.read_text() == "keep me"
    # a failure while replacing leaves the old file and no temp file behind
    def boom(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(archcalc.ArchcalcError, match="cannot write .*disk full"):
        save("new", path, force=True)
    monkeypatch.undo()
    assert path.read_text() == "keep me"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.md"]
    text = vgg16.report("md", path=path, force=True)
    assert path.read_text() == text
    assert oct(path.stat().st_mode & 0o777) != oct(0o600)  # not mkstemp's private mode


def test_cli_report_output_force_and_errors(tmp_path, capsys):
    out = tmp_path / "lenet.md"
    assert main(["lenet5", "--report", "md", "-o", str(out)]) == 0
    first = out.read_text()
    assert first.startswith("# lenet5 (LeNet")
    assert main(["lenet5", "--report", "md", "-o", str(out)]) == 2
    assert "exists; pass --force" in capsys.readouterr().err
    assert main(["lenet5", "--report", "md", "-o", str(out), "--force", "--batch", "2"]) == 0
    assert out.read_text() != first and "**batch** `2`" in out.read_text()
    # bad model: exit 2, one line, nothing written
    missing = tmp_path / "nope.html"
    capsys.readouterr()
    assert main(["nosuchnet", "--report", "html", "-o", str(missing)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "unknown model" in err
    assert not missing.exists()
    assert main(["lenet5", "--report", "md", "-o", str(tmp_path / "no" / "such.md")]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert not missing.exists()
    assert list(tmp_path.iterdir()) == [out]
    assert main(["lenet5", "-o", str(out)]) == 2  # -o takes every format now; still no clobbering
    assert out.read_text() != first and "**batch** `2`" in out.read_text()


def test_cli_report_to_stdout(capsys):
    assert main(["lenet5", "--report", "md"]) == 0
    assert capsys.readouterr().out.startswith("# lenet5")


def test_cli_compare_markdown(capsys):
    assert main(["compare", "lenet5", "alexnet", "--report", "md", "--no-accuracy"]) == 0
    out = capsys.readouterr().out
    lenet, alex = analyze("lenet5").totals, analyze("alexnet").totals
    assert f"| `lenet5` | LeNet | 1x32x32 | {lenet['params']:,} | {lenet['macs']:,} |" in out
    assert f"| `alexnet` | AlexNet | 3x224x224 | {alex['params']:,} | {alex['macs']:,} |" in out
    assert main(["compare", "lenet5", "nosuchnet"]) == 2


def test_compare_html_has_scatter_and_rows():
    from archcalc.report import compare

    c = compare(["lenet5", "alexnet", "vgg16"], accuracy=False)
    h = c.report("html")
    assert h.count("<svg") == 1 and "cost: MACs vs params" in h
    assert h.count('<tr data-index="') == 3
    assert c._repr_html_().startswith("<style>")


def test_compare_top1_from_torchvision_weights_meta(torchvision):
    from torchvision.models import GoogLeNet_Weights, VGG16_Weights

    from archcalc.report import compare

    c = compare(["vgg16", "googlenet_aux", "lenet5"])
    vgg, aux, lenet = c.rows
    assert vgg["top1"] == VGG16_Weights.IMAGENET1K_V1.meta["_metrics"]["ImageNet-1K"]["acc@1"]
    assert vgg["weights"] == "VGG16_Weights.IMAGENET1K_V1"
    # the aux-head training net has more params than the published weights: no accuracy claimed
    assert aux["top1"] is None and f"{GoogLeNet_Weights.IMAGENET1K_V1.meta['num_params']:,}" in aux["top1_note"]
    assert lenet["top1"] is None and lenet["top1_note"] == "no torchvision counterpart"
    df = c.to_dataframe()
    assert str(df["top1"].dtype) == "Float64" and df["top1"].isna().tolist() == [False, True, True]


def test_to_dataframe_is_typed_and_sums_to_totals(vgg16):
    pd = pytest.importorskip("pandas")
    df = vgg16.to_dataframe()
    assert len(df) == len(vgg16.layers) and list(df["name"]) == [r.name for r in vgg16.layers]
    for col in ("params", "macs", "flops", "activations", "activation_bytes", "rf_h"):
        assert df[col].dtype == "int64", col
    assert df["name"].dtype == pd.StringDtype()
    assert int(df["params"].sum()) == vgg16.totals["params"]
    assert int(df["macs"].sum()) == vgg16.totals["macs"]
    assert int(df["activation_bytes"].sum()) == vgg16.totals["activation_bytes"]
    assert df.loc[df["name"] == "classifier.0", "params"].item() == 25088 * 4096 + 4096


def test_to_dataframe_symbolic_keeps_expressions():
    sympy = pytest.importorskip("sympy")
    df = analyze("lenet5_modern", input="1xHxW").to_dataframe()
    assert df["macs"].dtype == object
    H, W = sympy.symbols("H W", integer=True, positive=True)
    expr = df["macs"].iloc[1]
    assert isinstance(expr, sympy.Expr) and expr.free_symbols <= {H, W} and expr.free_symbols


def test_repr_html_is_a_fragment():
    r = analyze("lenet5_modern")
    h = r._repr_html_()
    assert "<html" not in h and "<!DOCTYPE" not in h
    assert h.startswith("<style>") and h.count('<tr data-index="') == len(r.layers) and "<svg" in h


def test_unknown_format_is_a_clear_error(vgg16):
    with pytest.raises(archcalc.ArchcalcError, match="unknown report format 'pdf'"):
        vgg16.report("pdf")


def test_heavy_modules_load_only_when_a_report_is_made():
    code = ("import sys, archcalc; r = archcalc.analyze('vgg16'); repr(r); "
            "heavy = {'jinja2', 'pandas', 'matplotlib', 'torch'} & set(sys.modules); "
            "assert not heavy, heavy; r.report('md'); assert 'jinja2' in sys.modules; "
            "assert 'matplotlib' not in sys.modules and 'pandas' not in sys.modules")
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    subprocess.run([sys.executable, "-c", code], check=True, env=env, cwd=ROOT)


def test_vgg16_report_explains_three_memory_figures():
    # issue 6: sum of outputs vs peak vs training, each computed (archcalc.memory), not written in
    from archcalc.memory import inference_memory, sum_of_outputs_bytes, training_memory

    r = archcalc.analyze("vgg16", batch=32)
    text = r.report("md")
    assert 'Three different "memory" figures' in text
    for n in (sum_of_outputs_bytes(r), inference_memory(r).peak_bytes,
              training_memory(r, optimizer="sgd").peak_bytes, training_memory(r, optimizer="adam").peak_bytes):
        assert f"{n / 2**20:,.1f} MiB" in text
    assert sum_of_outputs_bytes(r) > inference_memory(r).peak_bytes - inference_memory(r).weight_bytes
