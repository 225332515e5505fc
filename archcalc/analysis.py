"""Walk a graph, apply each layer's rule, collect per-layer records and totals. No formatting here.

Conventions (see also :mod:`archcalc.rules`):

- per-layer ``macs``, ``flops`` and ``activations`` include the batch; ``params`` do not.
- ``activations`` counts the elements of every tensor the forward pass materialises: the input,
  then each layer's output unless the layer works in place or returns a view (in-place ReLU,
  Flatten, Dropout at inference). This is the cs231n tally's "memory" column.
- receptive field: per axis ``size``, ``jump`` (distance in input pixels between neighbouring
  outputs) and ``start`` (centre of the first output's field, input pixel ``i`` spanning
  ``[i, i+1)``), propagated as ``size += (k-1)*jump; start += ((k-1)/2 - pad)*jump; jump *= s``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, NamedTuple, Optional, Sequence

from . import dims
from .dtypes import DTYPE_BYTES, dtype_name  # noqa: F401 (re-exported: archcalc.analysis.DTYPE_BYTES)
from .errors import ArchcalcError, ShapeError
from .graph import Graph
from .layers import Input
from .rules import _RULES, rule_for

_POOL_TO_FIXED = ("Adaptive", "Global")
_INF = float("inf")

class ReceptiveField(NamedTuple):
    """Per axis (h, w): ``size``, ``jump`` and ``start``. ``start`` is kept doubled
    (``twice_start``) so that the common integer case never needs fractions. Immutable (a named
    tuple: one is built per layer, so construction has to be cheap)."""

    size: tuple  # (h, w)
    jump: tuple
    twice_start: tuple

    @property
    def start(self) -> tuple:
        return tuple(dims.exact_div(t, 2) for t in self.twice_start)

    def apply(self, fp) -> "ReceptiveField":
        if fp is None:
            return self
        (sh, sw), (jh, jw), (th, tw) = self
        (kh, kw), (ph, pw) = fp.kernel, fp.padding
        n = dims.normalize
        return ReceptiveField((n(sh + (kh - 1) * jh), n(sw + (kw - 1) * jw)),
                              (n(jh * fp.stride[0]), n(jw * fp.stride[1])),
                              (n(th + (kh - 1 - 2 * ph) * jh), n(tw + (kw - 1 - 2 * pw) * jw)))

    @staticmethod
    def merge(fields: Sequence["ReceptiveField"]) -> "ReceptiveField":
        """A merge (add/concat/mul) sees the union of its inputs' fields: the widest size per axis.
        Jump and start follow the finest-strided input (the widest among equals): a broadcast gate,
        such as squeeze-and-excitation's globally pooled (C, 1, 1) branch, widens the field to the
        whole input but does not coarsen the output grid that later layers step over."""
        first = fields[0]
        if len(fields) == 1 or fields.count(first) == len(fields):  # parallel branches of equal footprint
            return first
        size, jump, twice = [], [], []
        for a in (0, 1):
            def finest_then_widest(f, a=a):  # a symbolic jump or size cannot lead
                j, s = f.jump[a], f.size[a]
                return (j if dims.is_concrete(j) else _INF, -s if dims.is_concrete(s) else 1)

            lead = min(fields, key=finest_then_widest)
            size.append(dims.smax(*[f.size[a] for f in fields]))
            jump.append(lead.jump[a])
            twice.append(lead.twice_start[a])
        return ReceptiveField(tuple(size), tuple(jump), tuple(twice))

    def to_dict(self) -> dict:
        def one(pair):
            a, b = pair
            return dims.to_json(a) if dims.same(a, b) else [dims.to_json(a), dims.to_json(b)]

        return {"size": one(self.size), "jump": one(self.jump), "start": one(self.start)}


PIXEL = ReceptiveField((1, 1), (1, 1), (1, 1))  # one input pixel, centred at 0.5


@dataclass(slots=True)
class LayerRecord:
    name: str
    kind: str
    layer: Any
    inputs: tuple
    input_shapes: tuple
    output_shape: tuple
    params: Any  # trainable + non-trainable
    trainable_params: Any
    buffers: Any
    macs: Any  # whole batch
    flops: Any  # whole batch
    activations: Any  # newly materialised elements, whole batch
    output_elements: Any  # whole batch, whether new or reused
    receptive_field: ReceptiveField
    warnings: list = field(default_factory=list)
    frozen: bool = False

    def to_dict(self) -> dict:
        j = dims.to_json
        return {
            "name": self.name,
            "kind": self.kind,
            "input_shape": [[j(d) for d in s] for s in self.input_shapes] if len(self.input_shapes) != 1
            else [j(d) for d in self.input_shapes[0]],
            "output_shape": [j(d) for d in self.output_shape],
            "params": j(self.params),
            "trainable_params": j(self.trainable_params),
            "buffers": j(self.buffers),
            "macs": j(self.macs),
            "flops": j(self.flops),
            "activations": j(self.activations),
            "receptive_field": self.receptive_field.to_dict(),
            "warnings": list(self.warnings),
        }


class Result:
    """What :func:`analyze` returns: ``.layers`` (records), ``.totals`` (dict), ``.to_dict()``."""

    def __init__(self, model, graph, input_shape, batch, dtype, layers, entry=None):
        self.model = model
        self.graph = graph
        self.input = tuple(input_shape)
        self.batch = batch
        self.dtype = dtype
        self.layers: list = layers
        self.entry = entry
        self.totals = self._totals()

    @property
    def warnings(self) -> list:
        return [f"{r.name}: {w}" for r in self.layers for w in r.warnings]

    def _totals(self) -> dict:
        b = DTYPE_BYTES[self.dtype]
        layers = self.layers
        total = dims.total
        params = total([r.params for r in layers])
        trainable = total([r.trainable_params for r in layers])
        buffers = total([r.buffers for r in layers])
        acts = total([r.activations for r in layers])
        # the deepest feature map: global/adaptive pooling would just add the whole input extent, and
        # so would anything after it (a 1x1-conv classifier on the pooled vector, timm/DPN heads)
        # ("after it" = fed only by pooled layers: a squeeze-and-excitation gate pools globally too,
        # but its Mul also reads the feature map, which stays spatial)
        spatial, pooled = [], set()
        for r in layers:
            if r.kind.startswith(_POOL_TO_FIXED) or (r.inputs and pooled.issuperset(r.inputs)):
                pooled.add(r.name)
            elif len(r.output_shape) == 3:
                spatial.append(r)
        rf = (spatial[-1] if spatial else self.layers[-1]).receptive_field
        return {
            "params": params,
            "trainable_params": trainable,
            "non_trainable_params": dims.normalize(params - trainable),
            "buffers": buffers,
            "macs": total([r.macs for r in layers]),
            "flops": total([r.flops for r in layers]),
            "activations": acts,
            "activation_bytes": dims.normalize(acts * b),
            "param_bytes": dims.normalize(params * b),
            "receptive_field": rf,
            "receptive_field_layer": spatial[-1].name if spatial else self.layers[-1].name,
            # ops imported without a rule (from_torch allow_partial): named, never counted as 0
            "uncounted": _uncounted(layers),
        }

    def __getitem__(self, name: str) -> LayerRecord:
        for r in self.layers:
            if r.name == name:
                return r
        raise KeyError(name)

    @property
    def is_symbolic(self) -> bool:
        return not all(dims.is_concrete(d) for d in self.input) or not dims.is_concrete(self.batch)

    def to_dict(self) -> dict:
        j = dims.to_json
        t = self.totals
        return {
            "model": self.model,
            "input": [j(d) for d in self.input],
            "batch": j(self.batch),
            "dtype": self.dtype,
            "totals": {
                "params": j(t["params"]),
                "trainable_params": j(t["trainable_params"]),
                "non_trainable_params": j(t["non_trainable_params"]),
                "buffers": j(t["buffers"]),
                "macs": j(t["macs"]),
                "flops": j(t["flops"]),
                "activations": j(t["activations"]),
                "activation_bytes": j(t["activation_bytes"]),
                "param_bytes": j(t["param_bytes"]),
                "receptive_field": dict(t["receptive_field"].to_dict(), layer=t["receptive_field_layer"]),
                **({"uncounted": t["uncounted"]} if t["uncounted"] else {}),
            },
            "layers": [r.to_dict() for r in self.layers],
        }

    def substitute(self, **values: int) -> "Result":
        """Evaluate a symbolic result at concrete sizes, e.g. ``r.substitute(H=224, W=224)``; symbols
        inside layer specs (RoI counts ``R``) and secondary inputs (``T``) are bound too."""
        from .symbols import bind_graph

        return analyze(bind_graph(self.graph, values), input=tuple(dims.evaluate(d, values) for d in self.input),
                       batch=dims.evaluate(self.batch, values), dtype=self.dtype, model_name=self.model)

    def __repr__(self) -> str:
        from .format import render_table

        return render_table(self)

    # Notebook API. jinja2/matplotlib/pandas load only when these run (archcalc.report).
    def report(self, format: str = "html", path=None, force: bool = False, **options) -> str:
        """The report as text (``format``: "html" or "md"); with ``path``, also written there atomically
        (an existing file only with ``force=True``). ``options``: tally=, charts= (see render_report)."""
        from .report import render_report, save

        text = render_report(self, format, **options)
        if path is not None:
            save(text, path, force=force)
        return text

    def _repr_html_(self) -> str:
        from .report import render_report

        return render_report(self, "html", fragment=True)

    def to_dataframe(self):
        """pandas DataFrame, one row per layer, int64 count columns (object for symbolic sizes)."""
        from .report.frame import result_frame

        return result_frame(self)


def _uncounted(layers) -> list:
    """``[{"op", "count", "where"}]`` for layers whose cost is unknown (``uncounted`` kinds)."""
    by_op: dict = {}
    for r in layers:
        if getattr(r.layer, "uncounted", False):
            by_op.setdefault(r.layer.op, []).append(r.name)
    return [{"op": op, "count": len(where), "where": where} for op, where in by_op.items()]


def _coerce_shape(shape) -> tuple:
    if isinstance(shape, str):
        return dims.parse_shape(shape)
    try:
        return tuple(dims.coerce_dim(d) for d in shape)
    except TypeError:
        raise ArchcalcError(f"bad input shape {shape!r}: expected e.g. (3, 224, 224) or '3xHxW'") from None


def _at_layer(err: ArchcalcError, name: str) -> ArchcalcError:
    """Tag an error with the layer it happened at (spec files map it back to a line of the file)."""
    err.layer = name
    return err


def analyze(model, input=None, batch=1, dtype: str = "fp32", freeze: Sequence[str] = (),
            model_name: Optional[str] = None, **build_kwargs) -> Result:
    """Analyse a zoo model name or a :class:`~archcalc.graph.Graph`.

    ``input`` is the per-sample shape, e.g. ``(3, 224, 224)``, ``(3, "H", "W")`` or ``"3xHxW"``
    (default: the model's own). ``batch`` may be an int or a name (``"N"``). ``freeze`` marks the
    parameters of layers whose names start with any given prefix as non-trainable.
    """
    entry = None
    if isinstance(model, Graph):
        graph = model
    elif isinstance(model, str):
        from .zoo import get_entry

        entry = get_entry(model)
        graph = entry.build(**build_kwargs)
    else:
        raise ArchcalcError(f"cannot analyse {type(model).__name__}; pass a zoo name or a Graph")
    dtype = dtype_name(dtype)
    batch = dims.coerce_dim(batch)
    if dims.is_concrete(batch) and batch < 1:
        raise ArchcalcError(f"batch must be >= 1, got {batch}")
    order = graph.topological()
    first_input = graph.inputs[0]
    # graph inputs may be written with names ("T", 300); coerce them like a user-given shape
    in_shape = _coerce_shape(input if input is not None else graph.nodes[first_input].layer.shape)
    shapes: dict = {}
    fields: dict = {}
    records = []
    prefixes = tuple(freeze)
    rules = _RULES
    prod, normalize = dims.prod, dims.normalize
    costs: dict = {}  # (layer, input shapes) -> Cost: rules are pure, and repeated blocks repeat them
    for node in order:
        layer = node.layer
        name = node.name
        if isinstance(layer, Input):
            shape = in_shape if name == first_input else _coerce_shape(layer.shape)
            in_shapes = (shape,)
            try:
                cost = rule_for(layer)(Input(shape), [])
            except ArchcalcError as e:
                raise _at_layer(type(e)(f"layer {name!r} (Input): {e}"), name) from None
            rf = PIXEL
        else:
            inputs = node.inputs
            in_shapes = tuple(map(shapes.__getitem__, inputs))
            key = (layer, in_shapes)
            try:
                cost = costs.get(key)
            except TypeError:  # a hand-built layer holding a list (a connection table): not memoised
                cost = key = None
            if cost is None:
                rule = rules.get(type(layer)) or rule_for(layer)
                try:
                    cost = rule(layer, in_shapes)
                    if key is not None:
                        costs[key] = cost
                except ArchcalcError as e:
                    raise _at_layer(type(e)(f"layer {name!r} ({layer.kind}): {e}"), name) from None
                except (TypeError, ValueError, ZeroDivisionError) as e:
                    raise _at_layer(ShapeError(f"layer {name!r} ({layer.kind}): {e}"), name) from None
            if len(inputs) == 1:
                rf = fields[inputs[0]].apply(cost.rf)
            else:
                # a layer may read some inputs for their shape only (Crop's reference): rf_inputs =
                # how many leading inputs carry pixels into the output
                pixel_inputs = inputs[:getattr(layer, "rf_inputs", None) or len(inputs)]
                rf = ReceptiveField.merge([fields[i] for i in pixel_inputs]).apply(cost.rf)
        output = cost.output
        shapes[name] = output
        fields[name] = rf
        out_elems = normalize(batch * prod(output))
        macs, flops = normalize(batch * cost.macs), normalize(batch * cost.flops)
        frozen = bool(prefixes) and name.startswith(prefixes)
        trainable = cost.params
        params = trainable + cost.frozen_params
        if type(params) is not int:
            params = dims.normalize(params)
        records.append(LayerRecord(
            name, layer.kind, layer, node.inputs, in_shapes, output, params,
            0 if frozen else trainable, cost.buffers, macs, flops,
            0 if layer.reuses_input else out_elems, out_elems, rf, cost.warnings, frozen,
        ))
    name = model_name or (entry.name if entry else graph.name)
    for p in prefixes:
        if not any(r.name.startswith(p) for r in records):
            raise ArchcalcError(f"freeze prefix {p!r} matches no layer of {name} (layers look like "
                                f"{', '.join(r.name for r in records[1:4])}, ...)")
    return Result(name, graph, in_shape, batch, dtype, records, entry)
