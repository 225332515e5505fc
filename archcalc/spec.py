"""Networks written as data: YAML or JSON files validated against archcalc's JSON Schema.

A spec is a mapping::

    name: tiny                 # optional (default: the file's stem)
    input: 3x32x32             # per-sample shape: "3x32x32", "3xHxW" or [3, "H", "W"]
    layers:
      - {name: conv1, kind: Conv2d, out_channels: 16, kernel_size: 3, padding: 1}
      - {name: relu1, kind: ReLU, inplace: true}          # reads the previous layer
      - {name: add, kind: Add, inputs: [relu1, conv1]}    # or names its inputs
    outputs: [add]             # optional (default: the layers nobody reads)

``kind`` is an archcalc layer class name (``Conv2d``, ``BatchNorm2d``, ``Add``...; activations by
their torch names ``ReLU``, ``SiLU``...); every other key is a field of that layer's dataclass.
The same graph can be written with :class:`archcalc.graph.Builder`. User text is never evaluated:
shapes go through the restricted parser in :mod:`archcalc.dims` and values are type-checked
against the layer's declared field types, so every mistake becomes one :class:`SpecError` naming
the file, the layer path (``layers[3] (conv2)``) and the field.

The JSON Schema (:func:`json_schema`, shipped as ``archcalc/schema/network.schema.json``) is
generated from the same field table the loader checks, so the two cannot disagree.
"""

from __future__ import annotations

import math
import os
import re
from dataclasses import MISSING, fields
from typing import Any, Optional

from . import dims
from .errors import ArchcalcError
from .graph import Graph, Node
from .layers import ACTIVATION_OPS, Activation, Input

SCHEMA_ID = "https://archcalc.dev/schema/network.schema.json"
SCHEMA_PATH = os.path.join(os.path.dirname(__file__), "schema", "network.schema.json")
SPEC_SUFFIXES = (".yaml", ".yml", ".json")
MAX_FILE_BYTES = 16 << 20
MAX_NAME = 256
MAX_ITEMS = 100_000  # elements in one field value (a connection table)
TOP_KEYS = ("name", "description", "input", "input_name", "layers", "outputs")
LAYER_KEYS = ("name", "kind", "inputs")

#: Integer fields that are sizes (>= 1) or paddings (>= 0), wherever a layer declares them. The
#: layers check the same bounds when they are made (archcalc/validate.py); these tables give the
#: loader its wording and the JSON Schema its minimums.
POSITIVE_FIELDS = frozenset({"out_channels", "out_features", "kernel_size", "stride", "dilation", "groups",
                             "output_size", "scale_factor", "size", "num_embeddings", "embedding_dim",
                             "hidden_size", "num_layers", "num_rois", "stop", "step"})
NONNEGATIVE_FIELDS = frozenset({"padding", "output_padding", "start", "sampling_ratio"})
#: The text values a field accepts where it accepts text besides numbers. A layer class whose field
#: takes other words says so in its ``choices`` (MatMul.mode, Interpolate.mode): see string_choices.
STRING_CHOICES = {"padding": ("same", "valid"), "fn": tuple(sorted(ACTIVATION_OPS)), "mode": ("nearest", "bilinear")}
#: Number fields with bounds: field -> (minimum, maximum, minimum excluded).
FLOAT_RANGES = {"eps": (0, None, True), "momentum": (0, 1, False), "p": (0, 1, False),
                "spatial_scale": (0, None, True)}
_FLOAT_TEXT = r"^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$"  # YAML 1.1 reads 1e-5 as text


class SpecError(ArchcalcError, ValueError):
    """A network spec that cannot be loaded: names the file, the layer path and the field. Always
    one line: line breaks and control characters from the user's text are escaped."""

    def __init__(self, message: str):
        super().__init__(_one_line(str(message)))


# ---------------------------------------------------------------------------------------------
# Layer kinds and field types


def layer_kinds() -> dict:
    """Spec ``kind`` -> (layer class, fixed keyword arguments), for every kind with a cost rule."""
    from .layers import _ACT_KIND
    from .rules import _RULES

    kinds: dict = {}
    for cls in sorted(_RULES, key=lambda c: c.__name__):
        if cls is Activation:
            kinds["Activation"] = (cls, {})
            for fn, kind in _ACT_KIND.items():
                kinds[kind] = (cls, {"fn": fn})
        else:
            kinds[cls.__name__] = (cls, {})
    return dict(sorted(kinds.items()))


def _split_type(annotation: str) -> tuple:
    """``'Optional[Union[IntOrPair, str]]'`` -> (nullable, ('IntOrPair', 'str'))."""
    t = str(annotation).replace(" ", "").replace("typing.", "")
    nullable = False
    if t.startswith("Optional[") and t.endswith("]"):
        nullable, t = True, t[len("Optional["):-1]
    parts = t[len("Union["):-1].split(",") if t.startswith("Union[") and t.endswith("]") else [t]
    if "None" in parts or "NoneType" in parts:
        nullable = True
        parts = [p for p in parts if p not in ("None", "NoneType")]
    return nullable, tuple(parts)


def layer_fields(cls, fixed: dict) -> list:
    """(name, (nullable, atoms), required, default) for the fields a spec may set."""
    out = []
    for f in fields(cls):
        if f.name in fixed or f.name in LAYER_KEYS or not f.init:
            continue
        required = f.default is MISSING and f.default_factory is MISSING  # type: ignore[misc]
        default = None if required else (f.default if f.default is not MISSING else f.default_factory())
        out.append((f.name, _split_type(f.type), required, default))
    return out


def _type_words(atoms) -> str:
    words = {"int": "an integer", "float": "a number", "bool": "true or false", "str": "text",
             "IntOrPair": "an integer or a pair of integers", "tuple": "a list"}
    return " or ".join(words.get(a, "a number, text or a list") for a in atoms)


def string_choices(cls, field: str):
    """The words ``cls``'s text field ``field`` accepts, or None for free text (an einsum equation)."""
    own = getattr(cls, "choices", None)
    if isinstance(own, dict) and field in own:
        return tuple(own[field])
    return STRING_CHOICES.get(field)


def _check_int(v, field: str) -> int:
    if field in POSITIVE_FIELDS and v < 1:
        raise ValueError(f"must be >= 1, got {v}")
    if field in NONNEGATIVE_FIELDS and v < 0:
        raise ValueError(f"must be >= 0, got {v}")
    return v


def _is_int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _symbolic(v, field: str):
    """``{dim: "R"}`` -> the dimension R (the restricted parser; sizes must be positive)."""
    d = v["dim"]
    if isinstance(d, bool) or not isinstance(d, (int, str)):
        raise ValueError(f"'dim' must be an integer or dimension text such as R, got {_describe(d)}")
    d = dims.coerce_dim(d)
    return dims.check_size(d, f"dimension {v['dim']!r}") if field in POSITIVE_FIELDS else d


def _is_dim_mapping(v) -> bool:
    return isinstance(v, dict) and list(v) == ["dim"]


def _as_tuple(v, depth: int = 0, budget: Optional[list] = None, field: str = ""):
    """Nested lists of scalars -> nested tuples (layer specs are frozen and hashable)."""
    budget = [MAX_ITEMS] if budget is None else budget
    if _is_dim_mapping(v):
        return _symbolic(v, field)
    if isinstance(v, list):
        if depth >= 4:
            raise ValueError("lists nested deeper than 4 levels")
        budget[0] -= len(v)
        if budget[0] < 0:
            raise ValueError(f"more than {MAX_ITEMS} values")
        return tuple(_as_tuple(x, depth + 1, budget, field) for x in v)
    if v is None or isinstance(v, (bool, int, str)) or (isinstance(v, float) and math.isfinite(v)):
        return v
    raise ValueError(f"unexpected {type(v).__name__} value")


def _convert_atom(atom: str, v, field: str, cls=None):
    """Return the converted value, or raise ValueError/TypeError when ``v`` is not an ``atom``."""
    if atom == "int":
        if _is_int(v):
            return _check_int(v, field)
        if _is_dim_mapping(v):
            return _symbolic(v, field)
    elif atom == "bool":
        if isinstance(v, bool):
            return v
    elif atom == "float":
        if isinstance(v, str) and re.match(_FLOAT_TEXT, v.strip()):
            v = float(v)
        if (_is_int(v) or isinstance(v, float)) and math.isfinite(v):
            return v
    elif atom == "str":
        if isinstance(v, str):
            choices = string_choices(cls, field)
            if choices and v not in choices:
                raise ValueError(f"must be one of {', '.join(choices)}, got {v!r}")
            return v
    elif atom == "IntOrPair":
        if _is_int(v):
            return _check_int(v, field)
        if isinstance(v, list) and len(v) == 2 and all(_is_int(x) for x in v):
            return (_check_int(v[0], field), _check_int(v[1], field))
        if isinstance(v, list) and all(_is_int(x) for x in v):
            raise ValueError(f"expected an integer or a pair of integers, got a list of {len(v)}")
    elif atom == "tuple":
        if isinstance(v, list):
            return _as_tuple(v)
    else:  # Any or an annotation this table does not know: plain data, checked by the layer itself
        return _as_tuple(v, field=field)
    raise TypeError(atom)


def convert_field(ftype: tuple, v, field: str, cls=None):
    nullable, atoms = ftype
    if v is None and nullable:
        return None
    for atom in atoms:
        try:
            return _convert_atom(atom, v, field, cls)
        except TypeError:
            continue
    raise ValueError(f"expected {_type_words(atoms)}{' or null' if nullable else ''}, got {_describe(v)}")


def _describe(v) -> str:
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v)
    if isinstance(v, str):
        return repr(v) if len(v) <= 40 else repr(v[:37] + "...")
    if isinstance(v, list):
        return f"a list of {len(v)}"
    if isinstance(v, dict):
        return "a mapping"
    return f"a {type(v).__name__}"


def _did_you_mean(word, choices) -> str:
    import difflib  # only on the error path

    close = difflib.get_close_matches(str(word), list(choices), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _shape(value, where: str) -> tuple:
    """An input shape: "3xHxW", "(3, H, W)" or a list of integers and dimension texts."""
    if isinstance(value, str):
        return dims.parse_shape(value)
    if isinstance(value, list) and value:
        out = []
        for k, d in enumerate(value):
            if isinstance(d, bool) or not isinstance(d, (int, str)):
                raise dims.DimSyntaxError(f"{where}[{k}]: expected an integer or a dimension such as H, "
                                          f"got {_describe(d)}")
            out.append(dims.check_size(dims.coerce_dim(d), f"{where}[{k}]"))
        return tuple(out)
    raise dims.DimSyntaxError(f"expected a shape such as 3x224x224, 3xHxW or [3, H, W], got {_describe(value)}")


# ---------------------------------------------------------------------------------------------
# Loading


class _Loaded:
    """A graph plus, for each node, where it was written (``layers[3]``), for error messages."""

    def __init__(self, graph: Graph, source: str, paths: dict):
        self.graph, self.source, self.paths = graph, source, paths

    def where(self, layer_name) -> str:
        p = self.paths.get(layer_name)
        return f"{p} ({layer_name})" if p else str(layer_name)


def _one_line(text: str) -> str:
    """User text (keys, names, file names) may hold line breaks or control characters: escape them."""
    return text if text.isprintable() else "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def _fail(source: str, where: str, msg: str):
    raise SpecError(f"{source}: {where}: {msg}" if where else f"{source}: {msg}")


def spec_to_graph(data, source: str = "<spec>", default_name: str = "network") -> Graph:
    """Build a :class:`Graph` from a parsed spec (dicts and lists), or raise :class:`SpecError`."""
    return _build(data, source, default_name).graph


def _build(data, source: str, default_name: str) -> _Loaded:
    if not isinstance(data, dict):
        _fail(source, "", f"a network spec must be a mapping with 'input' and 'layers', got {_describe(data)}")
    for key in data:
        if key not in TOP_KEYS:
            _fail(source, repr(key), f"unknown top-level field{_did_you_mean(key, TOP_KEYS)}; "
                  f"allowed: {', '.join(TOP_KEYS)}")
    name = data.get("name", default_name)
    if not isinstance(name, str) or not name or len(name) > MAX_NAME:
        _fail(source, "name", f"expected non-empty text, got {_describe(name)}")
    if "description" in data and not isinstance(data["description"], str):
        _fail(source, "description", f"expected text, got {_describe(data['description'])}")
    layers = data.get("layers")
    if layers is None:
        _fail(source, "layers", "missing field (a list of layers)")
    if not isinstance(layers, list) or not layers:
        _fail(source, "layers", f"expected a non-empty list of layers, got {_describe(layers)}")
    graph = Graph(name)
    paths: dict = {}
    previous = None
    if "input" in data:
        input_name = data.get("input_name", "input")
        if not isinstance(input_name, str) or not input_name or len(input_name) > MAX_NAME:
            _fail(source, "input_name", f"expected non-empty text, got {_describe(input_name)}")
        try:
            shape = _shape(data["input"], "input")
        except dims.DimSyntaxError as e:
            _fail(source, "input", str(e))
        graph.add(Node(input_name, Input(shape), ()))
        paths[input_name] = "input"
        previous = input_name
    elif "input_name" in data:
        _fail(source, "input_name", "given without 'input'")
    kinds = layer_kinds()
    for k, spec in enumerate(layers):
        path = f"layers[{k}]"
        if not isinstance(spec, dict):
            _fail(source, path, f"expected a mapping with name and kind, got {_describe(spec)}")
        lname = spec.get("name")
        if lname is None:
            _fail(source, path, "missing field 'name'")
        if not isinstance(lname, str) or not lname or len(lname) > MAX_NAME:
            _fail(source, path, f"field 'name': expected non-empty text, got {_describe(lname)}")
        where = f"{path} ({lname})"
        if lname in paths:
            _fail(source, where, f"duplicate layer name {lname!r} (first used at {paths[lname]})")
        kind = spec.get("kind")
        if kind is None:
            _fail(source, where, "missing field 'kind'")
        if not isinstance(kind, str) or kind not in kinds:
            _fail(source, where, f"unknown layer kind {_describe(kind)}{_did_you_mean(kind, kinds)}; "
                  f"known kinds: {', '.join(kinds)}")
        cls, fixed = kinds[kind]
        layer = _make_layer(source, where, kind, cls, fixed, spec)
        if cls is Input:
            if "inputs" in spec:
                _fail(source, where, "field 'inputs': an Input layer reads nothing")
            inputs: tuple = ()
        elif "inputs" in spec:
            inputs = _inputs(source, where, spec["inputs"])
        elif previous is None:
            _fail(source, where, "missing field 'inputs' (the first layer has no previous layer to read; "
                  "give a top-level 'input' shape or an Input layer)")
        else:
            inputs = (previous,)
        graph.add(Node(lname, layer, inputs))
        paths[lname] = path
        previous = lname
    loaded = _Loaded(graph, source, paths)
    for node in graph.nodes.values():
        for i in node.inputs:
            if i not in graph.nodes:
                _fail(source, loaded.where(node.name), f"field 'inputs': {i!r} is not a layer of this "
                      f"network{_did_you_mean(i, graph.nodes)} (dangling edge)")
            if i == node.name:
                _fail(source, loaded.where(node.name), "field 'inputs': the layer reads itself (cycle)")
    if "outputs" in data:
        outs = data["outputs"]
        if isinstance(outs, str):
            outs = [outs]
        if not isinstance(outs, list) or not outs or not all(isinstance(o, str) for o in outs):
            _fail(source, "outputs", f"expected a non-empty list of layer names, got {_describe(data['outputs'])}")
        for o in outs:
            if o not in graph.nodes:
                _fail(source, "outputs", f"{o!r} is not a layer of this network{_did_you_mean(o, graph.nodes)}")
        if len(set(outs)) != len(outs):
            _fail(source, "outputs", "lists a layer twice")
        graph.outputs = list(outs)
    if not graph.inputs:
        _fail(source, "input", "missing: give a top-level 'input' shape or a layer of kind Input")
    try:
        graph.topological()
    except ArchcalcError as e:
        _fail(source, loaded.where(getattr(e, "layer", "")) if getattr(e, "layer", None) else "", str(e))
    return loaded


def _inputs(source, where, value) -> tuple:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not value:
        _fail(source, where, f"field 'inputs': expected a layer name or a non-empty list of names, "
              f"got {_describe(value)}")
    for v in value:
        if not isinstance(v, str):
            _fail(source, where, f"field 'inputs': expected layer names, got {_describe(v)}")
    return tuple(value)


def _is_layer_field(ftype) -> bool:
    """A field holding another layer spec (``layer: Layer`` of a wrapper such as Shared/PerItem)."""
    return ftype[1] == ("Layer",)


def _nested_layer(source, where, value, nullable, depth):
    if value is None and nullable:
        return None
    if not isinstance(value, dict) or "kind" not in value:
        _fail(source, where, f"expected a layer: a mapping with 'kind' and its fields, got {_describe(value)}")
    if depth >= 8:
        _fail(source, where, "layers nested deeper than 8")
    for key in ("name", "inputs"):
        if key in value:
            _fail(source, where, f"a nested layer has no {key!r}: it runs inside its wrapper")
    kinds = layer_kinds()
    kind = value["kind"]
    if not isinstance(kind, str) or kind not in kinds or kinds[kind][0] is Input:
        _fail(source, where, f"unknown layer kind {_describe(kind)}{_did_you_mean(kind, kinds)}")
    cls, fixed = kinds[kind]
    return _make_layer(source, f"{where} ({kind})", kind, cls, fixed, value, depth + 1)


def _make_layer(source, where, kind, cls, fixed, spec, depth=0):
    allowed = layer_fields(cls, fixed)
    names = {f[0] for f in allowed}
    kwargs = dict(fixed)
    for key in spec:
        if key in LAYER_KEYS:
            continue
        if key not in names:
            hint = _did_you_mean(key, names)
            _fail(source, where, f"unknown field {key!r} for {kind}{hint}; "
                  + (f"{kind} has: {', '.join(sorted(names))}" if names else f"{kind} takes no fields"))
    for fname, ftype, required, _ in allowed:
        if fname not in spec:
            if required:
                _fail(source, where, f"missing field {fname!r} ({kind} needs {_type_words(ftype[1])})")
            continue
        if cls is Input and fname == "shape":
            try:
                kwargs[fname] = _shape(spec[fname], "shape")
            except dims.DimSyntaxError as e:
                _fail(source, where, f"field 'shape': {e}")
            continue
        if _is_layer_field(ftype):
            kwargs[fname] = _nested_layer(source, f"{where}: field {fname!r}", spec[fname], ftype[0], depth)
            continue
        try:
            kwargs[fname] = convert_field(ftype, spec[fname], fname, cls)
        except (TypeError, ValueError) as e:
            _fail(source, where, f"field {fname!r}: {e}")
    try:
        return cls(**kwargs)
    except (TypeError, ValueError, ArchcalcError) as e:
        msg = str(e)
        _fail(source, where, msg if msg.startswith(cls.__name__) else f"{kind}: {msg}")


def parse_text(text: str, source: str = "<spec>", fmt: Optional[str] = None):
    """Parse YAML or JSON text into plain data (``fmt`` 'yaml' or 'json'; default: guess)."""
    if fmt is None:
        fmt = "json" if text.lstrip().startswith(("{", "[")) else "yaml"
    try:
        if fmt == "json":
            return _parse_json(text, source)
        return _parse_yaml(text, source)
    except RecursionError:
        raise SpecError(f"{source}: nested too deeply") from None


def _parse_json(text: str, source: str):
    import json

    def pairs(items):
        out = {}
        for k, v in items:
            if k in out:
                raise SpecError(f"{source}: duplicate key {k!r} in a mapping")
            out[k] = v
        return out

    def constant(name):
        raise SpecError(f"{source}: {name} is not allowed in a network spec")

    try:
        return json.loads(text, object_pairs_hook=pairs, parse_constant=constant)
    except SpecError:  # a ValueError too: from the hooks above, already one line
        raise
    except json.JSONDecodeError as e:
        raise SpecError(f"{source}:{e.lineno}:{e.colno}: invalid JSON: {e.msg}") from None
    except ValueError as e:  # e.g. an integer literal with more digits than Python converts
        raise SpecError(f"{source}: invalid JSON: {e}") from None


def _yaml_loader(fast: bool = True):
    """PyYAML and a safe loader class that also rejects duplicate and non-text keys. ``fast``:
    libyaml's C parser when PyYAML has it (its composer recurses in C, so only for shallow text)."""
    try:
        import yaml
    except ImportError:
        raise SpecError("reading YAML needs PyYAML: pip install 'archcalc[spec]' (or write the spec as "
                        "JSON)") from None

    base = getattr(yaml, "CSafeLoader", yaml.SafeLoader) if fast else yaml.SafeLoader

    class Loader(base):
        def construct_mapping(self, node, deep=False):
            seen = set()
            for key_node, _ in node.value:
                key = self.construct_object(key_node, deep=deep)
                if not isinstance(key, str):
                    raise yaml.constructor.ConstructorError(None, None, f"mapping key {key!r} is not text",
                                                            key_node.start_mark)
                if key in seen:
                    raise yaml.constructor.ConstructorError(None, None, f"duplicate key {key!r}",
                                                            key_node.start_mark)
                seen.add(key)
            return super().construct_mapping(node, deep=deep)

    Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, Loader.construct_mapping)
    return yaml, Loader


_SHALLOW = 64  # nesting the C parser may see; deeper text goes to the pure-Python parser


def _is_shallow(text: str) -> bool:
    """A cheap upper bound on YAML nesting: flow brackets, and indentation or compact "- - -"
    sequence markers at the start of a line. libyaml's composer recurses in C and can overflow the
    stack (a crash, not an exception) on thousands of levels; Python's parser raises RecursionError."""
    depth = deepest = 0
    for ch in re.findall(r"[\[\]{}]", text):
        depth = depth + 1 if ch in "[{" else max(depth - 1, 0)
        deepest = max(deepest, depth)
    if deepest > _SHALLOW:
        return False
    return all(len(line) - len(line.lstrip(" -?:")) <= _SHALLOW for line in text.splitlines())


def _parse_yaml(text: str, source: str):
    yaml, Loader = _yaml_loader(fast=_is_shallow(text))
    try:
        return yaml.load(text, Loader=Loader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        at = f":{mark.line + 1}:{mark.column + 1}" if mark is not None else ""
        problem = getattr(e, "problem", None) or str(e).splitlines()[0]
        raise SpecError(f"{source}{at}: invalid YAML: {problem}") from None
    except (ValueError, TypeError, OverflowError) as e:  # scalars PyYAML's resolvers fail on
        raise SpecError(f"{source}: invalid YAML: {e}") from None


def _read_bounded(f, source: str, what: str) -> bytes:
    """At most MAX_FILE_BYTES from an open binary stream: one byte more means the file is too large."""
    raw = f.read(MAX_FILE_BYTES + 1)
    if len(raw) > MAX_FILE_BYTES:
        raise SpecError(f"{source}: more than {MAX_FILE_BYTES:,} bytes; {what}s are limited to {MAX_FILE_BYTES:,}")
    return raw


def _read(path) -> tuple:
    """(source name, text, format) of a spec file, or of standard input for ``-``."""
    path, text = read_text(path)
    low = path.lower()
    fmt = "json" if low.endswith(".json") else "yaml" if low.endswith((".yaml", ".yml")) else None
    return path, text, fmt


def read_text(path, what: str = "network spec") -> tuple:
    """(source name, UTF-8 text) of a file archcalc reads (a spec, a snapshot), or of standard input
    for ``-``. Only regular files are opened (a FIFO would block, a device never ends), and never
    more than 16 MiB is read, whatever the file claims its size is. Errors are one-line SpecErrors."""
    import stat
    import sys

    if not isinstance(path, (str, os.PathLike)):
        raise SpecError(f"a spec path must be text or a path, got {type(path).__name__}")
    path = os.fspath(path)
    if path == "-":
        stream = getattr(sys.stdin, "buffer", None)
        if stream is None:
            raise SpecError("-: standard input is not available")
        try:
            raw = _read_bounded(stream, "<stdin>", what)
        except OSError as e:
            raise SpecError(f"-: cannot read standard input: {e.strerror or e}") from None
        path = "<stdin>"
    else:
        try:
            st = os.stat(path)
        except FileNotFoundError:
            raise SpecError(f"{path}: no such file") from None
        except (OSError, ValueError) as e:
            raise SpecError(f"{path}: cannot read: {getattr(e, 'strerror', None) or e}") from None
        if stat.S_ISDIR(st.st_mode):
            raise SpecError(f"{path}: is a directory, not a {what}")
        if not stat.S_ISREG(st.st_mode):
            raise SpecError(f"{path}: not a regular file (a pipe, device or socket); give a file, or '-' "
                            "to read standard input")
        if st.st_size > MAX_FILE_BYTES:
            raise SpecError(f"{path}: file is {st.st_size:,} bytes; {what}s are limited to {MAX_FILE_BYTES:,}")
        try:
            # O_NONBLOCK: should the path be swapped for a FIFO after the check, opening it cannot block
            fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0))
        except FileNotFoundError:
            raise SpecError(f"{path}: no such file") from None
        except IsADirectoryError:
            raise SpecError(f"{path}: is a directory, not a {what}") from None
        except OSError as e:
            raise SpecError(f"{path}: cannot read: {e.strerror or e}") from None
        with os.fdopen(fd, "rb") as f:
            if not stat.S_ISREG(os.fstat(f.fileno()).st_mode):
                raise SpecError(f"{path}: not a regular file (a pipe, device or socket)")
            try:
                raw = _read_bounded(f, path, what)
            except OSError as e:
                raise SpecError(f"{path}: cannot read: {e.strerror or e}") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise SpecError(f"{path}: not UTF-8 text (byte {e.start})") from None
    return path, text


def _load(path, check_schema: bool = False) -> _Loaded:
    """Read (once: a spec on stdin cannot be read twice, a file may change between reads), parse,
    optionally validate against the JSON Schema, and build."""
    path, text, fmt = _read(path)
    data = parse_text(text, path, fmt)
    if check_schema:
        validate_with_jsonschema(data, path)
    stem = "network" if path == "<stdin>" else os.path.splitext(os.path.basename(path))[0] or "network"
    return _build(data, path, stem)


def load_spec(path) -> Graph:
    """Read a YAML/JSON network spec and return its :class:`Graph` (raises :class:`SpecError`)."""
    return _load(path).graph


def loads_spec(text: str, fmt: Optional[str] = None, source: str = "<spec>") -> Graph:
    """Like :func:`load_spec` for text already in memory."""
    return _build(parse_text(text, source, fmt), source, "network").graph


def analyze_file(path, **kwargs):
    """Load a spec and analyse it; analysis errors are reported at the file and layer path."""
    return _analyze_loaded(_load(path), **kwargs)


def _analyze_loaded(loaded: _Loaded, **kwargs):
    from .analysis import analyze

    try:
        return analyze(loaded.graph, **kwargs)
    except ArchcalcError as e:
        layer = getattr(e, "layer", None)
        raise type(e)(_one_line(f"{loaded.source}: {loaded.where(layer)}: {e}" if layer
                                else f"{loaded.source}: {e}")) from None


# ---------------------------------------------------------------------------------------------
# Writing


def _compact(v, pair: bool = False):
    """Tuples become lists; for a pair field (``IntOrPair``) two equal values become one
    (``(3, 3)`` -> ``3``), which the loader reads back as the same pair."""
    if isinstance(v, tuple):
        if pair and len(v) == 2 and v[0] == v[1] and _is_int(v[0]):
            return v[0]
        return [_compact(x) for x in v]
    if hasattr(v, "free_symbols") and not isinstance(v, (int, float, str)):
        return {"dim": dims.dim_text(v)}  # a symbolic size (e.g. the number of RoIs R)
    return v


def _shape_out(shape) -> Any:
    if all(isinstance(d, int) for d in shape):
        return list(shape)
    return [d if isinstance(d, int) else dims.dim_text(d) for d in shape]


def _layer_body(layer, where: str) -> dict:
    """``{"kind": ..., field: value...}`` of one layer, fields at their defaults left out."""
    from .layers import Layer

    kinds = layer_kinds()
    kind = layer.kind if layer.kind in kinds and kinds[layer.kind][0] is type(layer) else type(layer).__name__
    if kind not in kinds:
        raise SpecError(f"layer {where!r}: kind {kind} has no cost rule and cannot be written")
    cls, fixed = kinds[kind]
    body: dict = {"kind": kind}
    for fname, (_, atoms), required, default in layer_fields(cls, fixed):
        value = getattr(layer, fname)
        if isinstance(value, Layer):
            body[fname] = _layer_body(value, f"{where}.{fname}")
            continue
        pair = "IntOrPair" in atoms
        value, plain = _compact(value, pair), _compact(default, pair)
        if required or value != plain or type(value) is not type(plain):
            body[fname] = value
    return body


def graph_to_spec(graph: Graph) -> dict:
    """The spec (plain dicts and lists) that :func:`spec_to_graph` turns back into ``graph``.

    Fields equal to the layer's defaults are left out; ``inputs`` is left out where a layer reads
    just the layer before it."""
    out: dict = {"name": graph.name}
    graph.topological()  # only valid graphs are written
    nodes = list(graph.nodes.values())  # insertion order, so reading back gives the same graph
    layers = []
    previous = None
    first = nodes[0]
    if isinstance(first.layer, Input):
        out["input"] = _shape_out(first.layer.shape)
        if first.name != "input":
            out["input_name"] = first.name
        previous = first.name
        nodes = nodes[1:]
    for node in nodes:
        item: dict = {"name": node.name}
        if isinstance(node.layer, Input):
            item.update(kind="Input", shape=_shape_out(node.layer.shape))
        else:
            body = _layer_body(node.layer, node.name)
            item["kind"] = body.pop("kind")
            if list(node.inputs) != [previous]:
                item["inputs"] = node.inputs[0] if len(node.inputs) == 1 else list(node.inputs)
            item.update(body)
        layers.append(item)
        previous = node.name
    out["layers"] = layers
    if graph.outputs:
        out["outputs"] = list(graph.outputs)
    return out


def dumps_spec(graph: Graph, fmt: str = "yaml") -> str:
    """The spec of ``graph`` as YAML (one line per layer) or JSON text."""
    data = graph_to_spec(graph)
    if fmt == "json":
        import json

        return json.dumps(data, indent=2) + "\n"
    if fmt != "yaml":
        raise SpecError(f"unknown spec format {fmt!r}; choose yaml or json")
    yaml, _ = _yaml_loader()
    dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)

    def dump(obj, flow):
        return yaml.dump(obj, Dumper=dumper, sort_keys=False, default_flow_style=flow, width=10**6).strip()

    head = {k: v for k, v in data.items() if k != "layers" and k != "outputs"}
    parts = [dump(head, None), "layers:"] + ["  - " + dump(item, True) for item in data["layers"]]
    if "outputs" in data:
        parts.append(dump({"outputs": data["outputs"]}, None))
    return "\n".join(parts) + "\n"




# ---------------------------------------------------------------------------------------------
# JSON Schema


_DIM_SCHEMA = {"type": "object", "properties": {"dim": {"anyOf": [
    {"type": "integer"}, {"type": "string", "minLength": 1, "maxLength": dims.MAX_DIM_TEXT,
                          "pattern": r"^[A-Za-z0-9_+*/() \-]+$"}]}}, "required": ["dim"],
               "additionalProperties": False, "description": "a symbolic size, e.g. {dim: R}"}


_DIM_TEXT_SCHEMA = {"type": "string", "minLength": 1, "maxLength": dims.MAX_DIM_TEXT,
                    "pattern": r"^[A-Za-z0-9_+*/() \-]+$",
                    "description": "a dimension in the restricted grammar: names, integers, + - * // ( )"}


def _dim_schema(minimum: int) -> dict:
    """A size written as an integer, dimension text (``"R"``, ``"H//2"``) or ``{dim: R}``."""
    return {"anyOf": [{"type": "integer", "minimum": minimum}, _DIM_TEXT_SCHEMA, _DIM_SCHEMA]}


def _pair_schema(item: dict) -> dict:
    return {"type": "array", "items": item, "minItems": 2, "maxItems": 2}


#: Schemas of the fields a layer declares as ``Any`` (checked by the layer itself when it is made).
_ANY_FIELD_SCHEMAS = {
    "offset": {"anyOf": [{"const": "center"}, _pair_schema(_dim_schema(0))],
               "description": "'center' or (top, left)"},
    "size": _pair_schema(_dim_schema(1)),
    "shape": {"type": "array", "minItems": 1, "items": {"anyOf": [{"const": -1}, _dim_schema(1)]},
              "description": "target per-sample shape; one entry may be -1"},
    "padding": {"anyOf": [{"type": "integer", "minimum": 0},
                          {"type": "array", "items": {"type": "integer", "minimum": 0}, "minItems": 4, "maxItems": 4}],
                "description": "one integer, or (left, right, top, bottom)"},
    "num_rois": _dim_schema(1),
}


def _ints_schema(n, minimum: Optional[int] = None, nullable: bool = False, words: tuple = ()) -> dict:
    """An integer or ``n`` integers (``n`` a count, or ``(low, high)`` for a list of that many)."""
    i: dict = {"type": "integer"} if minimum is None else {"type": "integer", "minimum": minimum}
    low, high = (n, n) if isinstance(n, int) else n
    options = [i, {"type": "array", "items": i, "minItems": low, "maxItems": high}]
    options += [{"type": "string", "enum": list(words)}] if words else []
    options += [{"type": "null"}] if nullable else []
    return {"anyOf": options}


_AXES_SCHEMA = {"anyOf": [{"type": "integer"}, {"type": "array", "items": {"type": "integer"}, "minItems": 1,
                                                  "uniqueItems": True}], "description": "an axis or axes (batch excluded)"}
_NULLABLE_AXES_SCHEMA = {"anyOf": _AXES_SCHEMA["anyOf"] + [{"type": "null"}], "description": "null: every axis"}
_POSITIVE_NUMBER = {"type": "number", "exclusiveMinimum": 0}


def _kind_field_schemas() -> dict:
    """(kind, field) -> schema, for fields whose type depends on the kind: the 1-d/3-d kinds' int
    tuples, axes, the einsum equation... (a field name alone, like ``size``, means different things)."""
    out: dict = {}
    for kind, n in (("Conv1d", 1), ("Conv3d", 3), ("MaxPool1d", 1), ("MaxPool3d", 3), ("AvgPool1d", 1),
                    ("AvgPool3d", 3), ("MaxUnpool2d", 2)):
        pool = not kind.startswith("Conv")
        out[kind, "kernel_size"] = _ints_schema(n, 1)
        out[kind, "stride"] = _ints_schema(n, 1, nullable=pool)
        if not kind.startswith(("AvgPool", "MaxUnpool")):  # average pooling and unpooling have no dilation
            out[kind, "dilation"] = _ints_schema(n, 1)
        out[kind, "padding"] = _ints_schema(n, 0, words=() if pool else ("same", "valid"))
    for kind, n in (("AdaptiveAvgPool1d", 1), ("AdaptiveAvgPool3d", 3), ("AdaptiveMaxPool1d", 1),
                    ("AdaptiveMaxPool3d", 3)):
        out[kind, "output_size"] = _ints_schema(n, 1)
    out["MaxUnpool2d", "output_size"] = _ints_schema(2, 1, nullable=True)
    out["ConvTranspose2d", "output_size"] = {"anyOf": [_pair_schema(_dim_schema(1)), {"type": "null"}],
                                             "description": "the (H, W) to produce"}
    for kind in ("Mean", "Sum", "Amax", "Squeeze"):
        out[kind, "dim"] = _NULLABLE_AXES_SCHEMA
    out["Permute", "dims"] = {"type": "array", "items": {"type": "integer"}, "minItems": 1, "uniqueItems": True}
    for kind, field in (("Flatten", "start_dim"), ("Flatten", "end_dim"), ("Transpose", "dim0"),
                        ("Transpose", "dim1"), ("Unsqueeze", "dim"), ("LearnedTensor", "axis")):
        out[kind, field] = {"type": "integer"}
    out["LayerNorm", "normalized_shape"] = _ints_schema((1, 8), 1)
    out["LearnedTensor", "shape"] = _ints_schema((1, 8), 1)
    out["LearnedTensor", "stored"] = {"anyOf": [{"type": "integer", "minimum": 0}, {"type": "null"}]}
    out["LearnedTensor", "index"] = {"type": "integer", "minimum": 0}
    out["Interpolate", "size"] = {"anyOf": [_dim_schema(1), {"type": "array", "items": _dim_schema(1), "minItems": 1,
                                                             "maxItems": 3}, {"type": "null"}]}
    out["Interpolate", "scale_factor"] = {"anyOf": [_POSITIVE_NUMBER, {"type": "array", "items": _POSITIVE_NUMBER,
                                                                       "minItems": 1, "maxItems": 3}, {"type": "null"}]}
    for field in ("embed_dim", "num_heads"):
        out["MultiheadAttention", field] = {"type": "integer", "minimum": 1}
    for field in ("kdim", "vdim"):
        out["MultiheadAttention", field] = {"anyOf": [{"type": "integer", "minimum": 1}, {"type": "null"}]}
    # the torch importer's late kinds (its records of parameters, uncalled modules and ops without a rule, too)
    out["RMSNorm", "normalized_shape"] = _ints_schema((1, 8), 1)
    for kind in ("Parameter", "Uncounted", "Constant"):  # () for a scalar per sample
        out[kind, "shape"] = {"type": "array", "items": {"type": "integer", "minimum": 1}, "maxItems": 8}
    out["Parameter", "path"] = {"type": "string", "maxLength": 256, "description": "module path; empty if unknown"}
    out["Uncounted", "op"] = {"type": "string", "minLength": 1, "maxLength": 256}
    out["Constant", "op"] = {"type": "string", "minLength": 1, "maxLength": 256}
    out["Index", "dim"] = {"type": "integer", "minimum": 0}
    out["Unreached", "modules"] = {"type": "array", "items": {"type": "string", "minLength": 1, "maxLength": 256}}
    for field in ("dim", "index"):
        out["Select", field] = {"type": "integer"}
    out["Roll", "shifts"] = _ints_schema((1, 8))
    out["Roll", "dims"] = _AXES_SCHEMA
    out["Einsum", "equation"] = {"type": "string", "maxLength": 256, "pattern": r"^[A-Za-z ]*(,[A-Za-z ]*)*->[A-Za-z ]*$"}
    # issue 14's copies and the vector norm
    out["ConstantPad", "pad"] = {"type": "array", "items": {"type": "integer"}, "minItems": 2, "maxItems": 16,
                                 "description": "(before, after) pairs from the last axis backwards; negative crops"}
    out["ConstantPad", "value"] = {"anyOf": [{"type": "number"}, {"enum": ["-inf", "inf"]}],
                                   "description": "the fill: a number, or -inf / inf as text"}
    out["Repeat", "repeats"] = _ints_schema((1, 8), 1)
    out["RepeatInterleave", "repeats"] = {"type": "integer", "minimum": 1}
    out["UnfoldAxis", "dim"] = {"type": "integer"}
    out["RepeatInterleave", "dim"] = {"type": "integer"}
    out["VectorNorm", "dim"] = _NULLABLE_AXES_SCHEMA
    out["VectorNorm", "ord"] = {"enum": [1, 2, 1.0, 2.0]}
    return out


def _plain_int_schema(field: str) -> dict:
    s: dict = {"type": "integer"}
    if field in POSITIVE_FIELDS:
        s["minimum"] = 1
    elif field in NONNEGATIVE_FIELDS:
        s["minimum"] = 0
    return s


def _int_schema(field: str) -> dict:
    return {"anyOf": [_plain_int_schema(field), _DIM_SCHEMA]}


def _atom_schema(atom: str, field: str, cls=None) -> dict:
    if atom == "int":
        return _int_schema(field)
    if atom == "bool":
        return {"type": "boolean"}
    if atom == "float":
        num: dict = {"type": "number"}
        if field in FLOAT_RANGES:
            low, high, low_open = FLOAT_RANGES[field]
            num["exclusiveMinimum" if low_open else "minimum"] = low
            if high is not None:
                num["maximum"] = high
        return {"anyOf": [num, {"type": "string", "pattern": _FLOAT_TEXT}]}
    if atom == "str":
        choices = string_choices(cls, field)
        return {"type": "string", "enum": list(choices)} if choices else {"type": "string"}
    if atom == "IntOrPair":
        i = _plain_int_schema(field)
        return {"anyOf": [i, {"type": "array", "items": i, "minItems": 2, "maxItems": 2}]}
    if field in _ANY_FIELD_SCHEMAS and atom in ("tuple", "Any"):
        return _ANY_FIELD_SCHEMAS[field]
    if atom == "tuple":  # a sparse connection table: input-map indices per output map
        return {"type": "array", "maxItems": MAX_ITEMS,
                "items": {"type": "array", "minItems": 1, "items": {"type": "integer", "minimum": 0}}}
    if field in _ANY_FIELD_SCHEMAS:
        return _ANY_FIELD_SCHEMAS[field]
    return {}


def _field_schema(ftype, field: str, cls=None, by_kind: Optional[dict] = None) -> dict:
    nullable, atoms = ftype
    if by_kind and cls is not None and (cls.__name__, field) in by_kind:
        return by_kind[cls.__name__, field]
    if atoms == ("Layer",):
        nested = {"type": "object", "required": ["kind"], "properties": {"kind": {"type": "string"}}}
        return {"anyOf": [nested, {"type": "null"}]} if nullable else nested
    options = [_atom_schema(a, field, cls) for a in atoms]
    if nullable:
        options.append({"type": "null"})
    if any(o == {} for o in options):
        return {}
    return options[0] if len(options) == 1 else {"anyOf": options}


def json_schema() -> dict:
    """The JSON Schema (draft 2020-12) of a network spec, built from the layer field table."""
    name = {"type": "string", "minLength": 1, "maxLength": MAX_NAME}
    shape = {"oneOf": [
        {"type": "string", "minLength": 1, "maxLength": dims.MAX_DIM_TEXT,
         "pattern": "^[A-Za-z0-9_+*/() ,\\[\\]\u00d7-]+$"},
        {"type": "array", "minItems": 1, "items": {"oneOf": [
            {"type": "integer", "minimum": 1}, _DIM_TEXT_SCHEMA]}},
    ]}
    kinds = layer_kinds()
    by_kind = _kind_field_schemas()
    variants = []
    for kind, (cls, fixed) in kinds.items():
        props: dict = {"name": {"$ref": "#/$defs/name"}, "kind": {"const": kind}}
        required = ["name", "kind"]
        if cls is Input:
            props["shape"] = {"$ref": "#/$defs/shape"}
            required.append("shape")
        else:
            props["inputs"] = {"$ref": "#/$defs/inputs"}
            for fname, ftype, req, default in layer_fields(cls, fixed):
                props[fname] = _field_schema(ftype, fname, cls, by_kind)
                if req:
                    required.append(fname)
        doc = (cls.__doc__ or "").strip().split("\n")[0]
        variant = {"if": {"properties": {"kind": {"const": kind}}, "required": ["kind"]},
                   "then": {"properties": props, "required": required, "additionalProperties": False}}
        if doc and not doc.startswith(cls.__name__ + "("):
            variant["then"]["description"] = doc
        variants.append(variant)
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        "title": "archcalc network spec",
        "description": "A CNN as a list of named layers for archcalc (see docs/specs.md). Generated by "
                       "archcalc.spec.json_schema(); regenerate with 'archcalc spec --schema -o FILE'.",
        "type": "object",
        "properties": {
            "name": {"$ref": "#/$defs/name"},
            "description": {"type": "string"},
            "input": {"$ref": "#/$defs/shape"},
            "input_name": {"$ref": "#/$defs/name"},
            "layers": {"type": "array", "minItems": 1, "items": {"$ref": "#/$defs/layer"}},
            "outputs": {"oneOf": [{"$ref": "#/$defs/name"},
                                  {"type": "array", "minItems": 1, "uniqueItems": True,
                                   "items": {"$ref": "#/$defs/name"}}]},
        },
        "required": ["layers"],
        "additionalProperties": False,
        "$defs": {
            "name": name,
            "shape": shape,
            "inputs": {"oneOf": [{"$ref": "#/$defs/name"},
                                 {"type": "array", "minItems": 1, "items": {"$ref": "#/$defs/name"}}]},
            "layer": {
                "type": "object",
                "required": ["name", "kind"],
                "properties": {"name": {"$ref": "#/$defs/name"}, "kind": {"enum": list(kinds)}},
                "allOf": variants,
            },
        },
    }


def schema_text() -> str:
    import json

    return json.dumps(json_schema(), indent=2) + "\n"


def validate_with_jsonschema(data, source: str = "<spec>") -> None:
    """Check parsed spec data against the shipped schema with the ``jsonschema`` package."""
    try:
        import jsonschema
    except ImportError:
        raise SpecError("schema validation needs jsonschema: pip install 'archcalc[spec]'") from None
    import json

    with open(SCHEMA_PATH, encoding="utf-8") as f:
        schema = json.load(f)
    validator = jsonschema.Draft202012Validator(schema)
    errors = sorted(validator.iter_errors(data), key=lambda e: list(e.absolute_path))
    if errors:
        e = errors[0]
        where = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in e.absolute_path).lstrip(".")
        raise SpecError(f"{source}: {where or 'top level'}: {e.message} (JSON Schema)")
