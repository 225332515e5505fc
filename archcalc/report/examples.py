"""The example reports checked in under ``reports/``, made by one command:

    python -m archcalc.report.examples            # (re)write reports/ in a source checkout
    python -m archcalc.report.examples --check    # exit 1 and name the stale files, write nothing
    archcalc report-examples [--check] [--out DIR]

The compare report includes torchvision's published top-1, so regenerate with torchvision installed
(the test extra has it). Charts are matplotlib SVG, identical byte for byte for one matplotlib version;
:func:`stale` compares them exactly when the checked-in file was drawn with the installed matplotlib
and otherwise compares everything but the ``<svg>`` blocks (the numbers they plot are in the tables).
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

#: The classic nets of the course, in historical order.
CLASSIC = ("lenet5", "alexnet", "vgg16", "googlenet", "resnet50")


def generate(accuracy: bool = True) -> dict:
    """File name -> text of every example report, rendered in memory."""
    from ..analysis import analyze
    from . import render_compare, render_report
    from .comparison import compare

    vgg16 = analyze("vgg16")
    resnet50 = analyze("resnet50")
    classic = compare(CLASSIC, accuracy=accuracy)
    return {
        "vgg16.html": render_report(vgg16, "html"),
        "vgg16.md": render_report(vgg16, "md"),
        "resnet50.html": render_report(resnet50, "html"),
        "resnet50.md": render_report(resnet50, "md"),
        "compare_classic.html": render_compare(classic, "html"),
        "compare_classic.md": render_compare(classic, "md"),
    }


_SVG = re.compile(r"<svg\b.*?</svg>", re.S)
_MPL = re.compile(r"charts drawn with matplotlib (\S+)\. ")


def _without_svg(text: str) -> str:
    return _MPL.sub("charts drawn with matplotlib (any). ", _SVG.sub("<svg/>", text))


def same(checked_in: str, fresh: str) -> bool:
    if checked_in == fresh:
        return True
    old, new = _MPL.search(checked_in), _MPL.search(fresh)
    if old and new and old.group(1) != new.group(1):
        return _without_svg(checked_in) == _without_svg(fresh)
    return False


def stale(directory, reports=None) -> list:
    """Names of example files in ``directory`` that are missing or differ from a fresh rendering."""
    directory = Path(directory)
    reports = generate() if reports is None else reports
    out = []
    for name, text in reports.items():
        path = directory / name
        if not path.is_file() or not same(path.read_text(encoding="utf-8"), text):
            out.append(name)
    return out


def default_dir() -> Path:
    root = Path(__file__).resolve().parents[2]
    if not (root / "pyproject.toml").is_file():
        from ..errors import ArchcalcError

        raise ArchcalcError("not in a source checkout; pass --out DIR")
    return root / "reports"


if __name__ == "__main__":  # python -m archcalc.report.examples: the same as `archcalc report-examples`
    from ..cli import main as _cli_main

    sys.exit(_cli_main(["report-examples", *sys.argv[1:]]))
