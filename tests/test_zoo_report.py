"""`archcalc list` and the generated reports/zoo.md."""

from __future__ import annotations

import json
import os

import archcalc
import pytest

from archcalc import dims, zoo_report
from archcalc.cli import main
from archcalc.zoo import entries

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture(scope="module")
def md():
    """The whole zoo rendered once (analysing every entry is the slow part)."""
    return zoo_report.render_markdown()


def test_reports_zoo_md_is_current(md):
    """Fails when the registry changed and reports/zoo.md was not regenerated."""
    path = os.path.join(ROOT, zoo_report.REPORT_PATH)
    with open(path, encoding="utf-8") as f:
        on_disk = f.read()
    assert on_disk == md, f"reports/zoo.md is stale; run: {zoo_report.COMMAND}"


def test_every_entry_is_a_row_with_its_computed_counts():
    rows = zoo_report.zoo_rows()
    assert [r["name"] for r in rows] == [e.name for e in entries()]
    by_name = {r["name"]: r for r in rows}
    assert by_name["vgg16"]["params"] == archcalc.analyze("vgg16").totals["params"]
    md = zoo_report.render_markdown(rows)
    assert md.count("\n| ") == len(rows) + 1  # header + one line per entry


def test_symbolic_counts_render_as_formulas():
    R = dims.symbol("R")
    assert zoo_report.fmt_count(119967744 * R + 188637124608) == "119,967,744*R + 188,637,124,608"
    assert zoo_report.fmt_count(12_443_648) == "12,443,648"
    row = {r["name"]: r for r in zoo_report.zoo_rows([e for e in entries() if e.name == "faster_rcnn_vgg16"])}
    assert "*R + " in zoo_report.fmt_count(row["faster_rcnn_vgg16"]["macs"])


def test_list_does_not_crash_on_symbolic_entries(capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "400")  # wide enough for the formulas' column
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    assert "faster_rcnn_vgg16" in out and "*R" in out and "*T" in out
    assert main(["list", "--format", "json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    fr = next(r for r in rows if r["name"] == "faster_rcnn_vgg16")
    assert isinstance(fr["params"], int) and isinstance(fr["macs"], str) and "R" in fr["macs"]
    assert fr["input"] == [3, 600, 1000]


def test_list_md_to_file_is_atomic(tmp_path, capsys, md):
    out = tmp_path / "zoo.md"
    assert main(["list", "--format", "md", "-o", str(out)]) == 0
    assert out.read_text() == md
    assert [p.name for p in tmp_path.iterdir()] == ["zoo.md"]  # no temp file left behind
    assert main(["list", "--format", "md", "-o", str(tmp_path / "missing" / "zoo.md")]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_check_flag(tmp_path):
    path = tmp_path / "zoo.md"
    path.write_text("old\n")
    assert zoo_report.main(["--check", "-o", str(path)]) == 1
    assert zoo_report.main(["-o", str(path)]) == 0
    assert zoo_report.main(["--check", "-o", str(path)]) == 0


def test_list_without_costs(capsys):
    assert main(["list", "--no-costs", "--format", "json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert len(rows) == len(entries()) and all(r["params"] is None for r in rows)
