"""Each convention's table, kind by kind, against the real tool on a one-layer torch module.

The zoo cross-check (test_torch_verify.py) only exercises the layer kinds the zoo uses; this test
runs every rule of every table against fvcore, torchinfo, FlopCounterMode, ptflops and thop, so a
rule read wrongly from a tool's source fails here before a new zoo family needs it.
"""

from __future__ import annotations

import pytest

from archcalc import conventions as C

pytestmark = pytest.mark.torch


def _cases(nn, F):
    class FunctionalRelu(nn.Module):  # torch computes the ReLU with a call, as GoogLeNet's BasicConv2d does
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(4, 4, 3, padding=1, bias=False)

        def forward(self, x):
            return F.relu(self.conv(x), inplace=True)

    class FunctionalPoolAdd(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(4, 4, 1)

        def forward(self, x):
            y = F.max_pool2d(self.conv(x), 2, 2)
            return torch_cat([y, F.adaptive_avg_pool2d(y, 4) + y], 1)

    import torch

    torch_cat = torch.cat
    chw = (4, 8, 8)
    cases = {
        "conv_bias": (nn.Conv2d(4, 6, 3, padding=1), chw),
        "conv_grouped_nobias": (nn.Conv2d(4, 6, 3, stride=2, groups=2, bias=False), chw),
        "conv_transpose": (nn.ConvTranspose2d(4, 6, 3, stride=2, padding=1, output_padding=1), chw),
        "linear": (nn.Linear(8, 5), (8,)),
        "linear_rows": (nn.Linear(8, 5, bias=False), (3, 8)),
        "bn2d": (nn.BatchNorm2d(4), chw),
        "bn2d_no_affine": (nn.BatchNorm2d(4, affine=False), chw),
        "bn1d": (nn.BatchNorm1d(8), (8,)),
        "maxpool_ceil": (nn.MaxPool2d(3, 2, ceil_mode=True), chw),
        "avgpool": (nn.AvgPool2d(2), chw),
        "adaptive_avg_uneven": (nn.AdaptiveAvgPool2d((3, 3)), chw),  # 8 -> 3: overlapping windows
        "adaptive_max": (nn.AdaptiveMaxPool2d(2), chw),
        "dropout": (nn.Dropout(0.3), chw),
        "flatten": (nn.Flatten(), chw),
        "upsample_nearest": (nn.Upsample(scale_factor=2, mode="nearest"), chw),
        "upsample_bilinear": (nn.Upsample(scale_factor=2, mode="bilinear"), chw),
        "softmax": (nn.Softmax(dim=1), (8,)),
        "zeropad": (nn.ZeroPad2d((1, 2, 0, 1)), chw),
        "functional_relu": (FunctionalRelu(), chw),
        "functional_pool_add_cat": (FunctionalPoolAdd(), chw),
    }
    for act in ("ReLU", "ReLU6", "LeakyReLU", "ELU", "Sigmoid", "Tanh", "Hardsigmoid", "Hardswish", "SiLU", "GELU",
                "Softplus"):
        cases[act] = (getattr(nn, act)(), chw)
    return cases


CASES = ["conv_bias", "conv_grouped_nobias", "conv_transpose", "linear", "linear_rows", "bn2d", "bn2d_no_affine",
         "bn1d", "maxpool_ceil", "avgpool", "adaptive_avg_uneven", "adaptive_max", "dropout", "flatten",
         "upsample_nearest", "upsample_bilinear", "softmax", "zeropad", "functional_relu", "functional_pool_add_cat",
         "ReLU", "ReLU6", "LeakyReLU", "ELU", "Sigmoid", "Tanh", "Hardsigmoid", "Hardswish", "SiLU", "GELU",
         "Softplus"]


@pytest.mark.parametrize("case", CASES)
def test_convention_tables_match_tools(torch, case):
    from archcalc.torch_bridge.verify import compare_module

    module, shape = _cases(torch.nn, torch.nn.functional)[case]
    module = torch.nn.Sequential(module).eval()  # a model holds its layers as children
    got = compare_module(module, shape, batch=2)
    bad = {t: v for t, v in got.items() if v[0] != v[1]}
    assert not bad, f"{case}: (archcalc convention, tool) {bad}"


def test_lrn_has_no_ptflops_rule(torch):
    """ptflops counts F.local_response_norm through several patched tensor ops; archcalc has not
    modelled that, so the ptflops convention refuses LRN instead of guessing."""
    from archcalc.analysis import analyze
    from archcalc.torch_bridge import from_torch

    r = analyze(from_torch(torch.nn.Sequential(torch.nn.LocalResponseNorm(5)), (8, 6, 6)))
    with pytest.raises(C.ConventionError, match="no rule for layer '0' \\(LocalResponseNorm\\)"):
        C.count(r, "ptflops", functional=set())
    assert C.count(r, "fvcore").total == 0  # fvcore ignores/skips every op LRN decomposes into


# ---- pure-Python checks of the tables (no torch needed) ----

def test_tables_only_use_known_terms():
    for conv in C.CONVENTIONS.values():
        for key, rule in list(conv.rules.items()) + ([("default", conv.default)] if conv.default else []):
            assert set(rule.terms) <= set(C.TERMS), (conv.name, key)
            assert rule.why, (conv.name, key)


def test_vgg16_under_each_convention_without_torch():
    """The static side of the issue's vgg16 figures: no tool runs here."""
    import archcalc

    r = archcalc.analyze("vgg16")
    macs = r.totals["macs"]
    assert macs == 15_470_264_320
    adaptive = 512 * 7 * 7  # identity AdaptiveAvgPool2d input at 224x224
    assert C.count(r, "fvcore").total == macs + adaptive == 15_470_289_408
    assert C.count(r, "flop_counter").total == 2 * macs == 30_940_528_640
    assert C.count(r, "thop").total == macs + 2 * adaptive == 15_470_314_496
    assert C.count(r, "torchinfo").total == 15_483_821_032
    assert C.count(r, "ptflops").total == 15_523_225_576
    assert C.count(r, "archcalc").total == macs


def test_batch_scales_every_convention():
    import archcalc

    one, four = archcalc.analyze("resnet18"), archcalc.analyze("resnet18", batch=4)
    for name in C.CONVENTIONS:
        assert C.count(four, name).total == 4 * C.count(one, name).total, name


def test_missing_rule_is_an_error_not_zero():
    import archcalc

    r = archcalc.analyze("lenet5")  # RBF and Subsample2d have no torch counterpart
    with pytest.raises(C.ConventionError, match="has no rule for layer"):
        C.count(r, "fvcore")
    assert C.count(r, "archcalc").total == r.totals["macs"]


def test_explain_lists_each_gap_once():
    import archcalc

    r = archcalc.analyze("vgg16_bn")
    gaps = dict((k, d) for k, d, _ in C.explain(r, "fvcore"))
    bn_elems = sum(l.output_elements for l in r.layers if l.kind == "BatchNorm2d")
    assert gaps == {"BatchNorm2d": 2 * bn_elems, "AdaptiveAvgPool2d": 512 * 7 * 7}  # affine BN: 2 per element


def test_cli_convention_option(capsys):
    from archcalc.cli import main

    assert main(["vgg16", "--convention", "thop"]) == 0
    assert "thop: 15,470,314,496 MACs" in capsys.readouterr().out
    assert main(["vgg16", "--convention", "nope"]) == 2
    assert "unknown convention 'nope'" in capsys.readouterr().err
