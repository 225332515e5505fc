"""Training memory of layer and group norm (what native_layer_norm / native_group_norm save):
hand arithmetic always, torch's CPU tracker when torch is installed."""

from __future__ import annotations

import pytest

import archcalc
from archcalc.graph import Builder
from archcalc.layers import Conv2d, Flatten, GroupNorm, LayerNorm, LayerNorm2d, Linear
from archcalc.memory import training_memory

F32 = 4


def _net(norm, cin=8, hw=16):
    b = Builder("norm", (cin, hw, hw))
    x = b.add(Conv2d(8, 3, padding=1), b.input, name="0")
    x = b.add(norm, x, name="1")
    x = b.add(Conv2d(8, 3, padding=1), x, name="2")
    x = b.add(Flatten(), x, name="3")
    b.add(Linear(10), x, name="4")
    return archcalc.analyze(b.build(), batch=4)


@pytest.mark.parametrize("norm,rows", [
    (LayerNorm((16,)), 8 * 16),  # one row per (channel, row) of the map: normalised over the last axis
    (LayerNorm((8, 16, 16)), 1),  # the whole sample is one row
    (LayerNorm2d(), 16 * 16),  # ConvNeXt's: one row per position (normalised over channels)
    (GroupNorm(4), 4),  # one row per group
])
def test_norm_saves_its_input_and_two_fp32_per_row(norm, rows):
    t = training_memory(_net(norm), "sgd")
    norm_layer = next(m for m in t.layers if m.name == "1")
    assert norm_layer.saved == ("input", "row_stats")
    # its input (conv 0's output, saved here first) + mean and inverse std per row, whole batch
    assert norm_layer.saved_bytes == 4 * 8 * 16 * 16 * F32 + 2 * rows * 4 * F32


@pytest.mark.torch
@pytest.mark.parametrize("case", ["layernorm_last", "layernorm_all", "groupnorm"])
def test_norm_training_peak_matches_torch(torch, case):
    from archcalc.torch_bridge import memory_measure as mm

    nn = torch.nn
    tnorm, anorm = {"layernorm_last": (nn.LayerNorm(16), LayerNorm((16,))),
                    "layernorm_all": (nn.LayerNorm((8, 16, 16)), LayerNorm((8, 16, 16))),
                    "groupnorm": (nn.GroupNorm(4, 8), GroupNorm(4))}[case]
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(8, 8, 3, padding=1), tnorm, nn.Conv2d(8, 8, 3, padding=1), nn.Flatten(),
                          nn.Linear(8 * 256, 10))
    r = _net(anorm)
    assert r.totals["params"] == sum(p.numel() for p in model.parameters())
    prev = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        got = mm.measure_training_cpu(model, 4, "sgd", (8, 16, 16), num_classes=10, allocator=True)
    finally:
        torch.set_num_threads(prev)
    est = training_memory(r, "sgd", threads=1)
    assert abs(est.peak_bytes - got["peak"]) <= 64, (est.phase_peaks, got)  # scalars only
