"""Charts that scale: bars per stage/block beyond MAX_BARS layers (sums exact), no bar or label for
layers that materialise nothing, log axes fitted to the data, scatter labels that avoid each other."""

from __future__ import annotations

import itertools
import math
import re
import sys
from pathlib import Path

import pytest

from archcalc import analyze

pytest.importorskip("matplotlib")
from archcalc.report import charts  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))


def test_resnet50_bars_are_its_blocks_and_sum_to_the_totals():
    r = analyze("resnet50")
    bars, unit = charts.groups(r.layers)
    assert unit == "block" and len(bars) <= charts.MAX_BARS < len(r.layers)
    labels = [g.label for g in bars]
    # the torchvision layout: stem, 3+4+6+3 bottlenecks, head
    assert [x for x in labels if x.startswith("layer")] == (
        [f"layer1.{i}" for i in range(3)] + [f"layer2.{i}" for i in range(4)]
        + [f"layer3.{i}" for i in range(6)] + [f"layer4.{i}" for i in range(3)])
    assert sum(g.total("params") for g in bars) == r.totals["params"]
    assert sum(g.total("macs") for g in bars) == r.totals["macs"]
    assert sum(len(g.records) for g in bars) == len(r.layers)


def test_ten_thousand_flat_blocks_pool_into_runs():
    from synthetic import synthetic

    r = analyze(synthetic(10000))
    bars, unit = charts.groups(r.layers)
    assert unit == "block" and len(bars) <= charts.MAX_BARS
    assert bars[0].label.startswith("input\u2013block")  # a run of consecutive top-level names
    assert sum(g.total("activations") for g in bars) == r.totals["activations"]


def test_small_models_keep_one_bar_per_layer():
    r = analyze("vgg16")
    bars, unit = charts.groups(r.layers)
    assert unit == "layer" and [g.label for g in bars] == [x.name for x in r.layers]


def test_in_place_layers_get_no_activation_bar_or_label():
    r = analyze("vgg16")
    svg = charts.activation_memory(r)
    ticks = re.findall(r">(features\.\d+|classifier\.\d+)</text>", svg)
    inplace = {x.name for x in r.layers if x.activations == 0}
    assert "features.1" in inplace  # the ReLU after the first conv works in place
    assert ticks and not inplace & set(ticks)
    # the two tallest bars (conv1_1, conv1_2: 64x224x224 fp32 = 12.25 MiB each) are labelled
    assert {"features.0", "features.2"} <= set(ticks)


def test_every_chart_tags_its_axis_titles():
    r = analyze("vgg16")
    for svg in (charts.layer_costs(r), charts.activation_memory(r), charts.receptive_field(r)):
        assert 'id="c' in svg and re.search(r'id="[^"]*xlabel\d"', svg) and re.search(r'id="[^"]*ylabel\d"', svg)


def test_log_limits_fit_the_data():
    lo, hi = charts._log_limits([1e3, 1e6])  # 3 decades: 12% of them (0.36 decade) either side
    assert math.isclose(math.log10(lo), 3 - 0.36) and math.isclose(math.log10(hi), 6 + 0.36)
    lo, hi = charts._log_limits([5e4, 5e4])  # one point: a tenth of a decade either side
    assert math.isclose(math.log10(hi / lo), 0.2)


def test_scatter_labels_never_overlap_each_other():
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6, 4), dpi=72, layout="constrained")
    ax = fig.subplots()
    points = [(1 + i % 5 * 0.01, 1 + i // 5 * 0.01) for i in range(30)]  # a tight 5x6 cluster
    ax.scatter(*zip(*points))
    ax.set_xlim(0.9, 1.2)
    ax.set_ylim(0.9, 1.2)
    shown, left_off = charts._place_labels(fig, ax, points, [f"model_{i}" for i in range(30)])
    assert len(shown) + len(left_off) == 30 and shown and left_off  # some fit, the rest are named
    for (_, a), (_, b) in itertools.combinations(shown, 2):
        assert not charts._overlap(a, b)


def test_compare_scatter_for_fifty_models_labels_or_names_every_model():
    from archcalc.report import compare
    from archcalc.zoo import names

    models = names()[:50]
    c = compare(models, accuracy=False)
    ((title, svg, expand),) = c.charts()
    assert expand is None
    formulas = [r["model"] for r in c.rows if r["symbols"]]
    plotted = [r["model"] for r in c.rows if not r["symbols"]]
    for m in formulas:  # a model whose MACs are a formula (Faster R-CNN's R) is named, not plotted
        assert m in title.split("not plotted")[1]
    crowded = title.split("not labelled where crowded (see the table): ")[1].split(", ") if "crowded" in title else []
    labelled = set(re.findall(r"<!-- ([^<>]+?) -->", svg)) | set(re.findall(r">([^<>]+)</text>", svg))
    for m in plotted:
        assert (m in labelled) != (m in crowded), m  # each plotted model: a label or a caption mention



def test_colour_pairs_stay_apart_in_greyscale():
    def luma(hex_colour):  # Rec. 709 relative luminance of an sRGB colour, linearised
        rgb = [int(hex_colour[i:i + 2], 16) / 255 for i in (1, 3, 5)]
        lin = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in rgb]
        return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]

    # params (blue) vs MACs (orange) share the cost chart; bars (green) vs running total (grey) and
    # receptive field (blue) vs jump (orange) share the others
    for a, b in ((charts._BLUE, charts._ORANGE), (charts._GREEN, charts._GREY)):
        assert abs(luma(a) - luma(b)) > 0.1, (a, b)


def test_aggregated_cost_chart_expands_to_every_layer():
    pytest.importorskip("jinja2")
    r = analyze("resnet50")
    costly = [x.name for x in r.layers if x.params or x.macs]
    assert len(costly) == 107  # 53 convs + 53 BNs + fc: more than MAX_BARS, so the main chart is per block
    h = r.report("html")
    assert h.count("<svg") == 5  # the four charts + the folded per-layer one
    assert f'<details class="expand"><summary>Per layer: all {len(costly)} layers with params or MACs' in h
    wide = h.split('<div class="scroll wide">')[1].split("</svg>")[0]
    assert re.findall(r">([\w.]+)</text>", wide).count("layer4.2.conv3") == 1
    assert set(costly) <= set(re.findall(r">([\w.]+)</text>", wide))  # every layer labelled once
    assert analyze("vgg16").report("html").count("<svg") == 4  # 41 layers: already per layer
