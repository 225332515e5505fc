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

from ..dtypes import DTYPE_BYTES
from ..text import fmt_int

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
# Okabe-Ito colours, chosen so each pair also differs in lightness (they stay apart printed in
# greyscale); lines differ in dash pattern as well as colour.
_BLUE, _ORANGE, _GREEN, _GREY = "#0072b2", "#e69f00", "#009e73", "#555555"
MAX_BARS = 60  # beyond this many layers, bars are stages/blocks (dotted-name prefixes), not layers
EXPAND_LAYERS = 600  # up to this many, an aggregated cost chart also comes per layer, folded
EXPAND_INCHES_PER_BAR = 0.16  # 11.5 px per bar: room for a rotated 7 pt label
WIDTH = 15  # inches at 72 dpi: 1,080 px, the report's full column width at 100% zoom
_GRID = {"color": "#dddddd", "linewidth": 0.5}


def matplotlib_version() -> str:
    import matplotlib

    return matplotlib.__version__


def _figure(width, height, layout="constrained"):
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), dpi=72, layout=layout)


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


def _labels(ax, xlabel: str, ylabel: str, i: int = 0):
    """Axis titles, tagged (svg ``id``) so the browser test can find every chart's axes."""
    ax.set_xlabel(xlabel, parse_math=False)
    ax.set_ylabel(ylabel, parse_math=False)
    ax.xaxis.label.set_gid(f"xlabel{i}")
    ax.yaxis.label.set_gid(f"ylabel{i}")


def _ticks(ax, names, rotation=90):
    n = len(names)
    ax.set_xticks(list(range(n)))
    ax.set_xticklabels([_short(x) for x in names], rotation=rotation, fontsize=7, parse_math=False)
    ax.set_xlim(-0.6, n - 0.4)


def _short(label: str, limit: int = 28) -> str:
    """Tick labels stay short so a long layer name cannot squeeze the plot away (full names are in
    the table)."""
    return label if len(label) <= limit else label[:limit - 1] + "\u2026"


def _text(ax, *args, **kw):
    return ax.text(*args, parse_math=False, **kw)


class Group:
    """One bar of a chart: a layer, or a stage/block of consecutive layers sharing a name prefix."""

    __slots__ = ("label", "records")

    def __init__(self, label, records):
        self.label = label
        self.records = records

    def total(self, attr):
        return sum(getattr(r, attr) for r in self.records)


def groups(records, limit: int = MAX_BARS):
    """``records`` as at most ``limit`` bars, and what a bar is ("layer" or "block").

    Up to ``limit`` records: one bar each. Beyond, the deepest dotted-name prefix (torchvision
    style: ``layer2.1.conv1`` -> ``layer2.1`` -> ``layer2``) that yields at most ``limit`` groups;
    when even the first component yields more (10,000 flat blocks), consecutive groups are pooled
    into ``limit`` runs labelled ``first-last``. Sums over a group are exact."""
    records = list(records)
    if len(records) <= limit:
        return [Group(r.name, [r]) for r in records], "layer"
    parts = [r.name.split(".") for r in records]
    best = None
    for depth in range(1, max(map(len, parts)) + 1):
        order: dict = {}
        for r, p in zip(records, parts):
            order.setdefault(".".join(p[:depth]), []).append(r)
        if len(order) > limit:
            break
        best = order
    if best is None:  # even the top-level names are too many: pool consecutive runs
        order = {}
        for r, p in zip(records, parts):
            order.setdefault(p[0], []).append(r)
        keys = list(order)
        per = -(-len(keys) // limit)
        out = []
        for i in range(0, len(keys), per):
            chunk = keys[i:i + per]
            label = chunk[0] if len(chunk) == 1 else f"{chunk[0]}\u2013{chunk[-1]}"
            out.append(Group(label, [r for k in chunk for r in order[k]]))
        return out, "block"
    return [Group(k, v) for k, v in best.items()], "block"


def _what(result, bars, unit) -> str:
    n = len(result.layers)
    if unit == "layer":
        return "per layer"
    return f"per block ({n:,} layers in {len(bars)} groups by name prefix; per-layer figures in the table)"


def layer_costs(result, prefix="c1", per_layer: bool = False) -> str:
    """Params and MACs (log scale) per layer, or per block beyond ``MAX_BARS`` layers, for the
    layers that have either. ``per_layer``: one bar per layer whatever the depth, in a figure that
    grows with it (the report's expandable, sideways-scrolling detail)."""
    recs = [r for r in result.layers if r.params or r.macs]
    bars, unit = groups(recs, limit=len(recs) if per_layer else MAX_BARS)
    with _rc():
        if per_layer:  # fixed margins: a constrained layout measures every one of hundreds of labels
            width = max(WIDTH, EXPAND_INCHES_PER_BAR * len(bars) + 1.2)
            fig = _figure(width, 7, layout=None)
            fig.subplots_adjust(left=0.9 / width, right=1 - 0.3 / width, bottom=1.8 / 7, top=1 - 0.4 / 7, hspace=0.08)
        else:
            fig = _figure(WIDTH, 6)
        ax1, ax2 = fig.subplots(2, 1, sharex=True)
        x = range(len(bars))
        ax1.bar(x, [g.total("params") for g in bars], color=_BLUE, width=0.8)
        ax1.set_yscale("log")
        ax1.set_title(f"{result.model}: params and MACs {_what(result, bars, unit)}, log scale, batch {result.batch}",
                      parse_math=False)
        ax2.bar(x, [g.total("macs") for g in bars], color=_ORANGE, width=0.8, edgecolor="#7a5500", linewidth=0.4)
        ax2.set_yscale("log")
        _labels(ax1, "", "params", 0)
        _labels(ax2, f"{unit}s, in graph order", "MACs", 1)
        _ticks(ax2, [g.label for g in bars])
        for ax in (ax1, ax2):
            ax.grid(axis="y", **_GRID)
            ax.set_axisbelow(True)
        return _svg(fig, prefix)


def by_kind(rows, model, prefix="c2") -> str:
    """Share of params and MACs by layer kind (horizontal bars, exact count and share as labels)."""
    rows = list(reversed(rows))  # largest at the top
    with _rc():
        fig = _figure(WIDTH, 1.2 + 0.3 * len(rows))
        ax1, ax2 = fig.subplots(1, 2)
        y = range(len(rows))
        for i, (ax, key, share, colour, title) in enumerate((
                (ax1, "params_value", "params_share", _BLUE, "params"),
                (ax2, "macs_value", "macs_share", _ORANGE, "MACs"))):
            vals = [r[key] for r in rows]
            ax.barh(y, vals, color=colour, height=0.6)
            ax.set_yticks(list(y))
            ax.set_yticklabels([_short(r["kind"]) for r in rows], parse_math=False)
            ax.set_title(f"{model}: {title} by layer kind", parse_math=False)
            top = max(vals) if vals else 1
            ax.set_xlim(0, top * 1.6 if top else 1)
            ax.set_xticks([])
            _labels(ax, f"{title} (exact count and share of the total)", "layer kind", i)
            for j, r in enumerate(rows):
                if r[key]:
                    _text(ax, r[key], j, f"  {fmt_int(r[key])} ({r[share]})", va="center", fontsize=7)
        return _svg(fig, prefix)


def activation_memory(result, prefix="c3") -> str:
    """Bytes each layer (or block) materialises (bars) and their running sum (line), in the
    result's dtype. In-place layers and views materialise nothing and get no bar (nor a label)."""
    nbytes = DTYPE_BYTES[result.dtype]
    bars, unit = groups([r for r in result.layers if r.activations])
    per = [g.total("activations") * nbytes / 2 ** 20 for g in bars]
    running, acc = [], 0.0
    for v in per:
        acc += v
        running.append(acc)
    with _rc():
        fig = _figure(WIDTH, 4.8)
        ax = fig.subplots()
        x = range(len(bars))
        ax.bar(x, per, color=_GREEN, width=0.8, label=f"materialised by the {unit} (MiB, {result.dtype}; left axis)")
        ax2 = ax.twinx()
        ax2.plot(x, running, color=_GREY, linewidth=1.4, linestyle="--", label="running total (MiB; right axis)")
        ax2.set_ylabel("MiB so far", parse_math=False)
        ax2.yaxis.label.set_gid("ylabel2")
        ax2.spines["right"].set_visible(True)
        ax2.set_ylim(0, acc * 1.05 if acc else 1)
        ax.set_title(f"{result.model}: activation memory {_what(result, bars, unit)} (batch {result.batch}, "
                     f"forward pass, every output kept)", parse_math=False)
        _labels(ax, f"{unit}s that materialise a tensor, in graph order", f"MiB per {unit}")
        _ticks(ax, [g.label for g in bars])
        ax.grid(axis="y", **_GRID)
        ax.set_axisbelow(True)
        h1, l1 = ax.get_legend_handles_labels()
        h2, l2 = ax2.get_legend_handles_labels()
        fig.legend(h1 + h2, l1 + l2, loc="outside lower center", ncols=2, fontsize=8, frameon=False)
        return _svg(fig, prefix)


def receptive_field(result, prefix="c4") -> str:
    """Receptive field size (height axis) of each layer (or at the end of each block) with a
    spatial output, vs depth."""
    # up to where the field is defined (an undefined one has no size to draw)
    drawn = [r for r in result.layers if len(r.output_shape) == 3 and r.receptive_field.defined]
    if not drawn:  # no layer with a defined field (a generator's latent input): say why, draw nothing
        why = result.totals["receptive_field"].why
        with _rc():
            fig = _figure(WIDTH, 1.2)
            fig.text(0.5, 0.5, f"{result.model}: no receptive field to draw ({why})", ha="center", va="center",
                     fontsize=9, wrap=True)
            return _svg(fig, prefix)
    bars, unit = groups(drawn)
    last = [g.records[-1] for g in bars]
    sizes = [r.receptive_field.size[0] for r in last]
    in_h = result.input[1] if len(result.input) == 3 else None
    with _rc():
        fig = _figure(WIDTH, 4.4)
        ax = fig.subplots()
        x = range(len(bars))
        ax.step(x, sizes, where="mid", color=_BLUE, linewidth=1.6, label="receptive field (px)")
        ax.plot(x, [float(r.receptive_field.jump[0]) for r in last], color=_ORANGE, linewidth=1.4,
                linestyle=":", label="jump (input px between neighbouring outputs)")
        if isinstance(in_h, int):
            ax.axhline(in_h, color=_GREY, linewidth=0.9, linestyle="--", label=f"input height ({in_h} px)")
        ax.set_ylim(0, max([*sizes, in_h if isinstance(in_h, int) else 0]) * 1.08)  # the input line clear of the frame
        ax.set_title(f"{result.model}: receptive field growth "
                     f"{'per layer' if unit == 'layer' else 'at the end of each block'}", parse_math=False)
        _labels(ax, f"{unit}s with a spatial output, in graph order", "pixels (height axis)")
        _ticks(ax, [g.label for g in bars])
        ax.grid(axis="y", **_GRID)
        fig.legend(loc="outside lower center", ncols=3, fontsize=8, frameon=False)
        return _svg(fig, prefix)


def _log_limits(values, pad=0.12):
    """Log-axis limits fitted to the data: a fraction of the decades spanned (at least a tenth of
    a decade) either side, so one small model does not stretch the axis further than its point."""
    import math

    lo, hi = math.log10(min(values)), math.log10(max(values))
    margin = max((hi - lo) * pad, 0.1)
    return 10 ** (lo - margin), 10 ** (hi + margin)


def _place_labels(fig, ax, points, labels, sizes=None, fontsize=7):
    """Label each point at the first of a few offsets where the text box overlaps no other label,
    no marker and stays inside the axes; a label that fits nowhere is left off (the table names
    every model). Returns the placed labels' boxes (pixels) and the labels left off."""
    fig.draw_without_rendering()  # fix the constrained layout so data -> pixel is final
    box = ax.get_window_extent()
    xy = [tuple(ax.transData.transform(p)) for p in points]
    # a marker of area s (points^2) has radius sqrt(s)/2; at 72 dpi a point is a pixel
    radii = [max(4.0, (s ** 0.5) / 2 + 1) for s in (sizes or [22] * len(xy))]
    marks = [(x - r, y - r, x + r, y + r) for (x, y), r in zip(xy, radii)]
    placed, left_off, shown = [], [], []
    char_w, h = fontsize * 0.6, fontsize * 1.25
    for point, (x, y), r, text in zip(points, xy, radii, labels):
        w = char_w * len(text)
        spots = []
        for dist in (r + 3, r + 11, r + 21):
            spots += [(dist, -h / 2, "left"), (-dist - w, -h / 2, "right"), (-w / 2, dist / 2 + 2, "center"),
                      (-w / 2, -dist / 2 - 2 - h, "center"), (dist * 0.7, dist * 0.7 - h / 2, "left"),
                      (dist * 0.7, -dist * 0.7 - h / 2, "left"), (-dist * 0.7 - w, dist * 0.7 - h / 2, "right"),
                      (-dist * 0.7 - w, -dist * 0.7 - h / 2, "right")]
        for dx, dy, ha in spots:
            rect = (x + dx, y + dy, x + dx + w, y + dy + h)
            inside = box.x0 <= rect[0] and rect[2] <= box.x1 and box.y0 <= rect[1] and rect[3] <= box.y1
            if inside and not any(_overlap(rect, o) for o in placed + marks):
                placed.append(rect)
                shown.append((text, rect))
                anchor = {"left": dx, "right": dx + w, "center": dx + w / 2}[ha]
                # anchored to the data point, so a later layout pass moves label and marker together
                note = ax.annotate(text, point, xytext=(anchor, dy + h * 0.15), textcoords="offset pixels",
                                   ha=ha, va="bottom", fontsize=fontsize, annotation_clip=False, parse_math=False)
                note.set_in_layout(False)
                break
        else:
            left_off.append(text)
    return shown, left_off


def _overlap(a, b) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def compare_scatter(rows, prefix="k1", crowded=None) -> str:
    """MACs vs params across models (log-log, axes fitted to the data); a second panel of top-1 vs
    MACs where known. Labels avoid each other and the markers; crowded ones are left to the table
    and appended to ``crowded`` (a list) for the caption."""
    from matplotlib.ticker import EngFormatter

    with_acc = [r for r in rows if r.get("top1") is not None]
    with _rc():
        fig = _figure(WIDTH, 6)
        axes = fig.subplots(1, 2 if with_acc else 1)
        axes = list(axes) if with_acc else [axes]
        ax = axes[0]
        px, py = [r["params_value"] for r in rows], [r["macs_value"] for r in rows]
        ax.scatter(px, py, color=_BLUE, s=22, zorder=3)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlim(*_log_limits(px))
        ax.set_ylim(*_log_limits(py))
        _labels(ax, "params (log)", "MACs per image (log)", 0)
        ax.set_title("cost: MACs vs params")
        panels = [(ax, list(zip(px, py)), [r["model"] for r in rows], None)]
        if with_acc:
            ax = axes[1]
            mx, acc = [r["macs_value"] for r in with_acc], [r["top1"] for r in with_acc]
            area = [12 + 2 * r["params_value"] / 1e6 for r in with_acc]
            ax.scatter(mx, acc, s=area, color=_ORANGE,
                       edgecolor="#7a5500", linewidth=0.6, alpha=0.85, zorder=3)
            ax.set_xscale("log")
            ax.set_xlim(*_log_limits(mx))
            span = max(acc) - min(acc)
            ax.set_ylim(min(acc) - max(span * 0.12, 1), max(acc) + max(span * 0.12, 1))
            _labels(ax, "MACs per image (log)", "ImageNet-1K top-1 (%)", 1)
            ax.set_title("published top-1 vs MACs (marker area ~ params)")
            panels.append((ax, list(zip(mx, acc)), [r["model"] for r in with_acc], area))
        for ax in axes:
            ax.grid(which="major", **_GRID)
            ax.set_axisbelow(True)
            ax.xaxis.set_major_formatter(EngFormatter(sep=""))
            ax.xaxis.set_minor_formatter(EngFormatter(sep="") if _decades(ax.get_xlim()) < 1 else "")
        axes[0].yaxis.set_major_formatter(EngFormatter(sep=""))
        axes[0].yaxis.set_minor_formatter(EngFormatter(sep="") if _decades(axes[0].get_ylim()) < 1 else "")
        for ax, points, labels, area in panels:
            _, left_off = _place_labels(fig, ax, points, labels, area)
            if crowded is not None:
                crowded += [m for m in left_off if m not in crowded]
        return _svg(fig, prefix)


def _decades(lim) -> float:
    import math

    return math.log10(lim[1]) - math.log10(lim[0])


class _rc:
    """rc_context for drawing as well as saving (tick text and fonts are decided at draw time)."""

    def __enter__(self):
        import matplotlib

        self._ctx = matplotlib.rc_context(_RC)
        return self._ctx.__enter__()

    def __exit__(self, *exc):
        return self._ctx.__exit__(*exc)


def model_charts(result, kinds) -> list:
    """The single-model report's charts as (title, svg, expand) triples, ``expand`` being None or
    (summary, svg) of a per-layer version shown folded; empty for symbolic results."""
    recs = result.layers
    if result.is_symbolic or not _concrete([v for r in recs for v in (r.params, r.macs, r.activations)]):
        return []
    costly = sum(1 for r in recs if r.params or r.macs)
    expand = None
    if MAX_BARS < costly <= EXPAND_LAYERS:
        expand = (f"Per layer: all {costly} layers with params or MACs (scrolls sideways)",
                  layer_costs(result, "c1x", per_layer=True))
    return [
        ("Params and MACs along depth", layer_costs(result), expand),
        ("Params and MACs by layer kind", by_kind(kinds, result.model), None),
        ("Activation memory along depth", activation_memory(result), None),
        ("Receptive field growth", receptive_field(result), None),
    ]
