"""``archcalc sweep MODEL --grid NAME=VALUES ...``: the logic and its arguments live in :mod:`archcalc.sweep`."""

from __future__ import annotations


def main(argv) -> int:
    from ..sweep import main as run

    return run(argv)
