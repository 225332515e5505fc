"""The terminal view of a Result: a table that fits the width it is given, compact units by
default, an optional module tree with subtotals, totals, and each warning once in its own section.

Standard library only, and byte-stable: the text depends on the Result, the width and the options,
never on the terminal. Colour is a separate pass (:func:`colourise`) that only wraps cells in ANSI
SGR codes, applied by the CLI when standard output is a terminal and ``NO_COLOR`` is unset.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .. import dims
from ..text import rf_total
from ..text import compact, count_formula, fmt_int, format_dim, formula_text, human_bytes, percent, rf, shape, \
    terminal_safe



@dataclass
class Column:
    key: str
    header: str
    right: bool
    priority: int  # 0 is never dropped; higher numbers go first when the width is short
    short_header: str = ""
    max_width: int = 0  # > 0: longer cells are cut to this (marked "~") before any column is dropped


#: The flat table's columns, left to right.
COLUMNS = (
    Column("layer", "layer", False, 0),
    Column("kind", "kind", False, 4),
    Column("config", "config", False, 7),
    Column("output", "output", False, 1),
    Column("params", "params", True, 2),
    Column("macs", "MACs", True, 0),
    Column("share", "%MACs", True, 3),
    Column("flops", "FLOPs", True, 6),
    Column("activations", "activations", True, 5, "acts"),
    Column("rf", "RF", True, 5),
    Column("notes", "notes", False, 8),
)


@dataclass
class Row:
    """One line of the table as named cells (never a positional tuple); ``level`` indents trees."""

    cells: dict
    level: int = 0
    group: bool = False
    warn: bool = False


@dataclass
class View:
    header: list
    columns: list
    rows: list
    totals: list  # (key, value)
    warnings: list
    dropped: list = field(default_factory=list)
    warnings_title: str = "warnings"
    full_format: str = "--format csv"  # where every column is, for the "not shown" note
    formulas: list = field(default_factory=list)  # (name, text) the cells and totals refer to


# --------------------------------------------------------------------------------------- rows

#: symbolic cells: floor parts named past this many characters, the whole formula named past CELL_CAP
CELL_LIMIT = 40
CELL_CAP = 40


def _count(x, exact: bool, names=None, cap=None) -> str:
    if names is None or isinstance(x, int):
        return fmt_int(x) if exact else compact(x)
    return names.value(x, format_dim if exact else count_formula, cap)


def _rf(field, names, cap=None) -> str:
    return rf(field) if names is None else names.rf(field, cap)


def _notes(r) -> str:
    notes = []
    layer = r.layer
    if layer.reuses_input and r.kind != "Input":
        notes.append("in-place" if getattr(layer, "inplace", False) else "view")
    if r.frozen:
        notes.append("frozen")
    if r.params and r.params != r.trainable_params and not r.frozen:
        notes.append("fixed weights")
    if r.warnings:
        notes.append("see warnings")
    return ", ".join(notes)


def _shape(s, names) -> str:
    return shape(s) if names is None else names.shape(s)


def layer_row(r, total_macs, exact: bool, level: int = 0, label=None, names=None) -> Row:
    """``names``: a :class:`archcalc.text.FormulaText` that shortens long formulas (symbolic runs)."""
    return Row({
        "layer": terminal_safe(label if label is not None else r.name), "kind": terminal_safe(r.kind),
        "config": terminal_safe(r.layer.describe()), "output": _shape(r.output_shape, names),
        "params": _count(r.params, exact, names), "macs": _count(r.macs, exact, names),
        "share": percent(r.macs, total_macs),
        "flops": _count(r.flops, exact, names), "activations": _count(r.activations, exact, names),
        "rf": _rf(r.receptive_field, names), "notes": _notes(r),
    }, level=level, warn=bool(r.warnings))


class _Node:
    __slots__ = ("name", "records", "children", "layer")

    def __init__(self, name):
        self.name = name
        self.records = []  # every layer at or under this name, in graph order
        self.children = {}  # next name component -> _Node, in order of first appearance
        self.layer = None  # the record named exactly this, if any


def module_tree(records) -> _Node:
    """The dotted names (torchvision style: ``layer1.0.conv1``) as a prefix tree."""
    root = _Node("")
    for r in records:
        node = root
        node.records.append(r)
        parts = r.name.split(".")
        for i, part in enumerate(parts):
            child = node.children.get(part)
            if child is None:
                child = node.children[part] = _Node(".".join(parts[:i + 1]))
            child.records.append(r)
            node = child
        node.layer = r
    return root


def _group_row(node, total_macs, exact: bool, level: int, names=None) -> Row:
    recs = node.records
    last = recs[-1]
    params = dims.total([r.params for r in recs])
    macs = dims.total([r.macs for r in recs])
    kinds = {r.kind for r in recs}
    kind = next(iter(kinds)) if len(kinds) == 1 else "module"
    return Row({
        "layer": terminal_safe(node.name), "kind": terminal_safe(f"{kind} ({len(recs)} layers)"), "config": "",
        "output": _shape(last.output_shape, names), "params": _count(params, exact, names),
        "macs": _count(macs, exact, names), "share": percent(macs, total_macs),
        "flops": _count(dims.total([r.flops for r in recs]), exact, names),
        "activations": _count(dims.total([r.activations for r in recs]), exact, names),
        "rf": _rf(last.receptive_field, names), "notes": "see warnings" if any(r.warnings for r in recs) else "",
    }, level=level, group=True, warn=any(r.warnings for r in recs))


def tree_rows(result, depth: int, exact: bool, names=None) -> list:
    """Rows of the module tree down to ``depth`` name components, each group with its subtotals;
    layers deeper than ``depth`` are folded into their group."""
    total_macs = result.totals["macs"]
    rows = []

    def walk(node, level):
        for child in node.children.values():
            if not child.children:
                rows.append(layer_row(child.layer, total_macs, exact, level, label=child.name, names=names))
            elif len(child.records) == 1 and child.layer is not None:
                rows.append(layer_row(child.layer, total_macs, exact, level, names=names))
            else:
                rows.append(_group_row(child, total_macs, exact, level, names))
                if level + 1 < depth:
                    walk(child, level + 1)

    if depth > 0:
        walk(module_tree(result.layers), 0)
    return rows


# ------------------------------------------------------------------------------------- totals

def totals(result, exact: bool, names=None) -> list:
    """``names``: a :class:`archcalc.text.FormulaText`; long formulas then name their floor parts
    (the totals wrap, so they are never named whole)."""
    t = result.totals

    def both(x):  # the headline figures: exact, with the compact reading beside it
        if not isinstance(x, int):
            return compact(x) if names is None else names.value(x, count_formula, 0)  # a formula: nothing to round
        return fmt_int(x) if exact or abs(x) < 1000 else f"{fmt_int(x)} = {compact(x)}"

    def count(x):
        return _count(x, exact, names, 0)

    def nbytes(x):
        return human_bytes(x) if names is None or isinstance(x, int) else names.value(x, count_formula, 0) + " B"

    rf_field = t["receptive_field"]
    return [
        ("params", f"{both(t['params'])}: trainable {count(t['trainable_params'])}, "
                   f"non-trainable {count(t['non_trainable_params'])}"),
        ("buffers", f"{count(t['buffers'])} (BN running statistics; not params)"),
        ("MACs", f"{both(t['macs'])} (conv/linear multiply-accumulates, bias excluded)"),
        ("FLOPs", f"{both(t['flops'])} (2 x MACs + bias, norm, activation, pooling and add ops)"),
        ("activations", f"{count(t['activations'])} elements = {nbytes(t['activation_bytes'])} "
                        f"in {result.dtype} (sum of materialised outputs incl. the input)"),
        ("param memory", f"{nbytes(t['param_bytes'])} in {result.dtype}"),
        ("receptive field", terminal_safe(rf_total(rf_field, t["receptive_field_layer"], _rf(rf_field, names, 0),
                                                   t.get("receptive_field_known")))),
    ]


def build_view(result, depth=None, exact: bool = False) -> View:
    src = f"  [{result.entry.source}]" if result.entry else ""
    names = formula_text(result, CELL_LIMIT, CELL_CAP)
    header = [terminal_safe(f"{result.model}: input {_shape(result.input, names)}, batch {format_dim(result.batch)}, "
                            f"dtype {result.dtype}{src}")]
    if depth is None:
        total_macs = result.totals["macs"]
        rows = [layer_row(r, total_macs, exact, names=names) for r in result.layers]
    else:
        rows = tree_rows(result, depth, exact, names)
    columns = list(COLUMNS)
    if depth is None:
        columns = [c for c in columns if c.key != "share"]
    if not any(row.cells["notes"] for row in rows):
        columns = [c for c in columns if c.key != "notes"]
    warnings = [terminal_safe(f"{r.name}: {w}") for r in result.layers for w in r.warnings]
    view = View(header, columns, rows, totals(result, exact, names), list(dict.fromkeys(warnings)))
    if names is not None:
        view.formulas = [(n, terminal_safe(t)) for n, t in names.definitions]
    return view


# -------------------------------------------------------------------------------------- layout

def _cell_text(row: Row, col: Column) -> str:
    text = row.cells[col.key]
    if col.key == "layer" and row.level:
        text = "  " * row.level + text
    return text


def _cut(text: str, width: int, middle: bool = False) -> str:
    """``text`` in at most ``width`` characters; a cut is marked with ``~`` (ASCII, byte-stable)."""
    if len(text) <= width:
        return text
    if width <= 1:
        return text[:width]
    if middle and width >= 5:
        head = (width - 1) // 2
        return text[:head] + "~" + text[len(text) - (width - 1 - head):]
    return text[:width - 1] + "~"


def fit_columns(view: View, width: int) -> tuple:
    """Choose columns and widths for ``width``: drop the lowest-priority columns first, then
    shorten headers, then cut the layer names in the middle and the notes at the end."""
    cols = list(view.columns)
    dropped = []

    def natural(c):
        n = max([len(c.header)] + [len(_cell_text(r, c)) for r in view.rows])
        return min(n, max(c.max_width, len(c.header))) if c.max_width else n

    widths = {c.key: natural(c) for c in cols}

    def total():
        return sum(widths[c.key] for c in cols) + 2 * (len(cols) - 1)

    while total() > width:
        droppable = [c for c in cols if c.priority > 0]
        if not droppable:
            break
        worst = max(droppable, key=lambda c: (c.priority, cols.index(c)))
        cols.remove(worst)
        dropped.append(worst)
    order = {c.key: i for i, c in enumerate(view.columns)}
    for c in sorted(dropped, key=lambda c: c.priority):  # a dropped column that fits after all comes back
        if total() + widths[c.key] + 2 <= width:
            cols.append(c)
            cols.sort(key=lambda c: order[c.key])
            dropped.remove(c)
    dropped = [c.header for c in dropped]
    for c in cols:  # "activations" -> "acts" when the cells are narrower than the header
        if total() > width and c.short_header:
            widths[c.key] = max(len(c.short_header), max([len(_cell_text(r, c)) for r in view.rows] or [0]))
    if total() > width and "layer" in widths:
        widths["layer"] = max(8, widths["layer"] - (total() - width))
    if total() > width and "notes" in widths:
        widths["notes"] = max(5, widths["notes"] - (total() - width))
    return cols, widths, dropped


def render(view: View, width: int, colour: bool = False) -> str:
    width = max(int(width), 1)
    cols, widths, dropped = fit_columns(view, width)
    out = []
    for line in view.header:
        out += _wrap(line, width, indent=2)
    if view.header:
        out.append("")
    if view.rows:
        def header_of(c):
            return c.header if len(c.header) <= widths[c.key] else (c.short_header or c.header)

        head = _line([header_of(c) for c in cols], cols, widths)
        out.append(_style(head, "1", colour))
        out.append("  ".join("-" * widths[c.key] for c in cols))
        for row in view.rows:
            cells = []
            for c in cols:
                text = _cell_text(row, c)
                cells.append(_cut(text, widths[c.key], middle=c.key == "layer"))
            line = _line(cells, cols, widths)
            out.append(_style(line, "1" if row.group else "33" if row.warn else "", colour))
        if dropped:
            out += _wrap(f"(not shown at {width} columns: {', '.join(dropped)}; widen the terminal, set COLUMNS, "
                         f"or use {view.full_format})", width, indent=1)
        if view.totals or view.warnings:
            out.append("")
    key_width = max([len(k) for k, _ in view.totals] or [0])
    for k, v in view.totals:
        lead = f"{k.rjust(key_width)}: " if k else " " * (key_width + 2)  # no key: a note under the last value
        if len(lead) + 12 > width:  # too narrow to align: key on its own line
            out += _wrap(k + ":", width, indent=2)
            out += _wrap("  " + v, width, indent=2)
        else:
            out += _wrap(lead + v, width, indent=len(lead))
    shown = [row.cells[c.key] for row in view.rows for c in cols] + [v for _, v in view.totals]
    formulas = used_formulas(view.formulas, shown)
    if formulas:
        out.append("")
        out.append(_style("formulas (the names above stand for these):", "1", colour))
        for name, text in formulas:
            out += _wrap(f"  {name} = {text}", width, indent=4)
    if view.warnings:
        out.append("")
        out.append(_style(f"{view.warnings_title} ({len(view.warnings)}):", "33", colour))
        for w in view.warnings:
            out += _wrap(f"  {w}", width, indent=4)
    cut = [line if len(line) <= width or "\x1b[" in line else line[:width] for line in out]
    return "\n".join(line.rstrip() for line in cut) + "\n"


def used_formulas(definitions: list, texts: list) -> list:
    """The ``(name, text)`` definitions that ``texts`` refer to, directly or through another
    definition (a column dropped at this width takes its names with it), in the order given."""
    if not definitions:
        return []
    import re

    word = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
    text_of = dict(definitions)
    todo = [w for t in texts for w in word.findall(t) if w in text_of]
    used = set()
    while todo:
        name = todo.pop()
        if name not in used:
            used.add(name)
            todo += [w for w in word.findall(text_of[name]) if w in text_of]
    return [(n, t) for n, t in definitions if n in used]


def _line(cells, cols, widths) -> str:
    parts = []
    for text, c in zip(cells, cols):
        parts.append(text.rjust(widths[c.key]) if c.right else text.ljust(widths[c.key]))
    return "  ".join(parts).rstrip()


def _wrap(text: str, width: int, indent: int) -> list:
    """Break ``text`` at spaces into lines of at most ``width``; continuation lines indented;
    a word longer than a line is cut (so no line ever exceeds the width)."""
    if len(text) <= width:
        return [text]
    indent = min(indent, max(width // 3, 0))
    lines, line = [], ""
    lead = len(text) - len(text.lstrip(" "))
    words = text.lstrip(" ").split(" ")
    line = " " * lead
    for word in words:
        sep = "" if line.strip() == "" else " "
        if len(line) + len(sep) + len(word) <= width:
            line += sep + word
            continue
        if line.strip():
            lines.append(line)
            line = " " * indent
        while len(line) + len(word) > width:
            room = width - len(line)
            if room <= 0:
                break
            lines.append(line + word[:room])
            word = word[room:]
            line = " " * indent
        line += word
    if line.strip():
        lines.append(line)
    return [ln[:width] for ln in lines]


def _style(text: str, sgr: str, colour: bool) -> str:
    if not colour or not sgr or not text:
        return text
    return f"\x1b[{sgr}m{text}\x1b[0m"


def render_terminal(result, width: int = 80, depth=None, exact: bool = False, colour: bool = False) -> str:
    """The whole terminal view of ``result`` in at most ``width`` columns (colour codes aside)."""
    return render(build_view(result, depth=depth, exact=exact), width, colour=colour)
