"""Static memory model (archcalc.memory): liveness, saved-for-backward, backward simulation, fit.

Fast, no torch. Expected values are written as arithmetic over element counts (per sample) times
batch times bytes per element; the torch cross-check is tests/test_memory_measure.py.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

import archcalc
from archcalc import cli
from archcalc.errors import ArchcalcError
from archcalc.graph import Builder
from archcalc.layers import BatchNorm2d, Concat, Conv2d, Flatten, Linear, MaxPool2d, ReLU
from archcalc.memory import (
    SAVED_FOR_BACKWARD,
    fit_batch,
    inference_memory,
    parse_size,
    training_memory,
)
from archcalc.rules import registered_kinds

F32 = 4


def chain(inplace=True):
    b = Builder("chain", (3, 8, 8))
    x = b.add(Conv2d(4, 3, padding=1, bias=False), b.input, name="c1")
    x = b.add(ReLU(inplace), x, name="r1")
    b.add(Conv2d(2, 1, bias=False), x, name="c2")
    return b.build()


def test_chain_peak_is_two_live_maps():
    e = inference_memory(archcalc.analyze(chain(), batch=2))
    # at c2: c1's output (4x8x8, ReLU'd in place) is read while c2's 2x8x8 output is written
    assert e.peak_activation_bytes == (4 * 64 + 2 * 64) * 2 * F32
    assert e.peak_layer == "c2"
    assert e.weight_bytes == (4 * 3 * 9 + 2 * 4) * F32
    assert e.input_bytes == 3 * 64 * 2 * F32  # held by the caller for the whole pass
    assert e.peak_bytes == e.weight_bytes + e.input_bytes + e.peak_activation_bytes
    # the sum of outputs adds everything up, input included: it is no peak
    assert e.sum_of_outputs_bytes == (3 * 64 + 4 * 64 + 2 * 64) * 2 * F32


def test_out_of_place_relu_costs_a_second_map():
    e = inference_memory(archcalc.analyze(chain(inplace=False), batch=1))
    live = {r.name: r.live_bytes for r in e.layers}
    assert live["r1"] == (4 * 64 + 4 * 64) * F32  # ReLU reads c1 while writing its own copy
    assert live["c2"] == (4 * 64 + 2 * 64) * F32  # c1 died after r1, its only consumer


def test_branches_live_until_concat():
    b = Builder("branches", (3, 8, 8))
    a = b.add(Conv2d(4, 1, bias=False), b.input, name="a")
    c = b.add(Conv2d(4, 1, bias=False), b.input, name="b")
    cat = b.add(Concat(), a, c, name="cat")
    b.add(Conv2d(2, 1, bias=False), cat, name="d")
    e = inference_memory(archcalc.analyze(b.build()))
    live = {r.name: r.live_bytes for r in e.layers}
    assert live["b"] == (4 * 64 + 4 * 64) * F32  # branch a waits for the concat
    assert live["cat"] == (4 * 64 + 4 * 64 + 8 * 64) * F32  # both branches + the copy
    assert live["d"] == (8 * 64 + 2 * 64) * F32
    assert e.peak_layer == "cat"


def test_maxpool_counts_its_int64_indices_as_scratch():
    b = Builder("pool", (1, 4, 4))
    b.add(MaxPool2d(2), b.input, name="p")
    e = inference_memory(archcalc.analyze(b.build(), batch=3, dtype="bf16"))
    # 1x2x2 output in bf16 plus the same number of int64 indices (torch computes them under no_grad)
    assert e.peak_activation_bytes == 3 * (4 * 2 + 4 * 8)


def test_module_argument_lives_until_the_module_returns():
    b = Builder("scoped", (3, 8, 8))
    x = b.add(Conv2d(4, 1, bias=False), b.input, name="pre")
    with b.scope("blk"):
        x = b.add(Conv2d(4, 1, bias=False), x, name="c1")
        x = b.add(Conv2d(4, 1, bias=False), x, name="c2")
    b.add(Conv2d(4, 1, bias=False), x, name="post")
    live = {r.name: r.live_bytes for r in inference_memory(archcalc.analyze(b.build())).layers}
    # "pre" is blk's argument: the caller holds it until blk.c2 returns
    assert live["blk.c2"] == 3 * 4 * 64 * F32
    assert live["post"] == 2 * 4 * 64 * F32


def mlp():
    b = Builder("mlp", (8,))
    x = b.add(Linear(4), b.input, name="fc1")
    x = b.add(ReLU(True), x, name="r")
    b.add(Linear(2), x, name="fc2")
    return b.build()


def test_training_step_by_hand():
    t = training_memory(archcalc.analyze(mlp()), optimizer="sgd")
    weights = (8 * 4 + 4) + (4 * 2 + 2)
    assert t.weight_bytes == t.gradient_bytes == weights * F32
    assert t.optimizer_state_bytes == 0 and t.step_temporary_bytes == 0
    assert t.target_bytes == 8  # one int64 class index
    assert t.saved_bytes == 4 * F32  # fc1's output, saved by the in-place ReLU and by fc2 (once)
    # forward ends with the saved map + the logits + log_softmax's saved output
    assert t.phase_peaks["forward"] - t.resident_bytes == (4 + 2 + 2) * F32
    # the backward peak is fc1's: fc2's weight grad is resident, fc1's own is being written, and the
    # gradient of fc1's output is still alive (fc1's input needs no gradient: no dgrad)
    assert t.phase_peaks["backward"] - t.resident_bytes == (4 + 10 + 36) * F32
    assert t.peak_phase == "backward" and t.peak_layer == "fc1"
    assert t.peak_bytes == weights * F32 + 8 * F32 + 8 + (4 + 10 + 36) * F32
    fc1 = t.layers[1]
    assert (fc1.dgrad_macs, fc1.wgrad_macs) == (0, 8 * 4)  # first layer: weight gradient only
    fc2 = t.layers[3]
    assert (fc2.dgrad_macs, fc2.wgrad_macs) == (4 * 2, 4 * 2)
    assert fc2.backward_flops == 2 * (8 + 8) + 2  # + the bias gradient's adds


# resnet18 has 62 parameter tensors: 20 convs (no bias), 20 BNs (gamma, beta), fc (weight, bias)
@pytest.mark.parametrize("opt,state,counters", [("sgd", 0, 0), ("sgd-momentum", 1, 0), ("adam", 2, 62 * 4),
                                                ("adamw", 2, 62 * 4)])
def test_optimizer_state(opt, state, counters):
    r = archcalc.analyze("resnet18")
    t = training_memory(r, optimizer=opt)
    # momentum buffer / Adam's two moments per parameter, plus Adam's fp32 step count per tensor
    assert t.optimizer_state_bytes == state * r.totals["trainable_params"] * F32 + counters
    assert t.gradient_bytes == r.totals["trainable_params"] * F32


def test_adam_step_temporaries():
    r = archcalc.analyze("vgg16")
    loop = training_memory(r, "adam")
    assert loop.step_temporary_bytes == 2 * 25088 * 4096 * F32  # sqrt and div of fc6's weight
    foreach = training_memory(r, "adam", foreach=True)
    assert foreach.step_temporary_bytes == r.totals["trainable_params"] * F32  # one sqrt per tensor
    # at batch 1 VGG-16 with Adam peaks in the step: weights, grads, 2 moments + fc6's temporaries
    assert loop.peak_phase == "step"


def test_saved_conv_bn_relu():
    b = Builder("cbr", (3, 8, 8))
    x = b.add(Conv2d(4, 3, padding=1, bias=False), b.input, name="conv")
    x = b.add(BatchNorm2d(), x, name="bn")
    x = b.add(ReLU(True), x, name="relu")
    x = b.add(MaxPool2d(2), x, name="pool")
    x = b.add(Flatten(), x, name="flat")
    b.add(Linear(3), x, name="fc")
    t = training_memory(archcalc.analyze(b.build(), batch=2))
    # conv saves the (resident) input; bn its input (conv's output) and 2 fp32 stats per channel;
    # relu its output (bn's storage); pool its input (same) and int64 indices; fc its input (pool's output)
    saved = {r.name: r.saved_bytes for r in t.layers}
    assert saved["conv"] == 0
    assert saved["bn"] == 4 * 64 * 2 * F32 + 2 * 4 * 4
    assert saved["relu"] == 4 * 64 * 2 * F32
    assert saved["pool"] == 4 * 16 * 2 * 8
    assert saved["fc"] == 4 * 16 * 2 * F32
    assert t.saved_bytes == sum(saved.values())


def test_every_layer_kind_has_a_saved_rule():
    from archcalc.memory import TRAINING_UNSUPPORTED

    wrappers = {"Activation", "PerItem", "Shared"}  # activations by fn below; wrappers use their inner kind
    assert set(registered_kinds()) - wrappers <= set(SAVED_FOR_BACKWARD) | TRAINING_UNSUPPORTED
    assert not set(SAVED_FOR_BACKWARD) & TRAINING_UNSUPPORTED
    from archcalc.layers import ACTIVATION_OPS, Activation

    for fn in ACTIVATION_OPS:
        assert Activation(fn).kind in SAVED_FOR_BACKWARD


def test_three_figures_of_vgg16_are_ordered():
    r = archcalc.analyze("vgg16", batch=32)
    inf = inference_memory(r)
    tr = training_memory(r, "sgd")
    acts = inf.sum_of_outputs_bytes
    assert acts == r.totals["activation_bytes"]  # the same convention as the cost table
    assert inf.peak_activation_bytes < acts
    # training keeps every output but the input (resident anyway) and the logits (log_softmax keeps
    # its own copy), plus the dropouts' new outputs and masks and the max-pools' int64 indices
    b = 32
    assert tr.saved_bytes == (acts - 3 * 224 * 224 * b * F32 - 1000 * b * F32 + 2 * (2 * 4096 * b * F32)
                              + 8 * b * (64 * 112 * 112 + 128 * 56 * 56 + 256 * 28 * 28 + 512 * 14 * 14 + 512 * 7 * 7))
    # conv1_2 (features.2) reads conv1_1's 64x224x224 output while writing its own
    assert inf.peak_layer == "features.2"
    assert inf.peak_activation_bytes == 2 * 64 * 224 * 224 * 32 * F32
    assert tr.peak_bytes > inf.peak_bytes


def test_dtype_and_batch_override_match_reanalysis():
    r = archcalc.analyze("resnet50", batch=4, dtype="bf16")
    again = inference_memory(archcalc.analyze("resnet50", batch=4, dtype="bf16"))
    assert inference_memory(archcalc.analyze("resnet50"), batch=4, dtype="bf16").peak_bytes == again.peak_bytes
    assert training_memory(r, "adam").peak_bytes == training_memory(archcalc.analyze("resnet50"), "adam", 4,
                                                                     "bf16").peak_bytes


def test_symbolic_batch_is_a_clear_error():
    r = archcalc.analyze("resnet18", batch="N")
    with pytest.raises(ArchcalcError, match="concrete"):
        inference_memory(r)


@pytest.mark.parametrize("text,value", [("16GiB", 16 * 2 ** 30), ("16GB", 16 * 10 ** 9), ("16G", 16 * 10 ** 9),
                                        ("512MiB", 512 * 2 ** 20), ("1.5GiB", 3 * 2 ** 29), ("1000", 1000)])
def test_parse_size(text, value):
    assert parse_size(text) == value


@pytest.mark.parametrize("bad", ["16XB", "", "GiB", "-1GB", "0"])
def test_parse_size_rejects(bad):
    with pytest.raises(ArchcalcError):
        parse_size(bad)


@pytest.mark.parametrize("train", [False, True])
def test_fit_is_the_boundary(train):
    r = archcalc.analyze("resnet50")
    budget = parse_size("16GiB")
    f = fit_batch(r, budget, train=train, optimizer="adam", headroom=0)
    assert f.max_batch > 1
    # the allocator figure (live tensors + cpu scratch) is what must fit
    assert f.at_max.allocator_peak_bytes <= budget < f.over.allocator_peak_bytes
    assert f.over.batch == f.max_batch + 1


def test_fit_nothing_fits():
    f = fit_batch(archcalc.analyze("vgg16"), parse_size("100MiB"))
    assert f.max_batch == 0 and f.at_max is None and f.over.batch == 1


def test_cli_memory_and_fit(capsys):
    assert cli.main(["resnet18", "--memory", "--train", "--optimizer", "adam", "--batch", "4", "--dtype", "bf16"]) == 0
    out = capsys.readouterr().out
    assert "PEAK" in out and "optimizer adam" in out and "layer4.1.conv2" in out
    assert cli.main(["fit", "resnet18", "--device-memory", "2GiB", "--train"]) == 0
    assert "max batch" in capsys.readouterr().out
    assert cli.main(["fit", "resnet18", "--device-memory", "2 potatoes"]) == 2
    assert cli.main(["resnet18", "--memory", "--batch", "N"]) == 2
    assert cli.main(["resnet18", "--memory", "--train", "--optimizer", "lion"]) == 2
    assert "unknown optimizer" in capsys.readouterr().err


def test_memory_cli_imports_no_heavy_module():
    code = ("import sys; from archcalc import cli; cli.main(['vgg16','--memory','--train','--batch','2']); "
            "cli.main(['fit','vgg16','--device-memory','8GiB']); "
            "print(sorted(m for m in ('torch','pandas','sympy','jinja2','matplotlib') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip().splitlines()[-1] == "[]"


def test_densenet_forward_locals():
    from types import SimpleNamespace

    b = Builder("dense", (4, 8, 8))
    with b.scope("layer"):
        x = b.add(Concat(), b.input, name="cat")
        x = b.add(BatchNorm2d(), x, name="norm1")
        x = b.add(ReLU(True), x, name="relu1")
        x = b.add(Conv2d(8, 1, bias=False), x, name="conv1")
        x = b.add(BatchNorm2d(), x, name="norm2")
        x = b.add(ReLU(True), x, name="relu2")
        b.add(Conv2d(2, 3, padding=1, bias=False), x, name="conv2")
    r = archcalc.analyze(b.build())
    plain = {m.name: m.live_bytes for m in inference_memory(r).layers}
    assert plain["layer.conv1"] == (4 + 8) * 64 * F32  # graph liveness: the cat died after norm1
    r.entry = SimpleNamespace(family="DenseNet")  # as for the zoo's densenet*
    eager = {m.name: m.live_bytes for m in inference_memory(r).layers}
    # torchvision keeps the cat (a local of bn_function) until conv1 returns ...
    assert eager["layer.conv1"] == (4 + 4 + 8) * 64 * F32
    # ... and conv1's output (bottleneck_output) until conv2 returns
    assert eager["layer.conv2"] == (8 + 8 + 2) * 64 * F32
    assert plain["layer.conv2"] == (8 + 2) * 64 * F32


def _act_net(fn, inplace):
    from archcalc.layers import Activation

    b = Builder("act", (8, 16, 16))
    x = b.add(Conv2d(8, 1, bias=False), b.input, name="c1")
    x = b.add(BatchNorm2d(), x, name="bn")
    x = b.add(Activation(fn, inplace), x, name="act")
    b.add(Conv2d(8, 1, bias=False), x, name="c2")
    return training_memory(archcalc.analyze(b.build()))


def test_inplace_activation_that_needs_its_input_saves_a_copy():
    amap = 8 * 16 * 16 * F32
    relu = _act_net("relu", True)
    # relu saves its output, which is bn's storage (also c2's saved input): bn's input + that one map
    assert relu.saved_bytes == 2 * amap + 2 * 8 * 4
    # relu6 (hardtanh) differentiates from its input: in place, torch keeps a copy of it
    assert _act_net("relu6", True).saved_bytes == relu.saved_bytes + amap
    assert _act_net("relu6", False).saved_bytes == relu.saved_bytes + amap  # bn's output + relu6's output
    # elu_ differentiates from its result, so in place it is as cheap as relu
    assert _act_net("elu", True).saved_bytes == relu.saved_bytes
    assert _act_net("elu", False).saved_bytes == relu.saved_bytes + amap


@pytest.mark.parametrize("name", ["vgg16", "resnet50", "googlenet"])
def test_per_layer_columns_agree_with_totals(name):
    r = archcalc.analyze(name, batch=8)
    inf = inference_memory(r)
    assert max(m.live_bytes for m in inf.layers) == inf.peak_activation_bytes
    t = training_memory(r, "adam")
    fwd = t.phase_peaks["forward"] - t.resident_bytes
    assert max(m.live_bytes for m in t.layers) <= fwd  # the loss, after the last layer, may add to it
    assert t.saved_bytes == sum(m.saved_bytes for m in t.layers)
    assert max(m.backward_live_bytes for m in t.layers) <= t.phase_peaks["backward"] - t.resident_bytes
    assert t.backward_flops == sum(m.backward_flops for m in t.layers)
    weight_macs = sum(m.macs for m in r.layers if m.macs)
    first = next(m for m in r.layers if m.macs)
    # dgrad + wgrad = 2 x forward MACs, less the first layer's dgrad
    assert sum(m.dgrad_macs + m.wgrad_macs for m in t.layers) == 2 * weight_macs - first.macs


def test_shortcut_runs_right_before_the_add():
    from archcalc.memory import execution_order

    names = [r.name for r in execution_order(archcalc.analyze("resnet50").layers)]
    # torchvision's Bottleneck.forward: conv1..bn3, then identity = self.downsample(x), then out += identity
    i = names.index("layer1.0.bn3")
    assert names[i + 1:i + 4] == ["layer1.0.downsample.0", "layer1.0.downsample.1", "layer1.0.add"]
    assert sorted(names) == sorted(r.name for r in archcalc.analyze("resnet50").layers)
