"""Text renderings of a Result: plain table, CSV, GitHub Markdown, JSON. Standard library only."""

from __future__ import annotations

import io
from typing import NamedTuple

from .dims import format_dim, to_json
from .text import count_formula, csv_cell, fmt_int, formula_text, human_bytes, md_cell, terminal_safe
from .text import rf as _rf
from .text import rf_jump as _jump
from .text import rf_total
from .text import shape as _shape

COLUMNS = ("layer", "kind", "config", "output", "params", "MACs", "FLOPs", "activations", "RF", "notes")


class LayerRow(NamedTuple):
    """One table row as named text cells (a named tuple: older callers may still unpack it)."""

    layer: str
    kind: str
    config: str
    output: str
    params: str
    macs: str
    flops: str
    activations: str
    rf: str
    notes: str


#: symbolic cells of the plain table and Markdown: floor parts named past LIMIT characters, the
#: whole formula named past CAP (Markdown rows cannot wrap; CSV cells keep every formula whole)
LIMIT = 40
CAP = 60
TOTAL_CAP = 200


def _names(result, limit: int = LIMIT, cap: int = CAP):
    """A :class:`~archcalc.text.FormulaText` for a result with formulas in it, else None."""
    return formula_text(result, limit, cap)


def _count(x, names) -> str:
    return fmt_int(x) if names is None or isinstance(x, int) else names.value(x)


def _shape_of(s, names) -> str:
    return _shape(s) if names is None else names.shape(s)


def layer_rows(result, names=None) -> list:
    """A :class:`LayerRow` per layer, full integers, notes including the warnings' text. ``names``
    (a :class:`~archcalc.text.FormulaText`): long formulas written short, every shape bracketed."""
    rows = []
    for r in result.layers:
        layer = r.layer
        notes = []
        if layer.reuses_input and r.kind != "Input":
            notes.append("in-place" if getattr(layer, "inplace", False) else "view")
        if r.frozen:
            notes.append("frozen")
        if r.params and r.params != r.trainable_params and not r.frozen:
            notes.append("fixed weights")
        if r.per_forward and not getattr(layer, "batch_free", False):
            notes.append("once per forward")  # its input is the same for every sample (analysis)
        if r.warnings:
            notes.append("WARN: " + "; ".join(r.warnings))
        rows.append(LayerRow(r.name, r.kind, layer.describe(), _shape_of(r.output_shape, names),
                             _count(r.params, names), _count(r.macs, names), _count(r.flops, names),
                             _count(r.activations, names),
                             _rf(r.receptive_field) if names is None else names.rf(r.receptive_field),
                             ", ".join(notes)))
    return rows


def totals_lines(result, names=None) -> list:
    """``names``: as in :func:`layer_rows` (a total longer than TOTAL_CAP is named whole)."""
    t = result.totals
    rf = t["receptive_field"]

    def count(x):
        return fmt_int(x) if names is None or isinstance(x, int) else names.value(x, count_formula, TOTAL_CAP)

    def nbytes(x):
        return human_bytes(x) if names is None or isinstance(x, int) else count(x) + " B"

    lines = [
        ("params", f"{count(t['params'])} (trainable {count(t['trainable_params'])}, "
                   f"non-trainable {count(t['non_trainable_params'])})"),
        ("buffers", f"{count(t['buffers'])} (BN running statistics; not params)"),
        ("MACs", f"{count(t['macs'])} (conv/linear multiply-accumulates, bias excluded)"),
        ("FLOPs", f"{count(t['flops'])} (2 x MACs + bias, norm, activation, pooling and add ops)"),
        ("activations", f"{count(t['activations'])} elements = {nbytes(t['activation_bytes'])} "
                        f"in {result.dtype} (sum of materialised outputs incl. the input)"),
        ("param memory", f"{nbytes(t['param_bytes'])} in {result.dtype}"),
        ("receptive field", rf_total(rf, t["receptive_field_layer"], _rf(rf) if names is None else names.rf(rf, TOTAL_CAP),
                                     t.get("receptive_field_known"))),
    ]
    return lines


def _header(result, names=None) -> str:
    src = f"  [{result.entry.source}]" if result.entry else ""
    return (f"{result.model}: input {_shape_of(result.input, names)}, batch {format_dim(result.batch)}, "
            f"dtype {result.dtype}{src}")


def _formula_lines(names, width: int = 100) -> list:
    """``name = formula`` for each name the rows and totals used, wrapped at ``width`` columns."""
    if names is None:
        return []
    from .renderers.terminal import _wrap

    out = []
    for name, text in names.definitions:
        out += _wrap(f"{name} = {terminal_safe(text)}", width, indent=4)
    return out


def render_table(result) -> str:
    """Every column at its natural width (``Result.__repr__``); the CLI prints the fitted view of
    :mod:`archcalc.renderers.terminal` instead. Control characters in names are shown escaped."""
    names = _names(result)
    rows = [LayerRow(*map(terminal_safe, row)) for row in layer_rows(result, names)]
    columns = list(zip(COLUMNS, *rows))  # column-wise, header first
    widths = [max(map(len, col)) for col in columns[:-1]]
    right = {4, 5, 6, 7, 8}
    # one format string for the aligned cells; the notes column trails unpadded
    cells = "  ".join(f"{{{i}:{'>' if i in right else '<'}{w}}}" for i, w in enumerate(widths))
    out = [terminal_safe(_header(result, names)), "", cells.format(*COLUMNS) + "  " + COLUMNS[-1],
           "  ".join("-" * w for w in widths)]
    out += [cells.format(*r) + ("  " + r[-1] if r[-1] else "") for r in rows]
    out.append("")
    totals = totals_lines(result, names)
    width = max(len(k) for k, _ in totals)
    out += [f"{k.rjust(width)}: {v}" for k, v in totals]
    formulas = _formula_lines(names)
    if formulas:
        out += ["", "formulas (the names above stand for these):"] + ["  " + f for f in formulas]
    return "\n".join(out) + "\n"


def render_csv(result) -> str:
    """One row per layer. A result with formulas brackets every shape (``[64, floor(H/2),
    floor(W/2)]``: the cells of one column read one way) and writes every formula whole, however
    long: a cell stays self-contained for the program that reads it."""
    import csv

    names = formula_text(result, limit=1 << 62)

    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["name", "kind", "config", "input_shape", "output_shape", "params", "trainable_params", "buffers",
                "macs", "flops", "activations", "rf_size", "rf_jump", "warnings"])
    for r in result.layers:
        # names and warnings may carry a spec's text; kind and config are the engine's own words
        # (config's "-> 1000" is not a formula and stays as the other formats print it)
        w.writerow([csv_cell(r.name), r.kind, r.layer.describe(),
                    ";".join(_shape_of(s, names) for s in r.input_shapes), _shape_of(r.output_shape, names),
                    format_dim(r.params), format_dim(r.trainable_params),
                    format_dim(r.buffers), format_dim(r.macs), format_dim(r.flops), format_dim(r.activations),
                    _rf(r.receptive_field), _jump(r.receptive_field), csv_cell(" | ".join(r.warnings))])
    return buf.getvalue()


_md_cell = md_cell


def render_markdown(result) -> str:
    names = _names(result)
    out = io.StringIO()
    out.write(f"### {_md_cell(_header(result, names))}\n\n")
    out.write("| " + " | ".join(COLUMNS) + " |\n")
    out.write("|" + "|".join("---:" if i in {4, 5, 6, 7, 8} else "---" for i in range(len(COLUMNS))) + "|\n")
    for r in layer_rows(result, names):
        out.write("| " + " | ".join(_md_cell(c) for c in r) + " |\n")
    out.write("\n| total | value |\n|---|---|\n")
    for k, v in totals_lines(result, names):
        out.write(f"| {k} | {_md_cell(v)} |\n")
    formulas = _formula_lines(names)
    if formulas:  # a code block: the lines wrap, and a formula's * is not emphasis (names are identifiers)
        out.write("\nformulas (the names above stand for these):\n\n```\n" + "\n".join(formulas) + "\n```\n")
    return out.getvalue()


def render_json(result) -> str:
    """``json.dumps(result.to_dict(), indent=2)``, byte for byte, written layer by layer
    (:mod:`archcalc.jsonstream`; the CLI streams the same pieces to its output)."""
    from .jsonstream import render_json as streamed  # json only for this format

    return streamed(result)


RENDERERS = {"table": render_table, "csv": render_csv, "md": render_markdown, "json": render_json}

__all__ = ["render_table", "render_csv", "render_markdown", "render_json", "RENDERERS", "to_json"]
