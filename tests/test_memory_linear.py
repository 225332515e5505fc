"""The training-memory walk is linear in depth and returns what the quadratic walk it replaced did
(tests/memory_oracle.py keeps that walk verbatim as the oracle)."""

from __future__ import annotations

import time

import pytest

import archcalc
from archcalc.graph import Builder
from archcalc.layers import Add, BatchNorm2d, Concat, Conv2d, Dropout, Flatten, Linear, MaxPool2d, ReLU
from archcalc.memory import training_memory

from memory_oracle import training_memory as quadratic_training_memory


def deep_net(blocks: int, width: int = 4, size: int = 4):
    """Residual blocks (conv-bn-relu-conv-bn + add + relu) with a concat and a dropout every few
    blocks: shared storages (in-place relu, add), several savers per storage, gradient sums."""
    b = Builder("deep", (width, size, size))
    x = b.add(Conv2d(width, 3, padding=1, bias=False), b.input, name="stem")
    for i in range(blocks):
        with b.scope(f"block{i}"):
            y = b.add(Conv2d(width, 3, padding=1, bias=False), x, name="conv1")
            y = b.add(BatchNorm2d(), y, name="bn1")
            y = b.add(ReLU(True), y, name="relu1")
            y = b.add(Conv2d(width, 3, padding=1, bias=False), y, name="conv2")
            y = b.add(BatchNorm2d(), y, name="bn2")
            if i % 3 == 2:
                z = b.add(Concat(), y, x, name="cat")
                y = b.add(Conv2d(width, 1, bias=False), z, name="mix")
            x = b.add(Add(), y, x, name="add")
            x = b.add(ReLU(i % 2 == 0), x, name="relu")
            if i % 5 == 4:
                x = b.add(Dropout(0.1), x, name="drop")
    x = b.add(MaxPool2d(2), x, name="pool")
    x = b.add(Flatten(), x, name="flat")
    b.add(Linear(10), x, name="fc")
    return b.build()


CASES = [("resnet18", "sgd"), ("resnet50", "adam"), ("vgg16", "sgd-momentum"), ("googlenet", "adamw")]


@pytest.mark.parametrize("name,opt", CASES)
def test_linear_walk_equals_quadratic_walk_on_zoo(name, opt):
    r = archcalc.analyze(name, batch=2)
    for foreach in (False, True):
        assert training_memory(r, opt, foreach=foreach) == quadratic_training_memory(r, opt, foreach=foreach)


@pytest.mark.parametrize("blocks", [1, 7, 40])
def test_linear_walk_equals_quadratic_walk_on_deep_net(blocks):
    r = archcalc.analyze(deep_net(blocks), batch=3, dtype="bf16")
    for opt in ("sgd", "adam"):
        assert training_memory(r, opt) == quadratic_training_memory(r, opt)


def test_ten_thousand_layers_train_in_about_a_second():
    r = archcalc.analyze(deep_net(1300))  # 1300 blocks of 6 to 9 layers
    assert len(r.layers) > 10_000
    start = time.perf_counter()
    training_memory(r, "adam")
    # the quadratic walk took ~10 s here; generous for a loaded CI machine
    assert time.perf_counter() - start < 5.0


def test_report_computes_training_peaks_of_a_deep_net():
    from archcalc.report.data import memory_figures
    from archcalc.text import mib

    r = archcalc.analyze(deep_net(300))  # ~2,400 layers: beyond the old report's 2,000-layer skip
    rows = {row["name"]: row["value"] for row in memory_figures(r)["rows"]}
    for opt in ("sgd", "adam"):
        assert rows[f"training peak ({opt})"] == mib(training_memory(r, opt).peak_bytes) + " MiB"
