"""reports/ holds generated examples; they must match what the current code renders.

Regenerate with ``python -m archcalc.report.examples`` (needs torchvision for the compare's top-1).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import require

REPORTS = Path(__file__).resolve().parents[1] / "reports"


@pytest.fixture(scope="module")
def fresh():
    require("jinja2")
    require("matplotlib")
    require("torchvision")  # the checked-in compare carries torchvision's published top-1
    from archcalc.report.examples import generate

    return generate()


def test_checked_in_examples_are_current(fresh):
    from archcalc.report.examples import stale

    assert set(fresh) == {"vgg16.html", "vgg16.md", "resnet50.html", "resnet50.md",
                          "compare_classic.html", "compare_classic.md"}
    bad = stale(REPORTS, fresh)
    assert not bad, f"stale example reports {bad}: run `python -m archcalc.report.examples` and commit"


def test_rendering_is_deterministic(fresh):
    from archcalc.analysis import analyze
    from archcalc.report import render_report

    assert render_report(analyze("vgg16"), "html") == fresh["vgg16.html"]


def test_stale_detects_a_changed_number_even_when_matplotlib_differs(fresh, tmp_path):
    from archcalc.report.examples import same

    html = fresh["vgg16.html"]
    assert same(html, html)
    other_mpl = html.replace("charts drawn with matplotlib ", "charts drawn with matplotlib 0.0.", 1)
    assert other_mpl != html and same(other_mpl, html)  # another matplotlib: SVGs not compared
    changed = other_mpl.replace("138,357,544", "138,357,545", 1)
    assert not same(changed, html)  # ... but every number in the tables still is
    assert not same(html.replace("</svg>", "<rect/></svg>", 1), html)  # same matplotlib: SVG exact


def test_check_command_reports_stale_files(fresh, tmp_path, capsys, monkeypatch):
    from archcalc.cli import report_examples as command
    from archcalc.report import examples

    monkeypatch.setattr(examples, "generate", lambda accuracy=True: fresh)
    assert command.main(["--out", str(tmp_path), "--check"]) == 1
    assert "stale:" in capsys.readouterr().err
    assert command.main(["--out", str(tmp_path)]) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(fresh)
    assert command.main(["--out", str(tmp_path), "--check"]) == 0

