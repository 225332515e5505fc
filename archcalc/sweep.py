"""``archcalc sweep``: a model's costs over a grid of sizes and builder options, vectorised.

Each grid name is either a **builder keyword** of the model (``width_mult``, ``resolution``,
``num_classes``...; ``archcalc sweep MODEL --list-params`` lists them) or an **input symbol** of a
symbolic ``--input`` / ``--batch`` (``H``, ``W``, ``N``). Builder keywords change the graph, so the
model is rebuilt and analysed once per distinct combination. Input symbols never rebuild: the model
is analysed once symbolically, each total is compiled once into integer arithmetic
(:func:`archcalc.formula.compile_dim`: ``//`` for floor, exact, no float rounding) and evaluated
on numpy arrays holding every grid point at once. A million sizes of ResNet-50 take about a second.

Columns: the grid values, then ``valid`` (the sizes the model accepts: every join's condition holds
and every layer's output is at least 1), ``params``, ``trainable_params``, ``macs``, ``flops``,
``activations`` (elements), ``activation_bytes`` and ``peak_inference_bytes`` (the liveness peak of
:func:`archcalc.memory.inference_memory`: weights + buffers + the most bytes live at once). Counts
of invalid points are missing (``<NA>``), never a number for a model that cannot run.

pandas and numpy are imported when a sweep runs, never by ``import archcalc``.
"""

from __future__ import annotations

import itertools
import re
import sys
import types
from typing import Any

from . import dims
from .errors import ArchcalcError, InvalidValueError, ShapeError

COLUMNS = ("params", "trainable_params", "macs", "flops", "activations", "activation_bytes",
           "peak_inference_bytes")
MAX_POINTS = 50_000_000  # one process; larger spaces: chunks on Dask/Ray (docs/sweep.md)
MAX_BUILDS = 10_000  # distinct builder-keyword combinations (each is an analysis)
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_INT = re.compile(r"^[+-]?\d{1,18}$")
_FLOAT = re.compile(r"^[+-]?(\d{1,18}\.\d{0,18}|\.\d{1,18})$")
_SPOT_CHECKS = 6  # grid points per build re-analysed exactly to confirm the validity mask


class SweepError(InvalidValueError):
    """A grid the sweep refuses (one line, names the grid entry)."""


# ---------------------------------------------------------------------------------------------
# grid parsing


def _value(name: str, text: str):
    t = text.strip()
    if _INT.match(t):
        return int(t)
    if _FLOAT.match(t):
        return float(t)
    if t.lower() in ("true", "false"):
        return t.lower() == "true"
    if _NAME.match(t):
        return t  # a builder option's name (a variant); the builder validates it
    raise SweepError(f"--grid {name}: bad value {text!r} (expected integers, decimals, true/false or names)")


def parse_values(name: str, text: str) -> list:
    """``0.25,0.5,1.0`` (a comma list) or ``32:1031[:step]`` (an inclusive integer range)."""
    text = text.strip()
    if not text:
        raise SweepError(f"--grid {name}: no values")
    if ":" in text:
        parts = text.split(":")
        if len(parts) not in (2, 3) or not all(_INT.match(p.strip()) for p in parts):
            raise SweepError(f"--grid {name}={text}: a range is start:stop or start:stop:step in integers")
        start, stop = int(parts[0]), int(parts[1])
        step = int(parts[2]) if len(parts) == 3 else 1
        if step < 1:
            raise SweepError(f"--grid {name}={text}: step must be >= 1, got {step}")
        if stop < start:
            raise SweepError(f"--grid {name}={text}: stop {stop} is below start {start}")
        if (stop - start) // step + 1 > MAX_POINTS:
            raise SweepError(f"--grid {name}={text}: more than {MAX_POINTS:,} values")
        return list(range(start, stop + 1, step))
    values = [_value(name, v) for v in text.split(",")]
    if len(set(map(repr, values))) != len(values):
        raise SweepError(f"--grid {name}={text}: repeated value")
    return values


def parse_grid(items) -> dict:
    """``["width_mult=0.5,1.0", "H=32:1031"]`` -> ``{"width_mult": [0.5, 1.0], "H": [32, ..., 1031]}``."""
    grid: dict = {}
    for item in items:
        name, sep, values = item.partition("=")
        name = name.strip()
        if not sep or not _NAME.match(name):
            raise SweepError(f"bad --grid {item[:40]!r}: expected NAME=VALUES, e.g. width_mult=0.5,1.0 or H=32:1031")
        if name in grid:
            raise SweepError(f"--grid {name} is given twice")
        grid[name] = parse_values(name, values)
    return grid


def builder_params(model: str) -> dict:
    """The keywords a zoo model's builder takes, with their defaults (entry overrides applied)."""
    import inspect

    from .zoo import get_entry

    entry = get_entry(model)
    out = {}
    for p in inspect.signature(entry.builder).parameters.values():
        if p.name in ("name", "input_shape") or p.kind in (p.VAR_KEYWORD, p.VAR_POSITIONAL):
            continue
        out[p.name] = entry.kwargs.get(p.name, None if p.default is p.empty else p.default)
    return out


# ---------------------------------------------------------------------------------------------
# evaluation


def _as_array(np, value, n: int):
    """A compiled formula's result as an int64 array of n points (a constant is broadcast)."""
    a = np.asarray(value)
    if a.dtype == object:  # Python ints beyond int64 would wrap silently
        raise SweepError("a count does not fit in 64-bit integers over this grid")
    if a.ndim == 0:
        return np.full(n, a.item(), dtype=np.int64)
    if a.dtype.kind == "f":
        raise SweepError("a total is not an integer over this grid (a rational receptive-field value?)")
    return a.astype(np.int64, copy=False)


def _peak_rows(result) -> tuple:
    """Inference peak as data: (rows, weight and buffer bytes). Each row is the per-sample bytes
    live while one layer runs, as {monomial: integer coefficient}; the peak at a point is
    ``weights + buffers + batch * max(row . monomials)``. The liveness structure comes from
    :mod:`archcalc.memory` (its plan depends on the graph only, so it is built on a size-free copy
    of the records); the sizes are the symbolic result's."""
    from dataclasses import replace

    from . import memory

    bpe = memory.DTYPE_BYTES[result.dtype]
    real = {r.name: r for r in result.layers}
    stub = types.SimpleNamespace(layers=[replace(r, output_shape=(1,)) for r in result.layers],
                                 graph=result.graph, entry=result.entry)
    plan = memory._Plan(stub, training=False)
    n = len(plan.records)
    sp = dims.sympy() if result.is_symbolic else None

    def poly(x) -> dict:
        if dims.is_concrete(x):
            return {1: int(x)} if x else {}
        return {m: int(c) for m, c in sp.expand(x).as_coefficients_dict().items()}

    per_sample = [dims.prod(real[r.name].output_shape) for r in plan.records]
    starts: dict = {}
    ends: dict = {}
    for s in plan.owner:
        start = 0 if s in plan.held and plan.records[s].kind == "Input" else s
        end = n - 1 if s in plan.held else plan.last_use[s]
        starts.setdefault(start, []).append(s)
        ends.setdefault(end, []).append(s)
    running: dict = {}
    rows = []
    polys = {}

    def bump(target: dict, p: dict, sign: int):
        for m, c in p.items():
            v = target.get(m, 0) + sign * c
            if v:
                target[m] = v
            else:
                target.pop(m, None)

    for i, r in enumerate(plan.records):
        for s in starts.get(i, ()):
            polys[s] = poly(dims.normalize(per_sample[s] * bpe))
            bump(running, polys[s], 1)
        row = dict(running)
        kind = memory._kind(r)
        scratch = memory.FORWARD_SCRATCH.get(kind, 0) * per_sample[i]
        if memory._traits(r.layer).composite_elements is not None:
            scratch = memory._lrn_elements(real[r.name].layer, real[r.name].output_shape, training=False) * bpe
        if not (dims.is_concrete(scratch) and scratch == 0):
            bump(row, poly(dims.normalize(scratch)), 1)
        rows.append(row)
        for s in ends.get(i, ()):
            bump(running, polys[s], -1)
    buffers = memory._buffer_bytes(result.layers, bpe)
    weights = dims.normalize(result.totals["params"] * bpe)
    distinct = {tuple(sorted(row.items(), key=lambda kv: str(kv[0]))): row for row in rows}
    return list(distinct.values()), weights, buffers


def _undominated(rows: list) -> list:
    """Rows no other row bounds coefficient by coefficient (valid because every monomial, a
    product of sizes, is >= 0; the caller checks that on the grid)."""
    keep = []
    for i, a in enumerate(rows):
        dominated = False
        for j, b in enumerate(rows):
            if i != j and all(b.get(m, 0) >= c for m, c in a.items()) and all(
                    b.get(m, 0) >= a.get(m, 0) for m in b) and (a != b or j < i):
                dominated = True
                break
        if not dominated:
            keep.append(a)
    return keep


CHUNK = 1 << 18  # grid points evaluated at once: bounds the temporaries, keeps them in cache


class CompiledModel:
    """Every output column of one analysed build, compiled once: call it with numpy arrays of
    input-symbol values (``env``) to get the columns for all those points."""

    def __init__(self, result):
        from .formula import compile_dim

        t = result.totals
        self.totals = {k: compile_dim(t[k], vector=True)
                       for k in ("params", "trainable_params", "macs", "flops", "activations", "activation_bytes")}
        self.conditions = list(result.conditions.values())
        distinct = {d for r in result.layers for d in r.output_shape if not dims.is_concrete(d)}
        self.sizes = [compile_dim(d, vector=True) for d in sorted(distinct, key=str)]
        rows, weights, self.buffers = _peak_rows(result)
        self.monos = sorted({m for row in rows for m in row if m != 1}, key=str)
        self.mono_fns = [compile_dim(m, vector=True) for m in self.monos]
        self.rows = [[row.get(1, 0)] + [row.get(m, 0) for m in self.monos] for row in rows]
        self.pruned = [[row.get(1, 0)] + [row.get(m, 0) for m in self.monos] for row in _undominated(rows)]
        self.weights = compile_dim(weights, vector=True)
        self.batch = compile_dim(result.batch, vector=True)

    def __call__(self, env: dict, n: int) -> dict:
        import numpy as np

        out = {k: np.empty(n, dtype=np.int64) for k in list(self.totals) + ["peak_inference_bytes"]}
        out["valid"] = np.empty(n, dtype=bool)
        for start in range(0, n, CHUNK):
            stop = min(n, start + CHUNK)
            part = {k: v[start:stop] for k, v in env.items()}
            for k, v in self._chunk(np, part, stop - start).items():
                out[k][start:stop] = v
        return out

    def _chunk(self, np, env: dict, n: int) -> dict:
        def ev(f):
            return _as_array(np, f(env), n)

        cols = {k: ev(f) for k, f in self.totals.items()}
        valid = np.ones(n, dtype=bool)
        for c in self.conditions:
            x = env[c.symbol]
            if c.values is not None:
                valid &= np.isin(x, np.array(sorted(c.values), dtype=np.int64))
            else:
                valid &= np.isin(x % c.modulus, np.array(sorted(c.residues), dtype=np.int64))
        for f in self.sizes:
            valid &= ev(f) >= 1
        values = [ev(f) for f in self.mono_fns]
        # pruned rows are exact only where every monomial (a product of sizes) is >= 0
        rows = self.pruned if all(v.min(initial=0) >= 0 for v in values) else self.rows
        live = None
        for row in rows:
            acc = np.full(n, row[0], dtype=np.int64)
            for c, v in zip(row[1:], values):
                if c:
                    acc += c * v
            live = acc if live is None else np.maximum(live, acc, out=live)
        cols["peak_inference_bytes"] = ev(self.weights) + self.buffers + ev(self.batch) * (
            live if live is not None else 0)
        cols["valid"] = valid
        return cols


def _columns(result, env: dict, n: int) -> dict:
    """Every output column of one analysed build over the n points in ``env`` (numpy arrays)."""
    return CompiledModel(result)(env, n)


def _spot_check(result, env: dict, valid, n: int, build_kwargs: dict) -> None:
    """Re-analyse a few grid points exactly; a disagreement with the vectorised validity mask or
    counts is a bug, reported rather than written out."""
    import numpy as np

    from .formula import compile_dim

    # counts grow with every size, so the largest corner bounds them: numpy's int64 must not wrap
    corner = {k: int(v.max()) for k, v in env.items()}
    for key in ("macs", "flops", "activation_bytes", "params"):
        if abs(compile_dim(result.totals[key], vector=False)(corner)) >= 2 ** 62:
            raise SweepError(f"{key} at {corner} does not fit in 64-bit integers; sweep a smaller range")
    picks = sorted({0, n - 1, int(np.argmax(valid)), int(np.argmin(valid)), n // 2, n // 3})[:_SPOT_CHECKS]
    for i in picks:
        values = {k: int(v[i]) for k, v in env.items()}
        try:
            exact = result.substitute(**values) if values else result
            ok = True
        except ArchcalcError:
            ok = False
        if ok != bool(valid[i]):
            raise ArchcalcError(f"sweep: validity at {values} {build_kwargs} is {ok} by exact analysis but "
                                f"{bool(valid[i])} by the formulas; please report this model")
        if ok and compile_dim(result.totals["macs"], vector=False)(values) != exact.totals["macs"]:
            raise ArchcalcError(f"sweep: MACs at {values} {build_kwargs} differ from exact analysis")


def evaluate(model, grid: dict, input=None, batch=1, dtype: str = "fp32") -> dict:
    """The sweep as a dict of numpy columns (see :func:`sweep`)."""
    import numpy as np

    from .analysis import _coerce_shape, analyze
    from .graph import Graph

    if not grid:
        raise SweepError("nothing to sweep: give at least one --grid NAME=VALUES")
    in_shape = _coerce_shape(input) if input is not None else None
    batch = dims.coerce_dim(batch)
    input_symbols = set(dims.free_symbols(batch))
    for d in in_shape or ():
        input_symbols |= dims.free_symbols(d)
    if isinstance(model, Graph):
        params, model_name = {}, model.name
    else:
        params, model_name = builder_params(model), model
    keys = [k for k in grid if k not in input_symbols]
    unknown = [k for k in keys if k not in params]
    if unknown:
        raise SweepError(
            f"--grid {unknown[0]}: not a builder keyword of {model_name} "
            f"({', '.join(params) or 'it takes none'}) nor an input symbol "
            f"({', '.join(sorted(input_symbols)) or 'the input has none; pass e.g. --input 3xHxW'})")
    missing = sorted(input_symbols - set(grid))
    if missing:
        raise SweepError(f"input symbol {missing[0]} has no values: add --grid {missing[0]}=...")
    sym_names = [k for k in grid if k in input_symbols]
    n_sym = 1
    for k in sym_names:
        n_sym *= len(grid[k])
    combos = list(itertools.product(*[grid[k] for k in keys]))
    if len(combos) > MAX_BUILDS:
        raise SweepError(f"{len(combos):,} builder combinations; at most {MAX_BUILDS:,} per sweep")
    if n_sym * len(combos) > MAX_POINTS:
        raise SweepError(f"{n_sym * len(combos):,} grid points; at most {MAX_POINTS:,} in one process "
                         "(split the grid into chunks: see docs/sweep.md)")
    if sym_names:
        mesh = np.meshgrid(*[np.asarray(grid[k], dtype=np.int64) for k in sym_names], indexing="ij")
        env = {k: m.ravel() for k, m in zip(sym_names, mesh)}
    else:
        env = {}
    parts = []
    for combo in combos:
        kwargs = dict(zip(keys, combo))
        out = {k: np.full(n_sym, v, dtype=object if isinstance(v, str) else None) for k, v in kwargs.items()}
        out.update(env)
        try:
            if isinstance(model, Graph):
                result = analyze(model, input=in_shape, batch=batch, dtype=dtype)
            else:
                result = analyze(model, input=in_shape, batch=batch, dtype=dtype, **kwargs)
        except ShapeError:  # this combination cannot run at any grid size (resolution=8): invalid rows
            out.update({k: np.zeros(n_sym, dtype=np.int64) for k in COLUMNS}, valid=np.zeros(n_sym, dtype=bool))
            parts.append(out)
            continue
        free = set()
        for k in ("params", "macs", "flops", "activations"):
            free |= dims.free_symbols(result.totals[k])
        if free - set(env):
            name = sorted(free - set(env))[0]
            keyword = next((k for k, v in params.items() if isinstance(v, str) and v == name), None)
            raise SweepError(f"{model_name}'s counts depend on {name}, which the grid does not set: "
                             + (f"add --grid {keyword}=..." if keyword
                                else f"pass it in --input and add --grid {name}=..."))
        cols = _columns(result, env, n_sym)
        _spot_check(result, env, cols["valid"], n_sym, kwargs)
        out.update(cols)
        parts.append(out)
    order = list(grid) + ["valid"] + list(COLUMNS)
    return {k: (np.concatenate([p[k] for p in parts]) if len(parts) > 1 else parts[0][k]) for k in order}


def sweep(model, input=None, batch=1, dtype: str = "fp32", **grid):
    """A pandas DataFrame with one row per grid point: ``sweep("mobilenet_v1", width_mult=[0.5, 1.0],
    resolution=[160, 224])`` or ``sweep("resnet50", input="3xHxW", H=range(32, 1032), W=[224])``.
    Grid values are lists/ranges (or a single value), or text as on the command line (``"32:1031"``).
    Invalid points have ``valid=False`` and missing counts."""
    import pandas as pd

    parsed = {}
    for k, v in grid.items():
        if isinstance(v, str):
            parsed[k] = parse_values(k, v)
        elif isinstance(v, (list, tuple, range)):
            parsed[k] = list(v)
        else:
            parsed[k] = [v]
    if isinstance(model, str) and (model.lower().endswith((".yaml", ".yml", ".json")) or "/" in model):
        from .spec import load_spec  # a network spec file: input symbols only (no builder)

        model = load_spec(model)
    cols = evaluate(model, parsed, input=input, batch=batch, dtype=dtype)
    valid = cols["valid"]
    frame = pd.DataFrame({k: cols[k] for k in cols})
    if not valid.all():  # nullable integers only when some point is invalid (they are slower to write)
        for k in COLUMNS:
            s = pd.array(cols[k], dtype="Int64")
            s[~valid] = pd.NA
            frame[k] = s
    return frame


# ---------------------------------------------------------------------------------------------
# Pareto front and output


def pareto_front(frame, x: str, y: str, maximize=()) -> Any:
    """The rows no other row beats on both ``x`` and ``y`` (smaller is better unless the column is
    in ``maximize``); sorted by ``x``."""
    import numpy as np

    f = frame[frame["valid"]] if "valid" in frame else frame
    f = f.dropna(subset=[x, y])
    xs = f[x].to_numpy(dtype=float) * (-1 if x in maximize else 1)
    ys = f[y].to_numpy(dtype=float) * (-1 if y in maximize else 1)
    order = np.lexsort((ys, xs))
    keep, best = [], np.inf
    for i in order:
        if ys[i] < best:
            keep.append(i)
            best = ys[i]
    return f.iloc[keep]


def _table(frame) -> str:
    cols = list(frame.columns)
    cells = [[_cell(v) for v in row] for row in frame.itertuples(index=False)]
    widths = [max([len(c)] + [len(r[i]) for r in cells]) for i, c in enumerate(cols)]
    lines = ["  ".join(c.rjust(w) for c, w in zip(cols, widths))]
    lines += ["  ".join(v.rjust(w) for v, w in zip(r, widths)) for r in cells]
    return "\n".join(lines) + "\n"


def _cell(v) -> str:
    import pandas as pd

    if v is pd.NA:
        return "-"
    if isinstance(v, (bool,)) or type(v).__name__ == "bool_":
        return "yes" if v else "no"
    if isinstance(v, int) or type(v).__name__.startswith("int"):
        return f"{int(v):,}"
    return str(v)


def _markdown(frame) -> str:
    cols = list(frame.columns)
    lines = ["| " + " | ".join(cols) + " |", "|" + "|".join("---:" for _ in cols) + "|"]
    for row in frame.itertuples(index=False):
        lines.append("| " + " | ".join(_cell(v) for v in row) + " |")
    return "\n".join(lines) + "\n"


def render(frame, fmt: str) -> str:
    if fmt == "csv":
        return frame.to_csv(index=False)
    if fmt == "json":
        return frame.to_json(orient="records") + "\n"
    if fmt == "md":
        return _markdown(frame)
    return _table(frame)


def html_report(frame, model: str, x: str, y: str, maximize=()) -> str:
    """A self-contained HTML page: the Pareto front of ``x`` against ``y`` (matplotlib, inline SVG)
    and the front's rows."""
    import html
    import io

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    for c in (x, y):
        if c not in frame.columns:
            raise SweepError(f"--x/--y: no column {c!r} (columns: {', '.join(frame.columns)})")
    front = pareto_front(frame, x, y, maximize)
    valid = frame[frame["valid"]] if "valid" in frame else frame
    fig, ax = plt.subplots(figsize=(7, 4.5))
    ax.scatter(valid[x].astype(float), valid[y].astype(float), s=8, alpha=0.35, label="grid points")
    ax.plot(front[x].astype(float), front[y].astype(float), "o-", color="C3", label="Pareto front")
    ax.set_xlabel(x)
    ax.set_ylabel(y)
    ax.set_title(f"{model}: {y} vs {x}")
    ax.legend()
    ax.grid(alpha=0.3)
    buf = io.StringIO()
    fig.savefig(buf, format="svg", bbox_inches="tight")
    plt.close(fig)
    svg = buf.getvalue()
    svg = svg[svg.index("<svg"):]
    goal = ", ".join(f"{c} {'higher' if c in maximize else 'lower'} is better" for c in (x, y))
    table = front.to_html(index=False, border=0, na_rep="-")
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>archcalc sweep {html.escape(model)}"
            f"</title><style>body{{font-family:sans-serif;margin:2em}}td,th{{padding:2px 8px;text-align:right}}"
            f"</style></head><body><h1>archcalc sweep: {html.escape(model)}</h1>"
            f"<p>{len(frame):,} grid points, {int(frame['valid'].sum()) if 'valid' in frame else len(frame):,} valid; "
            f"Pareto front of {html.escape(x)} against {html.escape(y)} ({html.escape(goal)}): "
            f"{len(front)} points.</p>{svg}<h2>The front</h2>{table}</body></html>\n")


# ---------------------------------------------------------------------------------------------
# command line


def add_arguments(p) -> None:
    p.add_argument("model", help="a zoo name (see 'archcalc list') or a network spec file (.yaml/.json)")
    p.add_argument("--grid", action="append", default=[], metavar="NAME=VALUES",
                   help="a builder keyword or input symbol and its values: a comma list (width_mult=0.5,1.0) "
                        "or an inclusive range start:stop[:step] (H=32:1031); repeatable, the grid is the product")
    p.add_argument("--input", help="per-sample input shape with symbols to sweep, e.g. 3xHxW")
    p.add_argument("--batch", default="1", help="batch size, an integer or a symbol such as N (default 1)")
    p.add_argument("--dtype", default="fp32", help="fp32, fp16, bf16, int8 or fp64 (default fp32)")
    p.add_argument("--format", default="table", choices=["table", "csv", "json", "md"])
    p.add_argument("--report", choices=["html"], help="an HTML page with the Pareto front (--x/--y)")
    p.add_argument("--x", default="macs", help="with --report: the front's x column (default macs)")
    p.add_argument("--y", default="params", help="with --report: the front's y column (default params)")
    p.add_argument("--maximize", action="append", default=[], metavar="COLUMN",
                   help="with --report: higher is better for COLUMN (default: lower is better)")
    p.add_argument("-o", "--output", metavar="PATH", help="write to PATH instead of stdout")
    p.add_argument("--force", action="store_true", help="overwrite PATH if it exists")
    p.add_argument("--list-params", action="store_true", help="list the model's builder keywords and exit")


def run(args) -> int:
    """The command, on arguments parsed with :func:`add_arguments` (the CLI builds the parser:
    ``archcalc.cli.sweep``)."""
    if args.list_params:
        lines = [f"{k}={v!r}" for k, v in builder_params(args.model).items()]
        listing = "\n  ".join(lines or ["(none)"])
        sys.stdout.write(f"builder keywords of {args.model} (default):\n  {listing}\n")
        return 0
    grid = parse_grid(args.grid)
    if not grid:
        raise SweepError("nothing to sweep: give at least one --grid NAME=VALUES (see 'archcalc sweep --help')")
    frame = sweep(args.model, input=args.input, batch=args.batch, dtype=args.dtype, **grid)
    text = html_report(frame, args.model, args.x, args.y, args.maximize) if args.report else render(frame, args.format)
    if args.output:
        from ._io import write_output  # "-" is standard output, a path is written atomically

        path = write_output(args.output, text, force=args.force)
        if path is not None:
            print(f"archcalc: wrote {path}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 0


class _CallableModule(types.ModuleType):
    """``archcalc.sweep(...)`` calls :func:`sweep` although ``archcalc.sweep`` is this module (a
    submodule attribute would otherwise shadow a function of the same name)."""

    def __call__(self, *args, **kwargs):
        return sweep(*args, **kwargs)


sys.modules[__name__].__class__ = _CallableModule
