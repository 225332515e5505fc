"""Cross-check every zoo model that has a torchvision/timm twin against the real model, with each
profiling tool, under that tool's own convention (archcalc.conventions).

The meta-capable tools (torchinfo, FlopCounterMode, thop) run at the model's own input size with no
weights allocated. fvcore (torch.jit trace) and ptflops (real forward; on meta its patched
functionals double-count linear layers) need real tensors, so they run on the CPU at 3x64x64 to
keep CI time down (VGG's 7x7 adaptive pool then reads a 2x2 map: uneven windows, a harder case); vgg16 runs every tool at 224x224 against the totals quoted in issue 4.
"""

from __future__ import annotations

import json

import pytest

from archcalc.cli import main

pytestmark = pytest.mark.torch


def _twins():
    from archcalc.torch_bridge.verify import verifiable_entries

    return [e.name for e in verifiable_entries()]


def _small_input(name):
    """The smallest of 64, 96, 128... pixels the model accepts (Inception v3/v4 need more), or its own."""
    import archcalc
    from archcalc.errors import ArchcalcError
    from archcalc.zoo import get_entry

    own = get_entry(name).input_shape
    for side in (64, 96, 128, 160, 192):
        try:
            r = archcalc.analyze(name, input=(own[0], side, side))
        except ArchcalcError:
            continue
        if any(getattr(x.layer, "size", None) is not None for x in r.layers if x.kind == "Interpolate"):
            # a resize to a size fixed when the graph was built (torchvision's segmentation heads resize
            # to the input's size): another input needs another graph, so keep the model's own
            return tuple(own)
        return (own[0], side, side)
    return tuple(own)


def _assert_ok(v):
    assert v.ok, f"{v.model}: " + "; ".join(v.all_problems())


def _assert_refused(name, v):
    """Each tool verify leaves out is explained by the Refused rule of a layer this model has."""
    import archcalc
    from archcalc import conventions as C
    from archcalc.torch_bridge.verify.collect import TOOL_CONVENTION

    result = archcalc.analyze(name, input=v.input_shape, batch=v.batch)
    for tool, why in v.not_verified.items():
        conv = C.get(TOOL_CONVENTION[tool])
        refused = {r.name: conv.rules.get(C.rule_key(r)) for r in result.layers}
        refused = {n: r for n, r in refused.items() if isinstance(r, C.Refused)}
        assert any(why == f"layer {n!r} ({C.rule_key(result[n])}): {r.why}" for n, r in refused.items()), (tool, why)


@pytest.mark.parametrize("name", _twins())
def test_meta_tools_agree_layer_by_layer(torch, torchvision, name):
    from archcalc.torch_bridge.verify import verify

    v = verify(name, tools=["torchinfo", "flop_counter", "thop"])
    _assert_ok(v)
    # every tool reported a number for the whole model and per leaf module, or is named as not
    # reproduced for a stated reason: a Refused rule of its convention on a layer of this model
    assert set(v.totals) | set(v.not_verified) == {"torchinfo", "flop_counter", "thop"}
    assert not set(v.totals) & set(v.not_verified)
    _assert_refused(name, v)
    # FlopCounterMode counts exactly 2 FLOPs per archcalc MAC (of the layers torch runs in eval mode)
    if "flop_counter" in v.totals and not any(l.skipped for l in v.layers):
        assert v.totals["flop_counter"][1] == 2 * v.macs
    assert v.params[0] == v.params[1]


def _cpu_twins():
    """fvcore and ptflops run a real CPU forward (minutes for all 60 twins on a loaded CI machine):
    by default the cheapest twin of each family, which covers every layer kind and module layout the
    family uses; ARCHCALC_CROSSCHECK_ALL=1 checks every twin (reports/cross_check.md does, at 224)."""
    import os

    import archcalc
    from archcalc.torch_bridge.verify import verifiable_entries

    entries = verifiable_entries()
    if os.environ.get("ARCHCALC_CROSSCHECK_ALL"):
        return [e.name for e in entries]
    cheapest = {}
    for e in entries:
        key = (e.family, e.torchvision is not None)  # a family may mirror both torchvision and timm
        macs = archcalc.analyze(e.name).totals["macs"]
        if key not in cheapest or macs < cheapest[key][0]:
            cheapest[key] = (macs, e.name)
    return sorted(name for _, name in cheapest.values())


@pytest.mark.slow
@pytest.mark.parametrize("name", _cpu_twins())
def test_cpu_tools_agree(torch, torchvision, name):
    from archcalc.torch_bridge.verify import verify

    v = verify(name, tools=["fvcore", "ptflops"], input_shape=_small_input(name))
    _assert_ok(v)
    assert v.activations[0] == v.activations[1]  # fvcore ActivationCountAnalysis


def _modern_cases(torch):
    """One small torch module per modern layer kind and variant whose fvcore / ptflops count
    depends on it (affine or not, the einsum equation, need_weights, the upsampling mode)."""
    nn, F = torch.nn, torch.nn.functional

    class Einsum(nn.Module):
        def __init__(self, eq):
            super().__init__()
            self.eq = eq

        def forward(self, x):
            return torch.einsum(self.eq, x, x)

    class Attention(nn.Module):
        def __init__(self, need_weights):
            super().__init__()
            self.mha = nn.MultiheadAttention(16, 4, batch_first=True)
            self.need_weights = need_weights

        def forward(self, x):
            return self.mha(x, x, x, need_weights=self.need_weights)[0]

    class Interpolate(nn.Module):
        def __init__(self, mode):
            super().__init__()
            self.mode = mode

        def forward(self, x):
            return F.interpolate(x, scale_factor=2, mode=self.mode)

    class Scores(nn.Module):
        def forward(self, x):
            return torch.matmul(x, x.transpose(-2, -1))

    return {
        "layer_norm": (nn.LayerNorm(8), (5, 8)),
        "layer_norm_no_affine": (nn.LayerNorm(8, elementwise_affine=False), (5, 8)),
        "group_norm": (nn.GroupNorm(2, 4), (4, 6, 6)),
        "group_norm_no_affine": (nn.GroupNorm(2, 4, affine=False), (4, 6, 6)),
        "conv1d": (nn.Conv1d(3, 4, 3), (3, 10)),
        "conv3d": (nn.Conv3d(3, 4, 3, padding=1), (3, 4, 6, 6)),
        "batch_norm3d": (nn.BatchNorm3d(3), (3, 4, 6, 6)),
        # 37*37*53 = 72,557 MACs: numpy prints 2*72,557 + 1 as 1.451e+05, fvcore counts 72,550
        "einsum_rounded": (Einsum("bid,bjd->bij"), (37, 53)),
        "einsum_exact": (Einsum("bti,btj->bij"), (37, 53)),  # fvcore's abc,abd->acd: exact MACs
        "attention_no_weights": (Attention(False), (7, 16)),
        "attention_need_weights": (Attention(True), (7, 16)),
        "interpolate_bilinear": (Interpolate("bilinear"), (3, 5, 5)),
        "interpolate_nearest": (Interpolate("nearest"), (3, 5, 5)),
        "matmul": (Scores(), (6, 9)),
    }


@pytest.mark.parametrize("case", ["layer_norm", "layer_norm_no_affine", "group_norm", "group_norm_no_affine",
                                  "conv1d", "conv3d", "batch_norm3d", "einsum_rounded", "einsum_exact",
                                  "attention_no_weights", "attention_need_weights", "interpolate_bilinear",
                                  "interpolate_nearest", "matmul"])
def test_modern_kinds_match_fvcore_and_ptflops(torch, case):
    """fvcore's flops (total and per operator), its activation count and ptflops' total for the
    kinds the transformer/video/segmentation families use, against the tools run live."""
    from archcalc import conventions as C
    from archcalc.analysis import analyze
    from archcalc.torch_bridge import from_torch
    from archcalc.torch_bridge.tools import fvcore_counts
    from archcalc.torch_bridge.verify import compare_module
    from archcalc.torch_bridge.verify.compare import _check_fvcore_operators

    module, shape = _modern_cases(torch)[case]
    module = torch.nn.Sequential(module).eval()
    got = compare_module(module, shape, tools=["fvcore"], batch=2)
    assert got["fvcore"][0] == got["fvcore"][1], got
    result = analyze(from_torch(module, shape), batch=2)
    live = fvcore_counts(module, shape, batch=2)
    assert C.count(result, "fvcore_activations").total == live.extra["activations"]
    assert _check_fvcore_operators(live.by_operator, C.count(result, "fvcore").by_kind) == []
    if case == "attention_need_weights":
        # ptflops' hook, plus torch.bmm and F.softmax on torch's slow path only (grad enabled or not):
        # refused by name, not guessed
        with pytest.raises(C.NotReproduced, match="MultiheadAttention"):
            C.count(analyze(from_torch(module, shape)), "ptflops")
    else:
        got = compare_module(module, shape, tools=["ptflops"])
        assert got["ptflops"][0] == got["ptflops"][1], got


@pytest.mark.parametrize("call", ["functional", "method", "torch"])
def test_softmax_spelling_under_ptflops(torch, call):
    """ptflops patches F.softmax only: the same softmax written x.softmax(-1) or torch.softmax counts
    0 (archcalc's Softmax(call=...) says which one torch runs)."""
    import archcalc
    from archcalc import conventions as C
    from archcalc import layers as L
    from archcalc.graph import Builder
    from archcalc.torch_bridge.tools import ptflops_counts

    nn, F = torch.nn, torch.nn.functional
    spell = {"functional": lambda y: F.softmax(y, dim=-1), "method": lambda y: y.softmax(dim=-1),
             "torch": lambda y: torch.softmax(y, dim=-1)}[call]

    class Scores(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(8, 5)

        def forward(self, x):
            return spell(self.fc(x))

    b = Builder("s", (3, 8))
    b.add(L.Linear(5), b.input, name="fc")
    b.add(L.Softmax(-1, call), "fc", name="softmax")
    ours = C.count(archcalc.analyze(b.build()), "ptflops", functional={"softmax"}).total
    live = ptflops_counts(Scores().eval(), (3, 8)).total
    assert ours == live == 3 * 8 * 5 + 3 * 5 + (3 * 5 if call == "functional" else 0)  # MACs, bias, softmax input
    # from_torch records the spelling it traced
    from archcalc.torch_bridge.verify import compare_module

    assert compare_module(torch.nn.Sequential(Scores()).eval(), (3, 8), tools=["ptflops"])["ptflops"] == (live, live)


def test_fvcore_einsum_rounding_is_numpys():
    """The fvcore convention's einsum count, written out: numpy prints the optimal path's cost + 1
    with 4 significant digits and fvcore halves what it parses back."""
    import archcalc
    from archcalc import conventions as C
    from archcalc.graph import Builder
    from archcalc.layers import Einsum

    b = Builder("e", (37, 53))
    b.add(Einsum("id,jd->ij"), b.input, b.input, name="scores")
    r = archcalc.analyze(b.build(), batch=2)
    macs = 2 * 37 * 37 * 53
    assert r.totals["macs"] == macs == 145_114
    assert C.count(r, "fvcore").total == int(float(f"{2 * macs + 1:.3e}")) // 2 == 145_100


def test_vgg16_totals_quoted_in_the_issue(torch, torchvision):
    """Issue 4 quotes vgg16 as measured with torch 2.14.1; every tool must still print these and
    archcalc must reproduce each under the tool's convention."""
    from archcalc.torch_bridge.verify import verify

    v = verify("vgg16")
    _assert_ok(v)
    macs = 15_470_264_320  # torchvision's 15.47 GFLOPS (MACs), bias excluded
    conv_bias = 224*224*64*2 + 112*112*128*2 + 56*56*256*3 + 28*28*512*3 + 14*14*512*3  # one add per conv output
    fc_bias = 4096 + 4096 + 1000
    relu = conv_bias + 4096 + 4096  # every conv and the two hidden FC layers are followed by ReLU
    pool_in = 224*224*64 + 112*112*128 + 56*56*256 + 28*28*512 + 14*14*512  # max-pool inputs
    adaptive = 512 * 7 * 7  # the 7x7 AdaptiveAvgPool2d's input (an identity copy at 224)
    expected = {
        "fvcore": macs + adaptive,
        "torchinfo": macs + conv_bias + fc_bias,
        "flop_counter": 2 * macs,
        "ptflops": macs + conv_bias + fc_bias + 2 * (relu + pool_in + adaptive),  # ReLU/pools counted twice
        "thop": macs + 2 * adaptive,  # (49/49 + 1) per output element
    }
    assert expected == {"fvcore": 15_470_289_408, "torchinfo": 15_483_821_032, "flop_counter": 30_940_528_640,
                        "ptflops": 15_523_225_576, "thop": 15_470_314_496}
    for tool, (ours, theirs) in v.totals.items():
        assert theirs == expected[tool], tool
        assert ours == theirs, tool


def test_verify_detects_a_wrong_rule(torch, torchvision, monkeypatch):
    """A convention that disagrees with the tool fails, naming the layer."""
    from archcalc import conventions as C
    from archcalc.torch_bridge.verify import verify

    wrong = C.Convention("flop_counter", "x", "FLOPs", rules={}, default=C.R("wrong: 1 per MAC", macs=1))
    monkeypatch.setitem(C.CONVENTIONS, "flop_counter", wrong)
    v = verify("alexnet", tools=["flop_counter"])
    assert not v.ok
    assert any(p.startswith("features.0: flop_counter counts") for p in v.all_problems())


def test_verify_detects_a_wrong_layer(torch, torchvision, monkeypatch):
    """An archcalc graph that differs from torch (a conv with the wrong width) fails with its name."""
    import dataclasses

    from archcalc import zoo
    from archcalc.graph import Node
    from archcalc.layers import Conv2d
    from archcalc.torch_bridge.verify import verify

    entry = zoo.get_entry("alexnet")

    def wrong(name, input_shape, **kw):
        g = entry.builder(name, input_shape, **kw)
        node = g.nodes["features.3"]
        g.nodes["features.3"] = Node(node.name, Conv2d(190, 5, padding=2), node.inputs)  # torchvision: 192
        return g

    monkeypatch.setitem(zoo._REGISTRY, "alexnet", dataclasses.replace(entry, builder=wrong))
    v = verify("alexnet", tools=["torchinfo"])
    problems = v.all_problems()
    assert not v.ok
    assert any(p.startswith("features.3: params") for p in problems), problems
    assert any(p.startswith("features.3: output shape") for p in problems), problems


def test_cli_verify_json_and_exit_codes(torch, torchvision, capsys):
    assert main(["verify", "alexnet", "--tools", "torchinfo,flop_counter", "--format", "json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["ok"] is True and out["model"] == "alexnet"
    assert out["totals"]["flop_counter"]["tool"] == 2 * out["macs"]
    assert {l["name"] for l in out["layers"]} >= {"features.0", "classifier.6"}
    # a zoo model with no torch twin, an unknown tool, no model: one-line errors, exit 2
    assert main(["verify", "lenet5"]) == 2
    assert main(["verify", "alexnet", "--tools", "nope"]) == 2
    assert main(["verify"]) == 2
    err = capsys.readouterr().err
    assert "no torchvision or timm twin" in err and "unknown tool" in err


def test_cli_verify_output_file_md_summary(torch, torchvision, tmp_path):
    out = tmp_path / "x.md"
    assert main(["verify", "alexnet", "--tools", "thop", "--format", "md", "--summary", "--output", str(out)]) == 0
    text = out.read_text()
    assert text.startswith("# Cross-check: archcalc vs")
    assert "| model | torch | params | archcalc MACs | thop | check |" in text
    assert "| alexnet | alexnet | 61,100,840 | 714,188,480 | 714,206,912 | ok |" in text
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".archcalc-")]  # no temp file left


def test_cpu_timing_reports_gflops(torch, torchvision, capsys):
    from archcalc.torch_bridge.verify import render_table, verify

    v = verify("alexnet", device="cpu", tools=["flop_counter"], input_shape=(3, 64, 64), repeats=1)
    _assert_ok(v)
    timed = [l for l in v.layers if l.time_ms is not None]
    assert {l.name for l in timed} >= {"features.0", "features.3", "classifier.1"}
    assert all(l.time_ms > 0 for l in timed)
    conv = next(l for l in v.layers if l.name == "features.0")
    assert conv.gflops_per_s == conv.flops / (conv.time_ms * 1e-3) / 1e9
    assert "GFLOP/s" in render_table(v)


def test_cuda_without_gpu_is_a_clean_error(torch, torchvision, capsys):
    if torch.cuda.is_available():
        pytest.skip("a CUDA device is present: covered by test_cuda_timing")
    assert main(["verify", "alexnet", "--device", "cuda"]) == 2
    assert "no CUDA device" in capsys.readouterr().err


@pytest.mark.gpu
def test_cuda_timing(torch, torchvision):
    if not torch.cuda.is_available():
        pytest.skip("no CUDA device on this machine")
    from archcalc.torch_bridge.verify import verify

    v = verify("resnet18", device="cuda", tools=["flop_counter"], repeats=2)
    _assert_ok(v)
    conv = next(l for l in v.layers if l.name == "layer1.0.conv1")
    assert conv.time_ms and conv.time_ms > 0 and conv.gflops_per_s > 0
