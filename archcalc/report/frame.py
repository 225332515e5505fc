"""pandas DataFrames of a Result (one row per layer) and of a Comparison (one row per model).

Count columns are ``int64`` when every value is a concrete integer; a symbolic result (``3xHxW``)
keeps its sympy expressions in ``object`` columns so they can still be ``.subs()``-tituted.
"""

from __future__ import annotations

from ..dtypes import DTYPE_BYTES
from ..dims import format_dim, normalize

_COUNTS = ("params", "trainable_params", "buffers", "macs", "flops", "activations", "output_elements",
           "activation_bytes", "rf_h", "rf_w", "rf_jump_h", "rf_jump_w")


def _typed(pd, data: dict, counts, strings, flags=()):
    df = pd.DataFrame(data)
    for c in strings:
        df[c] = df[c].astype("string")
    for c in flags:
        df[c] = df[c].astype("bool")
    for c in counts:
        if all(isinstance(v, int) and not isinstance(v, bool) for v in data[c]):
            df[c] = df[c].astype("int64")
    return df


def result_frame(result):
    import pandas as pd

    nbytes = DTYPE_BYTES[result.dtype]
    recs = result.layers
    data = {
        "name": [r.name for r in recs],
        "kind": [r.kind for r in recs],
        "config": [r.layer.describe() for r in recs],
        "input_shape": ["; ".join("x".join(format_dim(d) for d in s) for s in r.input_shapes) for r in recs],
        "output_shape": ["x".join(format_dim(d) for d in r.output_shape) for r in recs],
        "params": [r.params for r in recs],
        "trainable_params": [r.trainable_params for r in recs],
        "buffers": [r.buffers for r in recs],
        "macs": [r.macs for r in recs],
        "flops": [r.flops for r in recs],
        "activations": [r.activations for r in recs],
        "output_elements": [r.output_elements for r in recs],
        "activation_bytes": [normalize(r.activations * nbytes) for r in recs],
        "rf_h": [normalize(r.receptive_field.size[0]) for r in recs],
        "rf_w": [normalize(r.receptive_field.size[1]) for r in recs],
        "rf_jump_h": [normalize(r.receptive_field.jump[0]) for r in recs],
        "rf_jump_w": [normalize(r.receptive_field.jump[1]) for r in recs],
        "frozen": [r.frozen for r in recs],
        "warnings": [" | ".join(r.warnings) for r in recs],
    }
    df = _typed(pd, data, _COUNTS, ("name", "kind", "config", "input_shape", "output_shape", "warnings"),
                ("frozen",))
    df.attrs.update({"model": result.model, "dtype": result.dtype,
                     "batch": result.batch if isinstance(result.batch, int) else format_dim(result.batch),
                     "input": "x".join(format_dim(d) for d in result.input)})
    return df


def comparison_frame(comparison):
    """One row per model: exact counts (int64 where concrete), receptive field, layers, param bytes,
    inference peak bytes (<NA> for a model whose figures are formulas), published top-1 (<NA> where
    none applies). ``attrs``: ``batch`` (int, or the symbol's text) and ``dtype``."""
    import pandas as pd

    rows = comparison.rows
    data = {
        "model": [r["model"] for r in rows],
        "family": [r["family"] for r in rows],
        "input": [r["input"] for r in rows],
        "params": [r["params_value"] for r in rows],
        "macs": [r["macs_value"] for r in rows],
        "flops": [r["flops_value"] for r in rows],
        "activation_bytes": [r["activation_bytes_value"] for r in rows],
        "param_bytes": [r["param_bytes_value"] for r in rows],
        "peak_bytes": [r["peak_bytes_value"] for r in rows],
        "receptive_field": [r["rf_value"] for r in rows],
        "layers": [r["layers"] for r in rows],
        "top1": [r["top1"] for r in rows],
        "weights": [r["weights"] for r in rows],
    }
    df = _typed(pd, data, ("params", "macs", "flops", "activation_bytes", "param_bytes", "receptive_field", "layers"),
                ("model", "family", "input", "weights"))
    df["peak_bytes"] = df["peak_bytes"].astype("Int64")
    if any(v is None for v in data["receptive_field"]):  # undefined for some model (RoI heads, 3-d convs)
        df["receptive_field"] = df["receptive_field"].astype("Int64")
    df["top1"] = df["top1"].astype("Float64")
    batches = {r["batch_value"] for r in rows}
    batch = next(iter(batches)) if len(batches) == 1 else None
    df.attrs.update({"batch": batch if isinstance(batch, int) or batch is None else format_dim(batch),
                     "dtype": rows[0]["dtype"] if rows else None})
    return df
