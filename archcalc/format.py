"""Text renderings of a Result: plain table, CSV, GitHub Markdown, JSON. Standard library only."""

from __future__ import annotations

import io
from typing import NamedTuple

from .dims import format_dim, to_json
from .text import csv_cell, fmt_int, human_bytes, md_cell, terminal_safe
from .text import rf as _rf
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


def layer_rows(result) -> list:
    """A :class:`LayerRow` per layer, full integers, notes including the warnings' text."""
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
        if r.warnings:
            notes.append("WARN: " + "; ".join(r.warnings))
        rows.append(LayerRow(r.name, r.kind, layer.describe(), _shape(r.output_shape), fmt_int(r.params),
                             fmt_int(r.macs), fmt_int(r.flops), fmt_int(r.activations), _rf(r.receptive_field),
                             ", ".join(notes)))
    return rows


def totals_lines(result) -> list:
    t = result.totals
    rf = t["receptive_field"]
    lines = [
        ("params", f"{fmt_int(t['params'])} (trainable {fmt_int(t['trainable_params'])}, "
                   f"non-trainable {fmt_int(t['non_trainable_params'])})"),
        ("buffers", f"{fmt_int(t['buffers'])} (BN running statistics; not params)"),
        ("MACs", f"{fmt_int(t['macs'])} (conv/linear multiply-accumulates, bias excluded)"),
        ("FLOPs", f"{fmt_int(t['flops'])} (2 x MACs + bias, norm, activation, pooling and add ops)"),
        ("activations", f"{fmt_int(t['activations'])} elements = {human_bytes(t['activation_bytes'])} "
                        f"in {result.dtype} (sum of materialised outputs incl. the input)"),
        ("param memory", f"{human_bytes(t['param_bytes'])} in {result.dtype}"),
        ("receptive field", f"{_rf(rf)} px at {t['receptive_field_layer']} (jump {format_dim(rf.jump[0])})"),
    ]
    return lines


def _header(result) -> str:
    src = f"  [{result.entry.source}]" if result.entry else ""
    return (f"{result.model}: input {_shape(result.input)}, batch {format_dim(result.batch)}, "
            f"dtype {result.dtype}{src}")


def render_table(result) -> str:
    """Every column at its natural width (``Result.__repr__``); the CLI prints the fitted view of
    :mod:`archcalc.renderers.terminal` instead. Control characters in names are shown escaped."""
    rows = [LayerRow(*map(terminal_safe, row)) for row in layer_rows(result)]
    columns = list(zip(COLUMNS, *rows))  # column-wise, header first
    widths = [max(map(len, col)) for col in columns[:-1]]
    right = {4, 5, 6, 7, 8}
    # one format string for the aligned cells; the notes column trails unpadded
    cells = "  ".join(f"{{{i}:{'>' if i in right else '<'}{w}}}" for i, w in enumerate(widths))
    out = [terminal_safe(_header(result)), "", cells.format(*COLUMNS) + "  " + COLUMNS[-1],
           "  ".join("-" * w for w in widths)]
    out += [cells.format(*r) + ("  " + r[-1] if r[-1] else "") for r in rows]
    out.append("")
    totals = totals_lines(result)
    width = max(len(k) for k, _ in totals)
    out += [f"{k.rjust(width)}: {v}" for k, v in totals]
    return "\n".join(out) + "\n"


def render_csv(result) -> str:
    import csv

    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["name", "kind", "config", "input_shape", "output_shape", "params", "trainable_params", "buffers",
                "macs", "flops", "activations", "rf_size", "rf_jump", "warnings"])
    for r in result.layers:
        # names and warnings may carry a spec's text; kind and config are the engine's own words
        # (config's "-> 1000" is not a formula and stays as the other formats print it)
        w.writerow([csv_cell(r.name), r.kind, r.layer.describe(),
                    ";".join(_shape(s) for s in r.input_shapes), _shape(r.output_shape), format_dim(r.params), format_dim(r.trainable_params),
                    format_dim(r.buffers), format_dim(r.macs), format_dim(r.flops), format_dim(r.activations),
                    _rf(r.receptive_field), format_dim(r.receptive_field.jump[0]), csv_cell(" | ".join(r.warnings))])
    return buf.getvalue()


_md_cell = md_cell


def render_markdown(result) -> str:
    out = io.StringIO()
    out.write(f"### {_md_cell(_header(result))}\n\n")
    out.write("| " + " | ".join(COLUMNS) + " |\n")
    out.write("|" + "|".join("---:" if i in {4, 5, 6, 7, 8} else "---" for i in range(len(COLUMNS))) + "|\n")
    for r in layer_rows(result):
        out.write("| " + " | ".join(_md_cell(c) for c in r) + " |\n")
    out.write("\n| total | value |\n|---|---|\n")
    for k, v in totals_lines(result):
        out.write(f"| {k} | {_md_cell(v)} |\n")
    return out.getvalue()


def render_json(result) -> str:
    import json  # only for this format: `archcalc MODEL` prints a table without importing json

    return json.dumps(result.to_dict(), indent=2)


RENDERERS = {"table": render_table, "csv": render_csv, "md": render_markdown, "json": render_json}

__all__ = ["render_table", "render_csv", "render_markdown", "render_json", "RENDERERS", "to_json"]
