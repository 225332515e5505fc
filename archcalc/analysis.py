"""Walk a graph, apply each layer's rule, collect per-layer records and totals. No formatting here.

Conventions (see also :mod:`archcalc.rules`):

- per-layer ``macs``, ``flops`` and ``activations`` include the batch; ``params`` do not. A layer
  whose output does not depend on the input (:class:`~archcalc.layers.Parameter` and
  :class:`~archcalc.layers.Constant` nodes, marked ``batch_free``, and every layer that reads only
  such nodes) is computed once per forward whatever the batch, as torch does: its counts are not
  multiplied by the batch and its record says ``per_forward`` (Swin V2's position-bias MLP on a
  coordinate table, relative-position bias tables, position encodings built with ``torch.arange``).
- ``activations`` counts the elements of every tensor the forward pass materialises: the input,
  then each layer's output unless the layer works in place or returns a view (in-place ReLU,
  Flatten, Dropout at inference). This is the cs231n tally's "memory" column.
- receptive field: per axis ``size``, ``jump`` (distance in input pixels between neighbouring
  outputs) and ``start`` (centre of the first output's field, input pixel ``i`` spanning
  ``[i, i+1)``), propagated as ``size += (k-1)*jump; start += ((k-1)/2 - pad)*jump; jump *= s``.
  Each rule's ``Cost.rf`` says how its layer maps positions (:mod:`archcalc.rules`: a window, a
  mix over axes, a permutation, a reshape, added tokens, or not followed); the walk follows the
  (H, W) axes through channels-last views and H*W token sequences, makes attention's field the
  whole input, and marks the field undefined, naming the layer, where it cannot follow
  (:class:`ReceptiveField` modes; :func:`_follow`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, NamedTuple, Optional, Sequence

from . import dims
from . import validate as V
from .dtypes import DTYPE_BYTES, dtype_name  # noqa: F401 (re-exported: archcalc.analysis.DTYPE_BYTES)
from .errors import ArchcalcError, GraphError, InvalidTypeError, InvalidValueError, ShapeError, UnknownLayerError
from .graph import Graph
from .layers import Input, Parameter, Shared
from .rules import _RULES, Footprint, rule_for

_POOL_TO_FIXED = ("Adaptive", "Global")
_INF = float("inf")


class ReceptiveField(NamedTuple):
    """Per axis (h, w): ``size``, ``jump`` and ``start``. ``start`` is kept doubled
    (``twice_start``) so that the common integer case never needs fractions. Immutable (a named
    tuple: one is built per layer, so construction has to be cheap).

    ``mode`` says what the numbers mean:

    - ``map``: the field of each position of the output's (H, W) axes, at tensor axes ``axes``
      (negative, from the last; ``(-2, -1)`` for a (C, H, W) map, moved by permutes);
    - ``tokens``: H and W flattened into one token axis (``axes = (t, t)``; ``grid`` = the H, W
      sizes): the numbers are each image token's field (a prepended learned token has none);
    - ``pooled``: the spatial axes are pooled away (global pooling, a flatten a Linear reads): the
      field of the last map spanning the whole pooled extent (the classic convention);
    - ``whole``: every output reads every position (attention, a Linear over a spatial axis): the
      numbers span all positions of the input, i.e. the whole input;
    - ``undefined``: a layer maps positions in a way the walk does not follow (``why`` says which
      and how, ``origin`` names it); the numbers are None.
    """

    size: tuple  # (h, w)
    jump: tuple
    twice_start: tuple
    axes: tuple = (-2, -1)
    mode: str = "map"
    grid: Optional[tuple] = None
    why: str = ""
    origin: str = ""

    @property
    def start(self) -> tuple:
        if self.mode == "undefined":
            return (None, None)
        return tuple(dims.exact_div(t, 2) for t in self.twice_start)

    @property
    def defined(self) -> bool:
        return self.mode != "undefined"

    @staticmethod
    def undefined(origin: str, why: str) -> "ReceptiveField":
        return ReceptiveField((None, None), (None, None), (None, None), (), "undefined", None, why, origin)

    def apply(self, fp) -> "ReceptiveField":
        if fp is None or self.mode in ("whole", "undefined"):
            return self
        (sh, sw), (jh, jw), (th, tw) = self.size, self.jump, self.twice_start
        (kh, kw), (ph, pw) = fp.kernel, fp.padding
        n, add = dims.normalize, dims.add  # add: a merged (max) size stays a flat max
        return self._replace(size=(add(sh, (kh - 1) * jh), add(sw, (kw - 1) * jw)),
                             jump=(n(jh * fp.stride[0]), n(jw * fp.stride[1])),
                             twice_start=(n(th + (kh - 1 - 2 * ph) * jh), n(tw + (kw - 1 - 2 * pw) * jw)))

    def spanning(self, counts, axes=(0, 1)) -> "ReceptiveField":
        """The field of an output that reads all ``counts[a]`` positions along the spatial axes
        ``axes`` (0 = h, 1 = w): the union of their fields, centred on the middle position."""
        size, twice = list(self.size), list(self.twice_start)
        for a in axes:
            size[a] = dims.add(size[a], (counts[a] - 1) * self.jump[a])
            twice[a] = dims.normalize(twice[a] + (counts[a] - 1) * self.jump[a])
        return self._replace(size=tuple(size), twice_start=tuple(twice))

    @staticmethod
    def merge(fields: Sequence["ReceptiveField"]) -> "ReceptiveField":
        """A merge (add/concat/mul) sees the union of its inputs' fields: the widest size per axis.
        Jump and start follow the finest-strided input (the widest among equals): a broadcast gate,
        such as squeeze-and-excitation's globally pooled (C, 1, 1) branch, widens the field to the
        whole input but does not coarsen the output grid that later layers step over. An undefined
        input makes the merge undefined; a whole-input one makes it whole; inputs whose spatial axes
        sit at different places (or one flattened into tokens, one not) are not merged."""
        first = fields[0]
        if len(fields) == 1 or fields.count(first) == len(fields):  # parallel branches of equal footprint
            return first
        modes = [f.mode for f in fields]
        if "undefined" in modes:
            return fields[modes.index("undefined")]
        if "whole" in modes:
            fields = [f for f in fields if f.mode == "whole"]
        located = [f for f in fields if f.mode in ("map", "tokens")]
        if located and any((f.mode, f.axes) != (located[0].mode, located[0].axes) for f in located):
            return None  # the caller names the layer
        size, jump, twice = [], [], []
        for a in (0, 1):
            def finest_then_widest(f, a=a):  # a symbolic jump or size cannot lead
                j, s = f.jump[a], f.size[a]
                return (j if dims.is_concrete(j) else _INF, -s if dims.is_concrete(s) else 1)

            lead = min(fields, key=finest_then_widest)
            size.append(dims.smax(*[f.size[a] for f in fields]))
            jump.append(lead.jump[a])
            twice.append(lead.twice_start[a])
        shape_of = located[0] if located else fields[0]
        return shape_of._replace(size=tuple(size), jump=tuple(jump), twice_start=tuple(twice))

    def to_dict(self) -> dict:
        if self.mode == "undefined":
            return {"size": None, "jump": None, "start": None, "undefined": self.why, "from": self.origin}

        def one(pair):
            a, b = pair
            return dims.to_json(a) if dims.same(a, b) else [dims.to_json(a), dims.to_json(b)]

        out = {"size": one(self.size), "jump": one(self.jump), "start": one(self.start)}
        if self.mode in ("whole", "tokens"):  # map and pooled fields keep their historical keys
            out["mode"] = self.mode
        return out


def _merge_axes(src: tuple, dst: tuple):
    """For a row-major reshape ``src -> dst`` that only merges runs of neighbouring axes (size-1
    axes may come and go), the output axis of each input axis (None for a dropped size-1 axis) and
    the groups (output axis -> input axes); None when the reshape splits an axis."""
    where, groups = {}, {}
    i = j = 0
    while i < len(src) or j < len(dst):
        if i < len(src) and dims.is_concrete(src[i]) and src[i] == 1:
            where[i] = None
            i += 1
            continue
        if j < len(dst) and dims.is_concrete(dst[j]) and dst[j] == 1:
            j += 1
            continue
        if i >= len(src) or j >= len(dst):
            return None
        group, p = [i], src[i]
        i += 1
        while not dims.same(dims.normalize(p), dst[j]) and i < len(src):
            p = p * src[i]
            group.append(i)
            i += 1
        if not dims.same(dims.normalize(p), dst[j]):
            return None
        for g in group:
            where[g] = j
        groups[j] = group
        j += 1
    return where, groups


def _follow(field: ReceptiveField, trait, in_shape: tuple, out_shape: tuple, name: str, kind: str):
    """The output field of a layer whose rule declares ``trait`` (:mod:`archcalc.rules`: Footprint,
    Mixes, Moves, Reshapes, Extends, Unfollowed, or None for position-preserving), or an undefined
    one naming the layer when the walk cannot follow it."""
    from .rules import Extends, Mixes, Moves, Reshapes, Unfollowed

    mode = field.mode
    if mode in ("whole", "undefined"):  # nothing after reading everything (or the unknown) changes that
        return field

    def lost(why):
        return ReceptiveField.undefined(name, f"{name} ({kind}) {why}")

    if mode == "pooled":  # the classic convention: later layers read the pooled extent
        return field.apply(trait) if isinstance(trait, Footprint) else field
    r_in, r_out = len(in_shape), len(out_shape)
    ah, aw = field.axes
    ph, pw = r_in + ah, r_in + aw
    tokens = mode == "tokens"
    if trait is None:
        if r_in == r_out and all(dims.same(in_shape[p], out_shape[p]) for p in (ph, pw)):
            return field
        return lost(f"changes the spatial axes ({_shape(in_shape)} -> {_shape(out_shape)})")
    if isinstance(trait, Footprint):
        if tokens or field.axes != (-2, -1):
            return lost("applies an (H, W) window to axes that are not the image's H and W")
        out = field.apply(trait)
        return out if r_out >= 2 else out._replace(mode="pooled", axes=())
    if isinstance(trait, Unfollowed):
        return lost(trait.reason)
    if isinstance(trait, Moves):
        order = list(trait.order)
        return field._replace(axes=(order.index(ph) - r_out, order.index(pw) - r_out))
    if isinstance(trait, Extends):
        if tokens and r_out == r_in:
            return field
        if r_in + trait.axis in (ph, pw):
            return lost("adds positions along a spatial axis")
        return field
    if isinstance(trait, Reshapes):
        lo = min(ph, pw)
        tail = r_in - lo
        if r_out >= tail and all(dims.same(a, b) for a, b in zip(in_shape[lo:], out_shape[r_out - tail:])):
            return field  # only axes before the spatial ones merge or split (a channel-shuffle view)
        found = _merge_axes(in_shape, out_shape)
        if found is None and tokens:
            back = _merge_axes(out_shape, in_shape)  # the token axis split back into the grid?
            if back is not None:
                split = back[1].get(ph, [])
                if len(split) == 2 and all(dims.same(out_shape[a], g) for a, g in zip(split, field.grid)):
                    return field._replace(mode="map", axes=(split[0] - r_out, split[1] - r_out), grid=None)
        if found is None:
            return lost(f"splits an axis ({_shape(in_shape)} -> {_shape(out_shape)}); the walk follows merges only")
        where, groups = found
        oh, ow = where.get(ph), where.get(pw)
        if oh is None or ow is None:
            return lost("drops a spatial axis")
        if tokens:
            return field._replace(axes=(oh - r_out, oh - r_out)) if groups[oh] == [ph] else \
                lost("merges the token axis with another axis")
        if oh != ow and groups[oh] == [ph] and groups[ow] == [pw]:
            return field._replace(axes=(oh - r_out, ow - r_out))
        if oh == ow and groups[oh] == sorted((ph, pw)):
            return field._replace(axes=(oh - r_out, oh - r_out), mode="tokens", grid=(in_shape[ph], in_shape[pw]))
        return lost("merges a spatial axis with another axis")
    if isinstance(trait, Mixes):
        mixed = {r_in + a for a in trait.axes}
        reduced = r_out < r_in or all(dims.is_concrete(out_shape[p]) and out_shape[p] == 1 for p in mixed)
        spatial = [a for a, p in ((0, ph), (1, pw)) if p in mixed]
        if spatial:
            counts = field.grid if tokens else (in_shape[ph], in_shape[pw])
            if len(spatial) == 1 and not tokens:
                if r_out != r_in:
                    return lost("reduces one spatial axis away")
                return field.spanning(counts, spatial)  # an exact field along one axis
            return field.spanning(counts)._replace(mode="pooled" if reduced else "whole", axes=())
        if r_out == r_in:
            return field
        if r_in - r_out != len(mixed):
            return lost(f"changes the spatial axes ({_shape(in_shape)} -> {_shape(out_shape)})")

        def moved(p):
            return p - sum(1 for m in mixed if m < p) - r_out

        return field._replace(axes=(moved(ph), moved(pw)))
    return lost(f"declares a spatial trait the walk does not know ({type(trait).__name__})")


def _main_shape(in_shapes, out_shape: tuple) -> tuple:
    """The input shape the walk follows: of a broadcasting join (``gate * x`` with a (C, 1, 1)
    gate, whichever operand comes first) the pixel input shaped like the output, else the first."""
    for s in in_shapes:
        if len(s) == len(out_shape) and all(dims.same(a, b) for a, b in zip(s, out_shape)):
            return s
    return in_shapes[0]


def _shape(shape) -> str:
    return "x".join(dims.format_dim(d) for d in shape)


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
    #: True when the layer's output does not depend on the input (a parameter, a tensor created
    #: inside forward, and work on those alone: Swin V2's position-bias MLP on its coordinate
    #: table): torch computes it once per forward, so macs, flops and elements are not times batch
    per_forward: bool = False

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
            **({"per_forward": True} if self.per_forward else {}),  # a key only then: other results keep their bytes
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
        # A layer whose field is whole-input (attention), token-wise or undefined counts as a map:
        # a network that ends in one reports it (an undefined field names the layer it began at)
        spatial, pooled = [], set()
        for r in layers:
            mode = r.receptive_field.mode
            if not getattr(r.layer, "reads_pixels", True):  # a parameter tensor, an unreached head
                continue
            if r.kind.startswith(_POOL_TO_FIXED) or (r.inputs and pooled.issuperset(r.inputs)):
                pooled.add(r.name)
            elif len(r.output_shape) >= 3 or mode in ("tokens", "whole", "undefined"):  # (C, [T,] H, W) maps
                spatial.append(r)
        last = spatial[-1] if spatial else self.layers[-1]
        rf = last.receptive_field
        # where the network's field is undefined, the deepest map whose field is exact (a detector's
        # RPN before its RoI head), for the text to add
        known = next((r for r in reversed(spatial) if r.receptive_field.mode in ("map", "whole")), None) \
            if rf.mode == "undefined" else None
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
            "receptive_field_layer": rf.origin if rf.mode == "undefined" else last.name,
            "receptive_field_known": (known.receptive_field, known.name) if known else None,
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
    """A Shared layer's weights belong to another node holding the same layer spec, or to a
    Parameter node holding its tensors (an imported layer whose weights are computed from, or
    partly tied to, tensors counted once as Parameter nodes: weight_norm's g and v)."""
    owner = graph.nodes.get(layer.owner)
    problem = None
    if layer.owner == name:
        problem = "owns itself (name the node that holds the weights)"
    elif owner is None:
        problem = f"owner {layer.owner!r} is not a layer of this graph"
    elif isinstance(owner.layer, Shared):
        problem = f"owner {layer.owner!r} is itself Shared (name the node that holds the weights)"
    elif isinstance(owner.layer, Parameter):
        pass
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
    pixelless: set = set()  # nodes computed from parameter tensors alone
    # nodes whose output does not depend on the input: batch-free sources (parameters, constants
    # created in forward) and layers reading only such nodes; each is computed once per forward
    once: set = set()
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
            rf = PIXEL if len(shape) >= 3 else ReceptiveField.undefined(
                name, f"{name} (Input) is not an image: no (H, W) axes in {_shape(shape)}")
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
            # a layer may read some inputs for their shape only (Crop's reference): rf_inputs = how
            # many leading inputs carry pixels into the output; a parameter tensor (and what is
            # computed from parameters alone) carries none, so a join ignores it (ViT's class token
            # concatenated to the patches, a layer-scale gamma times the map)
            pixel_inputs = [i for i in inputs[:getattr(layer, "rf_inputs", None) or len(inputs)]
                            if i not in pixelless]
            if not getattr(layer, "reads_pixels", True) or not pixel_inputs:
                pixelless.add(name)
                rf = ReceptiveField.undefined(name, f"{name} ({layer.kind}) carries no pixels (parameters only)")
            else:
                if len(pixel_inputs) == 1:
                    rf = fields[pixel_inputs[0]]
                else:
                    rf = ReceptiveField.merge([fields[i] for i in pixel_inputs])
                    if rf is None:
                        rf = ReceptiveField.undefined(name, f"{name} ({layer.kind}) joins inputs whose spatial "
                                                            "axes lie at different places")
                out = tuple(cost.output)
                if rf.mode == "map" and type(cost.rf) is Footprint and len(out) >= 2 and rf.axes == (-2, -1):
                    rf = rf.apply(cost.rf)  # the common case, kept short
                else:
                    rf = _follow(rf, cost.rf, _main_shape([shapes[i] for i in pixel_inputs], out), out,
                                 name, layer.kind)
        valid_when = conditions.get(name if key is None else key, ()) if conditions and node.inputs else ()
        output = cost.output
        shapes[name] = output
        fields[name] = rf
        per_forward = getattr(layer, "batch_free", False) or (
            type(layer) is not Input and all(i in once for i in node.inputs)
            and not getattr(layer, "per_sample", False))  # a batch-free tensor copied over the batch
        if per_forward:
            once.add(name)
        n = 1 if per_forward else batch
        out_elems = normalize(n * prod(output))
        macs, flops = normalize(n * cost.macs), normalize(n * cost.flops)
        frozen = bool(prefixes) and name.startswith(prefixes)
        trainable = cost.params
        params = trainable + cost.frozen_params
        if type(params) is not int:
            params = dims.normalize(params)
        records.append(LayerRecord(
            name, layer.kind, layer, node.inputs, in_shapes, output, params,
            0 if frozen else trainable, cost.buffers, macs, flops,
            0 if layer.reuses_input else out_elems, out_elems, rf, cost.warnings, frozen,
            valid_when, per_forward,
        ))
    dims.collected_conditions()
    name = model_name or (entry.name if entry else graph.name)
    for p in prefixes:
        if not any(r.name.startswith(p) for r in records):
            raise InvalidValueError(f"freeze prefix {p!r} matches no layer of {name} (layers look like "
                                f"{', '.join(r.name for r in records[1:4])}, ...)")
    return Result(name, graph, in_shape, batch, dtype, records, entry)
