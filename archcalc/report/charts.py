"""Charts as inline SVG strings, drawn with matplotlib (imported here, lazily, never via pyplot).

Output is byte-for-byte reproducible for a given matplotlib version: fixed ``svg.hashsalt``, text
kept as ``<text>`` (``svg.fonttype='none'``), no date or creator metadata. Each SVG's ids are
prefixed so several charts can live in one HTML page. Layer names go through matplotlib's XML
escaping and are never parsed as mathtext (``parse_math=False``).

Charts need numbers: for a symbolic result (``3xHxW``) they are skipped and the report says so.
"""

from __future__ import annotations

import io
import re

from .. import dims
from ..dtypes import DTYPE_BYTES

_RC = {
    "svg.hashsalt": "archcalc",
    "svg.fonttype": "none",
    "font.family": "DejaVu Sans",
    "font.size": 8,
    "axes.titlesize": 9,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "path.simplify": False,
}
_BLUE, _ORANGE, _GREEN, _GREY = "#3b6ea5", "#d9822b", "#4c9a5f", "#888888"
MAX_LABELS = 40  # beyond this many layers, label every k-th bar


def matplotlib_version() -> str:
    import matplotlib

    return matplotlib.__version__


def _figure(width, height):
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), dpi=72, layout="constrained")


def _svg(fig, prefix: str) -> str:
    import matplotlib

    buf = io.StringIO()
    with matplotlib.rc_context(_RC):
        fig.savefig(buf, format="svg", metadata={"Date": None, "Creator": None})
    text = buf.getvalue()
    text = text[text.index("<svg"):]
    ids = re.findall(r'\bid="([^"]+)"', text)
    for old in sorted(set(ids), key=len, reverse=True):
        new = f"{prefix}-{old}"
        text = text.replace(f'id="{old}"', f'id="{new}"').replace(f"#{old})", f"#{new})") \
            .replace(f'href="#{old}"', f'href="#{new}"')
    return text.strip() + "\n"


def _concrete(values) -> bool:
    return all(isinstance(v, int) for v in values)


def _ticks(ax, names, rotation=90):
    n = len(names)
    step = max(1, -(-n // MAX_LABELS))
    pos = list(range(0, n, step))
    ax.set_xticks(pos)
    ax.set_xticklabels([_short(names[i]) for i in pos], rotation=rotation, fontsize=6, parse_math=False)
    ax.set_xlim(-0.6, n - 0.4)


def _short(label: str, limit: int = 28) -> str:
    """Tick labels stay short so a long layer name cannot squeeze the plot away (full names are in
    the table)."""
    return label if len(label) <= limit else label[:limit - 1] + "\u2026"


def _text(ax, *args, **kw):
    return ax.text(*args, parse_math=False, **kw)


def layer_costs(result, prefix="c1") -> str:
    """Per-layer params and MACs (log scale) for the layers that have either."""
    recs = [r for r in result.layers if r.params or r.macs]
    names = [r.name for r in recs]
    with _rc():
        fig = _figure(9, 5.2)
        ax1, ax2 = fig.subplots(2, 1, sharex=True)
        x = range(len(recs))
        ax1.bar(x, [r.params for r in recs], color=_BLUE, width=0.8)
        ax1.set_yscale("log")
        ax1.set_ylabel("params")
        ax1.set_title(f"{result.model}: params and MACs per layer (log scale; batch {result.batch})",
                      parse_math=False)
        ax2.bar(x, [r.macs for r in recs], color=_ORANGE, width=0.8)
        ax2.set_yscale("log")
        ax2.set_ylabel("MACs")
        _ticks(ax2, names)
        for ax in (ax1, ax2):
            ax.grid(axis="y", color="#dddddd", linewidth=0.5)
            ax.set_axisbelow(True)
        return _svg(fig, prefix)


def by_kind(rows, model, prefix="c2") -> str:
    """Share of params and MACs by layer kind (horizontal bars, exact count and share as labels)."""
    rows = list(reversed(rows))  # largest at the top
    with _rc():
        fig = _figure(9, 0.9 + 0.32 * len(rows) * 2)
        ax1, ax2 = fig.subplots(1, 2)
        y = range(len(rows))
        for ax, key, share, colour, title in ((ax1, "params_value", "params_share", _BLUE, "params"),
                                              (ax2, "macs_value", "macs_share", _ORANGE, "MACs")):
            vals = [r[key] for r in rows]
            ax.barh(y, vals, color=colour, height=0.6)
            ax.set_yticks(list(y))
            ax.set_yticklabels([_short(r["kind"]) for r in rows], parse_math=False)
            ax.set_title(f"{model}: {title} by layer kind", parse_math=False)
            top = max(vals) if vals else 1
            ax.set_xlim(0, top * 1.6 if top else 1)
            ax.set_xticks([])
            ax.spines["bottom"].set_visible(False)
            for i, r in enumerate(rows):
                _text(ax, r[key], i, f"  {dims.fmt_int(r[key])} ({r[share]})", va="center", fontsize=7)
        return _svg(fig, prefix)


def activation_memory(result, prefix="c3") -> str:
    """Bytes each layer materialises (bars) and their running sum (line), in the result's dtype."""
    nbytes = DTYPE_BYTES[result.dtype]
    recs = list(result.layers)
    per = [r.activations * nbytes / 2 ** 20 for r in recs]
    running, acc = [], 0.0
    for v in per:
        acc += v
        running.append(acc)
    with _rc():
        fig = _figure(9, 4)
        ax = fig.subplots()
        x = range(len(recs))
        ax.bar(x, per, color=_GREEN, width=0.8, label=f"materialised by the layer (MiB, {result.dtype})")
        ax.set_ylabel("MiB per layer")
        ax2 = ax.twinx()
        ax2.plot(x, running, color=_GREY, linewidth=1.2, label="running total (MiB)")
        ax2.set_ylabel("MiB so far")
        ax2.spines["right"].set_visible(True)
        ax.set_title(f"{result.model}: activation memory along depth (batch {result.batch}, "
                     f"forward pass, every output kept)", parse_math=False)
        _ticks(ax, [r.name for r in recs])
        h1, l1 = ax.get_legend_handles_labels()
        h2, l2 = ax2.get_legend_handles_labels()
        ax.legend(h1 + h2, l1 + l2, loc="center right", fontsize=7, frameon=False)
        return _svg(fig, prefix)


def receptive_field(result, prefix="c4") -> str:
    """Receptive field size (height axis) of each layer with a spatial output, vs depth."""
    recs = [r for r in result.layers if len(r.output_shape) == 3]
    sizes = [r.receptive_field.size[0] for r in recs]
    in_h = result.input[1] if len(result.input) == 3 else None
    with _rc():
        fig = _figure(9, 3.8)
        ax = fig.subplots()
        x = range(len(recs))
        ax.step(x, sizes, where="mid", color=_BLUE, linewidth=1.4, label="receptive field (px)")
        ax.plot(x, [float(r.receptive_field.jump[0]) for r in recs], color=_ORANGE, linewidth=1,
                linestyle=":", label="jump (input px between neighbouring outputs)")
        if isinstance(in_h, int):
            ax.axhline(in_h, color=_GREY, linewidth=0.8, linestyle="--", label=f"input height ({in_h})")
        ax.set_ylabel("pixels")
        ax.set_title(f"{result.model}: receptive field growth", parse_math=False)
        _ticks(ax, [r.name for r in recs])
        ax.grid(axis="y", color="#dddddd", linewidth=0.5)
        ax.legend(loc="upper left", fontsize=7, frameon=False)
        return _svg(fig, prefix)


def compare_scatter(rows, prefix="k1") -> str:
    """MACs vs params across models (log-log); a second panel of top-1 vs MACs where known."""
    with_acc = [r for r in rows if r.get("top1") is not None]
    with _rc():
        fig = _figure(9, 4.2)
        axes = fig.subplots(1, 2 if with_acc else 1)
        axes = list(axes) if with_acc else [axes]
        ax = axes[0]
        ax.scatter([r["params_value"] / 1e6 for r in rows], [r["macs_value"] / 1e9 for r in rows],
                   color=_BLUE, zorder=3)
        for r in rows:
            _text(ax, r["params_value"] / 1e6, r["macs_value"] / 1e9, "  " + r["model"], fontsize=7,
                  va="center")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("params (millions, log)")
        ax.set_ylabel("GMACs per image (log)")
        ax.set_title("cost: MACs vs params")
        ax.grid(color="#dddddd", linewidth=0.5, which="both")
        ax.margins(x=0.35, y=0.2)
        if with_acc:
            ax = axes[1]
            ax.scatter([r["macs_value"] / 1e9 for r in with_acc], [r["top1"] for r in with_acc],
                       s=[12 + 2 * r["params_value"] / 1e6 for r in with_acc], color=_ORANGE, alpha=0.8,
                       zorder=3)
            for r in with_acc:
                _text(ax, r["macs_value"] / 1e9, r["top1"], "  " + r["model"], fontsize=7, va="center")
            ax.set_xscale("log")
            ax.set_xlabel("GMACs per image (log)")
            ax.set_ylabel("ImageNet-1K top-1 (%)")
            ax.set_title("torchvision's published top-1 vs MACs (marker area ~ params)")
            ax.grid(color="#dddddd", linewidth=0.5, which="both")
            ax.margins(x=0.35, y=0.15)
        return _svg(fig, prefix)


class _rc:
    """rc_context for drawing as well as saving (tick text and fonts are decided at draw time)."""

    def __enter__(self):
        import matplotlib

        self._ctx = matplotlib.rc_context(_RC)
        return self._ctx.__enter__()

    def __exit__(self, *exc):
        return self._ctx.__exit__(*exc)


def model_charts(result, kinds) -> list:
    """The single-model report's charts as (title, svg) pairs; empty for symbolic results."""
    if result.is_symbolic or not _concrete([r.params for r in result.layers] + [r.macs for r in result.layers]):
        return []
    return [
        ("Params and MACs per layer", layer_costs(result)),
        ("Params and MACs by layer kind", by_kind(kinds, result.model)),
        ("Activation memory along depth", activation_memory(result)),
        ("Receptive field growth", receptive_field(result)),
    ]
