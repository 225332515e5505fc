"""Fuzzing the spec loader and the CLI with hypothesis (>= 1,000 cases in the default run).

- malformed specs (mutations of valid ones, random JSON/YAML values, corrupted text): every case
  either analyses or ends in one archcalc error line naming the source; never another exception.
- CLI argument lists: exit 0 or 2, one stderr line on 2, never a traceback.
- random valid specs round-trip YAML -> graph -> YAML (a fixed point after one write).
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import tempfile

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from archcalc.analysis import analyze
from archcalc.cli import main
from archcalc.errors import ArchcalcError
from archcalc.spec import (
    FLOAT_RANGES,
    NONNEGATIVE_FIELDS,
    POSITIVE_FIELDS,
    dumps_spec,
    layer_fields,
    layer_kinds,
    loads_spec,
    parse_text,
    spec_to_graph,
    string_choices,
)

FUZZ = settings(max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                            HealthCheck.data_too_large])
KINDS = layer_kinds()
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# --- strategies -------------------------------------------------------------------------------

json_scalars = st.one_of(st.none(), st.booleans(), st.integers(-10**6, 10**6), st.floats(allow_nan=True),
                         st.text(max_size=12))
json_values = st.recursive(json_scalars, lambda kids: st.one_of(
    st.lists(kids, max_size=4), st.dictionaries(st.text(max_size=8), kids, max_size=4)), max_leaves=12)


def _int_for(field):
    if field in POSITIVE_FIELDS:
        return st.integers(1, 6)
    if field in NONNEGATIVE_FIELDS:
        return st.integers(0, 3)
    return st.integers(-2, 6)


_AXES = st.one_of(st.integers(-3, 2), st.lists(st.integers(-3, 2), min_size=1, max_size=3, unique=True))
_SIZES = st.lists(st.integers(1, 6), min_size=1, max_size=3)
#: Valid spec values of fields whose type depends on the kind (the kinds for modern networks).
KIND_VALUES = {
    **{(k, "dim"): st.one_of(st.none(), _AXES) for k in ("Mean", "Sum", "Amax", "Squeeze", "VectorNorm")},
    ("VectorNorm", "ord"): st.sampled_from([1, 2]),
    ("ConstantPad", "pad"): st.lists(st.integers(-1, 3), min_size=1, max_size=2).map(lambda xs: xs * 2),
    ("ConstantPad", "value"): st.one_of(st.floats(-4, 4), st.sampled_from(["-inf", "inf"])),
    ("Repeat", "repeats"): st.lists(st.integers(1, 3), min_size=1, max_size=4),
    ("RepeatInterleave", "repeats"): st.integers(1, 3),
    ("Permute", "dims"): st.integers(1, 4).flatmap(lambda n: st.permutations(range(n))),
    ("Expand", "shape"): st.lists(st.one_of(st.integers(1, 6), st.just(-1)), min_size=1, max_size=4),
    ("Einsum", "equation"): st.sampled_from(["ij->ji", "ij->i", "ijk->kij", "ij,jk->ik", "ijk,ikl->ijl"]),
    ("LayerNorm", "normalized_shape"): st.one_of(st.integers(1, 8), _SIZES),
    ("LearnedTensor", "shape"): _SIZES,
    ("LearnedTensor", "stored"): st.one_of(st.none(), st.integers(0, 20)),
    ("LearnedTensor", "index"): st.integers(0, 20),
    ("GroupNorm", "num_groups"): st.integers(1, 4),
    ("RMSNorm", "normalized_shape"): st.one_of(st.integers(1, 8), _SIZES),
    ("Select", "dim"): st.integers(-3, 2),
    ("Select", "index"): st.integers(-3, 3),
    ("Roll", "shifts"): st.integers(-3, 3),  # one shift for the one axis of dims
    ("Roll", "dims"): st.integers(-3, 2),
    ("MultiheadAttention", "kdim"): st.one_of(st.none(), st.integers(1, 8)),
    ("MultiheadAttention", "vdim"): st.one_of(st.none(), st.integers(1, 8)),
    ("ConvTranspose2d", "output_size"): st.one_of(st.none(), st.lists(st.one_of(st.integers(1, 12), st.just("H")),
                                                                      min_size=2, max_size=2)),
    ("MaxUnpool2d", "output_size"): st.one_of(st.none(), st.integers(1, 12), st.lists(st.integers(1, 12), min_size=2,
                                                                                      max_size=2)),
}
for _kind in ("Conv1d", "Conv3d", "MaxPool1d", "MaxPool3d", "AvgPool1d", "AvgPool3d", "AdaptiveAvgPool1d",
              "AdaptiveAvgPool3d", "AdaptiveMaxPool1d", "AdaptiveMaxPool3d", "MaxUnpool2d"):
    _n = getattr(KINDS[_kind][0], "spatial", 2)
    for _f, _low in (("kernel_size", 1), ("stride", 1), ("padding", 0), ("dilation", 1), ("output_size", 1)):
        _one = st.integers(_low, 3)
        KIND_VALUES.setdefault((_kind, _f), st.one_of(_one, st.lists(_one, min_size=_n, max_size=_n)))
KIND_VALUES["Conv1d", "padding"] = st.one_of(KIND_VALUES["Conv1d", "padding"], st.sampled_from(["same", "valid"]))
#: Kinds whose fields constrain each other: a whole body drawn at once.
KIND_BODIES = {
    "Interpolate": st.one_of(
        st.fixed_dictionaries({"size": st.one_of(st.integers(1, 8), st.lists(st.integers(1, 8), min_size=1, max_size=3))}),
        st.fixed_dictionaries({"scale_factor": st.one_of(st.sampled_from([0.5, 1.5, 2, 3]),
                                                         st.lists(st.sampled_from([0.5, 1.5, 2]), min_size=1, max_size=3))})
    ).flatmap(lambda b: st.one_of(
        st.just(b), st.fixed_dictionaries({"mode": st.sampled_from(["nearest", "nearest-exact"])}).map(lambda m: {**b, **m}),
        st.fixed_dictionaries({"mode": st.sampled_from(["linear", "bilinear", "bicubic", "trilinear"]),
                               "align_corners": st.sampled_from([True, False, None])}).map(lambda m: {**b, **m}))),
    "MultiheadAttention": st.tuples(st.integers(1, 4), st.integers(1, 4)).flatmap(
        lambda hk: st.fixed_dictionaries({"embed_dim": st.just(hk[0] * hk[1]), "num_heads": st.just(hk[0])}, optional={
            "bias": st.booleans(), "kdim": KIND_VALUES["MultiheadAttention", "kdim"],
            "vdim": KIND_VALUES["MultiheadAttention", "vdim"], "add_bias_kv": st.booleans(),
            "need_weights": st.booleans()})),
}


def _atom(atom, field, cls=None):
    if (getattr(cls, "__name__", None), field) in KIND_VALUES:
        return KIND_VALUES[cls.__name__, field]
    if atom == "int":
        return _int_for(field)
    if atom == "bool":
        return st.booleans()
    if atom == "float":
        low, high, _ = FLOAT_RANGES.get(field, (-10, 10, False))
        return st.floats(low, 10 if high is None else high, allow_nan=False, exclude_min=low == 0).map(
            lambda x: round(x, 4) or (1e-4 if field in FLOAT_RANGES else 0.0))
    if atom == "str":
        choices = string_choices(cls, field)
        return st.sampled_from(choices) if choices else st.sampled_from(["nearest", "bilinear", "x"])
    if atom == "IntOrPair":
        return st.one_of(_int_for(field), st.lists(_int_for(field), min_size=2, max_size=2))
    if field == "shape":  # Reshape's target: sizes, one of them maybe -1
        return st.lists(st.one_of(st.integers(1, 6), st.just(-1)), min_size=1, max_size=3).filter(
            lambda xs: xs.count(-1) <= 1)
    if atom == "tuple":
        return st.lists(st.lists(st.integers(0, 4), min_size=1, max_size=3), max_size=3)  # each output map reads >= 1 input map
    if field == "num_rois":  # a per-image count: an integer or a name such as R
        return st.one_of(st.integers(1, 6), st.sampled_from(["R", "D"]))
    if field == "size" and atom != "int":  # Crop's target (h, w)
        return st.lists(st.integers(1, 4), min_size=2, max_size=2)
    if field == "offset":  # Crop: "center" or explicit (top, left)
        return st.one_of(st.just("center"), st.lists(st.integers(0, 3), min_size=2, max_size=2))
    if atom == "Layer":  # wrappers (Shared, PerItem) hold a nested layer
        return st.sampled_from([{"kind": "ReLU"}, {"kind": "Linear", "out_features": 4},
                                {"kind": "Conv2d", "out_channels": 4, "kernel_size": 1}])
    return st.one_of(st.integers(0, 3), st.lists(st.integers(0, 3), min_size=4, max_size=4))


def _field_value(ftype, field, cls=None):
    nullable, atoms = ftype
    opts = [_atom(a, field, cls) for a in atoms]
    return st.one_of(*(opts + ([st.none()] if nullable else [])))


def _body(cls, fixed):
    if cls.__name__ in KIND_BODIES:
        return KIND_BODIES[cls.__name__]
    required, optional = {}, {}
    for fname, ftype, req, _ in layer_fields(cls, fixed):
        (required if req else optional)[fname] = _field_value(ftype, fname, cls)
    return st.fixed_dictionaries(required, optional=optional)


# built once: constructing strategies inside every draw dominates the run time otherwise
#: records only the torch importer writes (a parameter read in forward, modules forward never calls, an op
#: without a rule): a hand-written spec has no use for them; their fields are still checked when made
#: (tests/test_untrusted_input.py) and they are drawn by tests/test_fuzz_layers.py
NOT_DRAWN = {"Parameter", "Unreached", "Uncounted", "Constant", "Index"}
LAYER_BODY = st.one_of([st.tuples(st.just(kind), _body(cls, fixed)) for kind, (cls, fixed) in KINDS.items()
                        if kind != "Input" and kind not in NOT_DRAWN])
NAME_PATTERN = st.sampled_from(["l{}", "block.{}.conv", "n{}_x"])
SHAPES = st.sampled_from(["3x16x16", "8x9x9", [4, 12, 10], "16x7x7", [32]])


@st.composite
def valid_spec(draw):
    """A spec the loader accepts (its analysis may still fail on shapes: that is not its job)."""
    n = draw(st.integers(1, 7))
    layers, names = [], ["input"]
    for k in range(n):
        name = draw(NAME_PATTERN).format(k)
        kind, body = draw(LAYER_BODY)
        item = {"name": name, "kind": kind, **body}
        if draw(st.integers(0, 3)) == 0:
            item["inputs"] = draw(st.lists(st.sampled_from(names), min_size=1, max_size=3))
        layers.append(item)
        names.append(name)
    spec = {"name": draw(st.sampled_from(["net", "fuzz", "a.b"])), "input": draw(SHAPES), "layers": layers}
    if draw(st.booleans()):
        spec["outputs"] = [names[-1]]
    return spec


def _mutate(draw, spec):
    spec = json.loads(json.dumps(spec))
    layers = spec["layers"]
    op = draw(st.integers(0, 11))
    k = draw(st.integers(0, len(layers) - 1))
    layer = layers[k]
    if not isinstance(layer, dict) or not layer:
        layers[k] = draw(json_values)
        return spec
    keys = sorted(layer)
    if op == 0:
        layer.pop(draw(st.sampled_from(keys)))
    elif op == 1:
        layer[draw(st.sampled_from(keys))] = draw(json_values)
    elif op == 2:
        layer["kind"] = draw(st.one_of(st.text(max_size=10), st.sampled_from(["conv2d", "Conv", "relu", "Input"])))
    elif op == 3:
        layer[draw(st.text(min_size=1, max_size=10))] = draw(json_values)
    elif op == 4:  # an edge to anything: later layers (cycles), itself, unknown names
        pool = [x["name"] for x in layers if isinstance(x, dict) and "name" in x] + ["nope", "input"]
        layer["inputs"] = draw(st.lists(st.sampled_from(pool), min_size=0, max_size=3))
    elif op == 5 and len(layers) > 1 and isinstance(layers[(k + 1) % len(layers)], dict):
        layer["name"] = layers[(k + 1) % len(layers)].get("name")  # duplicate name
    elif op == 6:
        spec["input"] = draw(st.one_of(json_values, st.text(alphabet="0123456789xHW+-*/() ,[]", max_size=14)))
    elif op == 7:
        spec.pop(draw(st.sampled_from(sorted(spec))))
        return spec
    elif op == 8:
        spec[draw(st.sampled_from(["outputs", "input_name", "name", "layers", "extra"]))] = draw(json_values)
    elif op == 9:
        layers[k] = draw(json_values)
    elif op == 10:
        return draw(json_values)
    else:
        field = draw(st.sampled_from(["kernel_size", "stride", "padding", "out_channels", "groups", "axis",
                                      "output_size", "dilation", "start", "stop", "scale_factor", "p"]))
        layer[field] = draw(st.one_of(st.integers(-3, 40), st.lists(st.integers(-1, 9), max_size=3)))
    return spec


def _to_text(draw, data):
    fmt = draw(st.sampled_from(["json", "yaml"]))
    if fmt == "json":
        text = json.dumps(data)
    else:
        import yaml

        text = yaml.dump(data, Dumper=yaml.CSafeDumper, default_flow_style=draw(st.sampled_from([None, True, False])))
    cut = draw(st.integers(0, 5))
    if cut == 0 and text:  # corrupt the text itself
        pos = draw(st.integers(0, len(text) - 1))
        text = text[:pos] + draw(st.sampled_from(["", "{", "]", ":", "\t", "&a *a", "\x00", "é", "- ", "'"])) + \
            text[pos + draw(st.integers(0, 3)):]
    return text, fmt


@st.composite
def malformed_text(draw):
    data = _mutate(draw, draw(valid_spec()))
    for _ in range(draw(st.integers(0, 2))):
        if isinstance(data, dict) and isinstance(data.get("layers"), list) and data["layers"]:
            data = _mutate(draw, data)
    return _to_text(draw, data)


def _one_line_archcalc_error(fn):
    """Run fn: success or an ArchcalcError with a one-line message; anything else propagates."""
    try:
        fn()
    except ArchcalcError as e:
        msg = str(e)
        assert msg and "\n" not in msg and "Traceback" not in msg, msg
        return msg
    return None


# --- malformed specs --------------------------------------------------------------------------


@FUZZ
@given(malformed_text())
def test_malformed_specs_end_in_one_archcalc_error(case):
    text, fmt = case

    def run():
        graph = spec_to_graph(parse_text(text, "fuzz.spec", fmt), "fuzz.spec")
        analyze(graph)

    msg = _one_line_archcalc_error(run)
    if msg is not None and not msg.startswith("layer "):
        assert msg.startswith("fuzz.spec"), msg


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=60))
def test_random_text_is_never_a_traceback(text):
    _one_line_archcalc_error(lambda: loads_spec(text, source="t"))
    _one_line_archcalc_error(lambda: loads_spec(text, "json", source="t"))


# --- CLI arguments ----------------------------------------------------------------------------

_SPEC_DIR = tempfile.mkdtemp(prefix="archcalc-fuzz-")
_BAD = os.path.join(_SPEC_DIR, "bad.yaml")
with open(_BAD, "w") as _f:
    _f.write("input: 3x8x8\nlayers:\n  - {name: c, kind: Conv2d, out_channels: 4, kernel_size: 9}\n")
_TOKENS = ["lenet5", "alexnet", "vgg11", "resnet18", "nosuchnet", "", "-", "--", "--input", "--batch", "--dtype",
           "--format", "--tally", "--freeze", "--bogus", "list", "--no-costs", "spec", "--schema", "--check",
           "3x224x224", "3xHxW", "3x0x0", "1x1", "3x(H", "N", "0", "-4", "fp16", "int4", "json", "csv", "md",
           "table", "features", os.path.join(ROOT, "examples", "plain_cnn.yaml"), _BAD,
           os.path.join(_SPEC_DIR, "missing.json"), _SPEC_DIR, "3x32x32"]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.one_of(st.sampled_from(_TOKENS), st.text(max_size=8)), max_size=5))
def test_cli_arguments_exit_0_or_2_with_one_line(argv):
    if "list" in argv[:1] and "--no-costs" not in argv:
        argv = argv + ["--no-costs"]  # costing the whole zoo is the benchmarks' job
    if any(a in ("-h", "--help") for a in argv) or (argv[:1] == ["spec"] and ("-o" in argv or "--output" in argv)):
        return
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(argv)
    assert code in (0, 2), (argv, code)
    if code == 2:
        lines = err.getvalue().splitlines()
        assert len(lines) == 1 and lines[0].startswith("archcalc: error: "), (argv, err.getvalue())


# --- valid specs round-trip -------------------------------------------------------------------


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(valid_spec())
def test_random_valid_specs_round_trip_yaml_graph_yaml(spec):
    import yaml

    graph = loads_spec(yaml.safe_dump(spec), "yaml")
    text = dumps_spec(graph, "yaml")
    again = loads_spec(text, "yaml")
    assert list(again.nodes) == list(graph.nodes) and again.nodes == graph.nodes
    assert again.outputs == graph.outputs and again.name == graph.name
    assert dumps_spec(again, "yaml") == text
    assert loads_spec(dumps_spec(graph, "json"), "json").nodes == graph.nodes
