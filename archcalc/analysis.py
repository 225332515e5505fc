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
from . import validate as V
from .dtypes import DTYPE_BYTES, dtype_name  # noqa: F401 (re-exported: archcalc.analysis.DTYPE_BYTES)
from .errors import ArchcalcError, GraphError, InvalidTypeError, InvalidValueError, ShapeError, UnknownLayerError
from .graph import Graph
from .layers import Input, Shared
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
        n, add = dims.normalize, dims.add  # add: a merged (max) size stays a flat max
        return ReceptiveField((add(sh, (kh - 1) * jh), add(sw, (kw - 1) * jw)),
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
    #: archcalc.formula.Condition objects: the inputs for which this layer is valid (a branch join
    #: whose shapes agree for odd H only); empty when it is valid wherever its inputs are
    conditions: tuple = ()

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

    @property
    def conditions(self) -> dict:
        """Per input symbol, the :class:`archcalc.formula.Condition` every layer needs (their
        conjunction), e.g. ``{"H": H odd}``; empty when the formulas hold for every size."""
        out: dict = {}
        for r in self.layers:
            for c in r.conditions:
                out[c.symbol] = out[c.symbol] & c if c.symbol in out else c
        return out

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
        from .graph import _did_you_mean

        raise UnknownLayerError(f"no layer {name!r} in {self.model}" + _did_you_mean(str(name), [r.name for r in self.layers]))

    @property
    def symbols(self) -> list:
        """The names of the symbols in this result's sizes and counts (input, batch, a layer's
        RoI count ``R`` or sequence length ``T``), sorted: what :meth:`substitute` accepts."""
        found: set = set()
        free = dims.free_symbols
        for d in (*self.input, self.batch):
            found |= free(d)
        for r in self.layers:
            for x in (*r.output_shape, r.params, r.macs, r.flops, r.activations):
                if type(x) is not int:
                    found |= free(x)
        return sorted(found)

    @property
    def is_symbolic(self) -> bool:
        return not all(dims.is_concrete(d) for d in self.input) or not dims.is_concrete(self.batch)

    def to_dict(self) -> dict:
        j = dims.to_json
        t = self.totals
        out = {
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
        conditions = self.conditions
        if conditions:  # a key only when a join holds for some sizes only: other results keep their bytes
            out["conditions"] = {s: c.to_dict() for s, c in conditions.items()}
        return out

    def substitute(self, **values: int) -> "Result":
        """Evaluate a symbolic result at concrete sizes, e.g. ``r.substitute(H=224, W=224)``; symbols
        inside layer specs (RoI counts ``R``) and secondary inputs (``T``) are bound too."""
        from .symbols import bind_graph

        for k, v in values.items():
            if not (k.isidentifier() and k.isascii()):
                raise InvalidValueError(f"substitute: {k!r} is not a dimension name such as H")
            values[k] = V.positive_dim("substitute", k, v)
        have = self.symbols
        unknown = sorted(set(values) - set(have))
        if unknown:  # a typo (h=224 for H) would leave the formula as it was, silently
            names = ", ".join(repr(k) for k in unknown)
            raise InvalidValueError(f"substitute: {self.model} has no size named {names}; "
                                    + (f"its symbols are {', '.join(have)}" if have else
                                       "it has no symbols (every size is a number)"))
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
        """The compact notebook view; ``report("html")`` has the charts and memory figures."""
        from .report import render_notebook

        return render_notebook(self)

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
    """A per-sample shape: text (``"3xHxW"``, the restricted parser) or a sequence of sizes >= 1."""
    if isinstance(shape, str):
        return dims.parse_shape(shape)
    if not isinstance(shape, (tuple, list)) or not shape:
        raise InvalidTypeError(f"bad input shape {shape!r}: expected e.g. (3, 224, 224) or '3xHxW'")
    return tuple(V.positive_dim("input", f"[{k}]", d) for k, d in enumerate(shape))


def _check_channels(model: str, declared: tuple, given: tuple) -> None:
    """A model's input rank and channel count are part of the model (its first layer is built for
    them); only the spatial sizes (and a sequence length) may change with ``input``."""
    text = "x".join(dims.format_dim(d) for d in given)
    want = "x".join(dims.format_dim(d) for d in declared)
    if len(given) != len(declared):
        raise InvalidValueError(f"{model} takes a rank-{len(declared)} input such as {want}, got {text}")
    c, g = declared[0], given[0]
    if len(declared) == 3 and dims.is_concrete(c) and dims.is_concrete(g) and c != g:
        # channels written last (224x224x3) move to the front; other counts become the model's
        fix = (c,) + (given[:-1] if given[-1] == c else given[1:])
        raise InvalidValueError(
            f"{model} takes {c} input channels, got input {text}: the channel count is part of the model "
            f"and comes first (C x H x W); did you mean {'x'.join(dims.format_dim(d) for d in fix)}?")


def _at_layer(err: ArchcalcError, name: str) -> ArchcalcError:
    """Tag an error with the layer it happened at (spec files map it back to a line of the file)."""
    err.layer = name
    return err


def _freeze_prefixes(freeze) -> tuple:
    if isinstance(freeze, str):
        freeze = (freeze,)
    if not isinstance(freeze, (tuple, list, set, frozenset)):
        raise InvalidTypeError(f"freeze must be a list of layer-name prefixes, got {freeze!r}")
    for p in freeze:
        if not isinstance(p, str):
            raise InvalidTypeError(f"freeze prefixes must be text, got {p!r}")
        if not p:
            raise InvalidValueError("freeze prefix '' would match every layer; name a prefix such as 'features'")
    return tuple(freeze)


def _check_owner(graph: Graph, name: str, layer: Shared) -> None:
    """A Shared layer's weights belong to another node holding the same layer spec."""
    owner = graph.nodes.get(layer.owner)
    problem = None
    if layer.owner == name:
        problem = "owns itself (name the node that holds the weights)"
    elif owner is None:
        problem = f"owner {layer.owner!r} is not a layer of this graph"
    elif isinstance(owner.layer, Shared):
        problem = f"owner {layer.owner!r} is itself Shared (name the node that holds the weights)"
    elif owner.layer != layer.layer:
        problem = f"owner {layer.owner!r} is a {owner.layer.kind}, not the same {layer.layer.kind} spec"
    if problem:
        raise _at_layer(GraphError(f"layer {name!r} ({layer.kind}): {problem}"), name)


def analyze(model, input=None, batch=1, dtype: Optional[str] = None, freeze: Sequence[str] = (),
            model_name: Optional[str] = None, **build_kwargs) -> Result:
    """Analyse a zoo model name or a :class:`~archcalc.graph.Graph`.

    ``input`` is the per-sample shape, e.g. ``(3, 224, 224)``, ``(3, "H", "W")`` or ``"3xHxW"``
    (default: the model's own). ``batch`` may be an int or a name (``"N"``). ``freeze`` marks the
    parameters of layers whose names start with any given prefix as non-trainable. ``dtype`` defaults
    to the zoo entry's own (``int8`` for the quantized aliases), else ``fp32``.
    """
    entry = None
    if isinstance(model, Graph):
        if build_kwargs:
            raise InvalidValueError(f"builder options ({', '.join(sorted(build_kwargs))}) apply to zoo models, "
                                    "not to a Graph")
        graph = model
    elif isinstance(model, str):
        from .zoo import get_entry

        entry = get_entry(model)
        graph = entry.build(**build_kwargs)
    else:
        raise InvalidTypeError(f"cannot analyse {type(model).__name__}; pass a zoo name or a Graph")
    dtype = dtype_name(dtype if dtype is not None else (entry.dtype if entry is not None else "fp32"))
    batch = V.positive_dim("batch", "", batch)
    prefixes = _freeze_prefixes(freeze)
    if model_name is not None:
        V.text("model_name", "", model_name)
    order = graph.topological()
    first_input = graph.inputs[0]
    # graph inputs may be written with names ("T", 300); coerce them like a user-given shape
    declared = _coerce_shape(graph.nodes[first_input].layer.shape)
    in_shape = declared if input is None else _coerce_shape(input)
    if input is not None:
        _check_channels(entry.name if entry else f"network {graph.name!r}", declared, in_shape)
    shapes: dict = {}
    fields: dict = {}
    records = []
    rules = _RULES
    prod, normalize = dims.prod, dims.normalize
    costs: dict = {}  # (layer, input shapes) -> Cost: rules are pure, and repeated blocks repeat them
    conditions: dict = {}  # the same key (or the layer name) -> validity conditions, symbolic runs only
    # conditions the rules' equality checks find (a join valid for odd H only); a failed analysis
    # leaves the list open until the next analysis starts a new one
    found = dims.collect_conditions()
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
            if type(layer) is Shared:
                _check_owner(graph, name, layer)
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
                    if found:  # conditions the rule's equality checks found (symbolic joins only)
                        conditions[key if key is not None else name] = tuple(dict.fromkeys(found))
                        found.clear()
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
        valid_when = conditions.get(name if key is None else key, ()) if conditions and node.inputs else ()
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
            valid_when,
        ))
    dims.collected_conditions()
    name = model_name or (entry.name if entry else graph.name)
    for p in prefixes:
        if not any(r.name.startswith(p) for r in records):
            raise InvalidValueError(f"freeze prefix {p!r} matches no layer of {name} (layers look like "
                                f"{', '.join(r.name for r in records[1:4])}, ...)")
    return Result(name, graph, in_shape, batch, dtype, records, entry)
