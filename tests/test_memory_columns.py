"""``--memory`` and ``fit`` fitted to COLUMNS by the cost table's renderer: no line wider than the
terminal, dropped columns named, nothing of the text lost."""

from __future__ import annotations

import pytest

import archcalc
from archcalc.cli import main
from archcalc.memory import estimate
from archcalc.memory_cli import render_memory

TRAIN_HEADERS = ("layer", "kind", "output", "live fwd", "scratch", "saved", "live bwd", "scratch bwd",
                 "dgrad MACs", "wgrad MACs")


def _headers(text: str) -> list:
    head = next(line for line in text.splitlines() if line.startswith("layer "))
    return [h.strip() for h in head.split("  ") if h.strip()]


def _run(capsys, monkeypatch, columns, argv):
    monkeypatch.setenv("COLUMNS", str(columns))
    rc = main(argv)
    return rc, capsys.readouterr().out


@pytest.mark.parametrize("columns", [60, 80, 120])
def test_memory_table_fits_and_names_what_it_dropped(capsys, monkeypatch, columns):
    rc, out = _run(capsys, monkeypatch, columns, ["resnet18", "--memory", "--train"])
    assert rc == 0 and max(map(len, out.splitlines())) <= columns
    shown = _headers(out)
    assert {"layer", "live fwd", "live bwd"} <= set(shown)  # never dropped
    note = " ".join(out.split(f"(not shown at {columns} columns: ")[1].split(")")[0].split())
    dropped = note.split(";")[0].split(", ")
    assert dropped and not set(dropped) & set(shown)
    assert sorted(dropped + shown) == sorted(TRAIN_HEADERS)
    assert "--format json" in note
    assert "PEAK:" in out and "ALLOCATOR PEAK:" in out and "not counted:" in out


def test_memory_table_at_natural_width_keeps_every_column():
    est = estimate(archcalc.analyze("resnet18"), train=True)
    text = render_memory(est)  # width 0: the API's natural width
    assert _headers(text) == list(TRAIN_HEADERS) and "not shown" not in text
    assert sum(1 for line in text.splitlines() if line.startswith("layer4.")) == \
        sum(1 for r in est.layers if r.name.startswith("layer4."))


def test_fit_text_wraps_without_losing_words(capsys, monkeypatch):
    _, wide = _run(capsys, monkeypatch, 1000, ["fit", "resnet18", "--device-memory", "2GiB"])
    rc, narrow = _run(capsys, monkeypatch, 60, ["fit", "resnet18", "--device-memory", "2GiB"])
    assert rc == 0 and max(map(len, narrow.splitlines())) <= 60 < max(map(len, wide.splitlines()))
    assert narrow.split() == wide.split()
