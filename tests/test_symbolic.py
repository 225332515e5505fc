"""The same rules run on symbols: analysing at (3, H, W) and substituting equals the numeric run."""

from __future__ import annotations

import functools

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from archcalc import analyze, dims
from archcalc.zoo import get_entry

# smallest input each model accepts (its deepest kernel must fit); LeNet-5's C5 needs 5x5 after S4
MODELS = {"vgg11": 32, "vgg16_bn": 32, "resnet18": 32, "resnet50": 32, "alexnet": 63, "googlenet": 32,
          "googlenet_aux": 64, "lenet5": 32, "lenet5_modern": 16, "alexnet2012": 67}
TOTALS = ("params", "trainable_params", "buffers", "macs", "flops", "activations", "activation_bytes")


@functools.lru_cache(maxsize=None)
def symbolic(name):
    return analyze(name, input=(get_entry(name).input_shape[0], "H", "W"), batch="N", dtype="bf16")


def test_formulas_are_symbolic():
    r = symbolic("vgg11")
    assert dims.free_symbols(r.totals["macs"]) == {"H", "W", "N"}
    assert dims.is_concrete(r.totals["params"])  # VGG's adaptive pool keeps params size-free
    lenet = symbolic("lenet5_modern")
    assert dims.free_symbols(lenet.totals["params"]) == {"H", "W"}  # fc1 reads 16*(H/4-3)^2 inputs


@pytest.mark.parametrize("name", sorted(MODELS))
@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_substitution_equals_numeric_run(name, data):
    lo = MODELS[name]
    h = data.draw(st.integers(lo, lo + 300), label="H")
    w = data.draw(st.integers(lo, lo + 300), label="W")
    n = data.draw(st.integers(1, 64), label="N")
    sym = symbolic(name)
    num = analyze(name, input=(get_entry(name).input_shape[0], h, w), batch=n, dtype="bf16")
    values = {"H": h, "W": w, "N": n}
    for key in TOTALS:
        assert dims.evaluate(sym.totals[key], values) == num.totals[key], key
    for s, r in zip(sym.layers, num.layers):
        assert tuple(dims.evaluate(d, values) for d in s.output_shape) == r.output_shape, s.name
        assert dims.evaluate(s.macs, values) == r.macs, s.name
        assert tuple(dims.evaluate(d, values) for d in s.receptive_field.size) == r.receptive_field.size, s.name


def test_result_substitute():
    r = symbolic("resnet18").substitute(H=224, W=224, N=1)
    assert r.totals["macs"] == analyze("resnet18").totals["macs"] == 1_814_073_344


def test_json_has_symbolic_strings():
    d = symbolic("vgg11").to_dict()
    assert isinstance(d["totals"]["macs"], str) and "H" in d["totals"]["macs"]
    assert d["input"] == [3, "H", "W"] and d["batch"] == "N"
