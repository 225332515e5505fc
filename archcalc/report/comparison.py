"""Side-by-side totals of several models: the course's "which architecture" question.

Top-1 accuracy is torchvision's published figure (``Weights.meta["_metrics"]["ImageNet-1K"]["acc@1"]``),
read from the weights enum's metadata without downloading anything, and shown only when torchvision
is installed, the zoo entry names the torchvision builder it mirrors, and the weights' ``num_params``
equals archcalc's computed params (so the accuracy belongs to exactly this architecture).
"""

from __future__ import annotations

from .. import dims
from ..text import binary_bytes, fmt_int, rf, shape, short


def torchvision_top1(entry, params):
    """(top-1 %, weights name, None) or (None, None, reason)."""
    if entry is None or not entry.torchvision:
        return None, None, "no torchvision counterpart"
    try:
        from torchvision.models import get_model_weights
    except Exception:  # torch missing or broken: the report goes on without accuracy
        return None, None, "torchvision not installed"
    try:
        enum = get_model_weights(entry.torchvision)
    except Exception:
        return None, None, f"torchvision has no weights for {entry.torchvision}"
    # the V1 weights are the ones the zoo's published figures cite; fall back to the default
    weights = getattr(enum, "IMAGENET1K_V1", None) or enum.DEFAULT
    meta = weights.meta
    if meta.get("num_params") != params:
        return None, None, (f"torchvision {weights} has {meta.get('num_params'):,} params, "
                            f"this variant {fmt_int(params)}")
    acc = meta.get("_metrics", {}).get("ImageNet-1K", {}).get("acc@1")
    if acc is None:
        return None, None, f"{weights} publishes no ImageNet-1K top-1"
    return float(acc), str(weights), None


class Comparison:
    """Results of several models side by side; ``.rows`` (dicts), ``.report(fmt)``,
    ``.to_dataframe()``, ``_repr_html_`` for notebooks."""

    def __init__(self, results, accuracy: bool = True):
        self.results = list(results)
        self.rows = [self._row(r, accuracy) for r in self.results]

    @staticmethod
    def _row(result, accuracy):
        from .data import symbols

        t = result.totals
        e = result.entry
        top1, weights, why = (torchvision_top1(e, t["params"]) if accuracy
                              else (None, None, "accuracy lookup off"))
        return {
            "model": result.model,
            "family": e.family if e else "",
            "source": e.source if e else "user-built graph",
            "input": shape(result.input),
            "batch": dims.format_dim(result.batch),
            "dtype": result.dtype,
            "params_value": t["params"], "macs_value": t["macs"], "flops_value": t["flops"],
            "activation_bytes_value": t["activation_bytes"],
            "params": fmt_int(t["params"]), "params_short": short(t["params"]),
            "macs": fmt_int(t["macs"]), "macs_short": short(t["macs"]),
            "flops": fmt_int(t["flops"]), "flops_short": short(t["flops"]),
            "activations": binary_bytes(t["activation_bytes"]),
            "param_memory": binary_bytes(t["param_bytes"]),
            "rf": rf(t["receptive_field"]),
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
        return [(title, svg)]

    def report(self, format: str = "html") -> str:
        from . import render_compare

        return render_compare(self, format)

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
