"""Renderers: Results in, text out. ``terminal`` is the fitted terminal view; the machine formats
(CSV, Markdown, JSON) are in :mod:`archcalc.format`. Standard library only."""
