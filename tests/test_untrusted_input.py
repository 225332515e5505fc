"""Issue 12, engine and spec side: untrusted input is data, never code; every field is validated
where the layer is made; channels-last input is refused; spec reads are bounded; API misuse raises
typed, one-line errors.

The guard fixture ``no_text_to_sympy`` replaces sympy's string parser (every route from text to
sympy code, ``sympify("...")`` included, goes through ``sympy.parsing.sympy_parser.parse_expr``)
and records every argument given to ``sympy.sympify``: only values the engine built (ints,
Fractions, sympy objects) may reach it.
"""

from __future__ import annotations

import builtins
import os
import stat
import subprocess
import sys
from fractions import Fraction

import pytest

import archcalc
from archcalc import analyze, dims
from archcalc import layers as L
from archcalc.cli import main
from archcalc.errors import (
    ArchcalcError,
    GraphError,
    InvalidTypeError,
    InvalidValueError,
    ShapeError,
    UnknownLayerError,
    UnknownModelError,
    UnsupportedLayerError,
)
from archcalc.graph import Builder, Graph, Node
from archcalc.spec import MAX_FILE_BYTES, SpecError, analyze_file, load_spec, loads_spec

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PAYLOAD = "__import__('os').system('touch {marker}') or 1"


# --- the guard ------------------------------------------------------------------------------------


@pytest.fixture
def no_text_to_sympy(monkeypatch):
    """Fail the test if user text reaches sympy's parser, eval or exec; record what sympify gets."""
    sp = pytest.importorskip("sympy")
    import sympy.parsing.sympy_parser as parser

    core_sympify = sys.modules["sympy.core.sympify"]  # the module (sympy.core.sympify is also a function)

    seen: list = []
    real_sympify = core_sympify.sympify

    def parse_expr(text, *a, **k):
        raise AssertionError(f"sympy parse_expr reached with {text!r}")

    def sympify(a, *args, **kwargs):
        if f"{os.sep}archcalc{os.sep}" in sys._getframe(1).f_code.co_filename:  # sympy's own calls pass
            seen.append(a)
        return real_sympify(a, *args, **kwargs)

    def refuse(name, real):
        def guarded(*a, **k):
            caller = sys._getframe(1).f_code.co_filename
            if f"{os.sep}archcalc{os.sep}" in caller or f"{os.sep}sympy{os.sep}" in caller:
                raise AssertionError(f"{name} reached from {caller}")
            return real(*a, **k)
        return guarded

    monkeypatch.setattr(parser, "parse_expr", parse_expr)
    monkeypatch.setattr(sp, "sympify", sympify)
    monkeypatch.setattr(core_sympify, "sympify", sympify)
    monkeypatch.setattr(builtins, "eval", refuse("eval", builtins.eval))
    monkeypatch.setattr(builtins, "exec", refuse("exec", builtins.exec))
    yield seen
    engine_built = (int, Fraction, sp.Basic)
    bad = [a for a in seen if isinstance(a, (str, bytes)) or not isinstance(a, engine_built)]
    assert not bad, f"sympify got values the engine did not build: {bad[:5]!r}"


def test_guard_sees_a_symbolic_analysis_and_fails_on_text(no_text_to_sympy):
    r = analyze("vgg11", input="3xHxW", batch="N").substitute(H=64, W="64", N=2)
    assert r.totals["macs"] == analyze("vgg11", input=(3, 64, 64), batch=2).totals["macs"]
    assert no_text_to_sympy  # the engine's own sympify calls were seen (and were all engine-built)
    import sympy

    with pytest.raises(AssertionError, match="parse_expr reached"):
        sympy.sympify("1+1")  # the guard itself can fail


@pytest.mark.parametrize("model", ["faster_rcnn_vgg16", "show_and_tell", "resnet18"])
def test_zoo_models_with_symbols_in_their_layers_pass_the_guard(model, no_text_to_sympy):
    r = analyze(model) if model != "resnet18" else analyze(model, input="3xHxW", batch="N")
    assert r.is_symbolic or any(not dims.is_concrete(x.output_shape[0]) for x in r.layers)


# --- the hostile spec: nothing runs, one line ---------------------------------------------


def _hostile(tmp_path, field_yaml):
    marker = tmp_path / "pwned"
    p = tmp_path / "hostile.yaml"
    p.write_text("input: 3x8x8\nlayers:\n  - " + field_yaml.replace("{marker}", str(marker)) + "\n")
    return p, marker


HOSTILE_LAYERS = [
    # the spec
    "{name: c, kind: Crop, size: [2, 2], offset: [\"" + PAYLOAD + "\", 0]}",
    "{name: c, kind: Crop, size: [\"" + PAYLOAD + "\", 2]}",
    "{name: r, kind: Reshape, shape: [\"" + PAYLOAD + "\"]}",
    "{name: r, kind: RoIAlign, num_rois: \"" + PAYLOAD + "\"}",
    "{name: c, kind: Conv2d, out_channels: {dim: \"" + PAYLOAD + "\"}}",
    "{name: s, kind: Slice, start: 0, stop: \"" + PAYLOAD + "\"}",
    "{name: e, kind: Embedding, num_embeddings: \"" + PAYLOAD + "\", embedding_dim: 4}",
]


@pytest.mark.parametrize("layer", HOSTILE_LAYERS)
def test_hostile_spec_runs_nothing_in_process(tmp_path, capsys, layer, no_text_to_sympy):
    p, marker = _hostile(tmp_path, layer)
    assert main([str(p)]) == 2
    assert main(["spec", "--check", str(p)]) == 2
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 2 and all(line.startswith("archcalc: error: ") for line in err), err
    from archcalc.testing import assert_costs

    with pytest.raises(ArchcalcError) as e:
        assert_costs(str(p), params=0)
    assert "\n" not in str(e.value) and str(p) in str(e.value)
    assert not marker.exists()


def test_hostile_spec_runs_nothing_as_a_process(tmp_path):
    p, marker = _hostile(tmp_path, HOSTILE_LAYERS[0])
    env = dict(os.environ, PYTHONPATH=ROOT)
    for argv in ([str(p)], ["spec", "--check", str(p)]):
        proc = subprocess.run([sys.executable, "-m", "archcalc", *argv], capture_output=True, text=True, env=env,
                              timeout=120)
        assert proc.returncode == 2 and proc.stdout == "", proc.stderr
        assert proc.stderr.count("\n") == 1 and proc.stderr.startswith("archcalc: error: "), proc.stderr
        assert "offset" in proc.stderr and "layers[0]" in proc.stderr
    assert not marker.exists()


@pytest.mark.parametrize("make", [
    lambda m: L.Crop(offset=(PAYLOAD.format(marker=m), 0), size=(2, 2)),
    lambda m: L.Conv2d(PAYLOAD.format(marker=m)),
    lambda m: L.Linear(PAYLOAD.format(marker=m)),
    lambda m: L.Reshape((PAYLOAD.format(marker=m),)),
    lambda m: L.RoIAlign(7, PAYLOAD.format(marker=m)),
    lambda m: L.Input((3, PAYLOAD.format(marker=m), 8)),
    lambda m: analyze("vgg11", input=(3, PAYLOAD.format(marker=m), 8)),
    lambda m: analyze("vgg11", batch=PAYLOAD.format(marker=m)),
    lambda m: analyze("vgg11", input="3xHxW").substitute(H=PAYLOAD.format(marker=m), W=8),
    lambda m: analyze("resnet18", num_classes=PAYLOAD.format(marker=m)),
    lambda m: dims.coerce_dim(PAYLOAD.format(marker=m)),
    lambda m: dims.evaluate(dims.symbol("H") + 1, {"H": PAYLOAD.format(marker=m)}),
])
def test_api_text_never_reaches_sympy(tmp_path, make, no_text_to_sympy):
    marker = tmp_path / "pwned"
    with pytest.raises(ArchcalcError) as e:
        make(str(marker))
    assert isinstance(e.value, (ValueError, TypeError)) and "\n" not in str(e.value)
    assert not marker.exists()


def test_text_sizes_go_through_the_restricted_parser(no_text_to_sympy):
    assert L.Conv2d("4").out_channels == 4  # digits: the same layer as Conv2d(4)
    assert L.Conv2d("4") == L.Conv2d(4)
    c = L.Conv2d("C").out_channels
    assert c == dims.symbol("C")  # a name: a positive integer symbol, never parsed by sympy
    r = analyze(Builder("t", (3, 8, 8)).graph, input=(3, 8, 8))
    assert r.layers[0].output_shape == (3, 8, 8)
    crop = L.Crop(offset=("H//4", 0), size=("H//2", 2))
    assert crop.offset == (dims.floordiv(dims.symbol("H"), 4), 0)


# --- item 2: every field validated where the layer is made ----------------------------------------

# (constructor, error type, words the one-line message must hold: the layer kind and the field)
INVALID_LAYERS = [
    (lambda: L.Conv2d(-4), InvalidValueError, "Conv2d.out_channels must be >= 1, got -4"),
    (lambda: L.Conv2d(0), InvalidValueError, "Conv2d.out_channels must be >= 1, got 0"),
    (lambda: L.Conv2d(2.5), InvalidTypeError, "Conv2d.out_channels must be an integer"),
    (lambda: L.Conv2d(True), InvalidTypeError, "Conv2d.out_channels must be an integer"),
    (lambda: L.Conv2d(8, kernel_size=0), InvalidValueError, "Conv2d.kernel_size must be >= 1, got 0"),
    (lambda: L.Conv2d(8, kernel_size=(3, 3, 3)), InvalidValueError, "Conv2d.kernel_size must be an integer or a pair"),
    (lambda: L.Conv2d(8, stride=0), InvalidValueError, "Conv2d.stride must be >= 1, got 0"),
    (lambda: L.Conv2d(8, padding=-1), InvalidValueError, "Conv2d.padding must be >= 0, got -1"),
    (lambda: L.Conv2d(8, padding=1.5), InvalidTypeError, "Conv2d.padding must be an integer"),
    (lambda: L.Conv2d(8, padding="full"), InvalidValueError, "Conv2d.padding must be one of 'same', 'valid'"),
    (lambda: L.Conv2d(8, dilation=(1, 0)), InvalidValueError, "Conv2d.dilation must be >= 1, got 0"),
    (lambda: L.Conv2d(8, groups=0), InvalidValueError, "Conv2d.groups must be >= 1, got 0"),
    (lambda: L.Conv2d(8, bias="yes"), InvalidTypeError, "Conv2d.bias must be true or false"),
    (lambda: L.Conv2d(8, connections=[[0], [-1]]), InvalidValueError, "Conv2d.connections must be >= 0"),
    (lambda: L.ConvTranspose2d(8, output_padding=-1), InvalidValueError, "ConvTranspose2d.output_padding must be >= 0"),
    (lambda: L.MaxPool2d(0), InvalidValueError, "MaxPool2d.kernel_size must be >= 1, got 0"),
    (lambda: L.MaxPool2d(2, stride=0), InvalidValueError, "MaxPool2d.stride must be >= 1, got 0"),
    (lambda: L.AvgPool2d(2, padding=-2), InvalidValueError, "AvgPool2d.padding must be >= 0, got -2"),
    (lambda: L.AdaptiveAvgPool2d(0), InvalidValueError, "AdaptiveAvgPool2d.output_size must be >= 1, got 0"),
    (lambda: L.Linear(-3), InvalidValueError, "Linear.out_features must be >= 1, got -3"),
    (lambda: L.BatchNorm2d(eps=-1.0), InvalidValueError, "BatchNorm2d.eps must be > 0"),
    (lambda: L.BatchNorm2d(momentum=float("nan")), InvalidValueError, "BatchNorm2d.momentum must be a finite number"),
    (lambda: L.LocalResponseNorm(0), InvalidValueError, "LocalResponseNorm.size must be >= 1, got 0"),
    (lambda: L.Dropout(1.5), InvalidValueError, "Dropout.p must be <= 1"),
    (lambda: L.Activation("swish"), InvalidValueError, "unknown activation 'swish'"),
    (lambda: L.ReLU(inplace="true"), InvalidTypeError, "Activation.inplace must be true or false"),
    (lambda: L.Upsample(0), InvalidValueError, "Upsample.scale_factor must be >= 1, got 0"),
    (lambda: L.Upsample(2, "cubic"), InvalidValueError, "Upsample.mode must be one of"),
    (lambda: L.ZeroPad2d(-1), InvalidValueError, "ZeroPad2d.padding must be >= 0, got -1"),
    (lambda: L.ZeroPad2d((1, 2)), InvalidValueError, "ZeroPad2d.padding must be an integer or (left, right, top, bottom)"),
    (lambda: L.ChannelShuffle(0), InvalidValueError, "ChannelShuffle.groups must be >= 1, got 0"),
    (lambda: L.Slice(-1), InvalidValueError, "Slice.start must be >= 0, got -1"),
    (lambda: L.Slice(0, 0), InvalidValueError, "Slice.stop must be >= 1, got 0"),
    (lambda: L.Scale(float("inf")), InvalidValueError, "Scale.factor must be a finite number"),
    (lambda: L.Crop(size=(0, 2)), InvalidValueError, "Crop.size must be >= 1, got 0"),
    (lambda: L.Crop(size=(-2, 2)), InvalidValueError, "Crop.size must be >= 1, got -2"),
    (lambda: L.Crop(offset=(-1, 0), size=(2, 2)), InvalidValueError, "Crop.offset must be >= 0, got -1"),
    (lambda: L.Crop(offset="middle"), InvalidTypeError, "Crop.offset must be 'center' or a pair"),
    (lambda: L.RoIAlign(7, -5), InvalidValueError, "RoIAlign.num_rois must be >= 1, got -5"),
    (lambda: L.RoIAlign(7, "R", sampling_ratio=-1), InvalidValueError, "RoIAlign.sampling_ratio must be >= 0"),
    (lambda: L.RoIPool(7, 10, spatial_scale=0), InvalidValueError, "RoIPool.spatial_scale must be > 0"),
    (lambda: L.PerItem(L.Input((3, 8, 8))), InvalidValueError, "PerItem.layer cannot be an Input layer"),
    (lambda: L.PerItem("Conv2d"), InvalidTypeError, "PerItem.layer must be a layer"),
    (lambda: L.LSTM(0), InvalidValueError, "LSTM.hidden_size must be >= 1, got 0"),
    (lambda: L.LSTM(8, num_layers=0), InvalidValueError, "LSTM.num_layers must be >= 1, got 0"),
    (lambda: L.Embedding(-100, -4), InvalidValueError, "Embedding.num_embeddings must be >= 1, got -100"),
    (lambda: L.Embedding(100, -4), InvalidValueError, "Embedding.embedding_dim must be >= 1, got -4"),
    (lambda: L.Reshape((-2, -96)), InvalidValueError, "Reshape.shape must be >= 1, got -2"),
    (lambda: L.Reshape((-1, -1)), InvalidValueError, "Reshape.shape may hold at most one -1"),
    (lambda: L.Reshape(()), InvalidTypeError, "Reshape.shape must be a non-empty list"),
    (lambda: L.Reshape(("-H",)), InvalidValueError, "Reshape.shape -H cannot be an integer >= 1"),
    (lambda: L.L2Norm(eps=-1e-3), InvalidValueError, "L2Norm.eps must be > 0"),
    (lambda: L.Shared(L.ReLU(), ""), InvalidValueError, "Shared.owner must be non-empty text"),
    (lambda: L.Shared(L.Shared(L.ReLU(), "a"), "b"), InvalidValueError, "Shared.layer cannot itself be Shared"),
    (lambda: L.Input((0, 224, 224)), InvalidValueError, "Input.shape must be >= 1, got 0"),
    # the kinds for modern networks, same checks and wording
    (lambda: L.LayerNorm((4,), eps=0), InvalidValueError, "LayerNorm.eps must be > 0, got 0"),
    (lambda: L.LayerNorm((4,), bias="no"), InvalidTypeError, "LayerNorm.bias must be true or false"),
    (lambda: L.LayerNorm(()), InvalidValueError, "LayerNorm.normalized_shape must name at least one size"),
    (lambda: L.LayerNorm2d(eps=float("nan")), InvalidValueError, "LayerNorm2d.eps must be a finite number"),
    (lambda: L.GroupNorm(2, eps=-1.0), InvalidValueError, "GroupNorm.eps must be > 0"),
    (lambda: L.BatchNorm3d(momentum=2), InvalidValueError, "BatchNorm3d.momentum must be <= 1"),
    (lambda: L.BatchNorm3d(affine=1), InvalidTypeError, "BatchNorm3d.affine must be true or false"),
    (lambda: L.Flatten(1.0), InvalidTypeError, "Flatten.start_dim must be an integer"),
    (lambda: L.Expand((0,)), InvalidValueError, "Expand.shape must be >= 1, got 0"),
    (lambda: L.Expand(("-H",)), InvalidValueError, "Expand.shape -H cannot be an integer >= 1"),
    (lambda: L.Interpolate(size=0), InvalidValueError, "Interpolate.size must be >= 1, got 0"),
    (lambda: L.Interpolate(size=(1, 2, 3, 4)), InvalidValueError, "Interpolate.size must be one value or 1 to 3"),
    (lambda: L.Interpolate(scale_factor=0.0), InvalidValueError, "Interpolate.scale_factor must be > 0"),
    (lambda: L.Interpolate(size=4, align_corners=True), InvalidValueError,
     "Interpolate.align_corners must be null with mode 'nearest'"),
    (lambda: L.Interpolate(size=4, mode="bilinear", align_corners=1), InvalidTypeError,
     "Interpolate.align_corners must be true or false"),
    (lambda: L.AvgPool1d(2, count_include_pad="yes"), InvalidTypeError, "AvgPool1d.count_include_pad must be true or false"),
    (lambda: L.Conv3d(4, kernel_size=(3, 3)), InvalidValueError, "Conv3d.kernel_size must be an integer or a list of 3"),
    (lambda: L.Mean((0, 0)), InvalidValueError, "Mean.dim must name distinct axes"),
    (lambda: L.Permute((0, 1.5)), InvalidTypeError, "Permute.dims must be an axis or axes (integers)"),
    (lambda: L.Einsum(5), InvalidTypeError, "Einsum.equation must be text"),
    (lambda: L.ReflectionPad2d((1, 2)), InvalidValueError, "ReflectionPad2d.padding must be an integer or (left, right"),
    (lambda: L.MatMul("mm"), InvalidValueError, "MatMul.mode must be one of 'matmul', 'bmm', '@'"),
    (lambda: L.Input((3, 2.5, 4)), InvalidTypeError, "Input.shape must be an integer"),
]


@pytest.mark.parametrize("make,error,words", INVALID_LAYERS, ids=[w[:40] for _, _, w in INVALID_LAYERS])
def test_invalid_field_is_refused_where_the_layer_is_made(make, error, words):
    with pytest.raises(error) as e:
        make()
    msg = str(e.value)
    assert words in msg and "\n" not in msg, msg
    assert isinstance(e.value, ArchcalcError)
    assert isinstance(e.value, ValueError if error is InvalidValueError else TypeError)


def test_symbolic_fields_are_still_accepted():
    H = dims.symbol("H")
    assert L.Reshape((-1, "H//2")).shape == (-1, dims.floordiv(H, 2))
    assert L.RoIAlign(7, "R").num_rois == dims.symbol("R")
    assert L.Linear(dims.symbol("K")).out_features == dims.symbol("K")
    assert L.Crop(offset=("H - 3", 0)).offset[0] == H - 3  # may be >= 0: checked at analysis
    assert L.Slice("H//2").start == dims.floordiv(H, 2)


SPEC_ERRORS = [
    ("{name: c, kind: Conv2d, out_channels: 8, padding: -1}", "layers[0] (c): field 'padding': must be >= 0"),
    ("{name: c, kind: Conv2d, out_channels: 8, padding: 1.5}", "layers[0] (c): field 'padding': expected"),
    ("{name: r, kind: Reshape, shape: [2.5]}", "layers[0] (r): Reshape.shape must be an integer or a dimension"),
    ("{name: c, kind: Conv2d, out_channels: 8, stride: 0}", "layers[0] (c): field 'stride': must be >= 1, got 0"),
    ("{name: c, kind: Crop, size: [0, 2]}", "layers[0] (c): Crop.size must be >= 1, got 0"),
    ("{name: r, kind: Reshape, shape: [-2, -96]}", "layers[0] (r): Reshape.shape must be >= 1, got -2"),
    ("{name: e, kind: Embedding, num_embeddings: -100, embedding_dim: -4}", "layers[0] (e): field 'num_embeddings': must be >= 1"),
    ("{name: b, kind: BatchNorm2d, momentum: 2}", "layers[0] (b): BatchNorm2d.momentum must be <= 1"),
    ("{name: u, kind: Upsample, mode: cubic}", "layers[0] (u): field 'mode': must be one of nearest, bilinear"),
]


@pytest.mark.parametrize("layer,words", SPEC_ERRORS)
def test_invalid_field_in_a_spec_is_one_error_naming_layer_and_field(tmp_path, capsys, layer, words):
    p = tmp_path / "bad.yaml"
    p.write_text("input: 3x8x8\nlayers:\n  - " + layer + "\n")
    with pytest.raises(SpecError, match=words.replace("[", r"\[").replace("(", r"\(").replace(")", r"\)")):
        load_spec(p)
    assert main(["spec", "--check", str(p)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("archcalc: error: ")


def _shared_graph(owner, same=True):
    b = Builder("shared", (3, 8, 8))
    conv = L.Conv2d(4, 3, padding=1)
    a = b.add(conv, b.input, name="a")
    b.add(L.Shared(conv if same else L.Conv2d(5, 3, padding=1), owner), a if owner != "a" else b.input, name="s")
    return b.build()


@pytest.mark.parametrize("owner,same,words", [
    ("missing", True, "owner 'missing' is not a layer of this graph"),
    ("s", True, "owns itself"),
    ("a", False, "owner 'a' is a Conv2d, not the same Conv2d spec"),
])
def test_shared_owner_must_hold_the_weights(owner, same, words):
    with pytest.raises(GraphError, match=words) as e:
        analyze(_shared_graph(owner, same))
    assert "layer 's' (Shared(Conv2d))" in str(e.value)


def test_shared_with_its_owner_counts_params_once():
    r = analyze(_shared_graph("a"))
    assert r["a"].params == 4 * 3 * 3 * 3 + 4  # 3x3 conv, 3 -> 4 channels, bias
    assert r["s"].params == 0 and r["s"].macs == 8 * 8 * 4 * 3 * 3 * 3  # a's 3x3 conv again, on the 3-channel input


# --- item 3: channels-last input ------------------------------------------------------------------


def test_channels_last_input_is_refused_with_the_channels_first_shape(capsys):
    assert main(["resnet50", "--input", "224x224x3"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "resnet50 takes 3 input channels" in err and "did you mean 3x224x224?" in err
    with pytest.raises(InvalidValueError, match="did you mean 3x160x160"):
        analyze("resnet50", input=(1, 160, 160))
    with pytest.raises(InvalidValueError, match="rank-3 input such as 3x224x224"):
        analyze("resnet50", input=(224, 224))
    with pytest.raises(InvalidValueError, match="lenet5 takes 1 input channels"):
        analyze("lenet5", input=(3, 32, 32))
    # the spatial size and symbols may still change
    assert analyze("resnet50", input=(3, 160, 160)).totals["params"] == analyze("resnet50").totals["params"]
    assert analyze("resnet50", input="3xHxW").is_symbolic


def test_channels_of_a_graph_are_part_of_it_too():
    b = Builder("g", (3, 8, 8))
    b.add(L.Conv2d(4, 3), b.input)
    with pytest.raises(InvalidValueError, match="network 'g' takes 3 input channels"):
        analyze(b.build(), input=(8, 8, 3))


# --- item 5: bounded reads ------------------------------------------------------------------------


def test_device_and_fifo_are_refused_without_reading(tmp_path, capsys):
    fifo = tmp_path / "spec.yaml"
    os.mkfifo(fifo)
    for path in ("/dev/zero", str(fifo)):
        assert main([path]) == 2
        assert main(["spec", "--check", path]) == 2
        with pytest.raises(SpecError, match="not a regular file"):
            load_spec(path)
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 4 and all("not a regular file" in line for line in err)


def test_stdin_is_read_bounded(monkeypatch, capsys):
    import io

    ok = "input: 3x8x8\nlayers:\n  - {name: c, kind: Conv2d, out_channels: 4, kernel_size: 3}\n"
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(ok.encode())))
    assert main(["-"]) == 0
    assert "4x6x6" in capsys.readouterr().out
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(ok.encode())))
    assert main(["spec", "--check", "-"]) == 0  # read once: the schema check and the analysis share it
    assert capsys.readouterr().out == f"ok: <stdin>: 2 layers, {4 * 3 * 3 * 3 + 4} params\n"  # 3x3 conv 3->4, bias

    class Endless(io.RawIOBase):  # /dev/zero as a pipe: only the bound is read
        read_total = 0

        def readable(self):
            return True

        def readinto(self, b):
            Endless.read_total += len(b)
            b[:] = b"#" * len(b)
            return len(b)

    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BufferedReader(Endless())))
    assert main(["-"]) == 2
    assert "limited to 16,777,216" in capsys.readouterr().err
    assert Endless.read_total <= MAX_FILE_BYTES + 2 * io.DEFAULT_BUFFER_SIZE


def test_snapshot_files_are_read_the_same_way(tmp_path):
    from archcalc.testing import Snapshot

    fifo = tmp_path / "base.txt"
    os.mkfifo(fifo)
    with pytest.raises(SpecError, match="base.txt: not a regular file"):
        Snapshot.read(fifo)
    with pytest.raises(SpecError, match="no such file"):
        Snapshot.read(tmp_path / "missing.txt")


def test_oversized_regular_file_is_refused_before_reading(tmp_path):
    p = tmp_path / "big.yaml"
    with open(p, "wb") as f:
        f.truncate(MAX_FILE_BYTES + 1)  # sparse: no 16 MiB written
    with pytest.raises(SpecError, match="limited to"):
        load_spec(p)


# --- item 9: typed errors for API misuse -----------------------------------------------------------


def _conv_graph():
    b = Builder("g", (3, 8, 8))
    b.add(L.Conv2d(4, 3), b.input, name="conv")
    return b.build()


MISUSE = [
    (lambda: analyze("vgg11", freeze=None), InvalidTypeError, "freeze must be a list of layer-name prefixes"),
    (lambda: analyze("vgg11", freeze=[""]), InvalidValueError, "would match every layer"),
    (lambda: analyze("vgg11", freeze=[3]), InvalidTypeError, "freeze prefixes must be text"),
    (lambda: analyze("vgg11", freeze=["nope"]), InvalidValueError, "matches no layer"),
    (lambda: analyze(5), InvalidTypeError, "cannot analyse int"),
    (lambda: analyze("vgg11", input=5), InvalidTypeError, "bad input shape 5"),
    (lambda: analyze("vgg11", input=(3, 0, 8)), InvalidValueError, "input[1] must be >= 1, got 0"),
    (lambda: analyze("vgg11", dtype=5), InvalidTypeError, "dtype must be text"),
    (lambda: analyze("vgg11", dtype="fp12"), InvalidValueError, "unknown dtype 'fp12'"),
    (lambda: analyze("vgg11", batch=2.5), InvalidTypeError, "batch must be an integer"),
    (lambda: analyze("vgg11", batch=0), InvalidValueError, "batch must be >= 1, got 0"),
    (lambda: analyze("vgg11", model_name=3), InvalidTypeError, "model_name must be text"),
    (lambda: analyze("nosuchnet"), UnknownModelError, "unknown model 'nosuchnet'"),
    (lambda: analyze("resnet18", num_classes=-3), InvalidValueError, "resnet18.num_classes must be >= 1, got -3"),
    (lambda: analyze("resnet18", num_classes="10"), InvalidTypeError, "resnet18.num_classes must be an integer"),
    (lambda: analyze("resnet18", colour=1), InvalidValueError, "does not take colour"),
    (lambda: analyze("squeezenet1_0", version="2_0"), InvalidValueError, "model 'squeezenet1_0' with version='2_0'"),
    (lambda: analyze(_conv_graph(), num_classes=10), InvalidValueError, "apply to zoo models"),
    (lambda: analyze(_conv_graph())["conv9"], UnknownLayerError, "no layer 'conv9' in g"),
    (lambda: analyze("vgg11", input="3xHxW").substitute(H=2.5), InvalidTypeError, "substitute.H must be an integer"),
    (lambda: analyze("vgg11", input="3xHxW").substitute(H=0), InvalidValueError, "substitute.H must be >= 1"),
    (lambda: analyze("vgg11", input="3xHxW").substitute(**{"H W": 2}), InvalidValueError, "is not a dimension name"),
    (lambda: Builder("g").add(object()), InvalidTypeError, "expected a layer spec such as Conv2d(...), got object"),
    (lambda: Builder("g").add(L.ReLU(), 5), InvalidTypeError, "inputs must be layer names"),
    (lambda: Builder("g").add(L.ReLU()), InvalidValueError, "no inputs"),
    (lambda: Builder("g", input_shape=5), InvalidTypeError, "Input.shape must be a non-empty shape"),
    (lambda: Builder(None), InvalidTypeError, "network name must be non-empty text"),
    (lambda: Graph("g").add(object()), InvalidTypeError, "Graph.add takes a Node"),
    (lambda: Builder("g").build(outputs=5), InvalidTypeError, "outputs must be a list of layer names"),
    (lambda: Builder("g").scope(5).__enter__(), InvalidTypeError, "prefix must be non-empty text"),
    (lambda: Graph("g").add(Node("x", "Conv2d", ())), InvalidTypeError, "layer 'x': expected a layer spec"),
    (lambda: load_spec(5), SpecError, "a spec path must be text"),
    (lambda: loads_spec("input: 3x8x8\nlayers: [{name: r, kind: ReLU, inplace: 1}]"), SpecError, "inplace"),
    (lambda: dims.parse_shape("3x(H"), dims.DimSyntaxError, "missing ')'"),
]


@pytest.mark.parametrize("call,error,words", MISUSE, ids=[w[:40] for _, _, w in MISUSE])
def test_api_misuse_raises_a_typed_one_line_error(call, error, words):
    with pytest.raises(error) as e:
        call()
    msg = str(e.value)
    assert words in msg and "\n" not in msg, msg
    assert isinstance(e.value, ArchcalcError) and isinstance(e.value, (ValueError, TypeError, KeyError))


@pytest.mark.torch
def test_from_torch_checks_its_arguments(torch):
    with pytest.raises(InvalidTypeError, match="bad input shape 5"):
        archcalc.from_torch(torch.nn.Conv2d(3, 4, 3), 5)
    with pytest.raises(InvalidTypeError, match="takes a torch.nn.Module, got str"):
        archcalc.from_torch("resnet18", (3, 8, 8))
    with pytest.raises(InvalidValueError, match="must be >= 1, got 0"):
        archcalc.from_torch(torch.nn.Conv2d(3, 4, 3), (3, 0, 8))


def test_one_output_name_is_not_split_into_characters():
    b = Builder("g", (3, 8, 8))
    b.add(L.Conv2d(4, 3), b.input, name="fc")
    assert b.build(outputs="fc").outputs == ["fc"]


def test_error_classes_subclass_the_builtin_a_caller_expects():
    assert issubclass(ShapeError, ValueError) and issubclass(GraphError, ValueError)
    assert issubclass(UnknownModelError, ValueError) and issubclass(UnsupportedLayerError, TypeError)
    assert issubclass(SpecError, ValueError) and issubclass(dims.DimSyntaxError, ValueError)
    assert issubclass(UnknownLayerError, KeyError)
    assert str(UnknownLayerError("no layer 'x'")) == "no layer 'x'"  # not KeyError's quoted repr


def test_channels_that_do_not_split_into_groups_are_refused_at_the_layer():
    b = Builder("g", (3, 8, 8))
    b.add(L.Conv2d(6, groups=4), b.input, name="grouped")
    with pytest.raises(ShapeError, match=r"layer 'grouped' \(Conv2d\): in_channels 3 is not divisible by groups 4"):
        analyze(b.build())


def test_stride_zero_is_said_in_the_users_terms(tmp_path):
    p = tmp_path / "s.json"
    p.write_text('{"input": "3x8x8", "layers": [{"name": "c", "kind": "Conv2d", "out_channels": 4, "stride": 0}]}')
    with pytest.raises(SpecError) as e:
        analyze_file(p)
    assert "stride" in str(e.value) and "division" not in str(e.value) and "modulo" not in str(e.value)


def test_is_regular_check_uses_stat():
    assert stat.S_ISCHR(os.stat("/dev/zero").st_mode)  # the device the read test relies on


# --- every field of every registered kind is checked; the schema types every field ----------------

REQUIRED = {"out_channels": 4, "out_features": 4, "layer": L.ReLU(), "owner": "a", "normalized_shape": (4,),
            "op": "aten.foo", "shape": (4,)}  # Uncounted names its op; Expand its shape


def _every_field():
    from archcalc.spec import layer_fields, layer_kinds

    for kind, (cls, fixed) in layer_kinds().items():
        if kind == "Input" or (cls is L.Activation and kind != "Activation"):
            continue
        for fname, _, _, _ in layer_fields(cls, fixed):
            yield pytest.param(cls, fixed, fname, id=f"{kind}.{fname}")


@pytest.mark.parametrize("cls,fixed,fname", list(_every_field()))
def test_every_field_of_every_kind_refuses_a_foreign_object(cls, fixed, fname):
    from archcalc.spec import layer_fields

    kwargs = {f: REQUIRED[f] for f, _, req, _ in layer_fields(cls, fixed) if req and f in REQUIRED}
    kwargs[fname] = object()
    with pytest.raises(ArchcalcError) as e:
        cls(**fixed, **kwargs)
    assert isinstance(e.value, (ValueError, TypeError)) and "\n" not in str(e.value)
    assert fname in str(e.value) or "activation" in str(e.value), str(e.value)


def test_schema_types_every_field_and_refuses_the_hostile_spec():
    jsonschema = pytest.importorskip("jsonschema")
    from archcalc.spec import json_schema

    schema = json_schema()
    empty = []

    def walk(x, path):
        if x == {}:
            empty.append(path)
        if isinstance(x, dict):
            for k, v in x.items():
                walk(v, f"{path}/{k}")
        elif isinstance(x, list):
            for i, v in enumerate(x):
                walk(v, f"{path}[{i}]")

    walk(schema, "")
    assert not empty, empty  # no field accepts anything at all
    validator = jsonschema.Draft202012Validator(schema)
    payload = PAYLOAD.format(marker="m")
    for hostile in (
        {"input": "3x8x8", "layers": [{"name": "c", "kind": "Crop", "size": [2, 2], "offset": [payload, 0]}]},
        {"input": [3, payload, 8], "layers": [{"name": "r", "kind": "ReLU"}]},
        {"input": "3x" + payload, "layers": [{"name": "r", "kind": "ReLU"}]},
        {"input": "3x8x8", "layers": [{"name": "c", "kind": "Conv2d", "out_channels": {"dim": payload}}]},
        {"input": "3x8x8", "layers": [{"name": "r", "kind": "Reshape", "shape": [payload]}]},
    ):
        assert list(validator.iter_errors(hostile)), hostile
    fine = {"input": "3xHxW", "layers": [{"name": "c", "kind": "Conv2d", "out_channels": {"dim": "C"}},
                                        {"name": "r", "kind": "Reshape", "shape": [-1, "H//2"]}]}
    assert not list(validator.iter_errors(fine))
