"""Side-by-side totals of several models: the course's "which architecture" question.

Top-1 accuracy is torchvision's published figure for the weights a zoo model mirrors, read from a
static table shipped with the zoo (:mod:`archcalc.zoo._top1`, copied from torchvision's weights
metadata), so comparing never imports torch. It is shown only when the zoo entry names the
torchvision builder and that checkpoint's ``num_params`` equals archcalc's computed params (so the
accuracy belongs to exactly this architecture).
"""

from __future__ import annotations

from .. import dims
from ..text import binary_bytes, rf, shape, short


def published_top1(entry, params):
    """(top-1 %, weights name, None) or (None, None, reason)."""
    from ..zoo._top1 import top1

    row, why = top1(entry.torchvision if entry is not None else None, params)
    if row is None:
        return None, None, why
    return row.top1, row.weights, None


def _bytes(n) -> str:
    from .data import count

    return binary_bytes(n) if dims.is_concrete(n) else count(n) + " B"


def _compact(x) -> str:
    """A table cell's short text: ``138.4M``; a formula is named by its symbols, ``f(R)`` (the
    exact formula is the cell's title and the Markdown version's text)."""
    return short(x) if dims.is_concrete(x) else "f(" + ", ".join(sorted(dims.free_symbols(x))) + ")"


def _peak(result):
    """Inference peak bytes (weights + live activations), or None when a figure is a formula."""
    from .data import symbols

    if symbols(result):
        return None
    from ..memory import inference_memory

    return inference_memory(result).peak_bytes


class Comparison:
    """Results of several models side by side; ``.rows`` (dicts), ``.report(fmt)``,
    ``.to_dataframe()``, a text ``repr`` and ``_repr_html_`` for notebooks."""

    def __init__(self, results, accuracy: bool = True):
        self.results = list(results)
        self.rows = [self._row(r, accuracy) for r in self.results]

    @staticmethod
    def _row(result, accuracy):
        from .data import count, symbols

        t = result.totals
        e = result.entry
        peak = _peak(result)
        top1, weights, why = (published_top1(e, t["params"]) if accuracy
                              else (None, None, "accuracy lookup off"))
        return {
            "model": result.model,
            "family": e.family if e else "",
            "source": e.source if e else "user-built graph",
            "input": shape(result.input),
            "batch": dims.format_dim(result.batch),
            "batch_value": result.batch,
            "dtype": result.dtype,
            "params_value": t["params"], "macs_value": t["macs"], "flops_value": t["flops"],
            "activation_bytes_value": t["activation_bytes"], "param_bytes_value": t["param_bytes"],
            "rf_value": t["receptive_field"].size[0], "peak_bytes_value": peak,
            "params": count(t["params"]), "params_short": _compact(t["params"]),
            "macs": count(t["macs"]), "macs_short": _compact(t["macs"]),
            "flops": count(t["flops"]), "flops_short": _compact(t["flops"]),
            "activations": _bytes(t["activation_bytes"]),
            "activations_short": binary_bytes(t["activation_bytes"]) if dims.is_concrete(t["activation_bytes"])
            else _compact(t["activation_bytes"]),
            "param_memory": _bytes(t["param_bytes"]),
            "rf": rf(t["receptive_field"]),
            "peak": binary_bytes(peak) if peak is not None else "\u2013",
            "layers": len(result.layers),
            "symbols": symbols(result),
            "top1": top1, "top1_text": f"{top1:.3f}" if top1 is not None else "",
            "weights": weights or "", "top1_note": why or "",
        }

    @property
    def symbolic(self) -> bool:
        return all(r["symbols"] for r in self.rows)

    def charts(self) -> list:
        """The scatter of the models whose totals are numbers; the caption names any left out."""
        plotted = [r for r in self.rows if not r["symbols"]]
        if len(plotted) < 1:
            return []
        from .charts import compare_scatter

        title = "MACs vs params"
        skipped = [f"{r['model']} ({', '.join(r['symbols'])})" for r in self.rows if r["symbols"]]
        if skipped:
            title += "; not plotted, their totals are formulas in: " + ", ".join(skipped)
        crowded: list = []
        svg = compare_scatter(plotted, crowded=crowded)
        if crowded:
            title += "; not labelled where crowded (see the table): " + ", ".join(crowded)
        return [(title, svg, None)]

    def report(self, format: str = "html") -> str:
        from . import render_compare

        return render_compare(self, format)

    def __repr__(self) -> str:
        """A plain-text table: one line per model, compact units (exact counts in ``.rows``)."""
        head = ("model", "params", "MACs", "FLOPs", "act. mem", "peak", "RF", "layers", "top-1")
        lines = [head]
        for r in self.rows:
            lines.append((r["model"], r["params_short"], r["macs_short"], r["flops_short"], r["activations_short"],
                          r["peak"], r["rf"], str(r["layers"]),
                          r["top1_text"] or "-"))
        widths = [max(len(x[i]) for x in lines) for i in range(len(head))]
        out = [f"Comparison of {len(self.rows)} models (batch {self.rows[0]['batch'] if self.rows else ''}, "
               f"{self.rows[0]['dtype'] if self.rows else ''})"]
        for line in lines:
            out.append("  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(line, widths))))
        return "\n".join(out)

    def _repr_html_(self) -> str:
        from . import render_compare

        return render_compare(self, "html", fragment=True)

    def to_dataframe(self):
        from .frame import comparison_frame

        return comparison_frame(self)


def compare(models, input=None, batch=1, dtype="fp32", accuracy: bool = True) -> Comparison:
    """Analyse each zoo name (or take each Result as is) and line them up."""
    from ..analysis import Result, analyze

    results = [m if isinstance(m, Result) else analyze(m, input=input, batch=batch, dtype=dtype) for m in models]
    return Comparison(results, accuracy=accuracy)
