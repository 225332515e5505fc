"""Network specs (YAML/JSON): examples, builder equivalence, errors at file:layer:field, round trips,
the shipped JSON Schema, and the CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from archcalc import analyze, dims
from archcalc.cli import main
from archcalc.errors import ArchcalcError
from archcalc.graph import Builder
from archcalc.layers import Add, BatchNorm2d, Concat, Conv2d, Flatten, Linear, MaxPool2d, ReLU
from archcalc.spec import (
    SCHEMA_PATH,
    SpecError,
    analyze_file,
    dumps_spec,
    graph_to_spec,
    json_schema,
    load_spec,
    loads_spec,
    schema_text,
    spec_to_graph,
    validate_with_jsonschema,
)
from archcalc.zoo import get_entry, names

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EXAMPLES = os.path.join(ROOT, "examples")


def example(name):
    return os.path.join(EXAMPLES, name)


def same_graph(a, b):
    return (a.name == b.name and list(a.nodes) == list(b.nodes) and a.nodes == b.nodes
            and (a.outputs or None) == (b.outputs or None))


# --- the three documented examples, and the same networks written with the Python builder ----


def plain_cnn_builder():
    b = Builder("plain_cnn", (3, 32, 32))
    x = b.add(Conv2d(32, 3, padding=1, bias=False), b.input, name="conv1")
    x = b.add(BatchNorm2d(), x, name="bn1")
    x = b.add(ReLU(True), x, name="relu1")
    x = b.add(MaxPool2d(2), x, name="pool1")
    x = b.add(Conv2d(64, 3, padding=1, bias=False), x, name="conv2")
    x = b.add(BatchNorm2d(), x, name="bn2")
    x = b.add(ReLU(True), x, name="relu2")
    x = b.add(MaxPool2d(2), x, name="pool2")
    x = b.add(Flatten(), x, name="flatten")
    b.add(Linear(10), x, name="fc")
    return b.build()


def test_plain_cnn_matches_builder_and_arithmetic():
    g = load_spec(example("plain_cnn.yaml"))
    assert same_graph(g, plain_cnn_builder())
    r = analyze(g)
    assert r["pool2"].output_shape == (64, 8, 8)  # 32 -> 16 -> 8
    assert r.totals["params"] == (32 * 3 * 3 * 3 + 2 * 32) + (64 * 32 * 3 * 3 + 2 * 64) + (64 * 8 * 8 * 10 + 10)
    assert r.totals["macs"] == 32 * 32 * 32 * 3 * 3 * 3 + 16 * 16 * 64 * 32 * 3 * 3 + 64 * 8 * 8 * 10


def test_residual_block_matches_resnet18_layer2_0():
    g = load_spec(example("residual_block.yaml"))
    r = analyze(g)
    assert r["add"].output_shape == (128, 28, 28)
    assert r["add"].inputs == ("bn2", "downsample.1")
    full = analyze("resnet18")
    for rec in r.layers[1:]:  # the same layers inside torchvision's resnet18, same counts
        twin = full["layer2.0." + rec.name]
        assert (rec.kind, rec.output_shape, rec.params, rec.macs, rec.flops) == (
            twin.kind, twin.output_shape, twin.params, twin.macs, twin.flops)
    # 3x3 convs 64->128 (stride 2) and 128->128, 1x1 projection, three BNs of 128
    assert r.totals["params"] == 128 * 64 * 9 + 128 * 128 * 9 + 128 * 64 + 3 * 2 * 128


def test_inception_block_matches_googlenet_inception3a():
    g = load_spec(example("inception_block.yaml"))
    r = analyze(g)
    assert r["cat"].output_shape == (64 + 128 + 32 + 32, 28, 28)  # Table 1: 256 output channels
    full = analyze("googlenet")
    for rec in r.layers[1:]:
        twin = full["inception3a." + rec.name]
        assert (rec.kind, rec.output_shape, rec.params, rec.macs, rec.flops) == (
            twin.kind, twin.output_shape, twin.params, twin.macs, twin.flops)
    # Table 1, inception (3a): 1x1 64, 3x3 reduce 96 -> 128, "5x5" reduce 16 -> 32 (3x3 in torchvision), pool proj 32
    weights = 192 * 64 + 192 * 96 + 96 * 128 * 9 + 192 * 16 + 16 * 32 * 9 + 192 * 32
    assert r.totals["macs"] == 28 * 28 * weights


def test_json_and_yaml_give_the_same_graph(tmp_path):
    g = load_spec(example("inception_block.yaml"))
    p = tmp_path / "inception.json"
    p.write_text(dumps_spec(g, "json"))
    assert same_graph(load_spec(p), g)


def test_symbolic_input_in_spec():
    g = loads_spec("input: [3, H, W]\nlayers:\n  - {name: c, kind: Conv2d, out_channels: 8, stride: 2}\n")
    r = analyze(g)
    H, W = dims.symbol("H"), dims.symbol("W")
    assert r.totals["macs"] == 8 * 3 * 9 * r["c"].output_shape[1] * r["c"].output_shape[2]
    assert r.substitute(H=33, W=33).totals["macs"] == 8 * 3 * 9 * 16 * 16  # (33-3)//2+1 = 16
    assert r.input == (3, H, W)


# --- round trips ------------------------------------------------------------------------------


@pytest.mark.parametrize("model", names())
def test_every_zoo_model_round_trips_through_yaml_and_json(model):
    g = get_entry(model).build()
    for fmt in ("yaml", "json"):
        back = loads_spec(dumps_spec(g, fmt), fmt)
        assert same_graph(back, g), (model, fmt)


def test_round_trip_keeps_symbolic_input_shapes():
    b = Builder("sym", (3, dims.parse_dim("2*H+1"), dims.parse_dim("(W - 1)//2")))
    b.add(Conv2d(4, 1), b.input, name="c")
    g = b.build()
    text = dumps_spec(g)
    assert "2*H + 1" in text and "(W - 1)//2" in text
    assert same_graph(loads_spec(text), g)


def test_writer_leaves_out_defaults_and_previous_inputs():
    spec = graph_to_spec(plain_cnn_builder())
    assert spec["layers"][0] == {"name": "conv1", "kind": "Conv2d", "out_channels": 32, "padding": 1, "bias": False}
    assert spec["layers"][1] == {"name": "bn1", "kind": "BatchNorm2d"}


# --- errors: file, layer path, field; one line ------------------------------------------------


def err(text, tmp_path, name="net.yaml"):
    p = tmp_path / name
    p.write_text(text)
    with pytest.raises(ArchcalcError) as e:
        analyze_file(str(p))
    msg = str(e.value)
    assert "\n" not in msg
    assert msg.startswith(str(p))
    return msg[len(str(p)):]


HEAD = "input: 3x32x32\nlayers:\n"


def test_error_unknown_kind(tmp_path):
    msg = err(HEAD + "  - {name: c1, kind: Conv2D, out_channels: 8}\n", tmp_path)
    assert msg.startswith(": layers[0] (c1): unknown layer kind 'Conv2D' (did you mean 'Conv2d'?)")


def test_error_missing_field(tmp_path):
    assert err(HEAD + "  - {name: c1, kind: Conv2d}\n", tmp_path) == (
        ": layers[0] (c1): missing field 'out_channels' (Conv2d needs an integer)")
    assert err(HEAD + "  - {kind: Conv2d}\n", tmp_path) == ": layers[0]: missing field 'name'"
    assert err(HEAD + "  - {name: a}\n", tmp_path) == ": layers[0] (a): missing field 'kind'"
    assert err("input: 3x32x32\n", tmp_path) == ": layers: missing field (a list of layers)"


def test_error_wrong_type(tmp_path):
    msg = err(HEAD + "  - {name: c1, kind: Conv2d, out_channels: 8}\n  - {name: c2, kind: Conv2d, "
              "out_channels: 8, kernel_size: big}\n", tmp_path)
    assert msg == ": layers[1] (c2): field 'kernel_size': expected an integer or a pair of integers, got 'big'"
    msg = err(HEAD + "  - {name: c1, kind: Conv2d, out_channels: 8, bias: 1}\n", tmp_path)
    assert msg == ": layers[0] (c1): field 'bias': expected true or false, got 1"
    msg = err(HEAD + "  - {name: c1, kind: Conv2d, out_channels: 0}\n", tmp_path)
    assert msg == ": layers[0] (c1): field 'out_channels': must be >= 1, got 0"
    msg = err(HEAD + "  - {name: c1, kind: Conv2d, out_channels: 8, padding: full}\n", tmp_path)
    assert msg == ": layers[0] (c1): field 'padding': must be one of same, valid, got 'full'"
    msg = err(HEAD + "  - {name: c1, kind: Conv2d, out_channels: 8, kernel_sise: 3}\n", tmp_path)
    assert msg.startswith(": layers[0] (c1): unknown field 'kernel_sise' for Conv2d (did you mean 'kernel_size'?)")


def test_error_impossible_shape(tmp_path):
    msg = err("input: 3x4x4\nlayers:\n  - {name: big, kind: Conv2d, out_channels: 8, kernel_size: 7}\n", tmp_path)
    assert msg.startswith(": layers[0] (big): layer 'big' (Conv2d): kernel 7")
    msg = err(HEAD + "  - {name: fc, kind: Linear, out_features: 10}\n", tmp_path)
    assert msg.startswith(": layers[0] (fc): layer 'fc' (Linear): Linear expects a (features,)")


def test_error_cycle(tmp_path):
    msg = err(HEAD + "  - {name: a, kind: Add, inputs: [input, c]}\n  - {name: b, kind: ReLU}\n"
              "  - {name: c, kind: ReLU}\n", tmp_path)
    assert msg == ": layers[0] (a): cycle in the graph: 'a' -> 'b' -> 'c' -> 'a'"


def test_error_dangling_edge(tmp_path):
    msg = err(HEAD + "  - {name: conv, kind: Conv2d, out_channels: 8}\n  - {name: add, kind: Add, "
              "inputs: [conv, cnov]}\n", tmp_path)
    assert msg == ": layers[1] (add): field 'inputs': 'cnov' is not a layer of this network (did you mean 'conv'?) (dangling edge)"


def test_error_duplicate_name(tmp_path):
    msg = err(HEAD + "  - {name: conv, kind: Conv2d, out_channels: 8}\n  - {name: conv, kind: ReLU}\n", tmp_path)
    assert msg == ": layers[1] (conv): duplicate layer name 'conv' (first used at layers[0])"


def test_error_bad_input_shape_and_syntax(tmp_path):
    assert err("input: 3x0x32\nlayers: [{name: r, kind: ReLU}]\n", tmp_path).startswith(
        ": input: size '0' in shape '3x0x32' must be a positive integer")
    assert err("input: 3x(H+1))x8\nlayers: [{name: r, kind: ReLU}]\n", tmp_path).startswith(": input: bad dimension")
    assert err("input: [3, __import__('os')]\nlayers: [{name: r, kind: ReLU}]\n", tmp_path).startswith(
        ": input: bad dimension \"__import__('os')\"")
    assert err("layers: [{name: r, kind: ReLU}]\n", tmp_path).startswith(": layers[0] (r): missing field 'inputs'")
    msg = err("input: 3x8x8\nlayers:\n  - {name: r, kind: ReLU\n", tmp_path)
    assert msg.startswith(":4:1: invalid YAML") or msg.startswith(":3:") or "invalid YAML" in msg
    assert err("input: 3x8x8\ninput: 3x8x8\nlayers: []\n", tmp_path).startswith(":2:1: invalid YAML: duplicate key")
    assert err('{"input": NaN, "layers": []}', tmp_path, "n.json") == ": NaN is not allowed in a network spec"


def test_eval_is_never_reached(tmp_path, monkeypatch):
    import builtins

    def boom(*a, **k):
        raise AssertionError("eval/exec of user text")

    monkeypatch.setattr(builtins, "eval", boom)
    msg = err("input: 3x(__import__('os').system('true'))x8\nlayers: [{name: r, kind: ReLU}]\n", tmp_path)
    assert "bad dimension" in msg
    with pytest.raises(dims.DimSyntaxError):
        dims.parse_dim("H**2")  # only + - * //


def test_missing_pyyaml_is_a_clear_error(tmp_path, monkeypatch):
    p = tmp_path / "net.yaml"
    p.write_text(HEAD + "  - {name: r, kind: ReLU}\n")
    monkeypatch.setitem(sys.modules, "yaml", None)
    with pytest.raises(SpecError, match=r"reading YAML needs PyYAML: pip install 'archcalc\[spec\]'"):
        load_spec(p)


def test_cli_spec_errors_exit_2_one_line(tmp_path, capsys):
    p = tmp_path / "bad.yaml"
    p.write_text(HEAD + "  - {name: c, kind: Conv2d, out_channels: [1, 2, 3]}\n")
    assert main([str(p)]) == 2
    out = capsys.readouterr()
    assert out.out == ""
    assert out.err == (f"archcalc: error: {p}: layers[0] (c): field 'out_channels': expected an integer, "
                       "got a list of 3\n")
    assert main([str(tmp_path / "missing.yaml")]) == 2
    assert capsys.readouterr().err == f"archcalc: error: {tmp_path / 'missing.yaml'}: no such file\n"


def test_cli_runs_a_spec_and_writes_one(tmp_path, capsys):
    assert main([example("plain_cnn.yaml"), "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["model"] == "plain_cnn" and data["totals"]["params"] == analyze(plain_cnn_builder()).totals["params"]
    out = tmp_path / "vgg16.yaml"
    assert main(["spec", "vgg16", "-o", str(out)]) == 0
    assert main([str(out), "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["totals"] == analyze("vgg16").to_dict()["totals"]


def test_cli_subprocess_prints_no_traceback(tmp_path):
    p = tmp_path / "cyc.json"
    p.write_text(json.dumps({"input": "3x8x8", "layers": [{"name": "a", "kind": "ReLU", "inputs": "a"}]}))
    proc = subprocess.run([sys.executable, "-m", "archcalc", str(p)], capture_output=True, text=True,
                          cwd=ROOT, env=dict(os.environ, PYTHONPATH=ROOT))
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr
    assert "layers[0] (a)" in proc.stderr


# --- the published JSON Schema ----------------------------------------------------------------


def test_shipped_schema_is_the_generated_one():
    with open(SCHEMA_PATH, encoding="utf-8") as f:
        shipped = f.read()
    assert shipped == schema_text(), "regenerate with: archcalc spec --schema -o archcalc/schema/network.schema.json"


def test_schema_accepts_examples_and_zoo_specs():
    jsonschema = pytest.importorskip("jsonschema")
    jsonschema.Draft202012Validator.check_schema(json_schema())
    import yaml

    for f in sorted(os.listdir(EXAMPLES)):
        if f.endswith((".yaml", ".json")):
            with open(os.path.join(EXAMPLES, f)) as fh:
                validate_with_jsonschema(yaml.safe_load(fh), f)
    for model in ("vgg16", "resnet50", "googlenet_aux", "lenet5"):
        if model in names():
            validate_with_jsonschema(graph_to_spec(get_entry(model).build()), model)


def test_schema_rejects_what_the_loader_rejects():
    pytest.importorskip("jsonschema")
    bad = [
        {"input": "3x8x8", "layers": [{"name": "c", "kind": "Conv2D", "out_channels": 8}]},
        {"input": "3x8x8", "layers": [{"name": "c", "kind": "Conv2d"}]},
        {"input": "3x8x8", "layers": [{"name": "c", "kind": "Conv2d", "out_channels": "8"}]},
        {"input": "3x8x8", "layers": [{"name": "c", "kind": "Conv2d", "out_channels": 8, "stride": 0}]},
        {"input": "3x8x8", "layers": [{"name": "c", "kind": "ReLU", "fn": "relu"}]},
        {"input": "3x8x8", "layers": []},
        {"input": "3x8x8", "layers": [{"name": "c", "kind": "ReLU"}], "extra": 1},
    ]
    for data in bad:
        with pytest.raises(SpecError):
            spec_to_graph(data)
        with pytest.raises(SpecError, match="JSON Schema"):
            validate_with_jsonschema(data)


# --- graph validation messages ----------------------------------------------------------------


def test_builder_graph_errors_name_the_layers():
    from archcalc.errors import GraphError

    b = Builder("g", (3, 8, 8))
    b.add(ReLU(), "relu_typo", name="r")
    with pytest.raises(GraphError, match=r"layer 'r' reads 'relu_typo', which is not a layer of this graph"):
        b.build()
    b = Builder("g", (3, 8, 8))
    with pytest.raises(GraphError, match="duplicate layer name 'input'"):
        b.add(ReLU(), b.input, name="input")


def test_merge_layers_from_spec():
    g = loads_spec(json.dumps({"input": [4, 6, 6], "layers": [
        {"name": "a", "kind": "Conv2d", "out_channels": 4, "padding": 1},
        {"name": "b", "kind": "Conv2d", "inputs": "input", "out_channels": 2, "kernel_size": 1},
        {"name": "s", "kind": "Add", "inputs": ["a", "input"]},
        {"name": "cat", "kind": "Concat", "inputs": ["s", "b"]}], "outputs": ["cat"]}))
    r = analyze(g)
    assert r["cat"].output_shape == (4 + 2, 6, 6)
    assert r["s"].flops == 4 * 6 * 6  # one add per element for two inputs
    assert g.nodes["s"].layer == Add() and g.nodes["cat"].layer == Concat()


def test_user_text_cannot_break_the_one_line_error():
    # found by the fuzzer: a key holding a line break was echoed raw
    for data in ({"\n": None}, {"input": "3x8x8", "layers": [{"name": "a\nb", "kind": "Nope"}]}):
        with pytest.raises(SpecError) as e:
            spec_to_graph(data, "x.json")
        assert "\n" not in str(e.value) and "\\n" in str(e.value)


def test_only_pair_fields_are_compacted():
    from archcalc.layers import Input, Slice, ZeroPad2d

    b = Builder("g", (3, 8, 8))
    x = b.add(ZeroPad2d((2, 2, 2, 2)), b.input, name="pad")
    b.add(Slice(0, 2), x, name="s")
    g = b.build()
    g.nodes["extra"] = type(g.nodes["pad"])("extra", Input((5, 5)), ())  # a second input whose shape is a pair
    spec = graph_to_spec(g)
    assert spec["layers"][0] == {"name": "pad", "kind": "ZeroPad2d", "padding": [2, 2, 2, 2]}
    assert spec["layers"][2] == {"name": "extra", "kind": "Input", "shape": [5, 5]}
    assert same_graph(loads_spec(dumps_spec(g)), g)


def test_wrapper_layers_with_a_nested_layer_field(monkeypatch):
    # zoo branches add wrappers such as Shared(layer=...) / PerItem(layer=...); a temporary one here
    from dataclasses import dataclass

    from archcalc import rules
    from archcalc.layers import Layer

    @dataclass(frozen=True)
    class Wrapped(Layer):
        layer: Layer
        note: str = ""

        @property
        def kind(self):
            return f"Wrapped({self.layer.kind})"

    monkeypatch.setitem(rules._RULES, Wrapped, lambda layer, inputs: rules.rule_for(layer.layer)(layer.layer, inputs))
    b = Builder("w", (3, 8, 8))
    b.add(Wrapped(Conv2d(4, 3, padding=1, bias=False), note="x"), b.input, name="c")
    g = b.build()
    text = dumps_spec(g)
    assert "{name: c, kind: Wrapped, layer: {kind: Conv2d, out_channels: 4, padding: 1, bias: false}, note: x}" in text
    back = loads_spec(text)
    assert same_graph(back, g)
    assert analyze(back).totals["macs"] == 8 * 8 * 4 * 3 * 9  # the inner conv's count
    with pytest.raises(SpecError, match=r"layers\[0\] \(c\): field 'layer' \(Conv2d\): missing field 'out_channels'"):
        loads_spec("input: 3x8x8\nlayers:\n  - {name: c, kind: Wrapped, layer: {kind: Conv2d}}\n", source="t")
    with pytest.raises(SpecError, match=r"field 'layer': a nested layer has no 'name'"):
        loads_spec("input: 3x8x8\nlayers:\n  - {name: c, kind: Wrapped, layer: {name: d, kind: ReLU}}\n", source="t")
    with pytest.raises(SpecError, match=r"field 'layer': expected a layer"):
        loads_spec("input: 3x8x8\nlayers:\n  - {name: c, kind: Wrapped, layer: 3}\n", source="t")


def test_symbolic_field_values_are_written_as_dim_mappings(monkeypatch):
    # detection heads keep the number of RoIs symbolic (num_rois = R); a temporary layer kind here
    from dataclasses import dataclass
    from typing import Any

    from archcalc import rules
    from archcalc.layers import Layer
    from archcalc.rules import Cost

    @dataclass(frozen=True)
    class Rois(Layer):
        num_rois: Any = 1
        out_features: int = 4

    monkeypatch.setitem(rules._RULES, Rois, lambda layer, inputs: Cost(output=(layer.num_rois, layer.out_features)))
    b = Builder("r", (3, 8, 8))
    b.add(Rois(num_rois=dims.parse_dim("R"), out_features=dims.parse_dim("2*K")), b.input, name="rois")
    g = b.build()
    spec = graph_to_spec(g)
    assert spec["layers"][0] == {"name": "rois", "kind": "Rois", "num_rois": {"dim": "R"}, "out_features": {"dim": "2*K"}}
    assert same_graph(loads_spec(dumps_spec(g)), g)
    assert same_graph(loads_spec(dumps_spec(g, "json"), "json"), g)
    with pytest.raises(SpecError, match=r"field 'num_rois': bad dimension"):
        loads_spec("input: 3x8x8\nlayers:\n  - {name: r, kind: Rois, num_rois: {dim: 'R**2'}}\n", source="t")


@pytest.mark.parametrize("text", [
    "a: " + "[" * 5000 + "]" * 5000,
    "a:\n" + "".join(" " * (i + 1) + f"k{i}:\n" for i in range(3000)),
    "- " * 5000 + "x\n",
    "a: " + "{b: " * 3000 + "1" + "}" * 3000,
])
def test_deeply_nested_yaml_is_an_error_not_a_crash(tmp_path, text):
    # libyaml's C composer recursed until the process died (a segfault, not an exception)
    p = tmp_path / "deep.yaml"
    p.write_text(text)
    proc = subprocess.run([sys.executable, "-m", "archcalc", str(p)], capture_output=True, text=True,
                          cwd=ROOT, env=dict(os.environ, PYTHONPATH=ROOT))
    assert proc.returncode == 2 and proc.stderr == f"archcalc: error: {p}: nested too deeply\n"


def test_deeply_nested_json_is_an_error():
    with pytest.raises(SpecError, match="nested too deeply"):
        loads_spec("[" * 100_000 + "]" * 100_000, "json")
