"""The comparison: top-1 from a static table (checked against torchvision's weights metadata when
torchvision is installed), no torch import, a text repr, a DataFrame with typed attrs."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from archcalc import analyze
from archcalc.memory import inference_memory

ROOT = Path(__file__).resolve().parents[1]
pytest.importorskip("jinja2")


def test_static_top1_table_matches_torchvision_metadata():
    tv = pytest.importorskip("torchvision.models")
    from archcalc.zoo._top1 import TOP1

    for builder, row in TOP1.items():
        weights = tv.get_model_weights(builder).IMAGENET1K_V1
        assert str(weights) == row.weights, builder
        meta = weights.meta
        assert meta["_metrics"]["ImageNet-1K"]["acc@1"] == row.top1, builder
        assert meta["num_params"] == row.num_params and meta["recipe"] == row.recipe, builder


def test_compare_imports_no_torch():
    code = ("import sys; from archcalc.cli import main; "
            "assert main(['compare', 'vgg16', 'resnet50', '--report', 'md']) == 0; "
            "heavy = {'torch', 'torchvision'} & set(sys.modules); assert not heavy, heavy")
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    out = subprocess.run([sys.executable, "-c", code], check=True, env=env, cwd=ROOT, capture_output=True, text=True)
    assert "| 71.592 |" in out.stdout and "| 76.130 |" in out.stdout  # VGG16 / ResNet50 V1 weights' acc@1


def test_comparison_repr_and_dataframe():
    pd = pytest.importorskip("pandas")
    from archcalc.report import compare

    c = compare(["lenet5", "resnet50", "faster_rcnn_vgg16"], batch=2)
    text = repr(c)
    assert text.splitlines()[0] == "Comparison of 3 models (batch 2, fp32)"
    assert len(text.splitlines()) == 2 + 3 and "resnet50" in text and "76.130" in text
    df = c.to_dataframe()
    assert df.attrs["batch"] == 2 and isinstance(df.attrs["batch"], int) and df.attrs["dtype"] == "fp32"
    r50 = analyze("resnet50", batch=2)
    row = df.set_index("model").loc["resnet50"]
    assert row["receptive_field"] == r50.totals["receptive_field"].size[0] == 427
    assert row["layers"] == len(r50.layers) == 176
    assert row["param_bytes"] == 25_557_032 * 4  # fp32 params
    assert row["peak_bytes"] == inference_memory(r50).peak_bytes
    for col in ("params", "param_bytes", "layers"):
        assert df[col].dtype == "int64", col
    # the detection model's field is undefined (RoI pooling of run-time boxes): a nullable column
    assert pd.isna(df.set_index("model").loc["faster_rcnn_vgg16", "receptive_field"])
    assert str(df["receptive_field"].dtype) == "Int64"
    # the detection model's MACs are a formula in R: no peak to give
    assert pd.isna(df.set_index("model").loc["faster_rcnn_vgg16", "peak_bytes"])
    assert str(df["peak_bytes"].dtype) == "Int64"
    assert "<table" in c._repr_html_()


def test_result_frame_batch_attr_is_an_int():
    pytest.importorskip("pandas")
    assert analyze("lenet5", batch=4).to_dataframe().attrs["batch"] == 4


def test_notebook_view_is_fast_for_resnet50():
    import time

    r = analyze("resnet50")
    r._repr_html_()  # first call pays for importing jinja2 (see benchmarks/reports.py for the cold figure)
    t = time.perf_counter()
    h = r._repr_html_()
    assert time.perf_counter() - t < 0.3
    assert "Top 8 layers by MACs" in h and h.count("<details") >= 2
