"""Cost assertions for test suites: :func:`assert_costs`, cost snapshots and per-layer diffs.

Standard library only; the pytest plugin (:mod:`archcalc.pytest_plugin`) builds on this module and
this module never imports pytest, so ``assert_costs`` also works under unittest or a plain script.

What a model can be (:func:`resolve`): a zoo name (``"resnet18"``), a :class:`~archcalc.graph.Graph`
from the builder, an already analysed :class:`~archcalc.analysis.Result`, a network spec file
(a path ending in ``.yaml``/``.yml``/``.json``, loaded by ``archcalc.spec.load_spec``) or, with torch
installed, an ``nn.Module`` (imported statically by ``archcalc.torch_bridge.from_torch``; pass
``input=``). A baseline may additionally be a :class:`Snapshot` or a snapshot file (``.txt``).

Figures compared are exact: ``params`` (trainable + non-trainable), ``trainable_params``, ``macs``
(multiply-accumulates of conv/linear/matmul weights, bias excluded, whole batch) and the other
``Result.totals`` keys listed in :data:`FIGURES`.

A failure message shows expected vs actual for every differing figure, then per-layer rows:

- with ``baseline=``: every layer whose output shape, params or MACs differ from the baseline's
  layer of the same name, plus layers only one side has;
- without a baseline: for each differing figure, the layers contributing most to the actual total
  (largest first, with their share), which is where a wrong count usually hides.
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass, field
from typing import Any, Optional

from . import dims
from .errors import ArchcalcError, InvalidValueError

#: Totals ``assert_costs`` can compare, and the per-layer field that adds up to each.
FIGURES = {
    "params": "params",
    "trainable_params": "trainable_params",
    "non_trainable_params": None,
    "buffers": "buffers",
    "macs": "macs",
    "flops": "flops",
    "activations": "activations",
}

#: How many per-layer lines a failure message shows before summarising the rest.
MAX_DIFF_LINES = 40
#: How many contributors are listed per differing figure when there is no baseline.
TOP_CONTRIBUTORS = 8

SPEC_SUFFIXES = (".yaml", ".yml", ".json")
SNAPSHOT_SUFFIX = ".txt"
SNAPSHOT_VERSION = 1


class CostArgumentError(ArchcalcError, TypeError):
    """``assert_costs``/budget/snapshot called with arguments it cannot use (one line, names them)."""


class CostMismatch(AssertionError):
    """Raised by :func:`assert_costs`: the message holds expected vs actual and per-layer rows."""


# ---------------------------------------------------------------------------------------------
# Resolving "a model" to an analysed Result
# ---------------------------------------------------------------------------------------------


def _is_torch_module(obj) -> bool:
    # Never import torch here: if it is not imported yet, obj cannot be an nn.Module.
    torch = sys.modules.get("torch")
    return torch is not None and isinstance(obj, torch.nn.Module)


def _spec_graph(path: str):
    try:
        from . import spec
    except ImportError as e:
        raise CostArgumentError(f"cannot load spec file {path!r}: archcalc.spec is not available ({e}); "
                                "install archcalc[spec]") from None
    load = getattr(spec, "load_spec", None)
    if load is None:
        raise CostArgumentError(f"cannot load spec file {path!r}: this archcalc.spec has no load_spec()")
    return load(path)


def _torch_graph(module, input):
    if input is None:
        raise CostArgumentError(f"an nn.Module ({type(module).__name__}) needs input=, the per-sample "
                                "input shape, e.g. input=(3, 224, 224)")
    try:
        from .torch_bridge import from_torch
    except ImportError as e:
        raise CostArgumentError(f"cannot import {type(module).__name__}: archcalc.torch_bridge.from_torch "
                                f"is not available ({e})") from None
    return from_torch(module, input)


def resolve(model, *, input=None, batch=1, dtype: str = "fp32", freeze=(), build_kwargs: Optional[dict] = None):
    """Analyse ``model`` (see the module docstring for what it may be) and return the Result."""
    from .analysis import Result, analyze
    from .graph import Graph

    kw = dict(batch=batch, dtype=dtype, freeze=tuple(freeze))
    if isinstance(model, Result):
        if input is not None or build_kwargs:
            raise CostArgumentError("input= and build_kwargs= cannot apply to an already analysed Result")
        return model
    if isinstance(model, Graph):
        return analyze(model, input=input, **kw)
    if isinstance(model, (str, os.PathLike)):
        text = os.fspath(model)
        if text.lower().endswith(SPEC_SUFFIXES):
            return analyze(_spec_graph(text), input=input, **kw)
        if isinstance(model, os.PathLike) or text.lower().endswith(SNAPSHOT_SUFFIX):
            raise CostArgumentError(f"{text!r} is not a model: a file must be a spec ending in "
                                    f"{', '.join(SPEC_SUFFIXES)} (snapshots are only baselines)")
        return analyze(text, input=input, **kw, **(build_kwargs or {}))
    if _is_torch_module(model):
        return analyze(_torch_graph(model, input), **kw)
    raise CostArgumentError(f"cannot take the costs of a {type(model).__name__}: pass a zoo name, a Graph, "
                            "a Result, a spec file path (.yaml/.yml/.json) or a torch nn.Module")


# ---------------------------------------------------------------------------------------------
# Per-layer rows (what snapshots store and diffs compare)
# ---------------------------------------------------------------------------------------------


def _dim_text(x) -> str:
    return dims.format_dim(x).replace(" ", "")


def _num_text(x) -> str:
    return f"{x:,}" if isinstance(x, int) and not isinstance(x, bool) else _dim_text(x)


def _parse_num(text: str):
    plain = text.replace(",", "")
    return int(plain) if plain.lstrip("-").isdigit() else text


@dataclass(frozen=True)
class Row:
    """One layer as snapshots see it: output shape as text, params and MACs as ints (or text when
    symbolic)."""

    name: str
    kind: str
    output: str
    params: Any
    macs: Any

    @staticmethod
    def of(record) -> "Row":
        shape = "x".join(_dim_text(d) for d in record.output_shape) or "scalar"
        return Row(record.name, record.kind, shape, dims.normalize(record.params), dims.normalize(record.macs))


@dataclass
class Snapshot:
    """A model's costs as a snapshot file holds them: a few totals and one :class:`Row` per layer."""

    model: str
    input: str
    batch: str
    totals: dict  # params, trainable_params, macs
    rows: list = field(default_factory=list)

    @staticmethod
    def of(result) -> "Snapshot":
        t = result.totals
        return Snapshot(
            model=result.model,
            input="x".join(_dim_text(d) for d in result.input),
            batch=_dim_text(result.batch),
            totals={k: dims.normalize(t[k]) for k in ("params", "trainable_params", "macs")},
            rows=[Row.of(r) for r in result.layers],
        )

    def same_costs(self, other: "Snapshot") -> bool:
        """Equal where it matters (input, batch, totals, rows); the model's display name may differ."""
        return (self.input, self.batch, _comparable(self.totals), [_comparable_row(r) for r in self.rows]) == (
            other.input, other.batch, _comparable(other.totals), [_comparable_row(r) for r in other.rows])

    # -- text form ------------------------------------------------------------------------------

    def to_text(self) -> str:
        lines = [
            f"# archcalc cost snapshot v{SNAPSHOT_VERSION}: regenerate with `pytest --archcalc-update`, "
            "do not edit by hand",
            "# macs: conv/linear/matmul multiply-accumulates, bias excluded; params include non-trainable",
            f"model {self.model}",
            f"input {self.input}",
            f"batch {self.batch}",
        ]
        lines += [f"{k} {_num_text(v)}" for k, v in self.totals.items()]
        table = [("layer", "kind", "output", "params", "macs")]
        table += [(_name_text(r.name), r.kind, r.output, _num_text(r.params), _num_text(r.macs)) for r in self.rows]
        widths = [max(len(row[i]) for row in table) for i in range(5)]
        lines.append("")
        for row in table:
            cells = [row[i].ljust(widths[i]) for i in range(3)] + [row[i].rjust(widths[i]) for i in (3, 4)]
            lines.append("  ".join(cells).rstrip())
        return "\n".join(lines) + "\n"

    @staticmethod
    def from_text(text: str, source: str = "<snapshot>") -> "Snapshot":
        head: dict = {}
        rows: list = []
        in_table = False
        for n, line in enumerate(text.splitlines(), 1):
            if not line.strip() or line.startswith("#"):
                continue
            if not in_table:
                if line.split()[0] == "layer" and line.split()[1:2] == ["kind"]:
                    in_table = True
                    continue
                key, _, value = line.partition(" ")
                head[key] = value.strip()
                continue
            parts = line.rsplit(None, 4)
            if len(parts) != 5:
                raise InvalidValueError(f"{source}:{n}: not a snapshot row (name kind output params macs): {line!r}")
            name, kind, output, params, macs = parts
            name = json.loads(name) if name.startswith('"') else name
            rows.append(Row(name, kind, output, _parse_num(params), _parse_num(macs)))
        missing = [k for k in ("model", "input", "batch", "params", "trainable_params", "macs") if k not in head]
        if missing or not in_table:
            raise InvalidValueError(f"{source}: not an archcalc snapshot (missing {', '.join(missing) or 'layer table'})")
        totals = {k: _parse_num(head[k]) for k in ("params", "trainable_params", "macs")}
        return Snapshot(head["model"], head["input"], head["batch"], totals, rows)

    @staticmethod
    def read(path) -> "Snapshot":
        from .spec import read_text  # bounded, regular files only, one-line errors

        source, text = read_text(path, "snapshot")
        return Snapshot.from_text(text, source=source)

    def write(self, path) -> None:
        write_text_atomic(path, self.to_text())


def _name_text(name: str) -> str:
    # names are written bare; only ones that would not read back (spaces at the ends, empty,
    # starting with a quote or '#') are JSON-quoted
    if not name or name != name.strip() or name.startswith(('"', "#")) or "\n" in name:
        return json.dumps(name)
    return name


def _comparable(totals: dict) -> dict:
    return {k: _num_text(v) for k, v in totals.items()}


def _comparable_row(r: Row) -> tuple:
    return (r.name, r.kind, r.output, _num_text(r.params), _num_text(r.macs))


def write_text_atomic(path, text: str) -> None:
    """Write a snapshot atomically (readers see the old file or the new one, never half of one),
    creating its folder."""
    from ._io import write_atomic

    write_atomic(path, text, force=True, make_dirs=True)


def as_snapshot(obj, **resolve_kwargs) -> Snapshot:
    """A Snapshot from a Snapshot, a snapshot file path (``.txt``) or anything :func:`resolve` takes."""
    if isinstance(obj, Snapshot):
        return obj
    if isinstance(obj, (str, os.PathLike)) and os.fspath(obj).lower().endswith(SNAPSHOT_SUFFIX):
        return Snapshot.read(obj)
    return Snapshot.of(resolve(obj, **resolve_kwargs))


# ---------------------------------------------------------------------------------------------
# Diffs and contributor lists (the per-layer part of failure messages)
# ---------------------------------------------------------------------------------------------


def _pct(d: int, base: int) -> str:
    if not base:
        return ""
    p = 100 * d / base
    return f", {p:+,.0f}%" if abs(p) >= 10 else f", {p:+.2f}%" if abs(p) >= 0.01 else f", {p:+.1g}%"


def totals_diff(old, new, old_label: str, new_label: str) -> list:
    """One line per headline total (params, trainable params, MACs) that differs between two
    snapshots."""
    lines = []
    for k in ("params", "trainable_params", "macs"):
        a, b = old.totals.get(k), new.totals.get(k)
        if _num_text(a) != _num_text(b):
            lines.append(f"  {k}: {old_label} {_num_text(a)}, {new_label} {_num_text(b)}{_delta(a, b)}")
    return lines


def _delta(old, new) -> str:
    if isinstance(old, int) and isinstance(new, int):
        return f" ({new - old:+,}{_pct(new - old, old)})"
    return ""


def diff_rows(old_rows, new_rows) -> list:
    """Lines describing per-layer differences, matched by layer name: changed fields as
    ``old -> new (delta)``, ``+ name`` for new layers and ``- name`` for removed ones."""
    old = {r.name: r for r in old_rows}
    new = {r.name: r for r in new_rows}
    lines = []
    for r in new_rows:
        o = old.get(r.name)
        if o is None:
            lines.append(f"+ {r.name} ({r.kind}): output {r.output}, params {_num_text(r.params)}, "
                         f"macs {_num_text(r.macs)}")
            continue
        changes = []
        if o.kind != r.kind:
            changes.append(f"kind {o.kind} -> {r.kind}")
        if o.output != r.output:
            changes.append(f"output {o.output} -> {r.output}")
        for f in ("params", "macs"):
            a, b = getattr(o, f), getattr(r, f)
            if _num_text(a) != _num_text(b):
                changes.append(f"{f} {_num_text(a)} -> {_num_text(b)}{_delta(a, b)}")
        if changes:
            lines.append(f"~ {r.name} ({r.kind}): " + "; ".join(changes))
    for r in old_rows:
        if r.name not in new:
            lines.append(f"- {r.name} ({r.kind}): output {r.output}, params {_num_text(r.params)}, "
                         f"macs {_num_text(r.macs)}")
    return lines


def _cap(lines: list, limit: int = MAX_DIFF_LINES) -> list:
    if len(lines) <= limit:
        return lines
    return lines[:limit] + [f"... and {len(lines) - limit} more"]


def top_contributors(result, figure: str, limit: int = TOP_CONTRIBUTORS) -> list:
    """Lines naming the layers with the largest share of ``figure`` (a per-layer field), largest first."""
    attr = FIGURES.get(figure)
    if attr is None:
        attr = "params"  # non_trainable_params: the layers holding params
    records = [r for r in result.layers if isinstance(getattr(r, attr), int) and getattr(r, attr)]
    total = sum(getattr(r, attr) for r in records)
    records.sort(key=lambda r: -getattr(r, attr))  # stable: graph order among equals
    lines = []
    for r in records[:limit]:
        v = getattr(r, attr)
        shape = "x".join(_dim_text(d) for d in r.output_shape)
        lines.append(f"{r.name} ({r.kind}, {shape}): {v:,} ({v / total:.1%})")
    if len(records) > limit:
        lines.append(f"... {len(records) - limit} more layer(s) with nonzero {attr}")
    if not records and any(not dims.is_concrete(getattr(r, attr)) for r in result.layers):
        lines.append(f"(symbolic {attr}: not ranked; see the per-layer table)")
    return lines


def _describe(result) -> str:
    return f"{result.model} (input {'x'.join(_dim_text(d) for d in result.input)}, batch {_dim_text(result.batch)})"


# ---------------------------------------------------------------------------------------------
# assert_costs
# ---------------------------------------------------------------------------------------------


def _check_expected(name: str, value):
    if value is None:
        return None
    if isinstance(value, bool) or not (isinstance(value, int) or hasattr(value, "free_symbols")):
        raise CostArgumentError(f"assert_costs: {name}= must be an exact integer count, got {value!r}")
    if isinstance(value, int) and value < 0:
        raise CostArgumentError(f"assert_costs: {name}= must be >= 0, got {value:,}")
    return value


def assert_costs(model, *, params=None, trainable_params=None, non_trainable_params=None, buffers=None,
                 macs=None, flops=None, activations=None, input=None, batch=1, dtype: str = "fp32",
                 freeze=(), build_kwargs: Optional[dict] = None, baseline=None):
    """Assert exact costs of ``model`` and return its :class:`~archcalc.analysis.Result`.

    Each given figure (``params=``, ``trainable_params=``, ``macs=`` ...) must equal the computed
    total exactly. ``baseline=`` (a model, Graph, Result, :class:`Snapshot` or snapshot file) makes a
    failure list the per-layer differences against it; given alone, with no figure, it asserts
    that every layer's shape, params and MACs equal the baseline's. ``input``, ``batch``,
    ``dtype``, ``freeze`` and ``build_kwargs`` (zoo builder options) are passed to the analysis.

    Raises :class:`CostMismatch` (an AssertionError) when a figure differs, and
    :class:`CostArgumentError` for arguments it cannot use.
    """
    __tracebackhide__ = True  # pytest shows the caller's line and this message, not this body
    expected = {k: _check_expected(k, v) for k, v in dict(
        params=params, trainable_params=trainable_params, non_trainable_params=non_trainable_params,
        buffers=buffers, macs=macs, flops=flops, activations=activations).items() if v is not None}
    if not expected and baseline is None:
        raise CostArgumentError("assert_costs needs an expected figure (params=, trainable_params=, macs=, ...) "
                                "or baseline=; with neither it could never fail")
    result = resolve(model, input=input, batch=batch, dtype=dtype, freeze=freeze, build_kwargs=build_kwargs)
    base = as_snapshot(baseline) if baseline is not None else None
    actual = Snapshot.of(result)

    lines, differing = [], []
    for k, want in expected.items():
        got = dims.normalize(result.totals[k])
        equal = got == want if isinstance(got, int) and isinstance(want, int) else dims.same(got, want)
        if not equal:
            differing.append(k)
            lines.append(f"  {k}: expected {_num_text(want)}, actual {_num_text(got)}{_delta(want, got)}")
    rows_differ = base is not None and not expected and not base.same_costs(actual)
    if not lines and not rows_differ:
        return result

    if lines:
        msg = [f"archcalc: costs of {_describe(result)} differ from expected:"] + lines
    else:
        msg = [f"archcalc: costs of {_describe(result)} differ from the baseline {base.model}:"]
        msg += totals_diff(base, actual, "baseline", "actual")
        if (base.input, base.batch) != (actual.input, actual.batch):
            msg.append(f"  input/batch: baseline {base.input} batch {base.batch}, "
                       f"actual {actual.input} batch {actual.batch}")
    if base is not None:
        diff = diff_rows(base.rows, actual.rows)
        msg.append(f"per-layer differences from baseline {base.model} "
                   f"(~ changed, + only in actual, - only in baseline): {len(diff)}")
        msg += ["  " + d for d in _cap(diff)] or ["  (none: every layer's shape, params and MACs match)"]
    else:
        for k in differing:
            msg.append(f"largest contributors to {k} (no baseline= given):")
            msg += ["  " + c for c in top_contributors(result, k)]
    raise CostMismatch("\n".join(msg))


__all__ = ["assert_costs", "resolve", "Snapshot", "Row", "diff_rows", "top_contributors", "as_snapshot",
           "write_text_atomic", "CostMismatch", "CostArgumentError", "FIGURES"]
