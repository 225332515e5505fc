"""``archcalc sweep MODEL --grid NAME=VALUES ...``: the arguments and the logic live in :mod:`archcalc.sweep`."""

from __future__ import annotations

from .parser import Parser


def main(argv) -> int:
    from .. import sweep

    p = Parser(prog="archcalc sweep", description="A model's costs over a grid of builder keywords and "
               "input sizes, evaluated from formulas compiled once.")
    sweep.add_arguments(p)
    return sweep.run(p.parse_args(argv))
