"""Reports in a real browser at 1,400 px: VGG-16, ResNet-50, a symbolic input, a detection model
(symbolic RoI count) and a 10,000-layer network. A probe script appended to each page reads the
rendered DOM: nothing sticks out past the page width (wide tables scroll inside their box), every
chart has titled axes, the first click on a numeric heading sorts largest first, no script error
and no console message. Screenshots go to ``ARCHCALC_SCREENSHOTS`` (the checked-in ones under
reports/screenshots/ were made with ``ARCHCALC_SCREENSHOTS=reports/screenshots``), else pytest's tmp.
The comparison of 12 models (one with symbolic totals) goes through the same probe.
"""

from __future__ import annotations

import html
import json
import os
import re
import sys
from pathlib import Path

import pytest

from conftest import require
from test_report_browser import _chromium, _console_messages, FLAGS

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
WIDTH = 1400

PROBE = r"""<script>
(function () {
  var out = {errors: document.documentElement.getAttribute("data-archcalc-error") || ""};
  var W = window.innerWidth;
  out.innerWidth = W;
  out.scrollWidth = document.documentElement.scrollWidth;
  out.wide = [];
  document.querySelectorAll(".archcalc *").forEach(function (el) {
    if (el.closest(".scroll") || el.closest("svg")) { return; }  // scroll boxes clip; svg scales
    var r = el.getBoundingClientRect();
    if (r.width > 0 && r.right > W + 1) { out.wide.push(el.tagName + "." + el.className + " " + Math.round(r.right)); }
  });
  out.wide = out.wide.slice(0, 5);
  out.charts = [];
  document.querySelectorAll("figure.chart svg").forEach(function (svg) {
    function titled(kind) {
      return Array.prototype.some.call(svg.querySelectorAll('[id*="-' + kind + '"]'), function (g) {
        return g.textContent.trim() !== "" || g.querySelector("text, use, path") !== null;
      });
    }
    var box = svg.getBoundingClientRect();
    out.charts.push({x: titled("xlabel"), y: titled("ylabel"), width: Math.round(box.width)});
  });
  out.contentWidth = Math.round(document.querySelector(".archcalc").getBoundingClientRect().width);
  var table = document.querySelector("table.sortable");
  var heads = table.querySelectorAll("thead th");
  var col = -1;
  heads.forEach(function (th, i) { if (th.textContent.trim() === "MACs") { col = i; } });
  heads[col].click();
  out.ariaSort = heads[col].getAttribute("aria-sort");
  out.sorted = Array.prototype.map.call(table.tBodies[0].rows, function (r) {
    return r.cells[col].getAttribute("data-sort");
  });
  document.documentElement.setAttribute("data-probe", JSON.stringify(out));
})();
</script>"""


def _page(name):
    from archcalc import analyze

    if name == "vgg16":
        return analyze("vgg16")
    if name == "resnet50":
        return analyze("resnet50")
    if name == "symbolic":
        return analyze("resnet50", input="3xHxW")
    if name == "detection":
        return analyze("faster_rcnn_vgg16")
    from synthetic import synthetic

    return analyze(synthetic(10000))


# CI's slice: VGG-16, the symbolic and the detection page (about 5-9 s each); ResNet-50 and the
# 10,000-layer page run with the slow tests
CASES = ["vgg16", pytest.param("resnet50", marks=pytest.mark.slow), "symbolic", "detection",
         pytest.param("synthetic10000", marks=pytest.mark.slow)]


def _open(page: str, name: str, tmp_path):
    """Open ``page`` with the probe at 1,400 px; save a screenshot; return the probe's findings."""
    import subprocess

    exe = _chromium()
    probed = tmp_path / f"{name}.html"
    probed.write_text(page.replace("</body>", PROBE + "\n</body>"), encoding="utf-8")
    base = [exe, *FLAGS, f"--user-data-dir={tmp_path / 'profile'}", f"--window-size={WIDTH},1000"]
    proc = subprocess.run([*base, "--dump-dom", probed.as_uri()], capture_output=True, text=True, timeout=180)
    assert proc.returncode == 0, proc.stderr[-2000:]
    tag = re.search(r"<html\b[^>]*>", proc.stdout).group(0)
    probe = json.loads(html.unescape(re.search(r'data-probe="([^"]*)"', tag).group(1)))
    assert _console_messages(proc.stderr) == [] and not probe["errors"]
    # nothing wider than the window: the page never scrolls sideways; wide tables scroll in their box
    assert probe["scrollWidth"] <= probe["innerWidth"] == WIDTH and probe["wide"] == [], probe["wide"]
    for chart in probe["charts"]:
        assert chart["x"] and chart["y"], chart  # every chart titles both axes
        assert chart["width"] == probe["contentWidth"] - 32  # full column width (16 px padding each side)
    # the first click on MACs sorts largest first
    assert probe["ariaSort"] == "descending"
    shots = Path(os.environ.get("ARCHCALC_SCREENSHOTS") or tmp_path)
    shots.mkdir(parents=True, exist_ok=True)
    shot = shots / f"{name}.png"
    plain = tmp_path / f"{name}-plain.html"
    plain.write_text(page, encoding="utf-8")
    subprocess.run([*base[:-1], f"--window-size={WIDTH},2400", f"--screenshot={shot}", plain.as_uri()],
                   capture_output=True, text=True, timeout=180, check=True)
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    return probe


def _numbers(values):
    return [float(v) for v in values if v is not None and re.fullmatch(r"-?\d+", v)]


@pytest.mark.parametrize("name", CASES)
def test_report_in_the_browser(name, tmp_path):
    require("jinja2")
    require("matplotlib")
    if name in ("symbolic", "detection"):
        require("sympy")
    result = _page(name)
    page = result.report("html")
    probe = _open(page, f"report-{name}", tmp_path)
    symbolic = name in ("symbolic", "detection")
    if symbolic:
        assert probe["charts"] == [] and "No charts: the figures are formulas in" in page
    else:
        assert len(probe["charts"]) == 4
    numbers = _numbers(probe["sorted"])
    assert numbers == sorted(numbers, reverse=True) and len(numbers) > (0 if symbolic else len(result.layers) // 2)
    if not symbolic:
        assert numbers[0] == max(r.macs for r in result.layers)


def test_compare_in_the_browser(tmp_path):
    require("jinja2")
    require("matplotlib")
    from archcalc.report import compare

    models = ["lenet5", "alexnet", "vgg16", "googlenet", "resnet50", "mobilenet_v2", "efficientnet_b0",
              "resnet18", "resnet101", "densenet121", "squeezenet1_0", "faster_rcnn_vgg16"]
    c = compare(models)
    probe = _open(c.report("html"), "compare-12", tmp_path)
    assert len(probe["charts"]) == 1  # the scatter (two panels), axes titled, full width
    numbers = _numbers(probe["sorted"])
    assert numbers == sorted(numbers, reverse=True) and numbers[0] == max(
        r["macs_value"] for r in c.rows if isinstance(r["macs_value"], int))

NB_PROBE = r"""<script>
(function () {
  var hint = document.querySelector(".sort-hint");
  var table = document.querySelector("table.tree");
  var th = Array.prototype.filter.call(table.querySelectorAll("thead th"), function (h) {
    return h.textContent.trim() === "MACs"; })[0];
  var col = Array.prototype.indexOf.call(th.parentNode.children, th);
  th.click();
  document.documentElement.setAttribute("data-probe", JSON.stringify({
    hintShown: !hint.hidden, ariaSort: th.getAttribute("aria-sort"),
    sorted: Array.prototype.map.call(table.tBodies[0].rows, function (r) { return Number(r.cells[col].getAttribute("data-sort")); })
  }));
})();
</script>"""


@pytest.mark.parametrize("scripts", [True, False])
def test_notebook_view_sorts_where_scripts_run_and_promises_nothing_where_they_do_not(scripts, tmp_path):
    require("jinja2")
    import subprocess

    from archcalc import analyze

    exe = _chromium()
    result = analyze("resnet50")
    fragment = result._repr_html_()
    if not scripts:  # what an untrusted notebook's sanitizer does: scripts removed, the rest kept
        fragment = re.sub(r"<script>.*?</script>", "", fragment, flags=re.S)
    page = tmp_path / "nb.html"
    probe = NB_PROBE if scripts else ""
    page.write_text(f"<!DOCTYPE html><html><body>{fragment}{probe}</body></html>", encoding="utf-8")
    proc = subprocess.run([exe, *FLAGS, f"--user-data-dir={tmp_path / 'profile'}", "--dump-dom",
                           page.as_uri()], capture_output=True, text=True, timeout=180, check=True)
    assert _console_messages(proc.stderr) == []
    if not scripts:  # a front-end that runs no script: a plain table, the sorting hint still hidden
        assert "data-archcalc-ready" not in proc.stdout and '<span class="sort-hint" hidden="">' in proc.stdout
        return
    tag = re.search(r"<html\b[^>]*>", proc.stdout).group(0)
    probe = json.loads(html.unescape(re.search(r'data-probe="([^"]*)"', tag).group(1)))
    assert probe["hintShown"] and probe["ariaSort"] == "descending"
    assert probe["sorted"] == sorted(probe["sorted"], reverse=True)
    # the largest subtotal is a top-level stage's: the sum over its layers, computed here
    stages = {r.name.split(".")[0] for r in result.layers}
    assert probe["sorted"][0] == max(sum(r.macs for r in result.layers if r.name.split(".")[0] == s) for s in stages)
